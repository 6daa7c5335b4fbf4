/**
 * The pure part of connection hints (src/connection-hints.ts): which change of the survey
 * socket's connection counters asks for a round, and the gate's `ask` (src/announcements.ts)
 * that such a request goes through. No sockets, no clocks: counts and times are numbers the
 * test chooses.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AnnounceGate, announceIntervalMs } from '../src/announcements.js';
import { closedConnections, connectionHint, ConnectionWatch, DepartureBudget, type ConnectionCounts } from '../src/connection-hints.js';
import { surveyorLogic } from '../src/actors/surveyor.js';

const counts = (current: number, broken = 0, dropped = 0): ConnectionCounts => ({ current, broken, dropped });

test('a broken or dropped connection, or fewer pipes, is a departure hint; more pipes is a join hint; no change is none', () => {
  assert.equal(connectionHint(counts(3), counts(3), 3), undefined);
  assert.equal(connectionHint(counts(3), counts(2, 1), 3), 'left');
  assert.equal(connectionHint(counts(3), counts(2), 3), 'left', 'fewer pipes without a broken count (a clean close counted elsewhere)');
  assert.equal(connectionHint(counts(3), counts(3, 0, 1), 3), 'left', 'a connection dropped during its setup');
  assert.equal(connectionHint(counts(3), counts(4), 3), 'joined');
  // A close and an open between two readings: CURRENT is unchanged, the counter shows the close.
  assert.equal(connectionHint(counts(3, 5), counts(3, 6), 3), 'left');
});

test('with no members a closed connection asks for nothing (nobody can have left); a new pipe still asks (a newcomer may answer)', () => {
  assert.equal(connectionHint(counts(1), counts(0, 1), 0), undefined);
  assert.equal(connectionHint(counts(0, 1), counts(1, 2), 0), 'joined');
});

test('the watch: the first reading is a baseline, each later one is compared with the one before, and hints are counted', () => {
  const watch = new ConnectionWatch();
  assert.equal(watch.observe(counts(2, 7), 2), undefined, 'the first reading asks for nothing, whatever it holds');
  assert.equal(watch.observe(counts(2, 7), 2), undefined);
  assert.equal(watch.observe(counts(1, 8), 2), 'left');
  assert.equal(watch.observe(counts(1, 8), 2), undefined, 'the same counts again: nothing new');
  assert.equal(watch.observe(counts(2, 8), 1), 'joined');
  assert.deepEqual(watch.hints, { left: 1, joined: 1 });
});

test("a hint's request goes through the announcements' gate: 2 spacings after the last round's start (not before its end), doubling while rounds change nothing", () => {
  const gate = new AnnounceGate(1024, 2000);
  assert.equal(gate.dueAt(100), Infinity, 'nothing asked');
  gate.roundStarted(995);
  gate.roundEnded(1000);
  gate.ask();
  assert.equal(gate.asksForRound, true);
  assert.equal(gate.dueAt(100), 995 + 2 * announceIntervalMs(100));
  gate.roundStarted(1100);
  assert.equal(gate.dueAt(100), Infinity, 'served');
  gate.roundEnded(1105, false); // the hinted round changed nothing
  gate.ask();
  assert.equal(gate.dueAt(100), 1100 + 4 * announceIntervalMs(100));
  gate.roundStarted(1200);
  gate.roundEnded(1205, true); // it dropped someone: back to one spacing
  gate.ask();
  assert.equal(gate.dueAt(100), 1200 + 2 * announceIntervalMs(100));
  gate.roundStarted(1300);
  gate.roundEnded(2300, true); // a round that ran its whole survey time
  gate.ask();
  assert.equal(gate.dueAt(100), 2300, 'at its end: no second wait');
});

test('an asked-for round also waits twice as long as the last round took to collect its answers, from its start (extra rounds keep a large set busy at most half the time)', () => {
  const gate = new AnnounceGate(1024, 2000);
  gate.roundStarted(4300);
  gate.roundEnded(5000, undefined, 700); // 10,000 members: the last answer came 700 ms after the round started
  gate.ask();
  assert.equal(gate.dueAt(10_000), 4300 + 1400, 'not 2 spacings (220 ms) after its start');
  assert.equal(gate.heldBy(5000, 10_000), 'collect');
  assert.equal(gate.mayCut(true, 6000, 6500, 10_000, 300), false, 'a round under way that took 300 ms to collect: cut 600 ms after its send');
  assert.equal(gate.mayCut(true, 6000, 6600, 10_000, 300), true);
  gate.roundStarted(5995);
  gate.roundEnded(6000, true, 3); // 100 members: answers within 3 ms
  gate.ask();
  assert.equal(gate.dueAt(100), 5995 + 2 * announceIntervalMs(100), 'a quick round: the spacing decides');
  assert.equal(gate.heldBy(6000, 100), 'spacing');
});

test('closed connections: the BROKEN counter\'s rise, or the fall of CURRENT if larger; connections dropped while being set up do not count', () => {
  const at = (current: number, broken: number, dropped = 0): ConnectionCounts => ({ current, broken, dropped });
  assert.equal(closedConnections(at(5, 0), at(3, 2)), 2);
  assert.equal(closedConnections(at(5, 0), at(2, 1)), 3, 'a pipe removed without counting as broken still closed');
  assert.equal(closedConnections(at(5, 0, 0), at(5, 0, 4)), 0, 'dropped during set-up: no member answered through them');
  assert.equal(closedConnections(at(5, 1), at(7, 1)), 0);
  const watch = new ConnectionWatch();
  watch.observe(at(5, 0), 5);
  assert.equal(watch.closed, 0, 'the first reading is a baseline');
  watch.observe(at(3, 2), 5);
  assert.equal(watch.closed, 2);
  watch.observe(at(3, 2), 3);
  assert.equal(watch.closed, 0, 'per reading, not accumulated');
});

test('the departure budget: an extra round may drop as many silent members as connections closed, each counted for its ttl and spent by any drop', () => {
  const budget = new DepartureBudget(3000);
  assert.ok(budget.covers(0, 0), 'no silence needs no departure');
  assert.ok(!budget.covers(1, 0), 'a silent member with no departure seen: not judged by an extra round');
  budget.add(2, 100);
  assert.ok(budget.covers(2, 200));
  assert.ok(!budget.covers(3, 200), 'more silent than departures: the silence is not explained');
  budget.spend(1);
  assert.equal(budget.available(200), 1, 'a drop (of any kind) matches a departure');
  budget.add(1, 2000);
  assert.equal(budget.available(2000), 2);
  assert.equal(budget.available(3101), 1, 'the departure seen at 100 ms expired after its ttl; the one at 2000 ms stays');
  budget.spend(5);
  assert.equal(budget.available(3101), 0, 'never below zero');
});

test('a round whose silence does not count (an extra round past its budget) drops nobody and adds no miss; a counting one drops as always', () => {
  const limits = { missedRounds: 2, maxMembers: 100, maxNameBytes: 1024 };
  let state = surveyorLogic.beginRound({ members: new Set(['a', 'b']), fresh: new Set(), tally: { incumbents: 0 }, misses: new Map([['b', 1]]), round: 7, graceUntil: 0 });
  state = { ...state, fresh: new Set(['a']) };
  const unjudged = surveyorLogic.endRound(state, limits, 10, false);
  assert.equal(unjudged.changed, false);
  assert.deepEqual([...unjudged.state.members].sort(), ['a', 'b']);
  assert.equal(unjudged.state.misses.get('b'), 1, 'b keeps its one miss: this round added none');
  const judged = surveyorLogic.endRound(state, limits, 10, true);
  assert.deepEqual(judged.left, ['b'], 'b\'s second miss in a row drops it');
});
