/**
 * Pool threads are reused for a bounded time (src/pool.ts, THREAD_LIFETIME_MS): a thread
 * past its lifetime takes no new actor and, once it has none, ends; a thread still hosting
 * an actor is never ended for its age. Real worker threads, real sockets; the lifetime is
 * shortened (setThreadLifetime) so that the test need not wait two minutes.
 */
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { after, test } from 'node:test';
import { createClient, createServer } from '../src/index.js';
import { actorThreadsStarted, closeActorPool, setThreadLifetime, sharedActorPool, THREAD_LIFETIME_MS } from '../src/pool.js';
import { STEADY, tcpPair } from './helpers/endpoints.js';
import { eventually } from './helpers/wait.js';

const LIFETIME_MS = 1500;
setThreadLifetime(LIFETIME_MS);
after(async () => {
  setThreadLifetime(THREAD_LIFETIME_MS);
  await closeActorPool();
});

const alive = (threadId: number) => sharedActorPool().threads.some((t) => t.threadId === threadId);

test('a thread past its lifetime takes no new actor and ends once it has none; a busy one is kept', async () => {
  const urls = await tcpPair();
  const server = await createServer({ ...urls, ...STEADY });
  try {
    const publisher = server.supervisor.actor('publisher')!.threadId!;
    const first = await createClient({ ...urls, service: 'first' });
    const old = first.supervisor.actor('respondent')!.threadId!;
    const bornBy = performance.now();
    await first.close();
    assert.ok(alive(old), 'a thread left with no actor is kept (for reuse, until its lifetime ends)');
    // The condition is the thread's age itself: past it, the next start must not reuse it.
    await eventually(() => performance.now() - bornBy > LIFETIME_MS, LIFETIME_MS * 4, 'the first thread to outlive its lifetime');
    const started = actorThreadsStarted();
    const second = await createClient({ ...urls, service: 'second' });
    try {
      const now = second.supervisor.actor('respondent')!.threadId!;
      assert.notEqual(now, old, 'the new actor is not placed on the retired thread');
      assert.ok(actorThreadsStarted() > started, 'a fresh thread was started for it');
      await eventually(() => !alive(old), 10_000, `the retired thread ${old} to end`);
      assert.ok(alive(publisher), 'the publisher\'s thread, past its lifetime too, is kept while it hosts the publisher');
      assert.equal(server.supervisor.actor('publisher')!.threadId, publisher, 'and the publisher still runs on it');
    } finally {
      await second.close();
    }
  } finally {
    await server.close();
  }
});
