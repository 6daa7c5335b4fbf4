/**
 * State on connect, with default options: a client restarted under the same name (the
 * membership does not change, so nothing is published for it) gets the current list in
 * about one round through the survey's list digest; a standalone subscriber gets it from
 * the heartbeat; nanocat and nng respondents are still listed when surveys carry a body.
 * The original mode (republishMs: 0, listDigest: false) keeps the original's silence. In
 * shared-secret mode the digest, the nonce and the MAC share one survey and one answer.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { performance } from 'node:perf_hooks';
import { createClient, createServer, subscribe, type Client, type Server } from '../src/index.js';
import { closeActorPool } from '../src/pool.js';
import { HEARTBEAT_BASE_MS, HEARTBEAT_MAX_MS, heartbeatPeriodMs, nextHeartbeatMs } from '../src/actors/publisher.js';
import { answerFor } from '../src/actors/respondent.js';
import { readAnswer, surveyAuthentication, surveyBodyFor, surveyDigestFields } from '../src/actors/surveyor.js';
import { answerTo } from '../src/admission.js';
import { decodeSurveyBody, FieldTag, listDigest } from '../src/extensions.js';
import { deriveKey, Keyring } from '../src/keyring.js';
import { encodeMembers } from '../src/protocol.js';
import { tcpPair, type EndpointPair } from './helpers/endpoints.js';
import { Nanocat, requireNanocat } from './helpers/nanocat.js';
import { eventually, nothingWithin, sameMembers, until, within } from './helpers/wait.js';

after(() => closeActorPool());

/**
 * Scaled-down rounds; 100 grace rounds (30 s) so a client closed and recreated at once is not
 * dropped in between, even on a loaded machine (starting six clients took over 6 s at a load of 25).
 */
const TIMING = { surveyTime: 150, recvDeadline: 150, pollTime: 300, missedRounds: 100 } as const;
const DEADLINE = 15_000;
/** Shared-secret mode's key for the secret-mode cases. */
const SECRET = 'state-on-connect-secret-0123';

test('the automatic heartbeat period: 2 s for small lists, list bytes / 32 KiB/s beyond 64 KiB, never over 10 s; it grows at most 1.5× at a time', () => {
  assert.equal(heartbeatPeriodMs('auto', 0), HEARTBEAT_BASE_MS);
  assert.equal(heartbeatPeriodMs('auto', 64 * 1024), 2000);
  assert.equal(heartbeatPeriodMs('auto', 160 * 1024), 5000);
  assert.equal(heartbeatPeriodMs('auto', 10 * 1024 * 1024), HEARTBEAT_MAX_MS);
  assert.equal(heartbeatPeriodMs(250, 10 * 1024 * 1024), 250, 'a fixed republishMs is used as is');
  assert.equal(nextHeartbeatMs(undefined, 10_000), 10_000);
  assert.equal(nextHeartbeatMs(2000, 10_000), 3000, 'a mass join does not stretch the period past what subscribers learned');
  assert.equal(nextHeartbeatMs(10_000, 2000), 2000, 'shrinking is immediate');
});

test('pure: the survey body names the list; the answer asks for it only when not held and subscribed; fields are split off the name', () => {
  const body = surveyBodyFor(['b', 'a'], true);
  assert.deepEqual(body, Buffer.concat([Buffer.from('GDX1'), Buffer.from('010008', 'hex'), listDigest(encodeMembers(['a', 'b']))]));
  assert.equal(surveyBodyFor(['a'], false).byteLength, 0, 'the original: empty');
  const plain = Buffer.from('me');
  const need = Buffer.from('me\u0000\u0002\u0000\u0000');
  const held = new Set([listDigest(encodeMembers(['a', 'b'])).toString('hex')]);
  assert.equal(answerFor(body, plain, need, true, new Set()), need);
  assert.equal(answerFor(body, plain, need, true, held), plain, 'the list is held');
  assert.equal(answerFor(body, plain, need, false, new Set()), plain, 'no subscription: never asks');
  assert.equal(answerFor(Buffer.alloc(0), plain, need, true, new Set()), plain, 'a plain survey (Go, nanocat, nng servers)');
  assert.equal(answerFor(Buffer.from('GDX1\u0001\u0000\u00ff'), plain, need, true, new Set()), plain, 'a body that does not parse is ignored');
  const read = readAnswer(need, true);
  assert.deepEqual([read.name, read.needList, read.malformed], [plain, true, undefined]);
  const bare = readAnswer(plain, true);
  assert.deepEqual([bare.name, bare.needList, bare.fields.size], [plain, false, 0]);
  assert.deepEqual(readAnswer(need, false).name, need, 'to a plain survey nothing is split: decodeAnswer refuses the NUL');
});

/** A server with two listed clients, one of which (`svc-1`) has a subscription. */
async function setUp(extra: object = {}): Promise<{ urls: EndpointPair; server: Server; clients: Client[] }> {
  const urls = await tcpPair();
  const server = await createServer({ ...urls, ...TIMING, ...extra });
  const clients = [await createClient({ ...urls, service: 'svc-1' }), await createClient({ surveyUrl: urls.surveyUrl, service: 'svc-2' })];
  await eventually(() => sameMembers(server.members(), ['svc-1', 'svc-2']), DEADLINE, 'both listed');
  return { urls, server, clients };
}

test('a client closed and recreated at once under the same name gets a list containing itself within about one round (default options)', async (t) => {
  const { urls, server, clients } = await setUp();
  let changes = 0;
  server.on('change', () => changes++);
  let again: Client | undefined;
  try {
    await clients[0]!.close();
    again = await createClient({ ...urls, service: 'svc-1' });
    const connected = performance.now();
    await within(DEADLINE, 'the restarted client listed', again.listed());
    const delay = performance.now() - connected;
    assert.ok(sameMembers(again.latestPeers()!, ['svc-1', 'svc-2']));
    assert.equal(changes, 0, 'the membership never changed: the list came without a change');
    t.diagnostic(`same-name restart: list ${delay.toFixed(0)} ms after the client's sockets connected (pollTime ${TIMING.pollTime} ms)`);
    // The documented bound: one round to be surveyed, then the republication (+ scheduling slack on a loaded machine).
    assert.ok(delay < TIMING.pollTime + 2500, `took ${delay.toFixed(0)} ms`);
  } finally {
    await Promise.all([again?.close(), ...clients.map((c) => c.close())]);
    await server.close();
  }
});

test('the list digest alone (no heartbeat) brings a same-name restart its list; in the original mode it hears nothing', async () => {
  for (const [mode, options] of [
    ['digest', { republishMs: 0 }],
    ['original', { republishMs: 0, listDigest: false }],
  ] as const) {
    const { urls, server, clients } = await setUp(options);
    let again: Client | undefined;
    try {
      await clients[0]!.close();
      again = await createClient({ ...urls, service: 'svc-1' });
      const lists = again.peers()[Symbol.asyncIterator]();
      if (mode === 'digest') {
        const { value } = await until(lists, () => true, DEADLINE, 'a list at the restarted client');
        assert.ok(sameMembers(value, ['svc-1', 'svc-2']));
      } else {
        let rounds = 0;
        server.on('round', () => rounds++);
        const silent = await nothingWithin(lists, 8 * TIMING.pollTime);
        assert.equal(silent.value, undefined, 'the original publishes only on change');
        assert.ok(rounds >= 3, `only ${rounds} rounds ran`);
      }
    } finally {
      await Promise.all([again?.close(), ...clients.map((c) => c.close())]);
      await server.close();
    }
  }
});

test('many clients asking at once: at most one extra publication per round', async () => {
  const urls = await tcpPair();
  const server = await createServer({ ...urls, ...TIMING, republishMs: 0 });
  const names = Array.from({ length: 6 }, (_, i) => `svc-${i}`);
  let clients = await Promise.all(names.map((service) => createClient({ ...urls, service })));
  try {
    await Promise.all(clients.map((c) => within(DEADLINE, 'every client listed', c.listed())));
    // All six restart at once under the same names: members still (grace rounds), none holds the list.
    await Promise.all(clients.map((c) => c.close()));
    let rounds = 0;
    let requested = 0;
    server.on('round', () => rounds++);
    server.on('published', (p) => p.heartbeat && requested++);
    let changes = 0;
    server.on('change', () => changes++);
    clients = await Promise.all(names.map((service) => createClient({ ...urls, service })));
    await Promise.all(clients.map((c) => within(DEADLINE, 'every restarted client listed', c.listed())));
    // The publication's event comes over the publisher's own port: wait for it (a control
    // reply on another port says nothing about its order).
    await eventually(() => requested >= 1, DEADLINE, 'without a change or a heartbeat, only a request brings the list');
    assert.equal(changes, 0, 'the restart changed no membership');
    assert.ok(requested <= rounds + 1, `${requested} republications in ${rounds} rounds`);
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await server.close();
  }
});

test('a standalone subscriber started long after the last change gets the current list within one heartbeat (default options)', async (t) => {
  const { urls, server, clients } = await setUp();
  try {
    // Long after the last change: a few rounds without any.
    let rounds = 0;
    server.on('round', () => rounds++);
    await eventually(() => rounds >= 4, DEADLINE, 'four quiet rounds');
    const t0 = performance.now();
    const late = await subscribe({ pubsubUrl: urls.pubsubUrl });
    try {
      const { value } = await until(late.changes()[Symbol.asyncIterator](), () => true, DEADLINE, 'the list at the late subscriber');
      const delay = performance.now() - t0;
      assert.ok(sameMembers(value, ['svc-1', 'svc-2']));
      t.diagnostic(`late standalone subscriber: list ${delay.toFixed(0)} ms after subscribing (heartbeat ${HEARTBEAT_BASE_MS} ms for a small list)`);
      assert.ok(delay < HEARTBEAT_BASE_MS + 1500, `took ${delay.toFixed(0)} ms`);
    } finally {
      await late.close();
    }
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await server.close();
  }
});

test('nanocat and nng (nngcat) respondents answer surveys that carry a list digest, and are listed', async () => {
  requireNanocat('nanocat');
  requireNanocat('nngcat');
  const urls = await tcpPair();
  const server = await createServer({ ...urls, ...TIMING });
  const peers = [
    Nanocat.start('--respondent', '--connect', urls.surveyUrl, '--data', 'nc-1', '--msgpack'),
    Nanocat.startNngcat('--respondent', '--connect', urls.surveyUrl, '--data', 'nng-1', '--msgpack'),
  ];
  const client = await createClient({ ...urls, service: 'ts-1' });
  try {
    await eventually(() => sameMembers(server.members(), ['nc-1', 'nng-1', 'ts-1']), DEADLINE, 'nc-1, nng-1 and ts-1 listed');
    for (const p of peers) {
      // They print the surveys they received: "GDX1" and the list digest field, not an empty body.
      const survey = await p.waitFor((m) => m.byteLength > 0, DEADLINE, 'a survey');
      assert.equal(survey.subarray(0, 7).toString('latin1'), 'GDX1\u0001\u0000\u0008');
      assert.equal(survey.byteLength, 15);
    }
    await within(DEADLINE, 'our client listed', client.listed());
    // listed() may come from an eager list published before the others answered: wait for the full one.
    await eventually(() => sameMembers(client.latestPeers() ?? [], ['nc-1', 'nng-1', 'ts-1']), DEADLINE, 'our client holds the list with all three');
  } finally {
    await Promise.all(peers.map((p) => p.kill()));
    await client.close();
    await server.close();
  }
});

test('pure, secret mode: one survey body carries the list digest, the nonce and the key id; one answer carries needList and the MAC, and both are read', () => {
  const keys = [deriveKey(SECRET)];
  const auth = surveyAuthentication({ keys, lateAnswers: 'drop' });
  const digest = surveyDigestFields(['a', 'b'], true);
  const body = Buffer.from(auth.body(digest));
  const fields = decodeSurveyBody(body)!;
  assert.deepEqual(fields.get(FieldTag.listDigest), listDigest(encodeMembers(['a', 'b'])));
  assert.equal(fields.get(FieldTag.nonce)?.byteLength, 16);
  assert.ok(fields.has(FieldTag.keyId));
  const name = Buffer.from('me');
  const ring = new Keyring(keys);
  const asking = answerTo(name, ring, body, [[FieldTag.needList, new Uint8Array(0)]])!;
  assert.equal(readAnswer(asking, true).needList, true);
  assert.deepEqual(auth.open(asking), { ok: true, name }, 'the MAC still verifies next to needList');
  assert.deepEqual(auth.open(asking, readAnswer(asking, true)), { ok: true, name }, 'the same from the answer as split once by readAnswer');
  const garbled = Buffer.concat([name, Buffer.from([0, FieldTag.mac, 0])]);
  const refused = auth.open(garbled, readAnswer(garbled, true));
  assert.equal(refused.ok, false);
  assert.match(!refused.ok ? refused.reason : '', /do not parse/, 'fields that do not parse are refused with the parser\'s reason');
  assert.deepEqual(refused, auth.open(garbled), 'split once or twice, the same verdict');
  const holding = answerTo(name, ring, body)!;
  assert.equal(readAnswer(holding, true).needList, false);
  assert.deepEqual(auth.open(holding), { ok: true, name });
});

test('secret mode: a same-name restart gets its (sealed) list through the digest alone, and once held it asks no more', async () => {
  const secret = { secret: SECRET };
  const urls = await tcpPair();
  const server = await createServer({ ...urls, ...TIMING, republishMs: 0, ...secret });
  const clients = [await createClient({ ...urls, service: 'svc-1', ...secret }), await createClient({ surveyUrl: urls.surveyUrl, service: 'svc-2', ...secret })];
  let again: Client | undefined;
  try {
    await eventually(() => sameMembers(server.members(), ['svc-1', 'svc-2']), DEADLINE, 'both listed');
    await clients[0]!.close();
    let requested = 0;
    server.on('published', (p) => p.heartbeat && requested++);
    again = await createClient({ ...urls, service: 'svc-1', ...secret });
    await within(DEADLINE, 'the restarted secret-mode client listed', again.listed());
    assert.ok(sameMembers(again.latestPeers()!, ['svc-1', 'svc-2']));
    // The publication's event comes over the publisher's own port: wait for it (a control
    // reply on another port says nothing about its order). No heartbeat, no change: only a
    // request can have brought the list.
    await eventually(() => requested >= 1, DEADLINE, 'the requested republication seen by the server');
    // A survey sent before the client's respondent learnt the list's digest may still ask
    // once more (another thread): let two rounds pass before counting.
    const settled = server.stats().rounds + 2;
    await eventually(() => server.stats().rounds >= settled, DEADLINE, 'two more rounds');
    await server.supervisor.actor('publisher')!.call('status', 5000);
    // The client digests the opened list, the server the list before sealing: they agree, so no more requests.
    const before = requested;
    const target = server.stats().rounds + 4;
    await eventually(() => server.stats().rounds >= target, DEADLINE, 'four more rounds');
    await server.supervisor.actor('publisher')!.call('status', 5000);
    assert.equal(requested, before, 'a client holding the list does not ask again');
    assert.equal(server.stats().refused.unauthenticated + server.stats().refused['bad-mac'], 0, 'every answer, needList included, authenticated');
  } finally {
    await Promise.all([again?.close(), ...clients.map((c) => c.close())]);
    await server.close();
  }
});
