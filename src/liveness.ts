/**
 * Liveness of the worker threads that run actors: how a supervisor tells a hung actor (its
 * thread blocked in JavaScript: it answers nothing) from one that is simply waiting.
 *
 * A ping is answered by the thread's event loop (ActorContext's mailbox listener), not by
 * the actor's logic, so what it detects is a blocked *thread*; every actor on that thread
 * hangs with it. Hence one check per thread, not per actor: process-wide, one timer for
 * every supervisor (LivenessWatch), and a ping only to a thread that has been silent. Any
 * message from any actor on a thread (an answered survey, a list received, a pong) proves
 * that the thread's loop ran when it was sent, so a thread whose actors have spoken within
 * livenessIntervalMs is not pinged at all; a silent one gets one bare MessagePort message
 * (PingMessage, to one of its actors' mailboxes); one that has not been heard from for
 * livenessTimeoutMs after that ping is hung, and every watched actor on it is killed
 * ('hung': its thread is terminated) and restarted by its own supervisor.
 *
 * Bound: a thread that blocks at t is pinged by t + livenessIntervalMs and found hung by
 * t + livenessIntervalMs + livenessTimeoutMs (plus the main thread's own delays), as when
 * every actor was pinged every livenessIntervalMs. Actors on the main thread (inline:
 * sharedThreads 'main', the test kit's inline mode) are not watched: the thread that would
 * check them is the one they run on.
 *
 * The decision is pure (checkThread); LivenessWatch holds the timer and sends the pings.
 */
import { performance } from 'node:perf_hooks';

/** A thread's liveness bounds, in ms (SupervisorOptions.livenessIntervalMs / livenessTimeoutMs). */
export interface LivenessBounds {
  /** A thread not heard from for this long is pinged. */
  intervalMs: number;
  /** A thread not heard from for this long after its ping is hung. */
  timeoutMs: number;
}

/** What is known of one thread, times in ms on one monotonic clock (performance.now()). */
export interface ThreadState {
  /** When the latest message from any actor on the thread arrived. */
  heardAt: number;
  /** When the ping not yet answered was sent, if one was. */
  pingSentAt: number | undefined;
}

/**
 * What to do about one thread at `now`:
 * - 'alive': heard from within intervalMs (or since its ping): nothing, until `dueAt`;
 * - 'ping': silent for intervalMs and no ping out: send one, look again at `dueAt`;
 * - 'waiting': its ping is out, not timed out yet: look again at `dueAt` (every intervalMs from the ping, at most until its timeout);
 * - 'hung': not heard from for timeoutMs after its ping.
 */
export type LivenessVerdict = { action: 'alive' | 'ping' | 'waiting'; dueAt: number } | { action: 'hung' };

/** The check of one thread (pure). Anything heard at or after a ping's sending answers it. */
export function checkThread(state: ThreadState, now: number, bounds: LivenessBounds): LivenessVerdict {
  const pending = state.pingSentAt !== undefined && state.heardAt < state.pingSentAt ? state.pingSentAt : undefined;
  if (pending !== undefined) {
    if (now - pending >= bounds.timeoutMs) return { action: 'hung' };
    // Looked at again every intervalMs from the ping: once answered, a silent thread is
    // pinged again an interval after the last ping, not only at the timeout.
    const nextLook = pending + bounds.intervalMs * (Math.floor((now - pending) / bounds.intervalMs) + 1);
    return { action: 'waiting', dueAt: Math.min(pending + bounds.timeoutMs, nextLook) };
  }
  if (now - state.heardAt >= bounds.intervalMs) return { action: 'ping', dueAt: now + Math.min(bounds.intervalMs, bounds.timeoutMs) };
  return { action: 'alive', dueAt: state.heardAt + bounds.intervalMs };
}

/** What the watch needs of an actor run (ActorRun). */
export interface LivenessTarget {
  /** When its latest message arrived (ms, performance.now()). */
  readonly heardAt: number;
  /** Its worker thread, once known; undefined inline or after it exited. */
  readonly threadId: number | undefined;
  /** Runs on the thread that would check it. */
  readonly inline: boolean;
  readonly hasExited: boolean;
  /** Sends its thread a PingMessage (through its mailbox). */
  sendPing(): void;
}

interface Watched {
  target: LivenessTarget;
  bounds: LivenessBounds;
  onHung: () => void;
}

/** One timer for every watched thread of the process; a thread is pinged only when silent. */
export class LivenessWatch {
  private readonly watched = new Set<Watched>();
  /** The ping out per thread (keyed by threadId, or by the run while its thread is unknown), and the run it went to. */
  private readonly pings = new Map<number | LivenessTarget, { sentAt: number; to: LivenessTarget }>();
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  /** Pings sent so far (tests: a thread that speaks on its own gets none). */
  pingsSent = 0;

  /**
   * Watches an actor run until the returned function is called (idempotent). `onHung` is
   * called once, when its thread is found hung (the run is no longer watched then). An
   * inline run is not watched.
   */
  watch(target: LivenessTarget, bounds: LivenessBounds, onHung: () => void): () => void {
    if (target.inline) return () => {};
    const w: Watched = { target, bounds, onHung };
    this.watched.add(w);
    this.schedule(performance.now() + bounds.intervalMs);
    return () => {
      this.watched.delete(w);
      if (this.watched.size === 0) this.schedule(Infinity);
    };
  }

  /** Checks every watched thread at `now`: pings the silent ones, reports the hung ones. */
  check(now = performance.now()): void {
    const threads = new Map<number | LivenessTarget, Watched[]>();
    for (const w of this.watched) {
      if (w.target.hasExited) continue;
      const key = w.target.threadId ?? w.target;
      const group = threads.get(key);
      if (group) group.push(w);
      else threads.set(key, [w]);
    }
    for (const key of this.pings.keys()) if (!threads.has(key)) this.pings.delete(key);
    let next = Infinity;
    for (const [key, group] of threads) {
      let ping = this.pings.get(key);
      // A ping to an actor that has exited since is lost with its mailbox: not the thread's silence.
      if (ping?.to.hasExited) {
        this.pings.delete(key);
        ping = undefined;
      }
      const state = { heardAt: Math.max(...group.map((w) => w.target.heardAt)), pingSentAt: ping?.sentAt };
      const bounds = { intervalMs: Math.min(...group.map((w) => w.bounds.intervalMs)), timeoutMs: Math.min(...group.map((w) => w.bounds.timeoutMs)) };
      const verdict = checkThread(state, now, bounds);
      if (verdict.action === 'hung') {
        this.pings.delete(key);
        for (const w of group) this.watched.delete(w);
        for (const w of group) w.onHung();
        continue;
      }
      if (verdict.action === 'alive') this.pings.delete(key);
      else if (verdict.action === 'ping') {
        const to = group[0]!.target;
        this.pings.set(key, { sentAt: now, to });
        this.pingsSent++;
        to.sendPing();
      }
      next = Math.min(next, verdict.dueAt);
    }
    this.timerAt = Infinity;
    this.schedule(next);
  }

  /** Makes sure a check runs by `at` (ms, performance.now()); Infinity: none needed. */
  private schedule(at: number): void {
    if (at === Infinity) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.timerAt = Infinity;
      return;
    }
    if (this.timer && this.timerAt <= at) return;
    clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.check();
    }, Math.max(0, Math.ceil(at - performance.now())));
    // Liveness alone keeps no process alive (as the supervisors' timers before it).
    this.timer.unref();
  }
}

/** The process's watch, shared by every supervisor. */
export const livenessWatch = new LivenessWatch();
