/**
 * The pure parts of announcements: the wire format (src/extensions.ts), the server's gate
 * (src/announcements.ts), the client's hello plan and answer fields
 * (src/actors/respondent.ts), and the farewell deadline (src/answer-deadline.ts). No
 * sockets, no clocks: times are numbers the test chooses.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { advertisedAnnounceUrl, answerFields, HELLO, HelloPlan } from '../src/actors/respondent.js';
import { AnnounceGate, announceIntervalMs } from '../src/announcements.js';
import { AnswerDeadlines, FAREWELL } from '../src/answer-deadline.js';
import { decodeAnnouncement, encodeAnnouncement, encodeSurveyBody, FieldTag, splitAnswer } from '../src/extensions.js';

const token = Buffer.alloc(8, 1);
const tokens = new Map([['m', token]]);
const tokenOf = (name: string) => tokens.get(name);

test('an announcement is GDA1, a kind byte, the name and optional fields; anything else is not one', () => {
  const hello = encodeAnnouncement('hello', 'svc é');
  assert.deepEqual(hello, Buffer.concat([Buffer.from('GDA1\x01', 'latin1'), Buffer.from('svc é')]));
  const decoded = decodeAnnouncement(hello)!;
  assert.equal(decoded.kind, 'hello');
  assert.equal(Buffer.from(decoded.name).toString(), 'svc é');
  assert.equal(decoded.fields.size, 0);
  const bye = decodeAnnouncement(encodeAnnouncement('bye', 'svc', [[FieldTag.farewellToken, token]]))!;
  assert.equal(bye.kind, 'bye');
  assert.deepEqual(bye.fields.get(FieldTag.farewellToken), token);
  for (const junk of [Buffer.from('GDA1'), Buffer.from('GDA1\x03x'), Buffer.from('GDX1\x01x'), Buffer.from('GDA1\x02x\x00\x07\x00\x09ab')]) {
    assert.equal(decodeAnnouncement(junk), undefined, junk.toString('hex'));
  }
});

test('the gate: a hello from a newcomer or a bye from a member asks for a round; the reverse asks for nothing', () => {
  const members = new Set(['m']);
  const gate = new AnnounceGate(1024);
  assert.deepEqual(gate.take(encodeAnnouncement('hello', 'm'), members, tokenOf), { kind: 'hello', name: 'm', asksForRound: false, farewell: false });
  assert.deepEqual(gate.take(encodeAnnouncement('bye', 'x'), members, tokenOf), { kind: 'bye', name: 'x', asksForRound: false, farewell: false });
  assert.equal(gate.asksForRound, false);
  assert.equal(gate.dueAt(1), Infinity);
  assert.deepEqual(gate.take(encodeAnnouncement('hello', 'x'), members, tokenOf), { kind: 'hello', name: 'x', asksForRound: true, farewell: false });
  assert.equal(gate.asksForRound, true);
  assert.equal(gate.dueAt(1), -Infinity, 'no round has ended yet: at once');
  assert.deepEqual(gate.roundStarted(), []);
  assert.equal(gate.asksForRound, false);
});

test('the gate: only a bye with the member\'s farewell token earns the short deadline', () => {
  const members = new Set(['m']);
  const gate = new AnnounceGate(1024);
  assert.equal((gate.take(encodeAnnouncement('bye', 'm'), members, tokenOf) as { farewell: boolean }).farewell, false, 'no token');
  assert.equal((gate.take(encodeAnnouncement('bye', 'm', [[FieldTag.farewellToken, Buffer.alloc(8, 2)]]), members, tokenOf) as { farewell: boolean }).farewell, false, 'a wrong token');
  assert.equal(gate.asksForRound, true, 'an unproven bye still asks for a survey');
  assert.deepEqual(gate.roundStarted(), []);
  assert.equal((gate.take(encodeAnnouncement('bye', 'm', [[FieldTag.farewellToken, token]]), members, () => undefined) as { farewell: boolean }).farewell, false, 'no token known');
  const ok = gate.take(encodeAnnouncement('bye', 'm', [[FieldTag.farewellToken, token]]), members, tokenOf);
  assert.deepEqual(ok, { kind: 'bye', name: 'm', asksForRound: true, farewell: true });
  // Mid-round: a member that already answered keeps its farewell for the next round.
  assert.deepEqual(gate.takeFarewells(() => true), []);
  assert.deepEqual(gate.takeFarewells(() => false), ['m']);
  assert.deepEqual(gate.roundStarted(), []);
});

test('the gate refuses what is not an announcement or names no valid service', () => {
  const gate = new AnnounceGate(8);
  for (const bad of [Buffer.from('hello'), encodeAnnouncement('hello', 'a|b'), encodeAnnouncement('hello', ''), encodeAnnouncement('hello', 'nine-byte'), encodeAnnouncement('bye', 'a\nb')]) {
    assert.equal(gate.take(bad, new Set(), tokenOf).kind, 'refused', bad.toString('hex'));
  }
  assert.equal(gate.asksForRound, false);
});

test('the rate limit: 10 ms + 1 ms per 100 members, from the previous round\'s end and from the send of the round cut short', () => {
  assert.equal(announceIntervalMs(0), 10);
  assert.equal(announceIntervalMs(1000), 20);
  assert.equal(announceIntervalMs(10_000), 110);
  const gate = new AnnounceGate(1024);
  gate.roundEnded(5000);
  gate.take(encodeAnnouncement('hello', 'x'), new Set(), tokenOf);
  assert.equal(gate.dueAt(1000), 5020);
  assert.equal(gate.mayCut(true, 6000, 6019, 1000), false, 'too soon after the send');
  assert.equal(gate.mayCut(false, 6000, 6500, 1000), false, 'a member has not answered');
  assert.equal(gate.mayCut(true, 6000, 6020, 1000), true);
  gate.roundStarted();
  assert.equal(gate.mayCut(true, 6000, 9000, 1000), false, 'nothing asked for');
});

test('the backoff: an announced round that changes nothing doubles the spacing, up to pollTime; one that changes something resets it', () => {
  const gate = new AnnounceGate(1024, 2000);
  const members = new Set<string>();
  assert.equal(gate.spacingMs(1000), 20);
  const spacings: number[] = [];
  for (let i = 0; i < 10; i++) {
    gate.roundEnded(i * 10_000, false);
    spacings.push(gate.spacingMs(1000));
  }
  assert.deepEqual(spacings, [40, 80, 160, 320, 640, 1280, 2000, 2000, 2000, 2000]);
  gate.take(encodeAnnouncement('hello', 'x'), members, tokenOf);
  assert.equal(gate.dueAt(1000), 90_000 + 2000);
  gate.roundEnded(100_000);
  assert.equal(gate.spacingMs(1000), 2000, 'a scheduled round halves the backoff: 20 ms × 128 is still past pollTime');
  gate.roundEnded(105_000);
  assert.equal(gate.spacingMs(1000), 1280, 'a second one: 20 ms × 64');
  gate.roundEnded(110_000, true);
  assert.equal(gate.spacingMs(1000), 20);
  for (let i = 0; i < 10; i++) gate.roundEnded(120_000 + i * 10_000, false);
  for (let i = 0; i < 8; i++) gate.roundEnded(300_000 + i * 10_000);
  assert.equal(gate.spacingMs(1000), 20, 'eight scheduled rounds after a flood: back to one interval, not stuck at pollTime');
});

test('the hello plan: retried until the socket takes it, said again a bounded number of times, over once a survey is answered', () => {
  const plan = new HelloPlan(0);
  assert.equal(plan.dueAt(), 0);
  plan.attempted(0, false);
  assert.equal(plan.dueAt(), HELLO.retryMs, 'not connected yet: soon again');
  let now = HELLO.retryMs;
  plan.attempted(now, true);
  for (const again of HELLO.againMs) {
    assert.equal(plan.dueAt(), now + again);
    now += again;
    plan.attempted(now, true);
  }
  assert.equal(plan.done, true, `${HELLO.againMs.length + 1} hellos at most`);
  assert.equal(plan.dueAt(), Infinity);
  const answered = new HelloPlan(0);
  answered.attempted(0, true);
  answered.answered();
  assert.equal(answered.done, true);
  const unreachable = new HelloPlan(0);
  for (let t = 0; !unreachable.done; t += HELLO.retryMs) unreachable.attempted(t, false);
  assert.ok(unreachable.dueAt() === Infinity, 'an unreachable server is given up on');
});

test('a client learns the announce URL from a survey body; a wildcard host takes its only survey URL\'s host', () => {
  const body = (url: string) => encodeSurveyBody([[FieldTag.listDigest, Buffer.alloc(8)], [FieldTag.announceUrl, Buffer.from(url)]]);
  assert.equal(advertisedAnnounceUrl(body('tcp://10.0.0.5:4008'), ['tcp://10.0.0.5:4007']), 'tcp://10.0.0.5:4008');
  assert.equal(advertisedAnnounceUrl(body('tcp://*:4008'), ['tcp://10.0.0.5:4007']), 'tcp://10.0.0.5:4008');
  assert.equal(advertisedAnnounceUrl(body('tcp://0.0.0.0:4008'), ['tcp://a:1', 'tcp://b:2']), undefined, 'which server is unknown');
  assert.equal(advertisedAnnounceUrl(new Uint8Array(0), ['tcp://a:1']), undefined, 'an empty (Go, nanocat, nng) survey');
  assert.equal(advertisedAnnounceUrl(body('nonsense'), ['tcp://a:1']), undefined);
  assert.equal(advertisedAnnounceUrl(Buffer.from('GDX1\x05\x00\x09ab'), ['tcp://a:1']), undefined, 'fields that do not parse');
});

test('answers carry the farewell token only to surveys that advertise an announce URL', () => {
  const advertising = encodeSurveyBody([[FieldTag.announceUrl, Buffer.from('tcp://127.0.0.1:4008')]]);
  assert.deepEqual(answerFields(new Uint8Array(0), false, token), []);
  assert.deepEqual(answerFields(encodeSurveyBody([[FieldTag.listDigest, Buffer.alloc(8)]]), true, token), [[FieldTag.needList, new Uint8Array(0)]]);
  assert.deepEqual(answerFields(advertising, false, token), [[FieldTag.farewellToken, token]]);
  const both = answerFields(advertising, true, token);
  assert.deepEqual(both.map(([tag]) => tag), [FieldTag.needList, FieldTag.farewellToken]);
  assert.ok(splitAnswer(Buffer.concat([Buffer.from('n'), Buffer.of(0), Buffer.from([FieldTag.farewellToken, 0, 8]), token])).fields.get(FieldTag.farewellToken)?.equals(token));
});

test('the farewell deadline: SRTT + max(10 ms, 4 × RTTVAR), without the floor; stretched by local health; none for a member never heard', () => {
  const d = new AnswerDeadlines(1000);
  assert.equal(d.farewell('new'), undefined);
  for (let i = 0; i < 20; i++) d.observe('steady', 3);
  const f = d.farewell('steady')!;
  assert.ok(Math.abs(f - (3 + FAREWELL.minMarginMs)) < 0.5, `about 13 ms, got ${f}`);
  assert.ok(f < d.deadline('steady'), 'far shorter than its usual deadline (the floor is at least 100 ms)');
  for (let i = 0; i < 20; i++) d.observe('jittery', i % 2 === 0 ? 2 : 42);
  assert.ok(d.farewell('jittery')! > 22 + FAREWELL.minMarginMs, 'a member whose answers vary gets 4 × RTTVAR');
  d.falseSuspicion('jittery', 500); // a wrong accusation: local health 1
  assert.equal(d.localHealth, 1);
  assert.equal(d.due(f), f * 2, 'local health 1 doubles it, as every deadline');
});
