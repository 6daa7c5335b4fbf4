/**
 * Adaptive detection's pure parts, fed made-up times: the answer deadline estimator
 * (src/answer-deadline.ts) and the surveyor's mid-round transition (surveyorLogic.expire).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { surveyorLogic, type SurveyorLimits } from '../src/actors/surveyor.js';
import { ANSWER_DEADLINE, AnswerDeadlines } from '../src/answer-deadline.js';

const SURVEY = 1000;
const FLOOR = SURVEY * ANSWER_DEADLINE.floorFraction; // 100 ms: the least floor, on a calm host

/** A seeded generator (a 32-bit LCG), so the simulations are the same every run. */
function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

test('estimator: a member with fewer than 3 answers has the fixed deadline, surveyTime', () => {
  const d = new AnswerDeadlines(SURVEY);
  assert.equal(d.deadline('a'), SURVEY, 'unknown member');
  d.observe('a', 5);
  d.observe('a', 5);
  assert.equal(d.deadline('a'), SURVEY, 'two answers are not enough');
  assert.deepEqual(d.plan(['a']), [], 'not planned: judged at the round end');
  d.observe('a', 5);
  assert.ok(d.deadline('a') < SURVEY, 'the third answer gives an adaptive deadline');
});

test('estimator: steady offsets give each member its own offset plus the floor, earliest first', () => {
  const d = new AnswerDeadlines(SURVEY);
  // Members answer in send order, 0.5 ms apart, the same every round (nanomsg sends to pipes in connection order).
  const names = Array.from({ length: 200 }, (_, i) => `m${i}`);
  for (let round = 0; round < 30; round++) names.forEach((n, i) => d.observe(n, i * 0.5));
  const plan = d.plan([...names].reverse());
  assert.equal(plan.length, 200);
  assert.deepEqual(plan.map((p) => p.name), names, 'sorted by deadline: send order');
  for (const [i, n] of names.entries()) {
    const dl = d.deadline(n);
    assert.ok(dl >= i * 0.5 + FLOOR, `${n}: deadline ${dl} covers its offset plus the floor`);
    assert.ok(dl < i * 0.5 + FLOOR + 1, `${n}: deadline ${dl} is tight once the variance has died down`);
  }
  assert.equal(d.localHealth, 0);
});

test('estimator: one jittery member gets a wide deadline, the steady ones keep theirs', () => {
  const d = new AnswerDeadlines(SURVEY);
  const rand = seeded(13);
  let late = 0;
  for (let round = 0; round < 300; round++) {
    for (let i = 0; i < 10; i++) d.observe(`steady${i}`, 2 + i);
    const offset = 10 + rand() * 590; // 10..600 ms: answers all over the survey
    if (round >= 20 && offset > d.deadline('jittery')) late++;
    d.observe('jittery', offset);
    d.endRound();
  }
  assert.equal(late, 0, 'after warming up, no answer of the jittery member came after its deadline');
  assert.ok(d.deadline('jittery') >= 600, `the jittery member's deadline ${d.deadline('jittery')} covers its slowest answers`);
  for (let i = 0; i < 10; i++) {
    const dl = d.deadline(`steady${i}`);
    assert.ok(dl < 2 + i + FLOOR + 1, `steady${i}: ${dl} ms, not widened by another member's jitter`);
  }
});

test('estimator: a member that stops answering stays planned at its early deadline until forgotten', () => {
  const d = new AnswerDeadlines(SURVEY);
  for (let round = 0; round < 10; round++) {
    d.observe('alive', 3);
    d.observe('stops', 4);
    d.endRound();
  }
  // It stops: nothing is observed; its deadline stays well inside the survey, so the surveyor accuses it early.
  for (let round = 0; round < 3; round++) {
    d.observe('alive', 3);
    d.endRound();
  }
  const plan = d.plan(['alive', 'stops']);
  assert.deepEqual(plan.map((p) => p.name), ['alive', 'stops']);
  const stops = plan.find((p) => p.name === 'stops')!;
  assert.ok(d.due(stops.baseMs) < SURVEY / 2, `accused after ${d.due(stops.baseMs)} ms, well before the survey's ${SURVEY}`);
  // Once dropped, it is forgotten: if the name comes back it starts over with the fixed deadline.
  d.retain(new Set(['alive']));
  assert.equal(d.samples('stops'), 0);
  assert.equal(d.deadline('stops'), SURVEY);
  assert.deepEqual(d.plan(['alive', 'stops']).map((p) => p.name), ['alive']);
});

test('estimator: a slow observer widens the floor in proportion to its lag, accuses no one on a late observation, and recovers', () => {
  const d = new AnswerDeadlines(SURVEY);
  for (let round = 0; round < 10; round++) d.observe('a', 20);
  const healthy = d.deadline('a'); // 120 ms: its offset plus the floor
  assert.equal(d.lateToleranceMs, FLOOR / 4);
  assert.equal(d.observerLag(FLOOR / 4), false, 'within the tolerance: not late');
  assert.equal(d.floorMs, FLOOR, 'and no wider floor');
  assert.equal(d.observerLag(80), true, 'a receive 80 ms late: no accusation on it');
  assert.equal(d.floorMs, 160, 'the floor covers twice the lag');
  assert.equal(d.deadline('a'), 20 + 160);
  assert.equal(d.observerLag(600), true);
  assert.equal(d.deadline('a'), SURVEY, 'a 600 ms stall: stretched up to the fixed deadline, never past it');
  assert.deepEqual(d.plan(['a']), [], 'judged at the round end');
  assert.equal(d.localHealth, 0, 'lag alone is not a wrong accusation');
  for (let round = 0; round < 300; round++) d.endRound();
  assert.equal(d.deadline('a'), healthy, 'faded back');
});

test('estimator: local health saturates at 8 and recovers one step per clean round', () => {
  const d = new AnswerDeadlines(SURVEY);
  for (let round = 0; round < 10; round++) d.observe('a', 20);
  const healthy = d.deadline('a');
  assert.equal(d.mayAccuse(50, 100), false, 'half the members silent at once: trouble here');
  assert.equal(d.localHealth, 1);
  assert.equal(d.deadline('a'), healthy * 2, 'deadline doubled at LHM 1');
  for (let i = 0; i < 20; i++) d.mayAccuse(50, 100);
  assert.equal(d.localHealth, ANSWER_DEADLINE.maxLocalHealth, 'saturates at 8');
  assert.equal(d.deadline('a'), SURVEY, 'stretched up to the fixed deadline, never past it');
  d.endRound(); // the round that had the trouble: no recovery yet
  assert.equal(d.localHealth, ANSWER_DEADLINE.maxLocalHealth);
  for (let round = 0; round < ANSWER_DEADLINE.maxLocalHealth; round++) d.endRound();
  assert.equal(d.localHealth, 0, 'one step per clean round');
  assert.equal(d.deadline('a'), healthy);
});

test("estimator: a false accusation widens everyone's deadline, and the widening fades", () => {
  const d = new AnswerDeadlines(SURVEY);
  for (let round = 0; round < 10; round++) {
    d.observe('a', 5);
    d.observe('b', 5);
  }
  const before = d.deadline('b');
  // 'a' was declared missing at its deadline (~255 ms) but answered at 400 ms.
  d.falseSuspicion('a', 400);
  assert.equal(d.localHealth, 1);
  assert.ok(d.excess > 100, `excess ${d.excess} ms`);
  d.endRound();
  d.endRound(); // local health back to 0: what remains is the floor, twice the excess
  assert.equal(d.localHealth, 0);
  const after = d.deadline('b');
  assert.ok(after > before + 200, `b's deadline grew from ${before} to ${after} ms though b was never late`);
  for (let round = 0; round < 300; round++) d.endRound();
  assert.ok(d.deadline('b') < before + 10, `the excess faded: ${d.deadline('b')} ms`);
});

test('estimator: the floor is a tenth of the survey, at least 20 ms; a 100 ms survey gets adaptive deadlines too', () => {
  assert.equal(new AnswerDeadlines(1000).floorMs, 100);
  assert.equal(new AnswerDeadlines(100).floorMs, 20);
  assert.equal(new AnswerDeadlines(1000).lateToleranceMs, 25, 'late: 10 ms, or a quarter of the floor if more');
  assert.equal(new AnswerDeadlines(100).lateToleranceMs, 10);
  assert.equal(new AnswerDeadlines(1000).groupWindowMs, 25, 'members silent within the late tolerance of each other are judged together');
  const short = new AnswerDeadlines(100);
  for (let round = 0; round < 10; round++) short.observe('a', 1);
  assert.deepEqual(short.plan(['a']).map((p) => p.name), ['a'], 'a 100 ms survey: planned');
  assert.ok(short.deadline('a') < 25, `deadline ${short.deadline('a')} ms: its 1 ms offset plus the 20 ms floor`);
});

test("estimator: an answer later than its member's history predicts raises everyone's floor to twice the excess, which fades", () => {
  const d = new AnswerDeadlines(SURVEY);
  for (let round = 0; round < 20; round++) {
    d.observe('a', 5);
    d.observe('b', 5);
    d.endRound();
  }
  assert.equal(d.floorMs, FLOOR, 'steady answers: the least floor');
  const before = d.deadline('b');
  d.observe('a', 5 + 150); // a 150 ms pause of a's process: past its deadline of ~105 ms
  assert.ok(d.excess >= 149 && d.excess <= 150, `excess ${d.excess} ms`);
  assert.ok(d.floorMs >= 298, `floor ${d.floorMs} ms: twice the excess`);
  assert.ok(d.lateToleranceMs >= 74, `late tolerance ${d.lateToleranceMs} ms follows the floor`);
  assert.ok(d.deadline('b') >= 5 + 298, `b's deadline ${d.deadline('b')} ms (was ${before}) covers a pause like a's`);
  for (let round = 0; round < 300; round++) d.endRound();
  assert.equal(d.floorMs, FLOOR, 'faded back to the least floor');
});

test('estimator: members that pause 50–200 ms now and then (a starved host) stop crossing their deadlines once the floor has learnt the pauses', () => {
  const d = new AnswerDeadlines(SURVEY);
  const rand = seeded(7);
  const names = Array.from({ length: 100 }, (_, i) => `m${i}`);
  let lateAfterWarmup = 0;
  for (let round = 0; round < 400; round++) {
    for (const [i, n] of names.entries()) {
      // Answers 0.05 ms apart; about one in twelve comes after a 50–200 ms pause of its process.
      const offset = i * 0.05 + (rand() < 1 / 12 ? 50 + rand() * 150 : 0);
      if (d.samples(n) >= ANSWER_DEADLINE.minSamples && offset > d.deadline(n)) {
        if (round >= 20) lateAfterWarmup++;
      }
      d.observe(n, offset);
    }
    d.endRound();
  }
  assert.equal(lateAfterWarmup, 0, 'after 20 rounds no pause crossed a deadline');
  assert.ok(d.floorMs > 2 * FLOOR, `floor ${d.floorMs} ms: learnt from the pauses, above the least floor's ${FLOOR} ms`);
  assert.ok(d.floorMs < SURVEY / 2, `floor ${d.floorMs} ms: still well inside the survey`);
});

test('estimator: many members silent at once is trouble on this side: no accusation, deadlines stretch', () => {
  const d = new AnswerDeadlines(SURVEY);
  assert.equal(d.mayAccuse(1, 10), true, 'one silent member: accused');
  assert.equal(d.mayAccuse(2, 10), true, 'two leaving together: accused');
  assert.equal(d.mayAccuse(5, 100), true, '5 % of those due');
  assert.equal(d.localHealth, 0);
  assert.equal(d.mayAccuse(6, 100), false, 'more than 5 %: not accused');
  assert.equal(d.localHealth, 1, 'counted as local trouble');
});

test('estimator: surveyTime must be positive', () => {
  assert.throws(() => new AnswerDeadlines(0), RangeError);
  assert.throws(() => new AnswerDeadlines(Number.NaN), RangeError);
});

test('surveyor logic: a member past its deadline is dropped mid-round once it reaches missedRounds, not before, not in the grace', () => {
  const limits = (missedRounds: number): SurveyorLimits => ({ maxNameBytes: 64, maxMembers: 10, missedRounds });
  let state = surveyorLogic.beginRound(surveyorLogic.initial(['a', 'b', 'c']));
  surveyorLogic.answer(state, Buffer.from('b'), limits(1));
  // 'b' answered, 'z' is no member: neither can be dropped; 'a' and 'c' are.
  const out = surveyorLogic.expire(state, ['c', 'b', 'z', 'a'], limits(1), 0);
  assert.deepEqual(out.left, ['a', 'c']);
  assert.deepEqual([...out.state.members], ['b']);
  // The round's end then sees no second departure.
  assert.deepEqual(surveyorLogic.endRound(out.state, limits(1), 0).left, []);

  // missedRounds 2: the first miss waits for the round's end; the second drops at the deadline.
  state = surveyorLogic.beginRound(surveyorLogic.initial(['a']));
  assert.deepEqual(surveyorLogic.expire(state, ['a'], limits(2), 0).left, []);
  state = surveyorLogic.endRound(state, limits(2), 0).state;
  assert.equal(state.misses.get('a'), 1);
  state = surveyorLogic.beginRound(state);
  assert.deepEqual(surveyorLogic.expire(state, ['a'], limits(2), 0).left, ['a']);

  // During the restart grace nothing is dropped early.
  const grace = surveyorLogic.beginRound(surveyorLogic.initial(['a'], 1000));
  assert.deepEqual(surveyorLogic.expire(grace, ['a'], limits(1), 999).left, []);
  assert.deepEqual(surveyorLogic.expire(grace, ['a'], limits(1), 1000).left, ['a']);
});
