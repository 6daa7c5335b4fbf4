/**
 * Shared-secret mode with real sockets: the attacks the README's "Security" section
 * lists. Peers without the key, with a wrong key, or speaking the plain protocol (our
 * plain client, nanocat) are refused and counted, never listed; an answer captured from
 * one survey and replayed to the next is refused; subscribers drop garbled, truncated,
 * replayed and forged lists and say why; a key rotation from A to B drops nobody.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createClient, createServer, subscribe, type Client, type MembershipChange, type Server, type Subscriber } from '../src/index.js';
import { closeActorPool } from '../src/pool.js';
import { deriveKey, Keyring, ListSealer, SEALED_MAGIC } from '../src/keyring.js';
import { DEADLINE, STEADY_TIMING } from './helpers/discovery.js';
import { freePort, tcpPair } from './helpers/endpoints.js';
import { Nanocat, requireNanocat } from './helpers/nanocat.js';
import { Peer } from './helpers/peer.js';
import { RawSpPeer, SP_PROTOCOL, withSurveyId } from './helpers/raw-sp.js';
import { portOf } from './helpers/tcp-state.js';
import { eventually, sameMembers, within } from './helpers/wait.js';

const A = 'key-A-7f3c9a1e5b2d8c4f';
const B = 'key-B-2e8b4d6f0a1c3e5b';
/** Heartbeats, so subscribers get lists (sealed anew each time) without waiting for a change. */
const TIMING = { ...STEADY_TIMING, republishMs: 300 } as const;

const nanocats: Nanocat[] = [];
after(async () => {
  await Promise.all(nanocats.map((nc) => nc.kill()));
  await closeActorPool();
});

/** Waits for `n` more rounds of `server`. */
async function rounds(server: Server, n: number): Promise<void> {
  const target = server.stats().rounds + n;
  await eventually(() => server.stats().rounds >= target, DEADLINE, `${n} more rounds`);
}

/** Collects every list a subscriber yields. */
function record(sub: Subscriber): string[][] {
  const lists: string[][] = [];
  sub.on('change', (l) => lists.push(l));
  return lists;
}

interface SecretServer {
  urls: { surveyUrl: string; pubsubUrl: string };
  server: Server;
  /** Every change of the server's set. */
  changes: MembershipChange[];
  /** A subscriber with key A. */
  watcher: Subscriber;
  /** Every list the watcher yielded. */
  lists: string[][];
  /** Registers a client or subscriber to be closed at the end. */
  track<T extends Client | Subscriber>(handle: T): T;
}

/** A server with secret A and a watcher with A; everything tracked is closed afterwards, then the server. */
async function withSecretServer(fn: (s: SecretServer) => Promise<void>): Promise<void> {
  const urls = await tcpPair();
  const server = await createServer({ ...urls, ...TIMING, secret: A });
  const changes: MembershipChange[] = [];
  server.on('change', (c) => changes.push(c));
  const handles: Array<Client | Subscriber> = [];
  const track = <T extends Client | Subscriber>(h: T): T => (handles.push(h), h);
  try {
    const watcher = track(await subscribe({ pubsubUrl: urls.pubsubUrl, secret: A }));
    await fn({ urls, server, changes, watcher, lists: record(watcher), track });
  } finally {
    await Promise.all(handles.map((h) => h.close()));
    await server.close();
  }
}

test('a client with the key is listed; one with a wrong key is refused as unknown-key and never listed; subscribers without the right key learn nothing and say why', async () => {
  await withSecretServer(async ({ urls, server, changes, lists, track }) => {
    const wrongSub = track(await subscribe({ pubsubUrl: urls.pubsubUrl, secret: B }));
    const wrongLists = record(wrongSub);
    const whyWrong: string[] = [];
    wrongSub.on('refused', (r) => whyWrong.push(r.code));
    const plainLists = record(track(await subscribe({ pubsubUrl: urls.pubsubUrl })));
    const good = track(await createClient({ ...urls, service: 'good', secret: A }));
    const wrong = track(await createClient({ ...urls, service: 'wrong-key', secret: B }));

    await eventually(() => lists.some((l) => sameMembers(l, ['good'])), DEADLINE, 'the watcher with the key to see [good]');
    await eventually(() => good.latestPeers()?.includes('good') === true, DEADLINE, "good's own subscription to see itself");
    await eventually(() => server.stats().refused['unknown-key'] >= 3, DEADLINE, 'three refusals of the wrong key');
    await eventually(() => wrongSub.refusedLists()['unknown-key'] >= 3, DEADLINE, 'the wrong-key subscriber to drop three lists');
    await eventually(() => wrong.refusedLists()['unknown-key'] >= 3, DEADLINE, "the wrong-key client's subscription to drop three lists");
    await rounds(server, 2);

    for (const c of changes) assert.deepEqual(c.members, ['good'], 'only the client with the key was ever listed');
    for (const l of lists) assert.ok(!l.includes('wrong-key'));
    assert.deepEqual(wrongLists, [], 'a subscriber with the wrong key yields nothing');
    assert.equal(wrongSub.latest(), undefined);
    assert.equal(wrong.latestPeers(), undefined, 'nor does the wrong-key client learn its peers');
    assert.ok(whyWrong.length >= 3 && whyWrong.every((c) => c === 'unknown-key'), `its 'refused' events say why: ${whyWrong.join(', ')}`);
    for (const l of plainLists) assert.ok(!l.includes('good'), `a subscriber without the key read a name: ${JSON.stringify(l)}`);
    const refused = server.stats().refused;
    assert.equal(refused['bad-mac'], 0);
    assert.equal(refused.unauthenticated, 0);
    for (const h of server.health()) assert.equal(h.restarts, 0, `${h.name} restarted`);
  });
});

test('a plain client and a nanocat respondent are refused by a secret server as unauthenticated; a nanocat subscriber reads only sealed bytes', async () => {
  requireNanocat();
  const urls = await tcpPair();
  const server = await createServer({ ...urls, ...TIMING, secret: A });
  const changes: MembershipChange[] = [];
  server.on('change', (c) => changes.push(c));
  const clients: Client[] = [];
  const ncSub = Nanocat.start('--sub', '--connect', urls.pubsubUrl, '--msgpack');
  nanocats.push(ncSub);
  try {
    clients.push(await createClient({ ...urls, service: 'good', secret: A }));
    clients.push(await createClient({ ...urls, service: 'plain' }));
    const nc = Nanocat.start('--respondent', '--connect', urls.surveyUrl, '--data', 'nc-plain');
    nanocats.push(nc);
    await eventually(() => sameMembers(server.members(), ['good']), DEADLINE, 'good to be listed');
    // Two plain peers: two refusals per round once both are connected.
    await eventually(() => server.stats().refused.unauthenticated >= 6, DEADLINE, 'six unauthenticated answers refused');
    await ncSub.waitFor((m) => m.byteLength > 0, DEADLINE, 'a publication');
    await nc.kill();
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await server.close();
  }
  for (const c of changes) assert.ok(!c.members.includes('plain') && !c.members.includes('nc-plain'), JSON.stringify(c.members));
  assert.ok(ncSub.messages.length > 0);
  for (const m of ncSub.messages) {
    assert.deepEqual(m.subarray(0, 4), SEALED_MAGIC, 'every publication is sealed');
    assert.ok(!m.includes(Buffer.from('good')), 'no name in the clear');
  }
  const refused = server.stats().refused;
  assert.equal(refused['unknown-key'], 0);
  assert.equal(refused['bad-mac'], 0);
});

test('an answer captured from one survey and replayed to the next is refused as bad-mac; the member it named is dropped', async () => {
  const urls = await tcpPair();
  const server = await createServer({ ...urls, ...TIMING, secret: A });
  const changes: MembershipChange[] = [];
  server.on('change', (c) => changes.push(c));
  // The victim, a real client with the key, answers only the test's own surveyor; a raw
  // respondent on the server relays the server's surveys to it and its answers back.
  const relayUrl = `tcp://127.0.0.1:${await freePort()}`;
  const relay = Peer.bind('surveyor', relayUrl).surveyDeadline(5000);
  let victim: Client | undefined = await createClient({ surveyUrl: relayUrl, service: 'victim', secret: A });
  const raw = await RawSpPeer.open(portOf(urls.surveyUrl), SP_PROTOCOL.respondent);
  try {
    let captured: Buffer | undefined;
    await within(
      DEADLINE * 2,
      'the victim to be listed through the relay',
      (async () => {
        while (!server.members().includes('victim')) {
          const survey = await raw.next(DEADLINE, 'a survey');
          relay.send(survey.subarray(4));
          const answer = await relay.recv(2000);
          if (!answer) continue; // the victim was not connected yet
          captured = answer;
          raw.send(withSurveyId(survey.readUInt32BE(0), answer));
        }
      })(),
    );
    assert.ok(captured, 'an answer was captured');
    assert.ok(captured.includes(Buffer.from('victim')), 'the captured answer names the victim');
    await victim.close();
    victim = undefined;

    const badBefore = server.stats().refused['bad-mac'];
    const dropped = changes.length;
    // Replay the captured answer to each later survey, with that survey's id, until three
    // replays were refused (a replay that a starved test sends after the deadline is dropped by nanomsg, uncounted).
    const replay = captured;
    await within(
      DEADLINE * 2,
      'three replays refused as bad-mac',
      (async () => {
        while (server.stats().refused['bad-mac'] < badBefore + 3) {
          const survey = await raw.next(DEADLINE, 'a later survey');
          raw.send(withSurveyId(survey.readUInt32BE(0), replay));
        }
      })(),
    );
    await eventually(() => !server.members().includes('victim'), DEADLINE, 'the victim dropped despite the replays');
    const left = changes.slice(dropped).find((c) => c.left.includes('victim'));
    assert.ok(left, 'a change reported the victim gone');
    const after = changes.slice(changes.indexOf(left) + 1);
    for (const c of after) assert.ok(!c.members.includes('victim'), 'the replays never listed the victim again');
  } finally {
    raw.destroy();
    await victim?.close();
    relay.close();
    await server.close();
  }
});

test('a subscriber drops garbled, truncated, replayed and forged lists from a rogue publisher it dials, counts each by reason, and yields only the real ones', async () => {
  const url = `tcp://127.0.0.1:${await freePort()}`;
  const rogue = Peer.bind('pub', url);
  const sub = await subscribe({ pubsubUrl: url, secret: A });
  const lists = record(sub);
  const reasons: string[] = [];
  sub.on('refused', (r) => reasons.push(r.code));
  const ringA = new Keyring([deriveKey(A)]);
  const sealer = new ListSealer(ringA);
  try {
    const first = sealer.seal(Buffer.from('a'));
    // PUB drops what it sends before the subscriber is connected: send fresh seals until one arrives.
    await eventually(
      () => {
        assert.ok(rogue.send(sealer.seal(Buffer.from('a'))));
        return sub.latest() !== undefined;
      },
      DEADLINE,
      'the first list',
      50,
    );
    const garbled = sealer.seal(Buffer.from('a|evil'));
    garbled[garbled.byteLength - 20]! ^= 0x01;
    const truncated = sealer.seal(Buffer.from('a|evil')).subarray(0, 40);
    const forgedSameId = sealer.seal(Buffer.from('a|evil'));
    forgedSameId.fill(0x5a, 20); // knows the key id, not the key
    const attacks: Array<[string, Buffer]> = [
      ['bad-seal', garbled],
      ['bad-seal', truncated],
      ['bad-seal', forgedSameId],
      ['unsealed', Buffer.from('a|evil')],
      ['unknown-key', new ListSealer(new Keyring([deriveKey(B)])).seal(Buffer.from('a|evil'))],
      ['replayed', first],
    ];
    for (const [, bytes] of attacks) assert.ok(rogue.send(bytes));
    assert.ok(rogue.send(sealer.seal(Buffer.from('a|b'))));
    await eventually(() => sameMembers(sub.latest() ?? [], ['a', 'b']), DEADLINE, 'the real list after the attacks');
    // One connection keeps the order: every attack was read before the last list.
    assert.deepEqual(reasons, attacks.map(([code]) => code));
    assert.deepEqual(sub.refusedLists(), { malformed: 0, unsealed: 1, 'unknown-key': 1, 'bad-seal': 3, replayed: 1 });
    assert.deepEqual(lists, [['a'], ['a', 'b']], 'only the real lists were yielded');
    for (const h of sub.health()) assert.equal(h.restarts, 0);
  } finally {
    await sub.close();
    rogue.close();
  }
});

test('a nanocat publisher that a secret subscriber dials is refused as unsealed: nothing yielded', async () => {
  requireNanocat();
  const url = `tcp://127.0.0.1:${await freePort()}`;
  const nc = Nanocat.start('--pub', '--bind', url, '--data', 'forged-1|forged-2', '--interval', '0.1');
  nanocats.push(nc);
  const sub = await subscribe({ pubsubUrl: url, secret: A });
  try {
    await eventually(() => sub.refusedLists().unsealed >= 3, DEADLINE, 'three plain lists dropped');
    assert.equal(sub.latest(), undefined);
  } finally {
    await sub.close();
    await nc.kill();
  }
});

test('key rotation A → B with setSecret(): clients on A only and on B only are listed throughout, nobody is dropped, A is retired', async () => {
  await withSecretServer(async ({ urls, server, changes, watcher, lists, track }) => {
    const onA = track(await createClient({ ...urls, service: 'on-a', secret: A }));
    await eventually(() => lists.some((l) => sameMembers(l, ['on-a'])), DEADLINE, '[on-a] at the watcher');

    // Step 1: every node learns B, A still first (signs and seals).
    server.setSecret([A, B]);
    watcher.setSecret([A, B]);
    await rounds(server, 2);
    // A node already on B only (no subscription: lists are still sealed with A) can join now.
    const onB = track(await createClient({ surveyUrl: urls.surveyUrl, service: 'on-b', secret: B }));
    await eventually(() => lists.some((l) => sameMembers(l, ['on-a', 'on-b'])), DEADLINE, '[on-a, on-b] at the watcher');
    const bothFrom = lists.length - 1;
    const changesFrom = changes.length;

    // Step 2: B first everywhere; the A-only client still answers with A and is accepted.
    server.setSecret([B, A]);
    watcher.setSecret([B, A]);
    await rounds(server, 3);
    onA.setSecret([B, A]);
    await rounds(server, 3);

    // Step 3: A retired.
    server.setSecret([B]);
    watcher.setSecret([B]);
    onA.setSecret([B]);
    await rounds(server, 3);
    track(await createClient({ surveyUrl: urls.surveyUrl, service: 'late-on-a', secret: A }));
    await eventually(() => server.stats().refused['unknown-key'] >= 2, DEADLINE, 'an A-only client refused once A is retired');

    // Lists sealed with B reach the watcher: on-b leaves, and the watcher hears it.
    await onB.close();
    await eventually(() => sameMembers(lists.at(-1)!, ['on-a']), DEADLINE, 'the watcher to see on-b leave (a list sealed with B)');
    const during = lists.slice(bothFrom, -1);
    for (const l of during) assert.ok(sameMembers(l, ['on-a', 'on-b']), `a list during the rotation: ${JSON.stringify(l)}`);
    for (const c of changes.slice(changesFrom, -1)) assert.deepEqual(c.left, [], `a change during the rotation dropped ${c.left.join(', ')}`);
    for (const c of changes) assert.ok(!c.members.includes('late-on-a'));
    assert.deepEqual(watcher.refusedLists(), { malformed: 0, unsealed: 0, 'unknown-key': 0, 'bad-seal': 0, replayed: 0 });
    assert.equal(server.stats().refused['bad-mac'], 0);
    assert.throws(() => server.setSecret('short'), { code: 'ERR_INVALID_OPTION' });
  });
});

test('a secret-mode client leaves a plain server\'s surveys unanswered (it never answers without a nonce to sign) and is not listed', async () => {
  const urls = await tcpPair();
  const server = await createServer({ ...urls, ...TIMING });
  let client: Client | undefined;
  try {
    client = await createClient({ surveyUrl: urls.surveyUrl, service: 'secret-client', secret: A });
    const respondent = client.supervisor.actor('respondent')!;
    await eventually(async () => ((await respondent.call('status', 5000)).stats.unanswered ?? 0) >= 3, DEADLINE, 'three plain surveys left unanswered');
    assert.equal((await respondent.call('status', 5000)).stats.surveys ?? 0, 0, 'no survey was answered');
    assert.deepEqual(server.members(), []);
    assert.equal(server.stats().answers, 0);
  } finally {
    await client?.close();
    await server.close();
  }
});

test('setSecret() on a plain server is refused: plain mode is not switched to secret mode in place', async () => {
  const urls = await tcpPair();
  const server = await createServer({ ...urls, ...TIMING });
  try {
    assert.throws(() => server.setSecret(A), { code: 'ERR_INVALID_OPTION', message: /created without a secret/ });
  } finally {
    await server.close();
  }
});
