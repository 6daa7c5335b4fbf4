/**
 * The join survey (README "Join survey"): a server with `joinUrl` binds a second SURVEYOR
 * socket that only newcomers dial; a hello from a name not listed sends a survey there at
 * once, and the answer admits the member. Real sockets, a real server, library clients and
 * raw peers (PUSH hellos, RESPONDENTs parked on the join socket).
 *
 * The servers here survey on schedule every 10 s (pollTime): a member listed before the
 * second scheduled round was listed by the join survey (the change says so: viaJoin).
 * Asserted by events, never by timing.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import { createClient, createServer, type JoinSurveyInfo, type MembershipChange, type Server } from '../src/index.js';
import { encodeAnnouncement, encodeSurveyBody, FieldTag } from '../src/extensions.js';
import { isJoinSurvey } from '../src/actors/respondent.js';
import { JOIN_MIN_INTERVAL_MS } from '../src/join-survey.js';
import { closeActorPool } from '../src/pool.js';
import { PeerSocket } from '../src/testing/peer-socket.js';
import { assertPortFree, freePort, tcpPair } from './helpers/endpoints.js';
import { Nanocat, requireNanocat } from './helpers/nanocat.js';
import { recordServerEvents, type ServerEvent } from './helpers/server-events.js';
import { eventually, within } from './helpers/wait.js';

after(() => closeActorPool());

const DEADLINE = 30_000;
/** No connection hints: only the schedule (every 10 s), announcements and join surveys list anyone here. */
const SLOW = { surveyTime: 1000, recvDeadline: 1000, pollTime: 10_000, connectionHints: false } as const;

const rounds = (events: ServerEvent[]) => events.flatMap((e) => (e.kind === 'round' ? [e.round] : []));
const scheduled = (events: ServerEvent[]) => rounds(events).filter((r) => r.trigger === 'schedule').length;
const changes = (events: ServerEvent[]) => events.flatMap((e) => (e.kind === 'change' ? [e.change] : []));

interface Bed {
  server: Server;
  events: ServerEvent[];
  joinSurveys: JoinSurveyInfo[];
  urls: { surveyUrl: string; pubsubUrl: string };
  announceUrl: string;
  joinUrl: string;
}

async function withServer(options: { secret?: string; accept?: readonly string[] | ((name: string) => boolean) }, body: (bed: Bed) => Promise<void>): Promise<void> {
  const urls = await tcpPair();
  const announceUrl = `tcp://127.0.0.1:${await freePort()}`;
  const joinUrl = `tcp://127.0.0.1:${await freePort()}`;
  const server = await createServer({ ...urls, ...SLOW, announceUrl, joinUrl, ...options });
  const events = recordServerEvents(server);
  const joinSurveys: JoinSurveyInfo[] = [];
  server.on('joinSurvey', (j) => joinSurveys.push(j));
  try {
    // The first scheduled round runs at once; the next one is 10 s away.
    await eventually(() => rounds(events).length >= 1, DEADLINE, 'the first scheduled round');
    await body({ server, events, joinSurveys, urls, announceUrl, joinUrl });
  } finally {
    await server.close();
  }
}

function nextChange(server: Server, predicate: (c: MembershipChange) => boolean, what: string): Promise<MembershipChange> {
  return within(DEADLINE, what, new Promise<MembershipChange>((resolve) => server.on('change', (c) => predicate(c) && resolve(c))));
}

test('a client with announceUrl and joinUrl is listed by a join survey before the next scheduled round, then drops the join socket', async () => {
  await withServer({}, async ({ server, events, joinSurveys, urls, announceUrl, joinUrl }) => {
    const listed = nextChange(server, (c) => c.joined.includes('newcomer'), 'newcomer listed');
    const client = await createClient({ ...urls, service: 'newcomer', announceUrl, joinUrl });
    try {
      const change = await listed;
      assert.equal(change.viaJoin, true, 'admitted by its answer to a join survey');
      assert.equal(change.eager, true);
      assert.deepEqual(change.members, ['newcomer']);
      assert.equal(scheduled(events), 1, 'before the second scheduled round');
      assert.equal(server.stats().announcements!.rounds, 0, 'no main round was needed');
      await eventually(() => joinSurveys.some((j) => j.admitted), DEADLINE, 'the join survey over');
      assert.equal(joinSurveys.find((j) => j.admitted)!.connections, 1, 'the newcomer was on the join socket');
      // It drops the join socket once it has answered: a forged hello's join survey (the name
      // never answers) finds its connections back to 0, while the client stays listed.
      const forger = PeerSocket.connect('push', announceUrl);
      try {
        let n = 0;
        await eventually(
          () => {
            forger.send(encodeAnnouncement('hello', `ghost-${n++}`));
            return joinSurveys.some((j) => j.connections === 0);
          },
          DEADLINE,
          'a join survey that finds no connection',
          50,
        );
      } finally {
        forger.close();
      }
      assert.deepEqual(server.members(), ['newcomer']);
      assert.equal(changes(events).length, 1, 'one change: the join, no ghost listed');
    } finally {
      await client.close();
    }
  });
});

test('a member listed by a join survey that closes before any main survey reached it leaves within its farewell deadline, not at the survey\'s end', async () => {
  // Surveys of 20 s: a departure judged by the survey's end could not meet the 10 s below.
  // The member's only answer is its join survey's, so the surveyor has no main-survey offset
  // for it; its bye (with the token of that answer) must still earn the short deadline.
  const urls = await tcpPair();
  const announceUrl = `tcp://127.0.0.1:${await freePort()}`;
  const joinUrl = `tcp://127.0.0.1:${await freePort()}`;
  const server = await createServer({ ...urls, surveyTime: 20_000, recvDeadline: 20_000, pollTime: 60_000, connectionHints: false, announceUrl, joinUrl });
  try {
    const listed = nextChange(server, (c) => c.joined.includes('brief'), 'brief listed');
    const client = await createClient({ ...urls, service: 'brief', announceUrl, joinUrl });
    try {
      assert.equal((await listed).viaJoin, true, 'listed by its join survey');
    } finally {
      const left = within(10_000, 'brief to leave within 10 s of its bye (a 20 s survey)', new Promise<MembershipChange>((resolve) => server.on('change', (c) => c.left.includes('brief') && resolve(c))));
      await client.close();
      assert.deepEqual((await left).members, []);
    }
  } finally {
    await server.close();
  }
});

test('a client whose surveyUrl is the server\'s join URL says so (misdialled), naming its survey URL; only join surveys are marked', async () => {
  assert.equal(isJoinSurvey(encodeSurveyBody([[FieldTag.joinSurvey, new Uint8Array(0)]])), true);
  assert.equal(isJoinSurvey(encodeSurveyBody([[FieldTag.listDigest, Buffer.alloc(8)]])), false, 'a main survey');
  assert.equal(isJoinSurvey(new Uint8Array(0)), false, "the original's empty survey");
  assert.equal(isJoinSurvey(Buffer.from('GDX1\xff')), false, 'garbage');
  await withServer({}, async ({ server, announceUrl, joinUrl }) => {
    const listed = nextChange(server, (c) => c.joined.includes('misdialled'), 'the misdialled client listed by the join survey');
    const wrong = await createClient({ surveyUrl: joinUrl, service: 'misdialled', announceUrl });
    try {
      // The event may come before this listener: the property keeps it.
      const told = await within(DEADLINE, "the misdialled client's event", new Promise<string[]>((resolve) => {
        wrong.once('misdialled', ({ surveyUrls }) => resolve(surveyUrls));
        if (wrong.misdialledSurveyUrls) resolve(wrong.misdialledSurveyUrls);
      }));
      assert.deepEqual(told, [joinUrl]);
      assert.deepEqual(wrong.misdialledSurveyUrls, [joinUrl]);
      assert.equal((await listed).viaJoin, true);
    } finally {
      await wrong.close();
    }
  });
});

test('a newcomer already listed gets no second change; a client without joinUrl is still listed by a main round', async () => {
  await withServer({}, async ({ server, events, urls, announceUrl, joinUrl }) => {
    const viaJoin = nextChange(server, (c) => c.joined.includes('a'), 'a listed');
    const a = await createClient({ ...urls, service: 'a', announceUrl, joinUrl });
    const plainListed = nextChange(server, (c) => c.joined.includes('b'), 'b listed');
    const b = await createClient({ ...urls, service: 'b', announceUrl });
    try {
      assert.equal((await viaJoin).viaJoin, true);
      const plain = await plainListed;
      assert.equal(plain.viaJoin, undefined, 'b never dialled the join socket: a main round listed it');
      assert.equal(scheduled(events), 1, 'before the second scheduled round');
      // A hello from a listed name asks for nothing.
      const forger = PeerSocket.connect('push', announceUrl);
      try {
        const before = server.stats().announcements!.hellos;
        await eventually(() => forger.send(encodeAnnouncement('hello', 'a')), DEADLINE, 'the forger connected');
        await eventually(() => server.stats().announcements!.hellos > before, DEADLINE, 'the hello received');
      } finally {
        forger.close();
      }
      assert.equal(changes(events).filter((c) => c.joined.includes('a')).length, 1, 'a joined once');
      assert.deepEqual(server.members(), ['a', 'b']);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});

test('nanocat and nngcat respondents never dial the join socket and are still listed at once by a connection hint, beside a client listed by a join survey', async () => {
  requireNanocat('nanocat');
  requireNanocat('nngcat');
  const urls = await tcpPair();
  const announceUrl = `tcp://127.0.0.1:${await freePort()}`;
  const joinUrl = `tcp://127.0.0.1:${await freePort()}`;
  // Connection hints on (the default), still a 10 s schedule: a round before the second scheduled one was asked for.
  const server = await createServer({ ...urls, ...SLOW, connectionHints: true, announceUrl, joinUrl });
  const events = recordServerEvents(server);
  const peers: Nanocat[] = [];
  try {
    await eventually(() => rounds(events).length >= 1, DEADLINE, 'the first scheduled round');
    const viaJoin = nextChange(server, (c) => c.joined.includes('ts-1'), 'ts-1 listed');
    const client = await createClient({ ...urls, service: 'ts-1', announceUrl, joinUrl });
    try {
      assert.equal((await viaJoin).viaJoin, true);
      peers.push(Nanocat.start('--respondent', '--connect', urls.surveyUrl, '--data', 'nc-1', '--msgpack'));
      peers.push(Nanocat.startNngcat('--respondent', '--connect', urls.surveyUrl, '--data', 'nng-1', '--msgpack'));
      await eventually(() => server.members().join() === 'nc-1,nng-1,ts-1', DEADLINE, 'all three listed');
      assert.equal(scheduled(events), 1, 'before the second scheduled round: their pipes asked for a round');
      // The round that listed them (eagerly, mid-round) reports at its end.
      await eventually(() => rounds(events).some((r) => r.trigger === 'connection'), DEADLINE, 'the round a connection hint asked for, ended');
      assert.equal(scheduled(events), 1, 'it came before the second scheduled round');
      assert.ok(changes(events).filter((c) => c.joined.some((n) => n !== 'ts-1')).every((c) => !c.viaJoin), 'not by a join survey');
    } finally {
      await client.close();
    }
  } finally {
    await Promise.all(peers.map((p) => p.kill()));
    await server.close();
  }
});

/** A raw RESPONDENT parked on the join socket, answering every join survey with `answer` while open. */
function parkedRespondent(joinUrl: string, answer: (survey: Buffer) => Buffer): { answers: () => number; close: () => Promise<void> } {
  const socket = PeerSocket.connect('respondent', joinUrl);
  let open = true;
  let answered = 0;
  const loop = (async () => {
    while (open) {
      const survey = await socket.recv(100);
      if (survey && socket.send(answer(survey))) answered++;
    }
  })();
  return {
    answers: () => answered,
    close: async () => {
      open = false;
      await loop;
      socket.close();
    },
  };
}

test('a flood of forged hellos with a respondent parked on the join socket: join surveys are bounded, and the name the accept rule refuses is never admitted', async () => {
  await withServer({ accept: ['real'] }, async ({ server, events, joinSurveys, joinUrl, announceUrl }) => {
    const parked = parkedRespondent(joinUrl, () => Buffer.from('intruder'));
    const forger = PeerSocket.connect('push', announceUrl);
    try {
      await eventually(() => forger.send(encodeAnnouncement('hello', 'intruder')), DEADLINE, 'the forger connected');
      await eventually(() => parked.answers() >= 1, DEADLINE, 'the parked respondent answered a join survey');
      await eventually(() => server.stats().refused['not-accepted'] >= 1, DEADLINE, 'its answer refused by the accept rule');
      const surveysBefore = joinSurveys.length;
      const start = performance.now();
      // 1,000 distinct forged hellos a second for a second, in batches (the pacing of the flood, not a wait for anything).
      for (let batch = 0; batch < 20; batch++) {
        for (let i = 0; i < 50; i++) forger.send(encodeAnnouncement('hello', `ghost-${batch}-${i}`));
        await delay(50);
      }
      await eventually(() => server.stats().announcements!.hellos >= 900, DEADLINE, 'the flood received');
      const elapsed = performance.now() - start;
      const during = joinSurveys.length - surveysBefore;
      // Join surveys admit nobody here, so their spacing (JOIN_MIN_INTERVAL_MS at first) doubles
      // after each, up to pollTime; one more may be under way.
      let bound = 2;
      for (let spent = 0, spacing = JOIN_MIN_INTERVAL_MS * 2; spent + spacing <= elapsed; spacing = Math.min(SLOW.pollTime, spacing * 2)) {
        spent += spacing;
        bound++;
      }
      assert.ok(during >= 1, 'the flood did run join surveys');
      assert.ok(during <= bound, `${during} join surveys in ${elapsed.toFixed(0)} ms, at most ${bound}`);
      assert.ok(joinSurveys.every((j) => !j.admitted), 'no join survey admitted anyone');
      assert.deepEqual(server.members(), []);
      assert.deepEqual(changes(events), [], 'no list change');
    } finally {
      forger.close();
      await parked.close();
    }
  });
});

test('in secret mode a join answer without the right MAC is refused and admits nobody; a client with the secret is admitted', async () => {
  const secret = 'join-survey-test-secret-0123456789';
  await withServer({ secret }, async ({ server, events, joinSurveys, urls, joinUrl, announceUrl }) => {
    // A parked respondent without the key answers with the bare name: 'unauthenticated'.
    const parked = parkedRespondent(joinUrl, () => Buffer.from('intruder'));
    const forger = PeerSocket.connect('push', announceUrl);
    try {
      await eventually(() => forger.send(encodeAnnouncement('hello', 'intruder')), DEADLINE, 'the forger connected');
      await eventually(() => parked.answers() >= 1, DEADLINE, 'the parked respondent answered a join survey');
      await eventually(() => joinSurveys.length >= 1, DEADLINE, 'its join survey over');
      await eventually(() => rounds(events).length >= 2, DEADLINE, 'the main round asked for the unlisted hello');
      const refused = server.stats().refused;
      assert.ok(refused.unauthenticated + refused['bad-mac'] + refused['unknown-key'] >= 1, 'the answer refused');
      assert.deepEqual(server.members(), []);
      const listed = nextChange(server, (c) => c.joined.includes('member'), 'member listed');
      const client = await createClient({ ...urls, service: 'member', announceUrl, joinUrl, secret });
      try {
        const change = await listed;
        assert.equal(change.viaJoin, true);
        assert.deepEqual(change.members, ['member']);
        assert.equal(scheduled(events), 1, 'before the second scheduled round');
      } finally {
        await client.close();
      }
    } finally {
      forger.close();
      await parked.close();
    }
  });
});

test('the join socket counts in the surveyor\'s socket ledger, is bound again when the surveyor restarts (a newcomer is then listed by a join survey), and is closed with the server', async () => {
  let joinUrl = '';
  await withServer({}, async ({ server, events, urls, announceUrl, joinUrl: url }) => {
    joinUrl = url;
    const ledger = () => server.health().find((h) => h.id === 'surveyor')!.sockets.length;
    assert.equal(ledger(), 3, 'survey, announce and join sockets');
    const started = within(DEADLINE, 'surveyor back', new Promise((r) => server.supervisor.on('actor:start', (e) => e.id === 'surveyor' && r(e))));
    const roundsBefore = rounds(events).length;
    await server.supervisor.injectFault('surveyor', 'throw');
    await started;
    await eventually(() => server.health().find((h) => h.id === 'surveyor')!.state === 'running', DEADLINE, 'the surveyor running again');
    assert.equal(ledger(), 3, 'all three bound again');
    // The restarted surveyor's first scheduled round runs at once (the next is 10 s away):
    // a newcomer connected before its survey went out (a loaded machine delays it) would be
    // listed by that round rather than by its join survey.
    await eventually(() => rounds(events).length > roundsBefore, DEADLINE, "the restarted surveyor's first round");
    const listed = nextChange(server, (c) => c.joined.includes('after-restart'), 'listed after the restart');
    const client = await createClient({ ...urls, service: 'after-restart', announceUrl, joinUrl });
    try {
      assert.equal((await listed).viaJoin, true, 'by a join survey of the restarted surveyor');
    } finally {
      await client.close();
    }
  });
  await assertPortFree(joinUrl);
});

test('bad joinUrl values are refused with clear errors; a join URL in use fails createServer with nothing left bound', async () => {
  const urls = await tcpPair();
  const announceUrl = `tcp://127.0.0.1:${await freePort()}`;
  const joinUrl = `tcp://127.0.0.1:${await freePort()}`;
  await assert.rejects(createServer({ ...urls, joinUrl }), /joinUrl needs announceUrl/);
  await assert.rejects(createServer({ ...urls, announceUrl, joinUrl: 'nope' }), /invalid URL "nope"/);
  await assert.rejects(createServer({ ...urls, announceUrl, joinUrl: announceUrl }), /joinUrl must differ/);
  await assert.rejects(createServer({ ...urls, announceUrl, joinUrl: 42 as unknown as string }), /joinUrl must be a URL string/);
  await assert.rejects(createClient({ surveyUrl: urls.surveyUrl, service: 'x', joinUrl }), /joinUrl needs announceUrl/);
  await assert.rejects(createClient({ surveyUrl: urls.surveyUrl, service: 'x', announceUrl, joinUrl: 'nope' }), /invalid URL "nope"/);
  await assert.rejects(createClient({ surveyUrl: urls.surveyUrl, service: 'x', announceUrl, joinUrl: urls.surveyUrl }), /surveyUrl and joinUrl must differ/);
  const holder = PeerSocket.bind('pull', joinUrl);
  try {
    await assert.rejects(createServer({ ...urls, announceUrl, joinUrl }), /EADDRINUSE|in use/i);
    await assertPortFree(urls.surveyUrl);
    await assertPortFree(urls.pubsubUrl);
    await assertPortFree(announceUrl);
  } finally {
    holder.close();
  }
});
