/**
 * The piscina pool that hosts actors. Each actor is one long-running task holding one
 * worker thread for its whole life (concurrentTasksPerWorker: 1), so the pool grows a
 * thread per live actor; idle threads exit after a second.
 */
import { Piscina } from 'piscina';

// Under tsx the sources run as .ts and workers inherit its loader; built, they are .js.
const WORKER_FILE = new URL(`./actors/worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url).href;

/** nanomsg allows 512 sockets per process; an actor holds one, so more threads would be useless. */
export const MAX_ACTOR_THREADS = 512;

let pool: Piscina | undefined;

export function actorPool(): Piscina {
  pool ??= new Piscina({
    filename: WORKER_FILE,
    // Actors block in nanomsg receives; piscina's Atomics-based task wake-ups would only add latency.
    atomics: 'disabled',
    minThreads: 0,
    maxThreads: MAX_ACTOR_THREADS,
    concurrentTasksPerWorker: 1,
    idleTimeout: 1000,
  });
  return pool;
}

/** The number of worker threads currently alive in the pool (0 when no pool was made). */
export function actorThreadCount(): number {
  return pool?.threads.length ?? 0;
}

/**
 * Destroys the pool, ending every idle worker thread now. Actors still running are
 * terminated; call it after every server, client and subscriber is closed.
 */
export async function closeActorPool(): Promise<void> {
  const p = pool;
  pool = undefined;
  await p?.destroy();
}
