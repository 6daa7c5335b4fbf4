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
