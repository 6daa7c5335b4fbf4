/**
 * The join survey's pure parts (README "Join survey"): JoinGate (src/join-survey.ts), when
 * a join survey may go out and when one is over; surveyorLogic.joinAnswer, how a join
 * answer counts in the round under way or between rounds; AnnounceGate.take with a join
 * socket (a hello asks for a join survey, not a round). No sockets, no clocks.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { surveyorLogic, type SurveyorLimits } from '../src/actors/surveyor.js';
import { AnnounceGate } from '../src/announcements.js';
import { encodeAnnouncement } from '../src/extensions.js';
import { JOIN_MIN_INTERVAL_MS, JoinGate, joinsCoveredByJoinSocket, MAX_JOIN_HELLOS } from '../src/join-survey.js';

const LIMITS: SurveyorLimits = { maxNameBytes: 1024, maxMembers: 100, missedRounds: 1 };
const name = (s: string) => Buffer.from(s, 'utf8');

test('JoinGate: a hello makes a join survey due at once; one at a time, over when its names are listed', () => {
  const gate = new JoinGate(1000, 10_000);
  assert.equal(gate.dueAt(), Infinity, 'nothing asked');
  gate.hello('a');
  assert.ok(gate.dueAt() <= 0, 'due at once');
  gate.sent(100, 3);
  assert.equal(gate.surveying, true);
  gate.hello('b');
  assert.equal(gate.dueAt(), 1100, "the next waits for the one under way (its deadline, unless it is over sooner)");
  assert.equal(gate.isOver(101, new Set()), false, 'a not listed yet, connections not all answered');
  gate.answered(true);
  assert.equal(gate.isOver(102, new Set(['a'])), true, 'every name that asked for it is listed');
  const outcome = gate.ended(102, new Set(['a']))!;
  assert.deepEqual(outcome, { durationMs: 2, answers: 1, connections: 3, admitted: true, unlisted: [] });
  assert.equal(gate.surveying, false);
  assert.equal(gate.dueAt(), 100 + JOIN_MIN_INTERVAL_MS, "b's survey: one spacing after the last one went out");
});

test('JoinGate: over when every connection answered, or at its deadline; names left unlisted are handed back', () => {
  const gate = new JoinGate(1000, 10_000);
  gate.hello('ghost');
  gate.sent(0, 1);
  gate.answered(false);
  assert.equal(gate.isOver(1, new Set()), true, 'its one connection answered (a parked respondent, not the ghost)');
  assert.deepEqual(gate.ended(1, new Set())!.unlisted, ['ghost'], 'the ghost needs a main round');
  gate.hello('late');
  gate.sent(10, undefined);
  assert.equal(gate.isOver(500, new Set()), false, 'connections unknown: its deadline');
  assert.equal(gate.isOver(1010, new Set()), true);
  const outcome = gate.ended(1010, new Set())!;
  assert.equal(outcome.connections, undefined);
  assert.deepEqual(outcome.unlisted, ['late']);
  assert.equal(gate.ended(1011, new Set()), undefined, 'none under way');
});

test('JoinGate: join surveys that admit nobody double the spacing up to pollTime; one that admits resets it; scheduled rounds halve it', () => {
  const gate = new JoinGate(1000, 64);
  const spacings: number[] = [];
  for (let i = 0, t = 0; i < 8; i++, t += 100) {
    spacings.push(gate.spacingMs());
    gate.hello(`ghost-${i}`);
    gate.sent(t, 0);
    gate.ended(t, new Set());
  }
  assert.deepEqual(spacings, [2, 4, 8, 16, 32, 64, 64, 64]);
  gate.roundEnded();
  assert.equal(gate.spacingMs(), 32, 'a scheduled round halves it');
  for (let i = 0; i < 8; i++) gate.roundEnded();
  assert.equal(gate.spacingMs(), JOIN_MIN_INTERVAL_MS, 'faded back to one interval');
  gate.hello('x');
  gate.sent(0, 0);
  gate.ended(1, new Set());
  assert.equal(gate.spacingMs(), 4);
  gate.hello('y');
  gate.sent(10, 1);
  gate.answered(true);
  gate.ended(11, new Set(['y']));
  assert.equal(gate.spacingMs(), JOIN_MIN_INTERVAL_MS, 'it admitted someone: reset');
});

test('JoinGate: a join survey sent to no connection gives its names one more, once (a newcomer\'s join pipe may be up on its side only)', () => {
  const gate = new JoinGate(1000, 10_000);
  gate.hello('early');
  gate.sent(0, 0);
  assert.equal(gate.isOver(0, new Set()), true, 'no connection to wait for');
  assert.deepEqual(gate.ended(0, new Set())!.unlisted, [], 'not handed back yet');
  assert.equal(gate.dueAt(), 4, 'one more, a (doubled) spacing later');
  gate.sent(4, 0);
  assert.deepEqual(gate.ended(4, new Set())!.unlisted, ['early'], 'handed back after its second');
  assert.equal(gate.dueAt(), Infinity);
  gate.hello('late');
  gate.sent(20, 1);
  gate.answered(false);
  assert.deepEqual(gate.ended(21, new Set())!.unlisted, ['late'], 'a survey that reached a connection gives no second one');
});

test('JoinGate: hellos waiting are bounded', () => {
  const gate = new JoinGate(1000, 10_000);
  for (let i = 0; i < MAX_JOIN_HELLOS + 50; i++) gate.hello(`n${i}`);
  gate.sent(0, 1);
  assert.equal(gate.ended(0, new Set())!.unlisted.length, MAX_JOIN_HELLOS);
});

test('joinAnswer mid-round: the newcomer counts as having answered the round (not judged silent), and its main answer is neither a duplicate nor counted twice', () => {
  let state = surveyorLogic.beginRound(surveyorLogic.initial(['m']));
  const outcome = surveyorLogic.joinAnswer(state, name('new'), LIMITS);
  assert.deepEqual(outcome, { kind: 'counted', name: 'new', newcomer: true });
  const admitted = surveyorLogic.admit(state, ['new']);
  assert.deepEqual(admitted.joined, ['new']);
  state = admitted.state;
  assert.deepEqual(surveyorLogic.answer(state, name('new'), LIMITS), { kind: 'counted', name: 'new', newcomer: false }, 'its answer to the main survey');
  assert.deepEqual(surveyorLogic.answer(state, name('m'), LIMITS), { kind: 'counted', name: 'm', newcomer: false });
  assert.equal(state.tally.incumbents, 2, 'both listed members answered, each once');
  assert.deepEqual(surveyorLogic.answer(state, name('new'), LIMITS), { kind: 'duplicate', name: 'new' }, 'a second main answer is a duplicate');
  const end = surveyorLogic.endRound(state, LIMITS, 0);
  assert.equal(end.changed, false, 'no second change: it was admitted already');
  assert.deepEqual([...end.state.members].sort(), ['m', 'new']);
});

test('joinAnswer: a name counted in the round already (its main answer first, or a second join answer of the name before admission) is a duplicate, counted once', () => {
  const state = surveyorLogic.beginRound(surveyorLogic.initial([]));
  assert.equal(surveyorLogic.joinAnswer(state, name('twice'), LIMITS).kind, 'counted');
  assert.deepEqual(surveyorLogic.joinAnswer(state, name('twice'), LIMITS), { kind: 'duplicate', name: 'twice' });
  assert.equal(surveyorLogic.answer(state, name('first-main'), LIMITS).kind, 'counted');
  assert.deepEqual(surveyorLogic.joinAnswer(state, name('first-main'), LIMITS), { kind: 'duplicate', name: 'first-main' });
  assert.equal(state.fresh.size, 2);
  assert.deepEqual(surveyorLogic.admit(state, ['twice']).joined, ['twice']);
});

test('joinAnswer mid-round without a main answer: the newcomer is not dropped at the round end (it may not have had the main survey)', () => {
  let state = surveyorLogic.beginRound(surveyorLogic.initial(['m']));
  surveyorLogic.answer(state, name('m'), LIMITS);
  surveyorLogic.joinAnswer(state, name('new'), LIMITS);
  state = surveyorLogic.admit(state, ['new']).state;
  const end = surveyorLogic.endRound(state, LIMITS, 0);
  assert.deepEqual(end.left, []);
  assert.deepEqual([...end.state.members].sort(), ['m', 'new']);
});

test('joinAnswer between rounds: admitted, and the next round starts clean', () => {
  const first = surveyorLogic.beginRound(surveyorLogic.initial(['m']));
  surveyorLogic.answer(first, name('m'), LIMITS);
  let state = surveyorLogic.endRound(first, LIMITS, 0).state;
  assert.equal(surveyorLogic.joinAnswer(state, name('new'), LIMITS).kind, 'counted');
  state = surveyorLogic.admit(state, ['new']).state;
  assert.deepEqual([...state.members].sort(), ['m', 'new']);
  state = surveyorLogic.beginRound(state);
  assert.equal(state.fresh.size, 0);
  assert.equal(state.viaJoin?.size, 0);
  assert.deepEqual(surveyorLogic.answer(state, name('new'), LIMITS), { kind: 'counted', name: 'new', newcomer: false }, 'a member now, answering as one');
});

test('joinAnswer: a listed name changes nothing; refusals as for a main answer (bad name, accept, member cap)', () => {
  const state = surveyorLogic.beginRound(surveyorLogic.initial(['m']));
  assert.deepEqual(surveyorLogic.joinAnswer(state, name('m'), LIMITS), { kind: 'listed', name: 'm' });
  assert.equal(state.fresh.size, 0, 'not counted: its main answer counts as usual');
  assert.equal(surveyorLogic.joinAnswer(state, name('bad|name'), LIMITS).kind, 'refused');
  const refusing = { ...LIMITS, accept: (n: string) => n === 'ok' };
  assert.deepEqual(surveyorLogic.joinAnswer(state, name('no'), refusing), { kind: 'refused', code: 'not-accepted', reason: '"no" is not accepted by the server\'s accept rule' });
  assert.deepEqual(surveyorLogic.joinAnswer(state, name('later'), { ...LIMITS, accept: () => undefined }), { kind: 'pending', name: 'later' });
  const full = surveyorLogic.joinAnswer(state, name('x'), { ...LIMITS, maxMembers: 1 });
  assert.equal(full.kind, 'refused');
  assert.equal(full.kind === 'refused' && full.code, 'member-cap', 'the listed member keeps its place');
});

test('AnnounceGate with a join socket: a hello from a name not listed asks for a survey but not a round; a bye still asks for a round', () => {
  const gate = new AnnounceGate(1024, 10_000);
  const hello = gate.take(encodeAnnouncement('hello', 'new'), new Set(['m']), () => undefined, true);
  assert.equal(hello.kind === 'hello' && hello.asksForRound, true, 'it asks for a (join) survey');
  assert.equal(gate.asksForRound, false, 'no main round');
  gate.take(encodeAnnouncement('bye', 'm'), new Set(['m']), () => undefined, true);
  assert.equal(gate.asksForRound, true, 'a bye keeps its path: a main round');
  const without = new AnnounceGate(1024, 10_000);
  without.take(encodeAnnouncement('hello', 'new'), new Set(['m']), () => undefined);
  assert.equal(without.asksForRound, true, 'without a join socket, as before');
});

test('joinsCoveredByJoinSocket: a pipe joining the survey socket asks for no main round only when as many joined the join socket', () => {
  assert.equal(joinsCoveredByJoinSocket(1, 1), true, 'one newcomer of ours: its hello asks for a join survey');
  assert.equal(joinsCoveredByJoinSocket(2, 1), false, 'one of them (a Go respondent, say) did not dial the join socket');
  assert.equal(joinsCoveredByJoinSocket(0, 1), false, 'nothing joined the survey socket: no hint to cover');
  assert.equal(joinsCoveredByJoinSocket(1, 3), true);
});
