/**
 * The pure parts of announcements: the wire format (src/extensions.ts), the server's gate
 * (src/announcements.ts), the client's hello plan and answer fields
 * (src/actors/respondent.ts), and the farewell deadline (src/answer-deadline.ts). No
 * sockets, no clocks: times are numbers the test chooses.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { advertisedAnnounceUrl, answerFields, HELLO, HelloPlan, surveyedBy } from '../src/actors/respondent.js';
import { AnnounceGate, announceIntervalMs, MAX_SPENT_TOKENS } from '../src/announcements.js';
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
  assert.deepEqual(gate.roundStarted(0), []);
  assert.equal(gate.asksForRound, false);
});

test('the gate: only a bye with the member\'s farewell token earns the short deadline', () => {
  const members = new Set(['m']);
  const gate = new AnnounceGate(1024);
  assert.equal((gate.take(encodeAnnouncement('bye', 'm'), members, tokenOf) as { farewell: boolean }).farewell, false, 'no token');
  assert.equal((gate.take(encodeAnnouncement('bye', 'm', [[FieldTag.farewellToken, Buffer.alloc(8, 2)]]), members, tokenOf) as { farewell: boolean }).farewell, false, 'a wrong token');
  assert.equal(gate.asksForRound, true, 'an unproven bye still asks for a survey');
  assert.deepEqual(gate.roundStarted(0), []);
  assert.equal((gate.take(encodeAnnouncement('bye', 'm', [[FieldTag.farewellToken, token]]), members, () => undefined) as { farewell: boolean }).farewell, false, 'no token known');
  const ok = gate.take(encodeAnnouncement('bye', 'm', [[FieldTag.farewellToken, token]]), members, tokenOf);
  assert.deepEqual(ok, { kind: 'bye', name: 'm', asksForRound: true, farewell: true });
  // Mid-round: a member that already answered keeps its farewell for the next round.
  assert.deepEqual(gate.takeFarewells(() => true), []);
  assert.deepEqual(gate.takeFarewells(() => false), ['m']);
  assert.deepEqual(gate.roundStarted(0), []);
});

test('the gate refuses what is not an announcement or names no valid service', () => {
  const gate = new AnnounceGate(8);
  for (const bad of [Buffer.from('hello'), encodeAnnouncement('hello', 'a|b'), encodeAnnouncement('hello', ''), encodeAnnouncement('hello', 'nine-byte'), encodeAnnouncement('bye', 'a\nb')]) {
    assert.equal(gate.take(bad, new Set(), tokenOf).kind, 'refused', bad.toString('hex'));
  }
  assert.equal(gate.asksForRound, false);
});

test('the rate limit: 2 × (10 ms + 1 ms per 100 members) after the previous round\'s start, not before its end; a round cut short that long after its send', () => {
  assert.equal(announceIntervalMs(0), 10);
  assert.equal(announceIntervalMs(1000), 20);
  assert.equal(announceIntervalMs(10_000), 110);
  const gate = new AnnounceGate(1024);
  gate.roundStarted(5000);
  gate.roundEnded(5010);
  gate.take(encodeAnnouncement('hello', 'x'), new Set(), tokenOf);
  assert.equal(gate.dueAt(1000), 5040, 'a short round: 2 × 20 ms after its start');
  gate.roundStarted(6000);
  gate.roundEnded(7000);
  gate.take(encodeAnnouncement('hello', 'y'), new Set(), tokenOf);
  assert.equal(gate.dueAt(1000), 7000, 'a round that ran its survey time: at its end, no second wait');
  assert.equal(gate.heldBy(6999, 1000), 'spacing');
  assert.equal(gate.heldBy(7000, 1000), undefined, 'due: nothing holds it');
  assert.equal(gate.mayCut(true, 8000, 8039, 1000), false, 'too soon after the send');
  assert.equal(gate.mayCut(false, 8000, 8500, 1000), false, 'a member has not answered');
  assert.equal(gate.mayCut(true, 8000, 8040, 1000), true);
  assert.equal(gate.cutAt(8000, 1000), 8040, 'the moment the round under way may be cut');
  assert.equal(gate.cutAt(8000, 1000, 30), 8060, 'a round that took 30 ms to collect: 2 × 30 ms after its send');
  gate.roundStarted(7990);
  gate.roundEnded(8040);
  assert.equal(gate.mayCut(true, 8000, 9000, 1000), false, 'nothing asked for');
  assert.equal(gate.cutAt(8000, 1000), Infinity, 'nothing asked for: never');
  gate.take(encodeAnnouncement('hello', 'z'), new Set(), tokenOf);
  assert.equal(gate.dueAt(1000), 8040, 'after a cut: the asked-for round starts at once (2 × 20 ms after the start of the round cut)');
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
  gate.roundStarted(89_000);
  gate.take(encodeAnnouncement('hello', 'x'), members, tokenOf);
  assert.equal(gate.dueAt(1000), 89_000 + 2 * 2000, 'the spacing capped at pollTime: 2 × pollTime after the last start');
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

test('the hello plan: a hello that went out with the survey connections up is said again only after the longer waits', () => {
  const plan = new HelloPlan(0);
  plan.attempted(0, false, true);
  assert.equal(plan.dueAt(), HELLO.retryMs, 'not taken: soon again');
  let now = HELLO.retryMs;
  plan.attempted(now, true, true);
  assert.equal(plan.dueAt(), now + HELLO.againConnectedMs[0]);
  assert.ok(HELLO.againConnectedMs[0] > HELLO.againMs[0]);
  for (const again of HELLO.againConnectedMs) {
    assert.equal(plan.dueAt(), now + again);
    now += again;
    plan.attempted(now, true, true);
  }
  assert.equal(plan.done, true, `${HELLO.againConnectedMs.length + 1} hellos at most`);
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

test('the farewell deadline: a constant 10 ms after the send whatever the member\'s usual offset; stretched by local health; none for a member never heard', () => {
  const d = new AnswerDeadlines(1000);
  assert.equal(d.farewell('new'), undefined);
  for (let i = 0; i < 20; i++) d.observe('early', 3);
  // A recent connection is served last in nanomsg's fan-out: its answers come ~100 ms after the send at 1,000 members.
  for (let i = 0; i < 20; i++) d.observe('late', i % 2 === 0 ? 90 : 110);
  assert.equal(d.farewell('early'), FAREWELL.deadlineMs);
  assert.equal(d.farewell('late'), FAREWELL.deadlineMs, 'not its place in the fan-out');
  assert.ok(d.farewell('late')! < d.deadline('late') / 5, 'far shorter than its usual deadline');
  d.falseSuspicion('late', 500); // a wrong accusation: local health 1
  assert.equal(d.localHealth, 1);
  assert.equal(d.due(d.farewell('late')!), 2 * FAREWELL.deadlineMs, 'local health 1 doubles it, as every deadline');
});

test('a member heard only by a join survey\'s answer gets the farewell deadline but no sample: its deadline stays fixed; forgotten when it leaves', () => {
  const d = new AnswerDeadlines(1000);
  d.heard('joined');
  assert.equal(d.farewell('joined'), FAREWELL.deadlineMs);
  assert.equal(d.samples('joined'), 0, 'the join answer says nothing of its place in the main survey');
  assert.equal(d.deadline('joined'), 1000);
  d.observe('joined', 40); // its first main answer: a sample as for any member
  assert.equal(d.samples('joined'), 1);
  assert.equal(d.farewell('joined'), FAREWELL.deadlineMs);
  d.heard('other');
  d.retain(new Set(['joined']));
  assert.equal(d.farewell('other'), undefined, 'gone from the members: forgotten');
});

test('a proven bye: its gap is one interval, without the backoff and the collection time; a round under way is cut 2 intervals after its send', () => {
  const members = new Set(['m', 'n']);
  const gate = new AnnounceGate(1024, 2000);
  gate.roundStarted(995);
  gate.roundEnded(1000, false, 30); // an announced round that changed nothing: the spacing doubles
  assert.equal(gate.spacingMs(1000), 40);
  gate.take(encodeAnnouncement('hello', 'x'), members, tokenOf);
  assert.equal(gate.dueAt(1000), 995 + 80, 'a hello: 2 × the spacing, backoff included, after the last start');
  assert.equal(gate.mayCut(true, 2000, 2079, 1000), false);
  assert.equal(gate.mayCut(true, 2000, 2080, 1000, 60), false, 'a round still collecting: 2 × its collection time when longer');
  assert.equal(gate.mayCut(true, 2000, 2120, 1000, 60), true);
  gate.take(encodeAnnouncement('bye', 'm', [[FieldTag.farewellToken, token]]), members, tokenOf);
  assert.equal(gate.farewellWaiting, true);
  assert.equal(gate.dueAt(1000), 1035, 'a proven bye: 2 × one interval (20 ms at 1,000 members) after the last start, without the backoff');
  assert.equal(gate.mayCut(true, 2000, 2039, 1000, 60), false, 'not sooner than 2 intervals after the send');
  assert.equal(gate.mayCut(true, 2000, 2040, 1000, 60), true, '2 intervals (20 ms at 1,000 members), without the backoff or the collection time');
  assert.equal(gate.mayCut(false, 2000, 2500, 1000), false, 'never before every listed member answered');
  assert.deepEqual(gate.roundStarted(2040), ['m']);
  assert.equal(gate.farewellWaiting, false);
});

test('a proven bye taken into the round under way (its member had not answered) leaves the next round spaced as usual', () => {
  const gate = new AnnounceGate(1024);
  gate.roundStarted(990);
  gate.roundEnded(1000);
  gate.take(encodeAnnouncement('bye', 'm', [[FieldTag.farewellToken, token]]), new Set(['m']), tokenOf);
  assert.deepEqual(gate.takeFarewells(() => false), ['m']);
  assert.equal(gate.farewellWaiting, false);
  assert.equal(gate.dueAt(1000), 1030, 'only the asked-for round is left, 2 spacings after the last start');
});

test('a farewell token is honoured once: a replayed bye is an unproven one', () => {
  const members = new Set(['m']);
  const gate = new AnnounceGate(1024);
  const bye = encodeAnnouncement('bye', 'm', [[FieldTag.farewellToken, token]]);
  assert.equal((gate.take(bye, members, tokenOf) as { farewell: boolean }).farewell, true);
  gate.roundStarted(990);
  gate.roundEnded(1000, true);
  // The member flapped back (its answers carry the same token) and someone replays its bye.
  const replay = gate.take(bye, members, tokenOf);
  assert.deepEqual(replay, { kind: 'bye', name: 'm', asksForRound: true, farewell: false });
  assert.equal(gate.farewellWaiting, false);
  assert.equal(gate.dueAt(1000), 1030, 'spaced as any unproven announcement');
  for (let i = 0; i < MAX_SPENT_TOKENS; i++) {
    const t = Buffer.alloc(8);
    t.writeUInt32BE(i + 1);
    gate.take(encodeAnnouncement('bye', 'k', [[FieldTag.farewellToken, t]]), new Set(['k']), () => t);
  }
  assert.equal((gate.take(bye, members, tokenOf) as { farewell: boolean }).farewell, true, `the oldest of more than ${MAX_SPENT_TOKENS} spent tokens is forgotten (the memory is bounded)`);
});

test('a member that answers the round its farewell was taken into (its answer read after its bye) keeps the farewell for the next round, once', () => {
  const gate = new AnnounceGate(1024);
  gate.roundEnded(1000);
  gate.take(encodeAnnouncement('bye', 'm', [[FieldTag.farewellToken, token]]), new Set(['m']), tokenOf);
  assert.deepEqual(gate.takeFarewells(() => false), ['m']);
  gate.answeredAfterFarewell('m');
  assert.equal(gate.asksForRound, true);
  assert.equal(gate.farewellWaiting, true);
  assert.deepEqual(gate.roundStarted(1100), ['m'], 'its short deadline applies in the next round');
  // It answers that one too (a live member named in a bye that carries its token): no more rounds for it.
  gate.answeredAfterFarewell('m');
  assert.equal(gate.asksForRound, false);
  assert.deepEqual(gate.roundStarted(1200), []);
});

test("a survey ends the hello only to the server that sent it: the one advertising that announce URL, or the only server", () => {
  const a = 'tcp://10.0.0.5:4008';
  const b = 'tcp://10.0.0.6:4008';
  const two = ['tcp://10.0.0.5:4007', 'tcp://10.0.0.6:4007'];
  assert.equal(surveyedBy(a, a, two), true);
  assert.equal(surveyedBy(b, a, two), false, "another server's survey: the hello to this one goes on");
  assert.equal(surveyedBy(undefined, a, two), false, 'a survey that advertises nothing, from one of several servers: which one is unknown');
  assert.equal(surveyedBy(undefined, a, [two[0]!]), true, 'the only server');
});
