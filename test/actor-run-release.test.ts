/**
 * A closed client leaves nothing of its actors behind in the main thread: one full garbage
 * collection frees every ActorRun and its control port, even when comlink proxies of its
 * control calls outlived it (a liveness ping in flight when it exited). Before, comlink's
 * proxy registry (a FinalizationRegistry whose held value is the endpoint) kept each such
 * actor's control endpoint — and through it the MessagePort, its listeners and the
 * ActorRun — alive until its cleanup task had run after one collection and another
 * collection followed: the MessagePorts and `removeListener` closures that heap snapshots
 * of a churning process showed. Counted with WeakRefs, not measured on the heap.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createClient, createServer } from '../src/index.js';
import { closeActorPool } from '../src/pool.js';
import { tcpPair } from './helpers/endpoints.js';

after(() => closeActorPool());

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const CYCLES = 10;

/**
 * Churns clients and returns weak references to their actor runs; nothing of them stays on
 * this frame. `held` receives a comlink proxy of each run that outlives the run, as one of
 * a liveness ping still in flight when the actor exits does.
 */
async function churn(urls: { surveyUrl: string; pubsubUrl: string }, held: unknown[]): Promise<Array<WeakRef<object>>> {
  const runs: Array<WeakRef<object>> = [];
  for (let i = 0; i < CYCLES; i++) {
    const client = await createClient({ ...urls, service: `churn-${i}` });
    // Control calls as the supervisor makes them (liveness pings, status), each one a comlink proxy.
    for (const id of ['respondent', 'subscriber']) {
      const run = client.supervisor.actor(id);
      assert.ok(run, `${id} is running`);
      await run.ping(10_000);
      await run.call('status', 10_000);
      // A comlink proxy of one of its calls, kept beyond the run (private: what comlink hands out).
      held.push((run as unknown as { control: { ping: unknown } }).control.ping);
      runs.push(new WeakRef(run));
      // The main thread's end of its control port (private: what the heap snapshots showed retained).
      runs.push(new WeakRef((run as unknown as { controlPort: object }).controlPort));
    }
    await client.close();
  }
  return runs;
}

/** A few macrotask turns: WeakRefs keep their targets until the job that made them has ended. */
async function turns(): Promise<void> {
  for (let i = 0; i < 3; i++) await delay(1);
}

test(`after ${CYCLES} createClient() + close() cycles, one full GC frees every closed actor run`, async () => {
  const urls = await tcpPair();
  const server = await createServer(urls);
  try {
    const held: unknown[] = [];
    const runs = await churn(urls, held);
    await turns();
    // The proxies go now: the collection below is the first that can free them and their runs.
    held.length = 0;
    gc();
    const alive = runs.filter((r) => r.deref() !== undefined).length;
    assert.equal(alive, 0, `${alive} of ${runs.length} closed actor runs survived a full GC (actor runs and their control ports)`);
  } finally {
    await server.close();
  }
});

test('the WeakRefs of the test above do observe collection (no vacuous pass)', async () => {
  let ref: WeakRef<object> | undefined = new WeakRef({ probe: true });
  await turns();
  gc();
  assert.equal(ref.deref(), undefined);
  ref = undefined;
});
