/**
 * A long-lived actor answers control calls for as long as it runs (the supervisors pinged
 * each actor every second this way; tools still call status and ping), so nothing may be
 * retained per call: the soak test found
 * every call leaving a reaction on the actor's exit promise, with its timer, until exit.
 * A resource bound measured on the heap after garbage collection, with a generous limit.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { setImmediate } from 'node:timers/promises';
import { ActorRun } from '../src/actor-run.js';
import { closeActorPool } from '../src/pool.js';
import { freePort } from './helpers/endpoints.js';

setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;
/** Collects, lets FinalizationRegistry callbacks run (comlink registers each proxy), and collects again. */
async function gc(): Promise<void> {
  collect();
  await setImmediate();
  await setImmediate();
  collect();
}
after(() => closeActorPool());

async function pings(run: ActorRun, n: number): Promise<void> {
  for (let i = 0; i < n; i += 100) await Promise.all(Array.from({ length: 100 }, () => run.ping(10_000)));
}

test('thousands of control calls to a live actor retain nothing once answered', async (t) => {
  const run = new ActorRun('publisher-pinged', { kind: 'publisher', url: `tcp://127.0.0.1:${await freePort()}`, lastPublished: [], republishMs: 0 });
  await run.ready;
  try {
    await pings(run, 2_000); // warm up: compiled code, comlink's caches
    await gc();
    const before = process.memoryUsage().heapUsed;
    await pings(run, 20_000);
    await gc();
    const grown = process.memoryUsage().heapUsed - before;
    t.diagnostic(`heap grew ${(grown / 1024).toFixed(0)} KiB over 20,000 calls`);
    // Retaining a timer, a closure and two promise reactions per call would be several MiB.
    assert.ok(grown < 1.5 * 2 ** 20, `the heap grew ${(grown / 2 ** 20).toFixed(2)} MiB`);
  } finally {
    await run.stop(2000);
  }
});
