/** The wire format and validation rules, and the actors' pure logic: no sockets, no threads. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { publisherLogic } from '../src/actors/publisher.js';
import { eagerIntervalMs, surveyorLogic, type SurveyorLimits } from '../src/actors/surveyor.js';
import {
  decodeAnswer,
  decodeMembers,
  encodeMembers,
  parseEndpoint,
  validateServiceName,
  validateTiming,
} from '../src/protocol.js';

test('member lists are the original bytes: names joined by |, empty set = empty message', () => {
  assert.deepEqual(encodeMembers(['client3', 'client1']), Buffer.from('client1|client3'));
  assert.equal(encodeMembers([]).byteLength, 0);
  assert.deepEqual(decodeMembers(Buffer.from('client1|client3')), ['client1', 'client3']);
  assert.deepEqual(decodeMembers(new Uint8Array(0)), []);
  assert.deepEqual(decodeMembers(Buffer.from('http://10.0.0.1:8080')), ['http://10.0.0.1:8080']);
  assert.deepEqual(decodeMembers(encodeMembers(['é', 'ü'])), ['é', 'ü']);
});

test('garbage lists are refused with a clear error', () => {
  assert.throws(() => decodeMembers(Buffer.from([0xff, 0xfe])), { code: 'ERR_MALFORMED_MESSAGE', message: /UTF-8/ });
  assert.throws(() => decodeMembers(Buffer.from('a||b')), { code: 'ERR_MALFORMED_MESSAGE', message: /empty member/ });
});

test('service names: empty, |, control characters and oversize are refused, naming the rule', () => {
  assert.equal(validateServiceName('http://10.0.0.1:8080'), 'http://10.0.0.1:8080');
  const rule = (name: unknown, r: string, max?: number) =>
    assert.throws(() => validateServiceName(name, max), (e: { rule: string; code: string }) => e.rule === r && e.code === 'ERR_INVALID_SERVICE_NAME');
  rule('', 'empty');
  rule('a|b', 'separator');
  rule('a\nb', 'control-character');
  rule('x'.repeat(1025), 'too-long');
  rule('é'.repeat(3), 'too-long', 5); // bytes, not characters
  rule(42, 'type');
  assert.throws(() => validateServiceName('a|b'), /member-list separator/);
});

test('answers from peers are checked without throwing', () => {
  assert.deepEqual(decodeAnswer(Buffer.from('client1')), { ok: true, name: 'client1' });
  assert.equal(decodeAnswer(Buffer.from('')).ok, false);
  assert.equal(decodeAnswer(Buffer.from('a|b')).ok, false);
  assert.equal(decodeAnswer(Buffer.from([0xc3])).ok, false);
  assert.equal(decodeAnswer(Buffer.alloc(2000, 0x61)).ok, false);
});

test('endpoint URLs: tcp, ipc and inproc are accepted; anything else is a clear error', () => {
  assert.deepEqual(parseEndpoint('tcp://127.0.0.1:29400'), { scheme: 'tcp', url: 'tcp://127.0.0.1:29400', host: '127.0.0.1', port: 29400 });
  assert.equal(parseEndpoint('tcp://*:29400').scheme, 'tcp');
  assert.equal(parseEndpoint('tcp://localhost:1').scheme, 'tcp');
  assert.equal(parseEndpoint('ipc:///tmp/x.ipc').scheme, 'ipc');
  assert.equal(parseEndpoint('inproc://discovery').scheme, 'inproc');
  for (const [url, why] of [
    ['tcp://xxx', /host:port/],
    ['tcp://127.0.0.1:0', /outside 1..65535/],
    ['tcp://127.0.0.1:70000', /outside/],
    ['tcp://bad_host!:80', /not an IPv4 address or DNS name/],
    ['http://127.0.0.1:80', /unsupported scheme "http"/],
    ['127.0.0.1:80', /scheme:\/\//],
    ['ipc://', /need a path/],
    [`ipc:///${'x'.repeat(110)}`, /at most 107/],
    ['inproc://', /need a name/],
  ] as const) {
    assert.throws(() => parseEndpoint(url), (e: { code: string; message: string; url: string }) => {
      assert.equal(e.code, 'ERR_INVALID_URL');
      assert.equal(e.url, url);
      assert.match(e.message, why);
      return true;
    });
  }
});

test('timing options default to the original README and refuse zero or negative durations', () => {
  assert.deepEqual(validateTiming({}), { surveyTime: 1000, recvDeadline: 1000, pollTime: 2000 });
  for (const bad of [0, -1, Number.NaN, Infinity]) {
    assert.throws(() => validateTiming({ pollTime: bad }), { code: 'ERR_INVALID_OPTION', message: /pollTime/ });
  }
});

test('validateTiming: whole milliseconds, surveys of at most a minute, and a survey that fits a fixed-rate schedule', () => {
  assert.deepEqual(validateTiming({ surveyTime: 1.4, recvDeadline: 2.6, pollTime: 1 }), { surveyTime: 1, recvDeadline: 3, pollTime: 1 });
  assert.throws(() => validateTiming({ surveyTime: 0.5 }), { code: 'ERR_INVALID_OPTION', message: /surveyTime must be at least 1 ms/ });
  assert.throws(() => validateTiming({ surveyTime: 60_001 }), { message: /surveyTime must be at most 60000 ms/ });
  assert.throws(() => validateTiming({ recvDeadline: 120_000 }), { message: /recvDeadline must be at most 60000 ms/ });
  assert.equal(validateTiming({ surveyTime: 60_000, pollTime: 3_600_000 }).pollTime, 3_600_000, 'a slow poll is fine');
  assert.throws(() => validateTiming({ pollTime: 2 ** 31 }), { message: /pollTime must be at most 2147483647 ms/ });
  for (const bad of ['100', {}, -0.5, true]) assert.throws(() => validateTiming({ recvDeadline: bad as never }), { message: /recvDeadline/ });
  // Harmless: the survey deadline ends the round first.
  assert.equal(validateTiming({ surveyTime: 100, recvDeadline: 5000 }).recvDeadline, 5000);
  // After-round (the original's schedule): any survey fits. Fixed-rate: a survey must end before the next is due.
  assert.equal(validateTiming({ surveyTime: 500, pollTime: 100 }).surveyTime, 500);
  assert.throws(() => validateTiming({ surveyTime: 500, pollTime: 100 }, 'fixed-rate'), { code: 'ERR_INVALID_OPTION', message: /must not exceed pollTime/ });
  assert.equal(validateTiming({ surveyTime: 100, pollTime: 100 }, 'fixed-rate').surveyTime, 100);
});

const limits: SurveyorLimits = { maxNameBytes: 64, maxMembers: 3, missedRounds: 1 };
const round = (names: string[], state = surveyorLogic.initial([]), l = limits, now = 0) => {
  let s = surveyorLogic.beginRound(state);
  for (const n of names) surveyorLogic.answer(s, Buffer.from(n), l);
  return surveyorLogic.endRound(s, l, now);
};

test('surveyor logic: a changed set replaces the current one; an unchanged one does not', () => {
  const first = round(['a', 'b', 'b']);
  assert.equal(first.changed, true);
  assert.deepEqual(first.joined, ['a', 'b']);
  const same = round(['b', 'a'], first.state);
  assert.equal(same.changed, false);
  const gone = round(['a'], same.state);
  assert.deepEqual([gone.joined, gone.left, [...gone.state.members]], [[], ['b'], ['a']]);
});

test('surveyor logic: refused answers and the member cap', () => {
  const s = surveyorLogic.beginRound(surveyorLogic.initial([]));
  assert.equal(surveyorLogic.answer(s, Buffer.from('x|y'), limits).kind, 'refused');
  assert.equal(surveyorLogic.answer(s, Buffer.alloc(65, 0x61), limits).kind, 'refused');
  for (const n of ['a', 'b', 'c']) assert.equal(surveyorLogic.answer(s, Buffer.from(n), limits).kind, 'counted');
  assert.equal(surveyorLogic.answer(s, Buffer.from('a'), limits).kind, 'duplicate');
  assert.deepEqual(surveyorLogic.answer(s, Buffer.from('d'), limits), { kind: 'refused', code: 'member-cap', reason: 'member cap of 3 reached' });
});

test('surveyor logic: at the member cap, listed members keep their places against a flood of new names', () => {
  let r = round(['a', 'b']); // listed: a, b; one free place under the cap of 3
  const s = surveyorLogic.beginRound(r.state);
  // The flood arrives before the listed members answer.
  const flood = ['x', 'y', 'z'].map((n) => surveyorLogic.answer(s, Buffer.from(n), limits).kind);
  assert.deepEqual(flood, ['counted', 'refused', 'refused'], 'only the free place is taken');
  assert.equal(surveyorLogic.answer(s, Buffer.from('a'), limits).kind, 'counted');
  assert.equal(surveyorLogic.answer(s, Buffer.from('b'), limits).kind, 'counted');
  r = surveyorLogic.endRound(s, limits, 0);
  assert.deepEqual([...r.state.members].sort(), ['a', 'b', 'x']);
  // Members that stop answering free their places at the end of the round, for the next round's newcomers.
  r = round(['a', 'y'], r.state);
  assert.deepEqual([...r.state.members].sort(), ['a'], 'y waited: b and x could still have answered');
  r = round(['a', 'y'], r.state);
  assert.deepEqual([...r.state.members].sort(), ['a', 'y']);
});

test('surveyor logic: grace rounds keep a member until it misses missedRounds in a row', () => {
  const l3 = { ...limits, missedRounds: 3 };
  let r = round(['a', 'b'], undefined, l3);
  r = round(['a'], r.state, l3);
  assert.equal(r.changed, false, 'one miss keeps b');
  r = round(['a'], r.state, l3);
  assert.equal(r.changed, false, 'two misses keep b');
  r = round(['a', 'b'], r.state, l3);
  r = round(['a'], r.state, l3);
  r = round(['a'], r.state, l3);
  assert.equal(r.changed, false, 'an answer reset the count');
  r = round(['a'], r.state, l3);
  assert.deepEqual(r.left, ['b']);
});

test('surveyor logic: after a restart, silence during the grace period is not a departure', () => {
  const restarted = surveyorLogic.initial(['a', 'b'], 1000);
  assert.equal(round([], restarted, limits, 500).changed, false);
  assert.deepEqual(round([], restarted, limits, 1000).left, ['a', 'b']);
});

test('publisher logic: publishes only sets that differ from the last publication', () => {
  let s = publisherLogic.initial([]);
  assert.equal(publisherLogic.receive(s, []).publish, null, 'never an empty list at start');
  const p = publisherLogic.receive(s, ['b', 'a']);
  assert.deepEqual(p.publish, Buffer.from('a|b'));
  s = p.state;
  assert.equal(publisherLogic.receive(s, ['a', 'b']).publish, null);
  assert.equal(publisherLogic.receive(publisherLogic.initial(['a', 'b']), ['b', 'a']).publish, null, 'a restart does not republish');
  assert.deepEqual(publisherLogic.receive(s, []).publish, Buffer.alloc(0));
});

test('surveyor logic: eager join admits newcomers mid-round; the round end then sees no second join', () => {
  let s = surveyorLogic.beginRound(surveyorLogic.initial(['a']));
  const first = surveyorLogic.answer(s, Buffer.from('b'), limits);
  assert.deepEqual(first, { kind: 'counted', name: 'b', newcomer: true });
  assert.deepEqual(surveyorLogic.answer(s, Buffer.from('a'), limits), { kind: 'counted', name: 'a', newcomer: false });
  const admitted = surveyorLogic.admit(s, ['b']);
  assert.deepEqual(admitted.joined, ['b']);
  assert.deepEqual([...admitted.state.members].sort(), ['a', 'b']);
  const end = surveyorLogic.endRound(admitted.state, limits, 0);
  assert.equal(end.changed, false, 'the eager join is not published twice');
});

test('eager publications are spaced by 10 ms plus 1 ms per 100 members: a storm at 10,000 members publishes about 9 lists a second', () => {
  assert.equal(eagerIntervalMs(0), 10);
  assert.equal(eagerIntervalMs(1000), 20);
  assert.equal(eagerIntervalMs(10_000), 110);
});
