/**
 * Piscina pools that host actors. Each actor is one long-running task holding one worker
 * thread for its whole life (concurrentTasksPerWorker: 1), so a pool grows a thread per
 * live actor. Every supervisor owns a pool and destroys it at shutdown, which is how
 * `shutdown()` can promise that every worker thread has exited. Actors started alone
 * (the test kit) share a default pool.
 */
import { Piscina } from 'piscina';

// Under tsx the sources run as .ts and workers inherit its loader; built, they are .js.
const WORKER_FILE = new URL(`./actors/worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url).href;

/** nanomsg allows 512 sockets per process; an actor holds one, so more threads would be useless. */
export const MAX_ACTOR_THREADS = 512;

export type ActorPool = Piscina;

export function createActorPool(): ActorPool {
  return new Piscina({
    filename: WORKER_FILE,
    // Actors block in nanomsg receives; piscina's Atomics-based task wake-ups would only add latency.
    atomics: 'disabled',
    minThreads: 0,
    maxThreads: MAX_ACTOR_THREADS,
    concurrentTasksPerWorker: 1,
    // A restarted actor can reuse the thread its predecessor's sibling left; idle ones go soon.
    idleTimeout: 1000,
  });
}

let shared: ActorPool | undefined;

/** The pool for actors started outside a supervisor. */
export function sharedActorPool(): ActorPool {
  shared ??= createActorPool();
  return shared;
}

/** Worker threads alive in the shared pool (0 when it was never made). */
export function actorThreadCount(): number {
  return shared?.threads.length ?? 0;
}

/**
 * Destroys the shared pool, ending its idle threads now (actors still running on it are
 * terminated). Supervisors' own pools are destroyed by their shutdown.
 */
export async function closeActorPool(): Promise<void> {
  const p = shared;
  shared = undefined;
  await p?.destroy();
}
