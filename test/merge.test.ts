/** The multi-server merge rule, alone: union of live servers' latest lists, stale servers expire, changes only. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ListMerger } from '../src/merge.js';

test('the merged list is the union of every server’s latest list, yielded only on change', () => {
  const m = new ListMerger(['A', 'B']);
  assert.equal(m.merged(), undefined);
  assert.deepEqual(m.update('A', ['c1', 'c2'], 0), ['c1', 'c2']);
  assert.deepEqual(m.update('B', ['c2', 'c3'], 1), ['c1', 'c2', 'c3']);
  assert.equal(m.update('A', ['c2', 'c1'], 2), undefined, 'same membership: nothing new');
  assert.deepEqual(m.update('A', [], 3), ['c2', 'c3']);
  assert.deepEqual(m.update('B', [], 4), []);
});

test('a server silent for staleAfterMs stops counting until it publishes again', () => {
  const m = new ListMerger(['A', 'B'], 100);
  m.update('A', ['c1', 'c3'], 0);
  m.update('B', ['c1'], 0);
  assert.equal(m.expire(100), undefined, 'not stale at exactly staleAfterMs');
  m.update('B', ['c1'], 90);
  assert.deepEqual(m.expire(101), ['c1'], "A's list (and c3 with it) expires");
  assert.deepEqual(m.state(101).map((s) => s.live), [false, true]);
  assert.deepEqual(m.update('A', ['c1', 'c3'], 150), ['c1', 'c3'], 'A counts again once heard');
  assert.deepEqual(m.expire(1000), [], 'every server silent: nobody is vouched for');
});

test('without staleAfterMs a server’s last list counts forever (publish-on-change servers)', () => {
  const m = new ListMerger(['A']);
  m.update('A', ['c1'], 0);
  assert.equal(m.expire(1e9), undefined);
  assert.deepEqual(m.merged(), ['c1']);
});

test('several servers, no staleAfterMs: each server’s heartbeat period is learned, and a server that misses it stops counting', () => {
  const m = new ListMerger(['A', 'B']);
  m.update('A', ['c1', 'c3'], 0);
  m.update('B', ['c1'], 0);
  // A republishes every 1 s, B every 3 s: unchanged lists are heartbeats.
  for (let t = 1000; t <= 9000; t += 1000) m.update('A', ['c1', 'c3'], t);
  for (let t = 3000; t <= 9000; t += 3000) m.update('B', ['c1'], t);
  const [a, b] = m.state(9000);
  assert.equal(a!.heartbeatMs, 1000);
  assert.equal(b!.heartbeatMs, 3000);
  // A dies after its heartbeat at 9 s: 1 s mean + z × 250 ms floor ≈ 2.3 s later it stops counting.
  const expiry = m.nextExpiry(9000)!;
  assert.ok(expiry > 10_000 && expiry < 12_000, `A expires at ${expiry}`);
  assert.equal(m.expire(expiry - 1), undefined, 'still within its bound');
  assert.deepEqual(m.expire(expiry + 1), ['c1'], "A's list (and c3 with it) no longer counts");
  // B, quiet for 3 s at a time, is not expired by A's standard.
  m.update('B', ['c1'], 12_000);
  assert.equal(m.expire(14_500), undefined, 'B is on its own schedule');
  assert.deepEqual(m.state(14_500).map((s) => s.live), [false, true]);
  // A comes back: it counts at once, and relearns its period from scratch.
  assert.deepEqual(m.update('A', ['c1', 'c3'], 60_000), ['c1', 'c3']);
  assert.equal(m.state(60_000)[0]!.heartbeatMs, undefined, 'the minute it was away is not an interval');
});

test('a server that never republishes (the original, or republishMs: 0) is never expired, even among several', () => {
  const m = new ListMerger(['A', 'B']);
  m.update('A', ['c1'], 0);
  m.update('A', ['c1', 'c2'], 500); // changes only: no heartbeat interval to learn
  m.update('B', ['c3'], 0);
  assert.equal(m.nextExpiry(500), undefined);
  assert.equal(m.expire(1e9), undefined);
  assert.deepEqual(m.merged(), ['c1', 'c2', 'c3']);
});

test('a single server is never expired without staleAfterMs (its last list is the best there is)', () => {
  const m = new ListMerger(['A']);
  for (let t = 0; t <= 5000; t += 1000) m.update('A', ['c1'], t);
  assert.equal(m.nextExpiry(5000), undefined);
  assert.equal(m.expire(1e9), undefined);
});
