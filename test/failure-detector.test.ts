/** The phi accrual failure detector alone (pure): what it learns, when it suspects, its floors. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deviationsForPhi, PhiAccrualDetector, phiOf } from '../src/failure-detector.js';

test('φ grows with the silence: 0.3 at the mean, 8 about 5.2 standard deviations past it', () => {
  assert.ok(Math.abs(phiOf(0) - Math.log10(2)) < 1e-9, 'half the chance at the mean: φ = log10 2');
  assert.ok(phiOf(1) < phiOf(2) && phiOf(2) < phiOf(4));
  const z = deviationsForPhi(8);
  assert.ok(z > 5 && z < 5.5, `z = ${z}`);
  assert.ok(Math.abs(phiOf(z) - 8) < 1e-6);
});

test('a source heard only once, or never, is never suspected: nothing to expect yet', () => {
  const d = new PhiAccrualDetector();
  assert.equal(d.suspectAt(), undefined);
  assert.equal(d.suspected(1e12), false);
  d.alive(0);
  assert.equal(d.suspected(1e12), false, 'a change proves life but teaches no interval');
  assert.equal(d.phi(1e12), 0);
});

test('regular heartbeats: suspected once silent past mean + z·σ, with σ floored at 100 ms and at a quarter of the mean', () => {
  const d = new PhiAccrualDetector();
  for (let t = 0; t <= 10_000; t += 1000) d.heartbeat(t);
  assert.equal(d.samples, 10);
  assert.equal(d.meanMs, 1000);
  assert.equal(d.stdDeviationMs, 250, 'perfectly regular: the floor (mean / 4) is used');
  const at = d.suspectAt()!;
  assert.ok(Math.abs(at - (10_000 + 1000 + deviationsForPhi(8) * 250)) < 1e-6);
  assert.equal(d.suspected(at - 1), false);
  assert.equal(d.suspected(at + 1), true);
  assert.ok(d.phi(at + 1) > 8 && d.phi(10_000 + 1000) < 1, 'on time: φ small');

  const fast = new PhiAccrualDetector();
  for (let t = 0; t <= 1000; t += 100) fast.heartbeat(t);
  assert.equal(fast.stdDeviationMs, 100, 'the absolute floor: 100 ms');
});

test('jittery heartbeats widen the bound; the window forgets old intervals', () => {
  const steady = new PhiAccrualDetector();
  const jittery = new PhiAccrualDetector();
  let a = 0;
  let b = 0;
  for (let i = 0; i < 51; i++) {
    steady.heartbeat((a += 1000));
    jittery.heartbeat((b += i % 2 ? 400 : 1600));
  }
  assert.equal(jittery.meanMs, 1000);
  assert.ok(jittery.stdDeviationMs! > steady.stdDeviationMs!);
  assert.ok(jittery.suspectAt()! - b > steady.suspectAt()! - a, 'a jittery source is given more time');

  const window = new PhiAccrualDetector({ maxSamples: 3 });
  let t = 0;
  for (const gap of [10_000, 10_000, 100, 100, 100]) window.heartbeat((t += gap));
  assert.equal(window.meanMs, 100, 'only the last 3 intervals count');
});

test('reset forgets what was learned (a source back from the dead), options are checked', () => {
  const d = new PhiAccrualDetector();
  for (let t = 0; t <= 5000; t += 1000) d.heartbeat(t);
  d.reset();
  assert.equal(d.samples, 0);
  assert.equal(d.suspectAt(), undefined);
  assert.throws(() => new PhiAccrualDetector({ threshold: 0 }), RangeError);
  assert.throws(() => new PhiAccrualDetector({ maxSamples: 0 }), RangeError);
});
