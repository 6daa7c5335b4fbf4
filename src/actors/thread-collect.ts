/**
 * Garbage collection of a kept actor thread after its actors end (issue 14, README "Soak
 * test"). An actor's end leaves its garbage (its context, ports' wrappers, buffers,
 * decoded lists) in the old generation of the thread it ran on, and V8 sizes a heap for
 * throughput: a thread that allocates slowly — one kept for reuse, hosting an actor now
 * and then — collects its old generation only after many minutes, if ever, so a pool of
 * kept threads creeps (measured: +2 MiB a minute over 19 threads, their live heaps flat).
 * So when an actor ends on a worker thread, the thread runs a full collection, at most
 * once every COLLECT_EVERY_MS: a bounded cost (~5–15 ms of this thread for a ~10 MiB heap)
 * for a bounded heap.
 *
 * The collection is asked for through vm.measureMemory({ execution: 'eager' }), which
 * starts one in the calling isolate (Node's only way without --expose-gc, which a worker
 * cannot be given; the API is marked experimental: if it ever throws, nothing is
 * collected early and nothing else changes).
 */
import { performance } from 'node:perf_hooks';
import { measureMemory } from 'node:vm';
import { isMainThread } from 'node:worker_threads';

/** The least time between two collections asked for by one thread, in ms (performance.now()). */
export const COLLECT_EVERY_MS = 10_000;

let lastCollectAt = -Infinity;
let collecting = false;
let collections = 0;

/** Collections this thread has asked for so far (the thread probe reports it). */
export function collectionsAsked(): number {
  return collections;
}

/**
 * Called when an actor's task ends on this thread: starts a full collection unless one
 * ran less than COLLECT_EVERY_MS ago or is running. No-op in the main thread (inline
 * actors of the test kit share the host's heap, which is the host's to manage).
 */
export function afterActorEnded(): void {
  const now = performance.now();
  if (isMainThread || collecting || now - lastCollectAt < COLLECT_EVERY_MS) return;
  lastCollectAt = now;
  collecting = true;
  collections++;
  void collect().finally(() => (collecting = false));
}

async function collect(): Promise<void> {
  // The first call emits an ExperimentalWarning, which would reach the host's stderr for
  // a call the host never made: this thread runs only our actors, so it is silenced here.
  const emitWarning = process.emitWarning;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const text = typeof warning === 'string' ? warning : warning.message;
    if (!text.includes('vm.measureMemory')) (emitWarning as (...a: unknown[]) => void).call(process, warning, ...rest);
  }) as typeof process.emitWarning;
  let measured: Promise<unknown>;
  try {
    measured = measureMemory({ mode: 'summary', execution: 'eager' });
  } catch {
    return;
  } finally {
    process.emitWarning = emitWarning;
  }
  await measured.catch(() => {});
}
