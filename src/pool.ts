/**
 * The process-wide pool of worker threads that host actors (README "How actors map to
 * threads"). Each actor is one long-running piscina task. An actor that never blocks its
 * thread (it waits on readiness, timers and ports) may be *co-hosted* (which ones:
 * SupervisorOptions.sharedThreads, by default the clients' respondents and subscribers):
 * up to ACTORS_PER_THREAD of them share a thread, each with its own mailbox, control port
 * and supervisor. Any other actor runs *alone* on a thread; one that blocks (the surveyor
 * within a round, any actor receiving in slices) always does. Threads outlive the actors and supervisors that used them: an idle one is kept
 * for IDLE_THREAD_MS for the next actor, then ended. Creating and ending threads is what
 * ratchets glibc's mmap threshold (RSS creep in the soak), and a thread costs ~7 MiB.
 *
 * Stopping an actor never touches its neighbours (its task returns; the thread stays).
 * Killing one — a hang, a missed stop deadline — terminates its thread, which ends every
 * actor on it; each is then restarted by its own supervisor.
 */
import { createRequire } from 'node:module';
import type { Piscina } from 'piscina';
import type { ResourceLimits } from 'node:worker_threads';
import type { ActorKind } from './actors/messages.js';
import { piscinaModule, workerEntry } from './package-root.js';

// Found from the package root, not from this module: built, this code sits in a bundle chunk (src/package-root.ts).
const WORKER_FILE = workerEntry();

/** nanomsg allows 512 sockets per process; an actor holds one, so more threads would be useless. */
export const MAX_ACTOR_THREADS = 512;

/**
 * How many co-hosted actors one thread carries at most. They only run when a message or a
 * timer wakes them, for well under a millisecond each, so one thread could carry many more;
 * the bound keeps a fault's blast radius (every actor on a thread ends with it) to a few
 * clients' worth.
 */
export const ACTORS_PER_THREAD = 32;

/** How long a thread with no actor on it is kept for reuse before it ends, in ms. */
export const IDLE_THREAD_MS = 30_000;

/**
 * V8 heap limits of the threads that host respondents, subscribers and publishers, in MiB.
 * V8 sizes a heap for throughput. Its young generation grows to 16 MiB a semi-space (48
 * MiB in all) in a thread that allocates steadily (co-hosted actors under churn), and
 * keeps it; these actors allocate little at a time, so 4 MiB is plenty. Its old generation
 * may grow to up to 4 times what it holds between full collections when the heap's limit
 * is large (a worker's default is 4 GiB), and by less under a smaller limit (V8's
 * heap-controller.cc, MaxGrowingFactor: as low as 1.3); with a dozen kept threads the
 * difference is tens of MiB. These actors hold little (a member list: ~1 MiB at 10,000
 * members, so 32 co-hosted subscribers ~32 MiB); a thread that exceeded 256 MiB would be
 * ended by Node (ERR_WORKER_OUT_OF_MEMORY) and its actors restarted by their supervisors.
 * Garbage left by ended actors is collected (src/actors/thread-collect.ts). The surveyor's
 * threads have no limit of ours (surveyorPool): its rounds at 10,000 members allocate far more.
 */
export const ACTOR_THREAD_LIMITS: ResourceLimits = { maxYoungGenerationSizeMb: 4, maxOldGenerationSizeMb: 256 };

export type ActorPool = Piscina;

type Balancer = NonNullable<ConstructorParameters<typeof Piscina>[0]>['loadBalancer'] & {};
type PoolWorker = Parameters<Balancer>[1][number];

/**
 * piscina's balancer, choosing the thread for a new actor. An actor that runs alone is
 * started as an abortable task (it carries an AbortSignal: aborting terminates its thread)
 * and gets a thread with nothing on it. A co-hosted actor goes to the busiest thread that
 * has room and hosts no lone actor, so co-hosted actors pack onto few threads and idle ones
 * can end. null: piscina starts a new thread (up to MAX_ACTOR_THREADS) and retries.
 */
export const packActors: Balancer = (task, workers) => {
  let best: PoolWorker | null = null;
  for (const worker of workers) {
    if (worker.terminating || worker.destroyed || endingThreads.has(worker.id)) continue;
    if (task.isAbortable) {
      if (worker.currentUsage === 0) return worker;
      continue;
    }
    if (worker.isRunningAbortableTask || worker.currentUsage >= ACTORS_PER_THREAD) continue;
    if (!best || worker.currentUsage > best.currentUsage) best = worker;
  }
  return best;
};

let shared: ActorPool | undefined;
let surveyors: ActorPool | undefined;
let threadsStarted = 0;

/**
 * Threads that are ending (terminated by us, or seen to die by an actor on them) but that
 * piscina has not removed yet: it learns of a death only from the thread's 'exit' event,
 * which can come after an actor's supervisor has restarted it — onto the dying thread.
 * Forgotten once piscina has removed the thread.
 */
const endingThreads = new Set<number>();

/** Keeps new actors off this thread: it is ending. */
export function threadEnding(threadId: number): void {
  if (pools().some((p) => p.threads.some((t) => t.threadId === threadId))) endingThreads.add(threadId);
}

function pools(): ActorPool[] {
  return [shared, surveyors].filter((p): p is ActorPool => p !== undefined);
}

function createActorPool(resourceLimits?: ResourceLimits): ActorPool {
  // Loaded on first use (piscina is CommonJS: a synchronous require): a process whose
  // actors all run on its main thread (sharedThreads 'main'), or that only imports the
  // library, never carries it (~1 MiB of RSS measured, README "At rest"). Built, the
  // build's single-file copy (src/package-root.ts).
  const { Piscina: Pool } = createRequire(import.meta.url)(piscinaModule()) as typeof import('piscina');
  const pool = new Pool({
    filename: WORKER_FILE,
    // Actors block in nanomsg receives; piscina's Atomics-based task wake-ups would only add latency.
    atomics: 'disabled',
    minThreads: 0,
    maxThreads: MAX_ACTOR_THREADS,
    concurrentTasksPerWorker: ACTORS_PER_THREAD,
    loadBalancer: packActors,
    idleTimeout: IDLE_THREAD_MS,
    ...(resourceLimits ? { resourceLimits } : {}),
  });
  pool.on('workerCreate', () => threadsStarted++);
  pool.on('workerDestroy', (worker: PoolWorker) => endingThreads.delete(worker.id));
  // piscina reports a thread that dies with no task on it as the pool's 'error' (an
  // EventEmitter error, fatal unheard). A thread with actors on it rejects their tasks
  // instead, and each ActorRun reports its actor's exit; one with none had nothing to lose.
  pool.on('error', () => {});
  return pool;
}

/** The process-wide pool respondents, subscribers and publishers run on (made on first use). */
export function sharedActorPool(): ActorPool {
  shared ??= createActorPool(ACTOR_THREAD_LIMITS);
  return shared;
}

/** The process-wide pool surveyors run on, each alone on a thread whose V8 heap has no limit of ours. */
export function surveyorPool(): ActorPool {
  surveyors ??= createActorPool();
  return surveyors;
}

/** The process-wide pool an actor of this kind runs on. */
export function actorPoolFor(kind: ActorKind): ActorPool {
  return kind === 'surveyor' ? surveyorPool() : sharedActorPool();
}

/** Worker threads alive in the process-wide pools, with actors or idle (0 when none was made). */
export function actorThreadCount(): number {
  return pools().reduce((n, p) => n + p.threads.length, 0);
}

/** Worker threads the process has started for actors so far (reuse keeps it flat). */
export function actorThreadsStarted(): number {
  return threadsStarted;
}

/**
 * Terminates the pool thread with this threadId, ending every actor on it (their tasks
 * reject). Returns false when no such thread is alive.
 */
export function terminateActorThread(threadId: number, pool?: ActorPool): boolean {
  const thread = (pool ? [pool] : pools()).flatMap((p) => p.threads).find((t) => t.threadId === threadId);
  if (!thread) return false;
  threadEnding(threadId);
  void thread.terminate();
  return true;
}

/**
 * Destroys the process-wide pool, ending its threads now (actors still running on it are
 * terminated). Idle threads never keep the process alive (they are unref'd); this is for
 * a process that wants them gone at once (the CLI on exit, test files).
 */
export async function closeActorPool(): Promise<void> {
  const closing = pools();
  shared = undefined;
  surveyors = undefined;
  await Promise.all(closing.map((p) => p.destroy()));
}
