/**
 * Announcements (README "Announcements"): a client's hello makes the server survey at once,
 * its bye makes its departure published at once, both as hints only — forged ones from raw
 * peer sockets change no list, and a flood of them does not survey faster than the
 * documented rate. Real sockets, a real server and library clients; nanocat and nngcat
 * respondents for the surveys that advertise the announce URL.
 *
 * The servers here survey on schedule every 10 s (pollTime): a join or leave published
 * before the second scheduled round came from an announced one. Asserted by the rounds'
 * order and kind (RoundInfo.announced), never by timing.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import { createClient, createServer, type Client, type MembershipChange, type RoundInfo, type Server } from '../src/index.js';
import { announceIntervalMs } from '../src/announcements.js';
import { randomBytes } from 'node:crypto';
import { answerFields } from '../src/actors/respondent.js';
import { encodeAnnouncement, encodeExtendedAnswer, FieldTag } from '../src/extensions.js';
import { closeActorPool } from '../src/pool.js';
import { PeerSocket } from '../src/testing/peer-socket.js';
import { assertPortFree, freePort, tcpPair } from './helpers/endpoints.js';
import { Nanocat, requireNanocat } from './helpers/nanocat.js';
import { recordServerEvents, type ServerEvent } from './helpers/server-events.js';
import { eventually, within } from './helpers/wait.js';

after(() => closeActorPool());

const DEADLINE = 30_000;
/** Below the 10 s schedule: what must happen before the second scheduled round waits at most this long. */
const BEFORE_SCHEDULE = 8_000;
/** No connection hints (README "Connection hints"): only the schedule and announcements start rounds here. */
const SLOW = { surveyTime: 1000, recvDeadline: 1000, pollTime: 10_000, connectionHints: false } as const;

type Event = ServerEvent;

const record = recordServerEvents;

const rounds = (events: Event[]) => events.flatMap((e) => (e.kind === 'round' ? [e.round] : []));
const scheduled = (events: Event[]) => rounds(events).filter((r) => r.trigger === 'schedule').length;
const changes = (events: Event[]) => events.flatMap((e) => (e.kind === 'change' ? [e.change] : []));

function nextChange(server: Server, predicate: (c: MembershipChange) => boolean, what: string, ms = DEADLINE): Promise<MembershipChange> {
  return within(ms, what, new Promise<MembershipChange>((resolve) => server.on('change', (c) => predicate(c) && resolve(c))));
}

/** The round event of round `n`, once it has ended. */
async function roundInfo(events: Event[], n: number): Promise<RoundInfo> {
  await eventually(() => rounds(events).some((r) => r.round === n), DEADLINE, `round ${n} to end`);
  return rounds(events).find((r) => r.round === n)!;
}

interface Bed {
  server: Server;
  events: Event[];
  announceUrl: string;
  urls: { surveyUrl: string; pubsubUrl: string };
}

async function slowServer(secret?: string): Promise<Bed> {
  const urls = await tcpPair();
  const announceUrl = `tcp://127.0.0.1:${await freePort()}`;
  const server = await createServer({ ...urls, ...SLOW, announceUrl, ...(secret ? { secret } : {}) });
  const events = record(server);
  // The first scheduled round runs at once; the next one is 10 s away.
  await eventually(() => rounds(events).length >= 1, DEADLINE, 'the first scheduled round');
  return { server, events, announceUrl, urls };
}

/**
 * A slow server and clients with `announceUrl` (and `secret`, if given), once all are listed
 * and a round with every one answering has ended (so the server holds their farewell tokens);
 * closes everything after `body`.
 */
async function withListed(services: string[], body: (bed: Bed & { clients: Client[] }) => Promise<void>, secret?: string): Promise<void> {
  const bed = await slowServer(secret);
  const clients: Client[] = [];
  try {
    for (const service of services) clients.push(await createClient({ ...bed.urls, service, announceUrl: bed.announceUrl, ...(secret ? { secret } : {}) }));
    await eventually(() => bed.server.members().length === services.length, BEFORE_SCHEDULE, `${services.join(', ')} listed`);
    await eventually(() => rounds(bed.events).some((r) => r.announced && r.members === services.length), BEFORE_SCHEDULE, 'a round with every client answering to end');
    await body({ ...bed, clients });
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await bed.server.close();
  }
}

/** Checks a graceful close of the second of two listed clients: dropped in the round its bye started, at its farewell deadline. */
async function gracefulClose({ server, events, clients }: Bed & { clients: Client[] }): Promise<void> {
  const left = nextChange(server, (c) => c.left.length > 0, 'a departure', BEFORE_SCHEDULE);
  await clients[1]!.close();
  const change = await left;
  assert.deepEqual([change.left, change.members, change.eager], [['goes'], ['stays'], true]);
  assert.equal((await roundInfo(events, change.round)).announced, true, 'the bye started the round that dropped it');
  assert.equal(scheduled(events), 1, 'no second scheduled round came first');
  assert.ok(server.stats().announcements!.byes >= 1);
  await eventually(() => server.stats().announcements!.farewells === 1, DEADLINE, 'the drop counted as a farewell (its bye carried its token)');
  assert.ok(!changes(events).some((c) => c.left.includes('stays')), "'stays' never left");
}

test('a client with announceUrl is listed in an announced round, before the next scheduled one', async () => {
  const { server, events, announceUrl, urls } = await slowServer();
  let client: Client | undefined;
  try {
    const joined = nextChange(server, (c) => c.joined.includes('fresh'), "'fresh' listed", BEFORE_SCHEDULE);
    client = await createClient({ ...urls, service: 'fresh', announceUrl });
    const hellos: string[] = [];
    client.on('announced', (a) => hellos.push(`${a.kind} ${a.url}`));
    const change = await joined;
    assert.deepEqual(change.members, ['fresh']);
    assert.equal(change.eager, true);
    const info = await roundInfo(events, change.round);
    assert.equal(info.announced, true, 'the round that listed it was started by an announcement');
    assert.equal(scheduled(events), 1, 'no second scheduled round came first');
    assert.ok(server.stats().announcements!.hellos >= 1, 'the hello was received');
    await eventually(() => hellos.includes(`hello ${announceUrl}`), DEADLINE, "the client's 'announced' event");
  } finally {
    await client?.close();
    await server.close();
  }
});

test('a graceful close is published in the round its bye started, before the next scheduled one; the other member stays', async () => {
  await withListed(['stays', 'goes'], gracefulClose);
});

test('a client without announceUrl learns it from its survey and says bye', async () => {
  const { server, events, announceUrl, urls } = await slowServer();
  const clients: Client[] = [];
  try {
    const learner = await createClient({ ...urls, service: 'learner' });
    clients.push(learner);
    // Its respondent dials on its own; the announcing client's hello starts the round it answers.
    const listed = nextChange(server, (c) => c.members.includes('learner'), "'learner' listed", BEFORE_SCHEDULE);
    clients.push(await createClient({ ...urls, service: 'announcer', announceUrl }));
    await listed;
    await eventually(() => rounds(events).some((r) => r.announced && r.members === 2), BEFORE_SCHEDULE, 'a round with both answering to end');
    const byes: string[] = [];
    learner.on('announced', (a) => byes.push(`${a.kind} ${a.url}`));
    const left = nextChange(server, (c) => c.left.length > 0, 'a departure', BEFORE_SCHEDULE);
    await learner.close();
    const change = await left;
    assert.deepEqual([change.left, change.members], [['learner'], ['announcer']]);
    assert.equal((await roundInfo(events, change.round)).announced, true, "the learner's bye started the round that dropped it");
    await eventually(() => server.stats().announcements!.farewells === 1, DEADLINE, 'the drop counted as a farewell (the learner answered with its token)');
    assert.equal(scheduled(events), 1, 'no second scheduled round came first');
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await server.close();
  }
});

test('in shared-secret mode, a graceful close is published in the round its bye started too (the token rides beside the MAC)', async () => {
  await withListed(
    ['stays', 'goes'],
    async (bed) => {
      await gracefulClose(bed);
      const refused = bed.server.stats().refused;
      assert.equal(refused.unauthenticated + refused['bad-mac'] + refused['unknown-key'], 0, 'every answer, token included, authenticated');
    },
    'announcements-test-secret-0123456789',
  );
});

test('forged hellos and byes from a raw PUSH socket change no list; garbage is refused and counted', async () => {
  await withListed(['real'], async ({ server, events, announceUrl }) => {
    const forger = PeerSocket.connect('push', announceUrl);
    try {
      const changesBefore = changes(events).length;
      const announcedBefore = server.stats().announcements!.rounds;
      const forged = [
        encodeAnnouncement('hello', 'ghost'),
        encodeAnnouncement('bye', 'real'),
        encodeAnnouncement('bye', 'real', [[FieldTag.farewellToken, Buffer.alloc(8, 7)]]),
        Buffer.from('not an announcement'),
        encodeAnnouncement('hello', 'bad|name'),
      ];
      for (const m of forged) await eventually(() => forger.send(m), DEADLINE, 'the forger connected');
      await eventually(() => server.stats().refused['bad-announcement'] >= 2, DEADLINE, 'the garbage and the bad name counted');
      await eventually(() => server.stats().announcements!.byes >= 2 && server.stats().announcements!.hellos >= 2, DEADLINE, 'the forged hello and byes received');
      // The forged hello and byes asked for a round: wait until one has run to its end.
      await eventually(() => server.stats().announcements!.rounds > announcedBefore, DEADLINE, 'an announced round');
      const last = rounds(events).at(-1)!.round;
      await roundInfo(events, last);
      assert.deepEqual(server.members(), ['real']);
      assert.deepEqual(changes(events).slice(changesBefore), [], 'no change: nobody added, nobody dropped');
      assert.equal(server.stats().announcements!.farewells, 0, 'no bye without the token earned a farewell deadline');
      assert.equal(scheduled(events), 1);
    } finally {
      forger.close();
    }
  });
});

test('a flood of forged hellos backs the announced rounds off (the spacing doubles while they change nothing), and the list stays exact', async () => {
  await withListed(['real'], async ({ server, events, announceUrl }) => {
    const forger = PeerSocket.connect('push', announceUrl);
    try {
      await eventually(() => forger.send(encodeAnnouncement('hello', 'ghost-0')), DEADLINE, 'the forger connected');
      const changesBefore = changes(events).length;
      const roundsBefore = rounds(events).length;
      const start = performance.now();
      // 1,000 distinct forged hellos a second for a second, in batches (the pacing of the flood, not a wait for anything).
      for (let batch = 0; batch < 20; batch++) {
        for (let i = 0; i < 50; i++) forger.send(encodeAnnouncement('hello', `ghost-${batch}-${i}`));
        await delay(50);
      }
      await eventually(() => server.stats().announcements!.hellos >= 900, DEADLINE, 'the flood received');
      const during = rounds(events).slice(roundsBefore);
      const elapsed = performance.now() - start;
      // Each announced round lasts at least one spacing after its send, and the next one starts
      // at least one spacing after it ended; the spacing (announceIntervalMs(1) = 10.01 ms at
      // first) doubles after every round that changed nothing, up to pollTime.
      let bound = 1;
      for (let spent = 0, spacing = announceIntervalMs(1); spent + 2 * spacing <= elapsed; spacing = Math.min(SLOW.pollTime, spacing * 2)) {
        spent += 2 * spacing;
        bound++;
      }
      assert.ok(during.length >= 1, 'the flood did run surveys');
      assert.ok(during.length <= bound, `${during.length} rounds in ${elapsed.toFixed(0)} ms, at most ${bound}`);
      assert.deepEqual(server.members(), ['real']);
      assert.deepEqual(changes(events).slice(changesBefore), [], 'no ghost listed, nobody dropped');
      assert.equal(scheduled(events), 1);
    } finally {
      forger.close();
    }
  });
});

/**
 * A member of the test's own: a raw RESPONDENT that answers as a library client does (its
 * farewell token to surveys that advertise the announce URL), `answerAfterMs` after each
 * survey, while `answering`; and a PUSH for its bye. The test knows when it answered.
 */
class RawMember {
  readonly respondent: PeerSocket;
  readonly push: PeerSocket;
  readonly token = randomBytes(8);
  answering = true;
  private readonly loop: Promise<void>;

  constructor(readonly name: string, urls: { surveyUrl: string }, announceUrl: string, private readonly answerAfterMs = 0) {
    const respondent = PeerSocket.connect('respondent', urls.surveyUrl);
    this.respondent = respondent;
    this.push = PeerSocket.connect('push', announceUrl);
    this.loop = (async () => {
      while (this.answering) {
        const survey = await respondent.recv(100);
        if (!survey) continue;
        // The member's own pace (a slow answerer), not a wait for anything.
        if (this.answerAfterMs > 0) await delay(this.answerAfterMs);
        this.answer(survey);
      }
    })();
  }

  /** Answers `survey`; false if the socket could not take the answer. */
  answer(survey: Buffer): boolean {
    return this.respondent.send(encodeExtendedAnswer(Buffer.from(this.name), answerFields(survey, false, this.token)));
  }

  /** Stops the answering loop (surveys are then the test's to read). */
  async pause(): Promise<void> {
    this.answering = false;
    await this.loop;
  }

  /** Closes the respondent, then says bye with the token, as a library client's close() does. */
  async leave(): Promise<void> {
    await this.pause();
    this.respondent.close();
    await eventually(() => this.push.send(encodeAnnouncement('bye', this.name, [[FieldTag.farewellToken, this.token]])), DEADLINE, 'the bye went out');
  }

  async close(): Promise<void> {
    try {
      await this.pause();
    } finally {
      this.respondent.close();
      this.push.close();
    }
  }
}

/** Rounds that last the whole survey unless an announcement cuts them short; scheduled ones 30 s apart; no connection hints (rounds start only on the schedule or an announcement). */
const LONG = { surveyTime: 5000, recvDeadline: 5000, pollTime: 30_000, connectionHints: false } as const;

test('a hello during a round under way: the round is cut once every member has answered, and the round that lists the newcomer says a round held it', async () => {
  const urls = await tcpPair();
  const announceUrl = `tcp://127.0.0.1:${await freePort()}`;
  // Surveys of 20 s: the round that lists 'old' is still under way when 'fresh' says hello.
  const server = await createServer({ ...urls, surveyTime: 20_000, recvDeadline: 20_000, pollTime: 60_000, connectionHints: false, announceUrl });
  const events = record(server);
  let old: Client | undefined;
  let fresh: Client | undefined;
  try {
    const oldListed = nextChange(server, (c) => c.joined.includes('old'), "'old' listed");
    old = await createClient({ ...urls, service: 'old', announceUrl });
    const underWay = (await oldListed).round;
    const joined = nextChange(server, (c) => c.joined.includes('fresh'), "'fresh' listed");
    fresh = await createClient({ ...urls, service: 'fresh', announceUrl });
    const change = await joined;
    assert.equal(change.round, underWay + 1, "listed in the round after the one that listed 'old'");
    const cut = await roundInfo(events, underWay);
    const listing = await roundInfo(events, change.round);
    assert.ok(cut.durationMs < 20_000, `the round under way was cut short for the hello (${Math.round(cut.durationMs)} ms of a 20 s survey)`);
    assert.equal(listing.trigger, 'announcement');
    assert.equal(listing.heldBy, 'round', 'asked for while a round was under way');
    assert.ok(listing.askedMs !== undefined && listing.askedMs >= 0, 'the wait from the hello to the round is reported');
    assert.deepEqual(change.members, ['fresh', 'old']);
  } finally {
    await fresh?.close();
    await old?.close();
    await server.close();
  }
});

test('a client whose other survey URL is unreachable still says hello (its wait for the survey connections is bounded) and is listed in an announced round', async () => {
  const { server, events, announceUrl, urls } = await slowServer();
  let client: Client | undefined;
  try {
    const nobody = `tcp://127.0.0.1:${await freePort()}`;
    const joined = nextChange(server, (c) => c.joined.includes('half'), "'half' listed", BEFORE_SCHEDULE);
    client = await createClient({ surveyUrl: [urls.surveyUrl, nobody], pubsubUrl: urls.pubsubUrl, service: 'half', announceUrl });
    const change = await joined;
    assert.equal((await roundInfo(events, change.round)).announced, true, 'the hello started the round that listed it');
    assert.equal(scheduled(events), 1, 'no second scheduled round came first');
  } finally {
    await client?.close();
    await server.close();
  }
});

test('a proven bye during a round under way cuts the round short, and the next one drops the member at its farewell deadline', async () => {
  const urls = await tcpPair();
  const announceUrl = `tcp://127.0.0.1:${await freePort()}`;
  const server = await createServer({ ...urls, ...LONG, announceUrl });
  const events = record(server);
  const goes = new RawMember('goes', urls, announceUrl);
  let stays: Client | undefined;
  try {
    stays = await createClient({ ...urls, service: 'stays', announceUrl });
    await eventually(() => server.members().join() === 'goes,stays', DEADLINE, 'both listed');
    await eventually(() => rounds(events).some((r) => r.members === 2 && r.answers >= 2), DEADLINE, "a round with both answering to end (the server holds goes's token)");
    await goes.pause();
    // A forged hello asks for a round; goes answers its survey, then leaves while it runs (5 s).
    const forger = PeerSocket.connect('push', announceUrl);
    try {
      await eventually(() => forger.send(encodeAnnouncement('hello', 'ghost')), DEADLINE, 'the forger connected');
      const survey = await goes.respondent.recv(DEADLINE);
      assert.ok(survey, 'a survey came');
      const left = nextChange(server, (c) => c.left.length > 0, 'a departure');
      assert.ok(goes.answer(survey), 'the answer went out');
      await goes.leave();
      const change = await left;
      assert.deepEqual([change.left, change.members, change.eager], [['goes'], ['stays'], true]);
      const dropping = await roundInfo(events, change.round);
      const under = await roundInfo(events, change.round - 1);
      assert.ok(under.durationMs < LONG.surveyTime, `the round goes answered was cut short for its bye (${Math.round(under.durationMs)} ms of a ${LONG.surveyTime} ms survey)`);
      assert.equal(dropping.announced, true, 'the bye started the round that dropped it');
      assert.equal(dropping.farewells, 1, 'dropped at its farewell deadline');
      assert.equal(server.stats().announcements!.farewells, 1);
      assert.equal(scheduled(events), 1, 'no second scheduled round came first');
      assert.ok(!changes(events).some((c) => c.left.includes('stays')), "'stays' never left");
    } finally {
      forger.close();
    }
  } finally {
    await goes.close();
    await stays?.close();
    await server.close();
  }
});

test("a bye from one of two clients that share a name proves no departure: the other one's answer keeps the name listed", async () => {
  // The twins answer with different tokens, so the server holds none for the name; the raw
  // twin answers 40 ms after each survey: after a farewell deadline (10 ms), well within its
  // usual one (the floor is 300 ms with a 3 s survey).
  const TWIN = { surveyTime: 3000, recvDeadline: 3000, pollTime: 30_000 } as const;
  const urls = await tcpPair();
  const announceUrl = `tcp://127.0.0.1:${await freePort()}`;
  const server = await createServer({ ...urls, ...TWIN, announceUrl });
  const events = record(server);
  const slowTwin = new RawMember('twin', urls, announceUrl, 40);
  let fastTwin: Client | undefined;
  try {
    fastTwin = await createClient({ ...urls, service: 'twin', announceUrl });
    await eventually(() => rounds(events).some((r) => r.members === 1 && r.answers >= 2), DEADLINE, 'a round with both twins answering to end');
    const after = rounds(events).length;
    const closed = fastTwin.close();
    fastTwin = undefined;
    await closed;
    // Byes are counted in the round that took them; the round a bye asks for is announced (it may be that one).
    const since = () => rounds(events).slice(after);
    await eventually(() => since().some((r) => (r.byes ?? 0) > 0) && since().some((r) => r.announced), DEADLINE, 'the bye taken and the round it asked for ended');
    assert.deepEqual(server.members(), ['twin']);
    assert.ok(!changes(events).some((c) => c.left.includes('twin')), "'twin' never left (no flap)");
    assert.equal(server.stats().announcements!.farewells, 0, 'the bye earned no farewell deadline');
  } finally {
    await fastTwin?.close();
    await slowTwin.close();
    await server.close();
  }
});

test('nanocat and nngcat respondents, and a client without announceUrl, answer surveys that advertise the URL and are listed', async () => {
  requireNanocat('nanocat');
  requireNanocat('nngcat');
  const urls = await tcpPair();
  const announceUrl = `tcp://127.0.0.1:${await freePort()}`;
  const server = await createServer({ ...urls, surveyTime: 250, recvDeadline: 250, pollTime: 400, announceUrl });
  const peers = [
    Nanocat.start('--respondent', '--connect', urls.surveyUrl, '--data', 'nc-1', '--msgpack'),
    Nanocat.startNngcat('--respondent', '--connect', urls.surveyUrl, '--data', 'nng-1', '--msgpack'),
  ];
  const client = await createClient({ ...urls, service: 'ts-1' });
  try {
    await eventually(() => server.members().join() === 'nc-1,nng-1,ts-1', DEADLINE, 'all three listed');
    // What they were surveyed with: the GDX1 body with the announce URL (nanocat prints the surveys it gets).
    for (const p of peers) {
      const survey = await p.waitFor((m) => m.includes(Buffer.from(announceUrl)), DEADLINE, 'a survey advertising the announce URL');
      assert.equal(survey.subarray(0, 4).toString('latin1'), 'GDX1');
    }
  } finally {
    await Promise.all(peers.map((p) => p.kill()));
    await client.close();
    await server.close();
  }
});

test('an announce URL that cannot be bound fails createServer, and nothing is left bound; bad client announce URLs are refused', async () => {
  const urls = await tcpPair();
  const taken = `tcp://127.0.0.1:${await freePort()}`;
  const holder = PeerSocket.bind('pull', taken);
  try {
    await assert.rejects(createServer({ ...urls, announceUrl: taken }), /EADDRINUSE|in use/i);
    await assertPortFree(urls.surveyUrl);
    await assertPortFree(urls.pubsubUrl);
    await assert.rejects(createServer({ ...urls, announceUrl: urls.surveyUrl }), /announceUrl must differ/);
    await assert.rejects(createClient({ surveyUrl: urls.surveyUrl, service: 'x', announceUrl: 'nope' }), /invalid URL "nope"/);
    const five = Array.from({ length: 5 }, (_, i) => `tcp://127.0.0.1:${4000 + i}`);
    await assert.rejects(createClient({ surveyUrl: urls.surveyUrl, service: 'x', announceUrl: five }), /at most 4 URLs/);
  } finally {
    holder.close();
  }
});
