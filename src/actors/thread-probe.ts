/**
 * Opt-in sampling of what an actor thread keeps between tasks (issue 14, the soak test:
 * what grows in kept threads). Off unless the process sets THREAD_PROBE_ENV to '1' before
 * the actor pool starts its threads (worker threads inherit the environment); then each
 * pool thread answers probeActorThreads() on a BroadcastChannel with its own V8 heap
 * figures, its event loop's live resources and how many actor tasks it has run. Used by
 * scripts/soak.ts (`--probe-threads`) and the pool's memory tests; never by the library.
 */
import { BroadcastChannel, isMainThread, resourceLimits, threadId, type ResourceLimits } from 'node:worker_threads';
import { collectionsAsked } from './thread-collect.js';
import type { ActorKind } from './messages.js';
import { getHeapSpaceStatistics, getHeapStatistics } from 'node:v8';

/** The environment variable that turns the probe on in threads started after it is set. */
export const THREAD_PROBE_ENV = 'GOPHERDISCOVERY_THREAD_PROBE';
const CHANNEL = 'gopherdiscovery:thread-probe';

/** One pool thread's figures (sizes in bytes). */
export interface ThreadProbe {
  threadId: number;
  /** Actor tasks this thread has started, and how many are running now. */
  tasksStarted: number;
  tasksRunning: number;
  /** The kinds of actor this thread has run (which thread is the surveyor's, the publisher's). */
  kinds: ActorKind[];
  /** Full collections the thread has asked for, after its actors ended or as its old generation grew (thread-collect.ts). */
  collections: number;
  /** v8.getHeapStatistics() of the thread's isolate. */
  totalHeap: number;
  usedHeap: number;
  mallocedMemory: number;
  externalMemory: number;
  /** process.memoryUsage().arrayBuffers seen from the thread (its isolate's ArrayBuffers). */
  arrayBuffers: number;
  /** Committed size of each V8 heap space (new_space, old_space, code_space, ...). */
  spaces: Record<string, number>;
  /** The thread's event loop's live resources by type (process.getActiveResourcesInfo()). */
  resources: Record<string, number>;
  /** The V8 heap limits the thread was started with (worker_threads.resourceLimits, MiB). */
  resourceLimits: ResourceLimits;
}

interface ProbeRequest {
  type: 'probe';
  id: number;
  /** Collect garbage first (a full GC), when the thread has gc() (node --expose-gc, inherited). */
  collect: boolean;
}
interface ProbeAnswer {
  type: 'answer';
  id: number;
  probe: ThreadProbe;
}

let tasksStarted = 0;
let tasksRunning = 0;
const kindsRun = new Set<ActorKind>();
let channel: BroadcastChannel | undefined;

/** In an actor thread: counts one task of this kind of actor for its life (a no-op when the probe is off). */
export function probeTask<T>(kind: ActorKind, run: () => Promise<T>): Promise<T> {
  if (isMainThread || process.env[THREAD_PROBE_ENV] !== '1') return run();
  listen();
  kindsRun.add(kind);
  tasksStarted++;
  tasksRunning++;
  return run().finally(() => tasksRunning--);
}

function measure(): ThreadProbe {
  const heap = getHeapStatistics();
  const spaces: Record<string, number> = {};
  for (const s of getHeapSpaceStatistics()) spaces[s.space_name] = s.space_size;
  const resources: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) resources[r] = (resources[r] ?? 0) + 1;
  return {
    threadId,
    tasksStarted,
    tasksRunning,
    kinds: [...kindsRun].sort(),
    collections: collectionsAsked(),
    totalHeap: heap.total_heap_size,
    usedHeap: heap.used_heap_size,
    mallocedMemory: heap.malloced_memory,
    externalMemory: heap.external_memory,
    arrayBuffers: process.memoryUsage().arrayBuffers,
    spaces,
    resources,
    resourceLimits: { ...resourceLimits },
  };
}

function listen(): void {
  if (channel) return;
  channel = new BroadcastChannel(CHANNEL);
  // An idle thread must still be able to end (IDLE_THREAD_MS): the channel does not hold it.
  channel.unref();
  channel.onmessage = (event) => {
    const msg = (event as { data?: ProbeRequest }).data;
    if (msg?.type !== 'probe') return;
    if (msg.collect) (globalThis as { gc?: () => void }).gc?.();
    channel!.postMessage({ type: 'answer', id: msg.id, probe: measure() } satisfies ProbeAnswer);
  };
}

let probeSeq = 0;

/**
 * In the main thread: asks every probed actor thread for its figures and collects the
 * answers that arrive within `withinMs` (ms; a thread blocked in a receive answers late or
 * not at all). `collect`: each thread runs a full garbage collection first (when it has
 * gc(): node --expose-gc), so that its heap figures count what it keeps, not what it has
 * yet to collect. Returns them sorted by threadId; [] when the probe is off.
 */
export async function probeActorThreads(withinMs = 1000, collect = false): Promise<ThreadProbe[]> {
  const id = ++probeSeq;
  const bc = new BroadcastChannel(CHANNEL);
  const answers = new Map<number, ThreadProbe>();
  bc.onmessage = (event) => {
    const msg = (event as { data?: ProbeAnswer }).data;
    if (msg?.type === 'answer' && msg.id === id) answers.set(msg.probe.threadId, msg.probe);
  };
  bc.postMessage({ type: 'probe', id, collect } satisfies ProbeRequest);
  await new Promise((resolve) => setTimeout(resolve, withinMs));
  bc.close();
  return [...answers.values()].sort((a, b) => a.threadId - b.threadId);
}
