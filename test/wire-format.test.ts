/**
 * The exact bytes on the wire, checked against SP over TCP written from the
 * specification with node:net (test/helpers/raw-sp.ts), not against nanomsg: the
 * handshake headers, the 64-bit length prefix, the survey id with its high bit, and our
 * own payloads (empty survey, service string, `a|b` list, empty message for no members).
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createClient, createServer, subscribe, type Client } from '../src/index.js';
import { listDigest } from '../src/extensions.js';
import { closeActorPool } from '../src/pool.js';
import { encodeMembers } from '../src/protocol.js';
import { freePort, tcpPair } from './helpers/endpoints.js';
import { RawSpListener, RawSpPeer, SP_PROTOCOL, frame, spHeader, withSurveyId } from './helpers/raw-sp.js';
import { portOf } from './helpers/tcp-state.js';
import { eventually, until } from './helpers/wait.js';

const TIMING = { surveyTime: 300, recvDeadline: 300, pollTime: 350 } as const;
const DEADLINE = 10_000;
after(() => closeActorPool());

test('the SP header is 00 53 50 00, the protocol id (16-bit big-endian), 00 00', () => {
  assert.deepEqual(spHeader(SP_PROTOCOL.surveyor), Buffer.from('0053500000620000', 'hex'));
  assert.deepEqual(frame(Buffer.from('ab')), Buffer.from('00000000000000026162', 'hex'));
});

/** The options that give the original's bytes and timing: no heartbeat, no list digest in surveys, surveys only on the schedule (no connection hints). */
const ORIGINAL = { republishMs: 0, listDigest: false, connectionHints: false } as const;

test('our SURVEYOR in the original mode: header 0x62, then surveys of 4 bytes — a survey id with the high bit set — and an empty body', async () => {
  const urls = await tcpPair();
  const server = await createServer({ ...urls, ...TIMING, ...ORIGINAL });
  const raw = await RawSpPeer.open(portOf(urls.surveyUrl), SP_PROTOCOL.respondent);
  try {
    assert.deepEqual(raw.peerHeader, Buffer.from('0053500000620000', 'hex'));
    const ids: number[] = [];
    for (let i = 0; i < 3; i++) {
      const survey = await raw.next(DEADLINE, `survey ${i + 1}`);
      assert.equal(survey.byteLength, 4, 'the survey id and nothing else: the body is empty');
      const id = survey.readUInt32BE(0);
      assert.ok(id & 0x80000000, `survey id 0x${id.toString(16)} has the high bit set`);
      ids.push(id);
      // The answer echoes the id, then carries the service string.
      raw.send(withSurveyId(id, 'raw-1'));
    }
    assert.equal(new Set(ids).size, 3, `each survey has its own id: ${ids.map((i) => i.toString(16))}`);
    await eventually(() => server.members().includes('raw-1'), DEADLINE, 'raw-1 listed');
  } finally {
    raw.destroy();
    await server.close();
  }
});

test('our PUB in the original mode: header 0x20, then each list as one message (64-bit length + a|b), the empty set as length 0', async () => {
  const urls = await tcpPair();
  const server = await createServer({ ...urls, ...TIMING, ...ORIGINAL });
  const raw = await RawSpPeer.open(portOf(urls.pubsubUrl), SP_PROTOCOL.sub);
  const clients = [];
  try {
    assert.deepEqual(raw.peerHeader, Buffer.from('0053500000200000', 'hex'));
    clients.push(await createClient({ ...urls, service: 'a' }));
    assert.deepEqual(await raw.read(9, DEADLINE, 'the list [a]'), Buffer.from('000000000000000161', 'hex'));
    clients.push(await createClient({ ...urls, service: 'b' }));
    assert.deepEqual(await raw.read(11, DEADLINE, 'the list [a, b]'), Buffer.from('0000000000000003617c62', 'hex'));
    await Promise.all(clients.map((c) => c.close()));
    // Either one round drops both (the empty message) or one at a time ([a] or [b], then empty).
    let last = await raw.next(DEADLINE, 'a list without both');
    if (last.byteLength > 0) {
      assert.ok(last.equals(Buffer.from('a')) || last.equals(Buffer.from('b')), `got ${last}`);
      last = await raw.next(DEADLINE, 'the empty list');
    }
    assert.equal(last.byteLength, 0, 'no members is the empty message: a length of 0 and no body');
  } finally {
    raw.destroy();
    await Promise.all(clients.map((c) => c.close()));
    await server.close();
  }
});

test('our RESPONDENT: header 0x63, and each answer is the survey id echoed, then the service string', async () => {
  const port = await freePort();
  const listener = await RawSpListener.listen(port);
  const client = await createClient({ surveyUrl: `tcp://127.0.0.1:${port}`, service: 'ts-1' });
  try {
    const raw = await listener.accept(DEADLINE);
    assert.deepEqual(await raw.handshake(SP_PROTOCOL.surveyor), Buffer.from('0053500000630000', 'hex'));
    for (const id of [0x80000007, 0xdeadbeef]) {
      raw.send(withSurveyId(id, 'any body'));
      assert.deepEqual(await raw.next(DEADLINE, `the answer to 0x${id.toString(16)}`), withSurveyId(id, 'ts-1'));
    }
  } finally {
    await client.close();
    await listener.close();
  }
});

test('our SUB: header 0x21, and a raw publisher\'s 64-bit length + "p|q" is the list [p, q]', async () => {
  const port = await freePort();
  const listener = await RawSpListener.listen(port);
  const sub = await subscribe({ pubsubUrl: `tcp://127.0.0.1:${port}` });
  try {
    const raw = await listener.accept(DEADLINE);
    assert.deepEqual(await raw.handshake(SP_PROTOCOL.pub), Buffer.from('0053500000210000', 'hex'));
    raw.write(Buffer.from('0000000000000003707c71', 'hex'));
    assert.deepEqual((await until(sub.changes()[Symbol.asyncIterator](), () => true, DEADLINE, 'a list')).value, ['p', 'q']);
  } finally {
    await sub.close();
    await listener.close();
  }
});

// ------------------------------------------------------------------ state on connect (the default)

const digestField = (members: string[]) => Buffer.concat([Buffer.from('GDX1'), Buffer.from('010008', 'hex'), listDigest(encodeMembers(members))]);

test('by default a survey body is "GDX1" + field 01 (list digest, 8 bytes) naming the current list; a needList answer gets the list republished at once', async () => {
  const urls = await tcpPair();
  const server = await createServer({ ...urls, ...TIMING });
  const raw = await RawSpPeer.open(portOf(urls.surveyUrl), SP_PROTOCOL.respondent);
  const republished: number[] = [];
  server.on('published', (p) => p.heartbeat && republished.push(p.bytes));
  try {
    const first = await raw.next(DEADLINE, 'the first survey');
    // 4 bytes of survey id, then 4 + 3 + 8 bytes of body: the digest of the empty list.
    assert.equal(first.byteLength, 4 + 15);
    assert.deepEqual(first.subarray(4), digestField([]));
    raw.send(withSurveyId(first.readUInt32BE(0), 'raw-1'));
    await eventually(() => server.members().includes('raw-1'), DEADLINE, 'raw-1 listed');
    // The next surveys name the list [raw-1]; answering one with name 00 + field 02 (needList, empty) asks for it.
    let survey = await raw.next(DEADLINE, 'a survey after the change');
    while (!survey.subarray(4).equals(digestField(['raw-1']))) {
      raw.send(withSurveyId(survey.readUInt32BE(0), 'raw-1'));
      survey = await raw.next(DEADLINE, 'a survey naming [raw-1]');
    }
    const before = republished.length;
    raw.send(withSurveyId(survey.readUInt32BE(0), Buffer.concat([Buffer.from('raw-1'), Buffer.from('00020000', 'hex')])));
    await eventually(() => republished.length > before, DEADLINE, 'the list republished on request');
    assert.equal(republished.at(-1), 'raw-1'.length, 'the list [raw-1] went out again');
    assert.equal(Object.values(server.stats().refused).reduce((x, y) => x + y, 0), 0, 'the answer with its field was not refused');
    assert.ok(server.members().includes('raw-1'), 'the answer counted under its name alone');
  } finally {
    raw.destroy();
    await server.close();
  }
});

test('our RESPONDENT answers a GDX1 survey naming a list it does not hold with name 00 02 00 00 (needList) — only when it has a subscription', async () => {
  const port = await freePort();
  const listener = await RawSpListener.listen(port);
  const nowhere = `tcp://127.0.0.1:${await freePort()}`;
  const clients: Client[] = [];
  try {
    // Each connection handshaken as soon as it is accepted: nanomsg drops a peer whose header is late.
    const conns: RawSpPeer[] = [];
    for (const options of [{ pubsubUrl: nowhere, service: 'ts-1' }, { service: 'ts-2' }]) {
      clients.push(await createClient({ surveyUrl: `tcp://127.0.0.1:${port}`, ...options }));
      const c = await listener.accept(DEADLINE);
      await c.handshake(SP_PROTOCOL.surveyor);
      conns.push(c);
    }
    const answers = new Set<string>();
    for (const [i, c] of conns.entries()) {
      c.send(withSurveyId(0x80000011 + i, digestField(['x'])));
      answers.add((await c.next(DEADLINE, 'an answer')).subarray(4).toString('hex'));
    }
    assert.deepEqual(answers, new Set([Buffer.from('ts-1\u0000\u0002\u0000\u0000').toString('hex'), Buffer.from('ts-2').toString('hex')]));
    // A plain survey gets a plain answer from both, as the original.
    for (const c of conns) c.send(withSurveyId(0x80000021, ''));
    const plainAnswers = new Set(await Promise.all(conns.map(async (c) => (await c.next(DEADLINE, 'a plain answer')).subarray(4).toString())));
    assert.deepEqual(plainAnswers, new Set(['ts-1', 'ts-2']));
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await listener.close();
  }
});
