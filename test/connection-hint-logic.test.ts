/**
 * The pure part of connection hints (src/connection-hints.ts): which change of the survey
 * socket's connection counters asks for a round, and the gate's `ask` (src/announcements.ts)
 * that such a request goes through. No sockets, no clocks: counts and times are numbers the
 * test chooses.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AnnounceGate, announceIntervalMs } from '../src/announcements.js';
import { connectionHint, ConnectionWatch, type ConnectionCounts } from '../src/connection-hints.js';

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

test("a hint's request goes through the announcements' gate: one spacing after the last round, doubling while rounds change nothing", () => {
  const gate = new AnnounceGate(1024, 2000);
  assert.equal(gate.dueAt(100), Infinity, 'nothing asked');
  gate.roundEnded(1000);
  gate.ask();
  assert.equal(gate.asksForRound, true);
  assert.equal(gate.dueAt(100), 1000 + announceIntervalMs(100));
  gate.roundStarted();
  assert.equal(gate.dueAt(100), Infinity, 'served');
  gate.roundEnded(1100, false); // the hinted round changed nothing
  gate.ask();
  assert.equal(gate.dueAt(100), 1100 + 2 * announceIntervalMs(100));
  gate.roundStarted();
  gate.roundEnded(1200, true); // it dropped someone: back to one spacing
  gate.ask();
  assert.equal(gate.dueAt(100), 1200 + announceIntervalMs(100));
});

test('an asked-for round also waits as long as the last round took to collect its answers (extra rounds keep a large set busy at most half the time)', () => {
  const gate = new AnnounceGate(1024, 2000);
  gate.roundEnded(5000, undefined, 700); // 10,000 members: the last answer came 700 ms after the round started
  gate.ask();
  assert.equal(gate.dueAt(10_000), 5000 + 700, 'not one spacing (110 ms) after it');
  gate.roundStarted();
  gate.roundEnded(6000, true, 3); // 100 members: answers within 3 ms
  gate.ask();
  assert.equal(gate.dueAt(100), 6000 + announceIntervalMs(100), 'a quick round: the spacing decides');
});
