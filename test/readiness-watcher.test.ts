/**
 * The readiness watcher (NnSocket.whenReadable, native/readiness.c): a one-shot wait for a
 * socket's NN_RCVFD on the calling thread's own event loop. One-shot and cancellable (a
 * socket left readable does not call again), ended by close(), and in a worker thread it
 * needs nothing from the main thread: the tests block this thread in Atomics.wait while a
 * worker waits, and a respondent actor answers, on their own loops. A thread terminated
 * with waits armed takes its polls down with it, whoever closes its sockets meanwhile.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { MessageChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { closeActorPool } from '../src/pool.js';
import { startActor, type ActorProbe } from '../src/testing/index.js';
import { closeLeftovers, NnSocket } from '../src/transport.js';
import { SocketLedger } from '../src/socket-ledger.js';
import type { ReadinessTask } from './fixtures/readiness-worker.js';
import { freePort } from './helpers/endpoints.js';
import { within } from './helpers/wait.js';

after(() => closeActorPool());

let inprocs = 0;
const inproc = () => `inproc://readiness-${process.pid}-${inprocs++}`;

/** A PUB and two SUBs on it over inproc, once both subscriptions pass messages. */
async function pubTwoSubs(): Promise<{ pub: NnSocket; a: NnSocket; b: NnSocket; close: () => void }> {
  const url = inproc();
  const pub = NnSocket.open('pub');
  const a = NnSocket.open('sub');
  const b = NnSocket.open('sub');
  pub.bind(url);
  a.connect(url);
  b.connect(url);
  // Publish until both have a message (drained here): from then on each message reaches both.
  await within(10_000, 'both subscriptions to pass a message', (async () => {
    let gotA = false;
    let gotB = false;
    while (!gotA || !gotB) {
      pub.send('warm-up');
      await new Promise<void>((r) => setImmediate(r));
      while (a.recvNow()) gotA = true;
      while (b.recvNow()) gotB = true;
    }
  })());
  return { pub, a, b, close: () => [a, b, pub].forEach((s) => s.close()) };
}

/** Resolves when `socket` is readable: its next whenReadable call. */
const readable = (socket: NnSocket) => new Promise<void>((resolve) => socket.whenReadable(resolve));

/**
 * Sends `message` and waits until the witness `b` has it (received here): the loop has
 * turned since the send, and polled every other armed descriptor on the way.
 */
async function witness(pub: NnSocket, b: NnSocket, message: string): Promise<void> {
  const bReadable = readable(b);
  pub.send(message);
  await within(10_000, `the witness to receive ${message}`, bReadable);
  assert.equal(b.recvNow()?.toString(), message);
  await new Promise<void>((r) => setImmediate(r));
}

test('one-shot: called once when a message is queued, not again while it stays queued; armed again, called at once', async () => {
  const { pub, a, b, close } = await pubTwoSubs();
  try {
    let calls = 0;
    const called = new Promise<void>((resolve) => a.whenReadable(() => {
      calls++;
      resolve();
    }));
    await witness(pub, b, 'm1');
    await within(10_000, 'a to be called for m1', called);
    // a still holds m1 (its descriptor stays readable) and is not armed again: two more
    // turns of the witness, and a continuous watch would have been called again and again.
    await witness(pub, b, 'm2');
    await witness(pub, b, 'm3');
    assert.equal(calls, 1, 'called exactly once while its messages stayed queued');
    // Armed again with messages queued: called on the next turn of the loop.
    await within(10_000, 'a re-armed to be called', readable(a));
    assert.deepEqual([a.recvNow(), a.recvNow(), a.recvNow(), a.recvNow()].map((m) => m?.toString() ?? null), ['m1', 'm2', 'm3', null]);
  } finally {
    close();
  }
});

test('cancelled: a cancelled wait is not called; close() drops a pending wait with its poll', async () => {
  const { pub, a, b, close } = await pubTwoSubs();
  try {
    let calls = 0;
    const cancel = a.whenReadable(() => calls++);
    cancel();
    await witness(pub, b, 'm1');
    await witness(pub, b, 'm2');
    assert.equal(calls, 0, 'the cancelled wait was not called');
    assert.equal(a.recvNow()?.toString(), 'm1', 'a was readable all along');
    // A closed socket's pending wait is dropped with its poll (nanomsg then closes its descriptor).
    let closedCalls = 0;
    a.whenReadable(() => closedCalls++);
    a.close();
    await witness(pub, b, 'm3');
    assert.equal(closedCalls, 0);
    assert.throws(() => a.whenReadable(() => {}), { name: 'SocketError' }, 'a closed socket cannot be watched');
  } finally {
    close();
  }
});

test('a socket without a receive descriptor (PUB) cannot be watched: a SocketError', () => {
  const pub = NnSocket.open('pub');
  try {
    assert.throws(() => pub.whenReadable(() => {}), { name: 'SocketError' });
  } finally {
    pub.close();
  }
});

/**
 * Runs the fixture task in a worker thread (test/fixtures/readiness-worker.ts) and waits
 * for it to be ready, runs `beforeBlock`, then blocks this thread in Atomics.wait until the
 * worker says it is done (or `blockMs` passes): returns what Atomics.wait returned and
 * whether the worker saw what it waited for.
 */
async function blockWhileWorkerWaits(
  task: Omit<ReadinessTask, 'state' | 'port'>,
  blockMs: number,
  beforeBlock: () => Promise<void> = async () => {},
): Promise<{ woken: string; seen: number }> {
  const shared = new SharedArrayBuffer(3 * 4);
  const state = new Int32Array(shared);
  const { port1, port2 } = new MessageChannel();
  // piscina, as for actors: it loads a .ts task file in its worker under tsx.
  const pool = new Piscina({ filename: new URL('./fixtures/readiness-worker.ts', import.meta.url).href, maxThreads: 1 });
  const finished = pool.run({ ...task, state: shared, port: port2 } satisfies ReadinessTask, { transferList: [port2] });
  try {
    await within(30_000, 'the worker to be ready', Promise.race([
      new Promise<void>((resolve) => port1.once('message', () => resolve())),
      finished.then(() => {
        throw new Error('the worker task ended before it was ready');
      }),
    ]));
    await beforeBlock();
    // Queued on the worker's port and signalled to its loop at once: this thread's loop is not needed.
    port1.postMessage('blocked');
    // This thread's event loop stops here: no timer, no message, no poll runs on it.
    const woken = Atomics.wait(state, 1, 0, blockMs);
    await within(30_000, 'the worker task to end', finished);
    return { woken, seen: Atomics.load(state, 2) };
  } finally {
    port1.close();
    await pool.destroy();
  }
}

test('in a worker, a wait on readiness is served by the worker\'s own loop while the main thread is blocked', async () => {
  const { woken, seen } = await blockWhileWorkerWaits({ mode: 'sub', url: inproc() }, 60_000);
  assert.equal(woken, 'ok', 'the worker woke the blocked main thread (not the 60 s deadline)');
  assert.equal(seen, 1, 'the worker received the message it waited for');
});

test('a respondent actor waiting on readiness (the default) answers surveys while the main thread is blocked', async () => {
  const url = `tcp://127.0.0.1:${await freePort()}`;
  const service = 'answers-while-main-blocked';
  let probe: ActorProbe<'respondent'> | undefined;
  try {
    // The surveyor (in the fixture worker) binds first; the actor, started before the
    // block (piscina hands it its thread through this loop), dials it.
    const { woken, seen } = await blockWhileWorkerWaits({ mode: 'survey', url, service }, 60_000, async () => {
      probe = await startActor('respondent', { urls: [url], service });
    });
    assert.equal(woken, 'ok', 'a survey was answered while this thread was blocked (not the 60 s deadline)');
    assert.equal(seen, 1, 'the answer named the service');
    assert.equal(probe!.run.hasExited, false);
  } finally {
    await probe?.stop();
  }
});

test('terminating worker threads whose waits are armed (some of them blocked for good) leaves this process running', async () => {
  // Each thread's watches are closed by the addon's cleanup hook while the thread is torn
  // down; a poll left on a dead loop, or freed twice, would take this process with it.
  const pool = new Piscina({ filename: new URL('./fixtures/readiness-worker.ts', import.meta.url).href, maxThreads: 1, idleTimeout: 0 });
  try {
    for (let i = 0; i < 8; i++) {
      const ledger = new SocketLedger();
      const { port1, port2 } = new MessageChannel();
      const abort = new AbortController();
      const task = { mode: 'hang', url: inproc(), state: new SharedArrayBuffer(3 * 4), ledger: ledger.buffer, port: port2 } satisfies ReadinessTask;
      const running = pool.run(task, { transferList: [port2], signal: abort.signal });
      running.catch(() => {});
      await within(30_000, `worker ${i} to arm its waits`, new Promise<void>((resolve) => port1.once('message', () => resolve())));
      // piscina terminates the worker of an aborted task.
      abort.abort();
      await assert.rejects(running, { name: 'AbortError' });
      port1.close();
      assert.equal(ledger.ids().length, 4, 'the dead thread left its four sockets for the ledger');
      assert.equal(closeLeftovers(ledger), 4);
    }
  } finally {
    await pool.destroy();
  }
});
