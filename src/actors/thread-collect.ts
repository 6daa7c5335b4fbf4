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
 * A thread whose actor never ends needs the same: the surveyor's and the publisher's run
 * one actor each for the server's life. The surveyor's promotes each round's leftovers to
 * its old generation (answers, plans and sets held for a whole round), and V8 — whose first
 * full collection waits for the old generation to reach a limit derived from the heap's
 * maximum (4 GiB for the surveyor's thread) — let its used heap grow ~1.5 MiB a minute
 * (10.0 → 14.6 MiB in 4 minutes at 10 rounds a second, `soak --probe-threads`) before
 * collecting, and then kept the larger heap committed (11.0 → 16.2 MiB): a part of the
 * warm-up that failed the default's soak (issue 14). So every worker thread
 * that hosts actors also checks, every COLLECT_EVERY_MS, how much its old generation holds,
 * and collects once that has grown by OLD_GROWTH_TO_COLLECT bytes since the last
 * collection. A thread that allocates nothing is never collected; one that promotes
 * steadily keeps at most that much garbage; the check itself costs microseconds.
 *
 * The collection is asked for through vm.measureMemory({ execution: 'eager' }), which
 * starts one in the calling isolate (Node's only way without --expose-gc, which a worker
 * cannot be given; the API is marked experimental: if it ever throws, nothing is
 * collected early and nothing else changes).
 */
import { performance } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';
import { measureMemory } from 'node:vm';
import { isMainThread } from 'node:worker_threads';

/** The least time between two collections asked for by one thread, in ms (performance.now()). */
export const COLLECT_EVERY_MS = 10_000;

/**
 * How much the old generation of a thread that hosts actors may grow after a collection
 * before the thread asks for the next one, in bytes (checked every COLLECT_EVERY_MS). Small
 * against a thread's ~10 MiB heap, and large against what one soak minute promotes in the
 * surveyor's thread at 10 rounds a second (~1.5 MiB), so a busy surveyor collects every
 * minute or two, not every check. At 10,000 members V8's own collections come often enough
 * that the check rarely adds one, never more than one per COLLECT_EVERY_MS
 * (`npm run bench:surveyor-heap`: one in 20 s, rounds no slower than without it).
 */
export const OLD_GROWTH_TO_COLLECT = 2 * 2 ** 20;

let lastCollectAt = -Infinity;
let collecting = false;
let collections = 0;
/** Bytes the old generation held after this thread's last collection (or when it started watching). */
let oldAfterCollect = 0;
let growthCheck: ReturnType<typeof setInterval> | undefined;

function oldGenerationUsed(): number {
  return getHeapSpaceStatistics().find((s) => s.space_name === 'old_space')?.space_used_size ?? 0;
}

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
  collectUnlessRecent();
}

/**
 * Called when an actor's task starts on this thread: from then on the thread checks every
 * COLLECT_EVERY_MS whether its old generation has grown by OLD_GROWTH_TO_COLLECT since its
 * last collection, and collects if so. The check is unref'd (an idle thread still ends) and
 * outlives the actor (the thread is kept for the next one). No-op in the main thread.
 */
export function watchHeapGrowth(): void {
  if (isMainThread || growthCheck) return;
  oldAfterCollect = oldGenerationUsed();
  growthCheck = setInterval(() => {
    if (oldGenerationUsed() - oldAfterCollect >= OLD_GROWTH_TO_COLLECT) collectUnlessRecent();
  }, COLLECT_EVERY_MS);
  growthCheck.unref();
}

function collectUnlessRecent(): void {
  const now = performance.now();
  if (isMainThread || collecting || now - lastCollectAt < COLLECT_EVERY_MS) return;
  lastCollectAt = now;
  collecting = true;
  collections++;
  void collect().finally(() => {
    collecting = false;
    oldAfterCollect = oldGenerationUsed();
  });
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
