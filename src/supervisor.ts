/**
 * A supervisor in the main thread, after Erlang/OTP's: child specs with restart
 * policies, one_for_one / one_for_all / rest_for_one strategies, a restart intensity
 * (at most `maxRestarts` within `periodMs`, else it gives up and stops everything),
 * exponential backoff with jitter between restarts, and liveness checks that terminate
 * and restart a hung actor. Every exit of an actor closes the sockets it leaked before
 * anything is restarted, so a restarted actor can bind its port again.
 */
import { performance } from 'node:perf_hooks';
import { EventEmitter } from 'node:events';
import { MessageChannel } from 'node:worker_threads';
import { ActorRun, THREAD_SHARING, type ActorExit, type ExitReason, type ThreadSharing } from './actor-run.js';
import type { ActorArgs, ActorKind, ActorMessages, ActorOut, Fault } from './actors/messages.js';
import { ActorTimeoutError, ClosedError, InvalidOptionError, SupervisorGiveUpError } from './errors.js';
import { livenessWatch } from './liveness.js';
import { checkOptionNames, optionNames } from './options.js';
import {
  affectedBy,
  BackoffTimers,
  backoffDelay,
  recordRestart,
  RESTART_SETTING_NAMES,
  shouldRestart,
  validateRestartOptions,
  type RestartPolicy,
  type RestartSettings,
  type Strategy,
} from './restart-policy.js';
import { quoted } from './printable.js';

export type { RestartPolicy, Strategy } from './restart-policy.js';

export type ChildState = 'starting' | 'running' | 'restarting' | 'stopped' | 'failed';

export interface ChildSpecOf<K extends ActorKind> {
  /** Unique within the supervisor, e.g. 'surveyor'. */
  id: string;
  kind: K;
  /** The actor's start arguments, asked again at every (re)start: state mirrors feed restarts through it. */
  args: () => Omit<ActorMessages[K]['args'], 'kind'>;
  restart?: RestartPolicy;
  /** The id of a sibling to link by a MessagePort pipe (surveyor ↔ publisher); re-linked after either restarts. */
  pipe?: string;
  /** The actor's typed outbound messages. */
  onMessage?: (msg: ActorMessages[K]['out']) => void;
}

/** One child of a supervisor: which actor, with which arguments, restarted when. */
export type ChildSpec = { [K in ActorKind]: ChildSpecOf<K> }[ActorKind];

/** Restart settings (defaults in SUPERVISOR_DEFAULTS: 5 restarts in 10 s, backoff 25 ms to 5 s) and liveness. */
export interface SupervisorOptions extends RestartSettings {
  /**
   * Liveness (src/liveness.ts): a worker thread none of whose actors has sent anything for
   * this long is pinged (one bare message per thread, shared by every supervisor with an
   * actor on it; a thread whose actors speak on their own, e.g. a respondent answering
   * surveys more often than this, is never pinged). Default 2,500 ms: longer than the
   * default round period (the server's pollTime, 2,000 ms), so that at rest the threads of
   * clients and servers, heard from every round, get no ping. 0 disables liveness checks
   * of this supervisor's actors.
   */
  livenessIntervalMs?: number;
  /**
   * A thread not heard from within this long after its ping is hung: every watched actor
   * on it is terminated (exit reason 'hung') and restarted. Default 3,000 ms. A hang is
   * found within livenessIntervalMs + livenessTimeoutMs.
   */
  livenessTimeoutMs?: number;
  /** Bound on an actor becoming ready (worker start + bind/connect). Default 10,000 ms. */
  startTimeoutMs?: number;
  /** Bound on a graceful stop before the worker is terminated. Default 2,000 ms. */
  stopTimeoutMs?: number;
  /** Bound on one blocking receive inside actors: how late they notice stop() and messages. Default 50 ms. */
  sliceMs?: number;
  /**
   * Respondents and subscribers wait on their socket's readiness, watched on their own
   * thread's event loop (this package's addon, native/readiness.c), instead of receiving in
   * slices of sliceMs: an actor at rest never runs, and a blocked main thread delays
   * nothing (unless sharedThreads is 'main'). `false` receives in slices (the thread wakes every sliceMs): a fallback that
   * needs no watcher. Default true.
   */
  waitOnReadiness?: boolean;
  /**
   * Which actors share worker threads (README "How actors map to threads"), up to 32 a
   * thread, with such actors of every tree in the process:
   * - 'clients' (default): respondents and subscribers waiting on readiness; ten clients
   *   then use one thread instead of twenty. The surveyor and publisher keep a thread each.
   * - 'main': respondents and subscribers waiting on readiness run on the main thread's
   *   event loop, no worker thread for them (one client 8–11 MiB lighter): but a host that
   *   blocks its main loop then delays their answers (a long block gets its clients
   *   dropped), an uncaught exception in one of them is the host's, and only the 'reject'
   *   fault can be injected into them.
   * - 'all' (or `true`): the publisher shares worker threads too.
   * - 'none' (or `false`): a thread per actor, threads kept in the pool for reuse.
   * An actor that blocks its thread (the surveyor; any actor with waitOnReadiness: false)
   * never shares one. The price of sharing: a fault that kills or blocks a thread (an
   * uncaught exception, process.exit, a hang) ends every actor on it, each then restarted
   * by its own supervisor — and until a hang is found (livenessTimeoutMs), the actors on
   * that thread answer nothing. A throw in an actor's own loop ends that actor only.
   */
  sharedThreads?: ThreadSharing | boolean;
}

/** Every SupervisorOptions name (src/options.ts). */
export const SUPERVISOR_OPTION_NAMES = optionNames<SupervisorOptions>()([
  ...RESTART_SETTING_NAMES,
  'waitOnReadiness',
  'sharedThreads',
  'livenessIntervalMs',
  'livenessTimeoutMs',
  'startTimeoutMs',
  'stopTimeoutMs',
  'sliceMs',
]);

export const SUPERVISOR_DEFAULTS: Required<Omit<SupervisorOptions, 'name' | 'resetBackoffAfterMs'>> = {
  strategy: 'one_for_one',
  maxRestarts: 5,
  periodMs: 10_000,
  minBackoffMs: 25,
  maxBackoffMs: 5_000,
  randomFactor: 0.2,
  livenessIntervalMs: 2_500,
  livenessTimeoutMs: 3_000,
  startTimeoutMs: 10_000,
  stopTimeoutMs: 2_000,
  sliceMs: 50,
  waitOnReadiness: true,
  sharedThreads: 'clients',
};

export interface ActorStartEvent {
  supervisor: string;
  id: string;
  name: string;
  kind: ActorKind;
  /** 0 for the first start, n for the n-th restart. */
  restarts: number;
}

export interface ActorExitEvent {
  supervisor: string;
  id: string;
  name: string;
  kind: ActorKind;
  reason: ExitReason;
  error?: Error;
}

export interface ActorRestartEvent {
  supervisor: string;
  id: string;
  name: string;
  kind: ActorKind;
  /** The children being restarted together (strategy). */
  ids: string[];
  attempt: number;
  delayMs: number;
  reason: ExitReason;
}

export interface GiveUpEvent {
  supervisor: string;
  error: SupervisorGiveUpError;
}

export interface SupervisorEvents {
  'actor:start': [ActorStartEvent];
  'actor:exit': [ActorExitEvent];
  'actor:restart': [ActorRestartEvent];
  giveup: [GiveUpEvent];
}

export interface ChildHealth {
  id: string;
  name: string;
  kind: ActorKind;
  state: ChildState;
  restarts: number;
  sockets: number[];
  /** `at` is wall time (Date.now(), ms since the epoch): a timestamp shown to people, never used for a duration. */
  lastExit?: { reason: ExitReason; error?: string; at: number };
}

interface Child {
  spec: ChildSpec;
  kind: ActorKind;
  state: ChildState;
  run: ActorRun | undefined;
  restarts: number;
  attempt: number;
  startedAt: number;
  /** The supervisor itself is stopping this child: its exit is not a failure. */
  stopping: boolean;
  /** Ends the liveness watch of its running actor, if watched. */
  unwatch: (() => void) | undefined;
  lastExit?: ChildHealth['lastExit'];
}

let supervisorSeq = 0;

export class Supervisor extends EventEmitter<SupervisorEvents> {
  readonly name: string;
  private readonly opts: typeof SUPERVISOR_DEFAULTS & { resetBackoffAfterMs: number };
  private readonly children: Child[];
  private restartLog: number[] = [];
  private status: 'idle' | 'running' | 'stopping' | 'stopped' | 'failed' = 'idle';
  private readonly backoff = new BackoffTimers();
  private readonly inFlight = new Set<Promise<unknown>>();
  private giveUpError: SupervisorGiveUpError | undefined;

  constructor(specs: ChildSpec[], options: SupervisorOptions = {}) {
    super();
    checkOptionNames('supervision', options, SUPERVISOR_OPTION_NAMES);
    this.name = options.name ?? `supervisor#${++supervisorSeq}`;
    const o = { ...SUPERVISOR_DEFAULTS, ...stripUndefined(options) };
    this.opts = { ...o, resetBackoffAfterMs: options.resetBackoffAfterMs ?? o.periodMs };
    validateSupervisorOptions(this.opts);
    const ids = new Set<string>();
    this.children = specs.map((spec) => {
      if (ids.has(spec.id)) throw new InvalidOptionError(`duplicate child id ${quoted(spec.id)}`);
      ids.add(spec.id);
      return { spec, kind: spec.kind, state: 'stopped', run: undefined, restarts: 0, attempt: 0, startedAt: 0, stopping: false, unwatch: undefined };
    });
  }

  get strategy(): Strategy {
    return this.opts.strategy;
  }

  /** The error it gave up with, if it did. */
  get failure(): SupervisorGiveUpError | undefined {
    return this.giveUpError;
  }

  /** Starts every child in order. If one fails to start, the ones started are stopped and the error is thrown. */
  async start(): Promise<void> {
    if (this.status !== 'idle') throw new ClosedError(`supervisor ${this.name} (already started)`);
    this.status = 'running';
    for (const child of this.children) {
      try {
        await this.startChild(child);
      } catch (error) {
        await this.shutdown();
        throw error;
      }
    }
  }

  health(): ChildHealth[] {
    return this.children.map((c) => ({
      id: c.spec.id,
      name: this.childName(c),
      kind: c.kind,
      state: c.state,
      restarts: c.restarts,
      sockets: c.run && !c.run.hasExited ? c.run.ledger.ids() : [],
      ...(c.lastExit ? { lastExit: c.lastExit } : {}),
    }));
  }

  /** The running actor of a child, for control calls (status, fault injection). */
  actor(id: string): ActorRun | undefined {
    const c = this.children.find((c) => c.spec.id === id);
    return c?.run && !c.run.hasExited ? c.run : undefined;
  }

  /** Makes a child's actor fail on purpose: for supervision tests and chaos drills. */
  async injectFault(id: string, fault: Fault): Promise<void> {
    const run = this.actor(id);
    if (!run) throw new ClosedError(`actor ${id} of ${this.name} (not running)`);
    await run.injectFault(fault);
  }

  /**
   * Stops every child in reverse start order: gracefully within timeoutMs each, else by
   * terminating its worker thread (with whatever actors of other trees it hosted: they are
   * restarted by their own supervisors). Resolves when every actor has exited and its
   * sockets are closed: none of its code runs on any thread any more. A thread it terminated
   * with sockets open had exited (or was given 5 s) before they were closed; the threads of actors that stopped stay in the
   * process-wide pool for reuse (src/pool.ts), idle, unref'd, ending after IDLE_THREAD_MS.
   */
  async shutdown(options: { timeoutMs?: number } = {}): Promise<void> {
    if (this.status === 'stopped') return;
    this.status = 'stopping';
    this.unwatchAll();
    this.backoff.cancelAll();
    await Promise.allSettled([...this.inFlight]);
    const timeoutMs = options.timeoutMs ?? this.opts.stopTimeoutMs;
    for (const child of [...this.children].reverse()) {
      if (child.run && !child.run.hasExited) {
        child.stopping = true;
        await child.run.stop(timeoutMs);
      } else if (child.run) {
        // An actor that has just died (its thread ended) may still be closing what it left
        // open: its exit is complete, and reported, only once that is done.
        await child.run.exited;
      }
      if (child.state !== 'failed') child.state = 'stopped';
    }
    this.status = 'stopped';
  }

  /** Worker threads running this supervisor's actors now (0 once it is shut down); they may host other trees' actors too. */
  threadCount(): number {
    const threads = new Set<number>();
    for (const child of this.children) {
      const thread = child.run?.threadId;
      if (thread !== undefined) threads.add(thread);
    }
    return threads.size;
  }

  // ------------------------------------------------------------------ internals

  private childName(c: Child): string {
    return `${this.name}/${c.spec.id}`;
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p)).catch(() => {});
    return p;
  }

  private async startChild(child: Child): Promise<void> {
    child.state = 'starting';
    child.stopping = false;
    const args = { ...child.spec.args(), kind: child.kind } as ActorArgs;
    let pipe;
    if (child.spec.pipe) {
      const sibling = this.children.find((c) => c.spec.id === child.spec.pipe);
      if (sibling?.run && !sibling.run.hasExited && sibling.state === 'running') {
        const channel = new MessageChannel();
        pipe = channel.port1;
        sibling.run.post({ type: 'attach-pipe', port: channel.port2 }, [channel.port2]);
      }
    }
    const run = new ActorRun(this.childName(child), args, { sliceMs: this.opts.sliceMs, waitOnReadiness: this.opts.waitOnReadiness, sharedThreads: this.opts.sharedThreads, ...(pipe ? { pipe } : {}) });
    child.run = run;
    const onMessage = child.spec.onMessage as ((msg: ActorOut) => void) | undefined;
    if (onMessage) run.onMessage(onMessage);
    void run.exited.then((exit) => this.onExit(child, run, exit));
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        run.ready,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new ActorTimeoutError(run.name, 'start', this.opts.startTimeoutMs)), this.opts.startTimeoutMs);
        }),
      ]);
    } catch (error) {
      child.stopping = true;
      await run.kill();
      child.state = 'stopped';
      throw error;
    } finally {
      clearTimeout(timer);
    }
    if (this.status !== 'running') {
      // shutdown() or a give-up happened while this child was starting.
      child.stopping = true;
      await run.stop(this.opts.stopTimeoutMs);
      child.state = 'stopped';
      throw new ClosedError(`supervisor ${this.name}`);
    }
    child.state = 'running';
    child.startedAt = performance.now();
    this.watchLiveness(child, run);
    this.emit('actor:start', { supervisor: this.name, id: child.spec.id, name: run.name, kind: child.kind, restarts: child.restarts });
  }

  private onExit(child: Child, run: ActorRun, exit: ActorExit): void {
    if (child.run !== run) return;
    this.unwatch(child);
    child.lastExit = { reason: exit.reason, ...(exit.error ? { error: exit.error.message } : {}), at: Date.now() };
    this.emit('actor:exit', {
      supervisor: this.name,
      id: child.spec.id,
      name: run.name,
      kind: child.kind,
      reason: exit.reason,
      ...(exit.error ? { error: exit.error } : {}),
    });
    // Exits during start, during our own stops, or after we stopped are not failures to act on.
    if (child.state === 'starting' || child.stopping || this.status !== 'running') return;
    const abnormal = exit.reason !== 'stopped' && exit.reason !== 'done';
    if (!shouldRestart(child.spec.restart ?? 'permanent', abnormal)) {
      child.state = 'stopped';
      return;
    }
    this.onFailure(child, exit);
  }

  private onFailure(child: Child, exit: ActorExit): void {
    // Monotonic: restart intensity and backoff reset are durations, immune to wall-clock steps.
    const now = performance.now();
    const intensity = recordRestart(this.restartLog, now, this.opts);
    this.restartLog = intensity.log;
    if (intensity.exceeded) {
      void this.track(this.giveUp(child, exit));
      return;
    }
    if (child.startedAt > 0 && now - child.startedAt >= this.opts.resetBackoffAfterMs) child.attempt = 0;
    const attempt = child.attempt++;
    const delayMs = backoffDelay(attempt, this.opts);
    const affected = affectedBy(this.opts.strategy, this.children, this.children.indexOf(child));
    for (const c of affected) c.state = 'restarting';
    this.emit('actor:restart', {
      supervisor: this.name,
      id: child.spec.id,
      name: this.childName(child),
      kind: child.kind,
      ids: affected.map((c) => c.spec.id),
      attempt: attempt + 1,
      delayMs,
      reason: exit.reason,
    });
    void this.track(this.restart(affected, delayMs));
  }

  private async restart(affected: Child[], delayMs: number): Promise<void> {
    // Siblings restarted by the strategy are stopped first, last started first.
    for (const c of [...affected].reverse()) {
      if (c.run && !c.run.hasExited) {
        c.stopping = true;
        await c.run.stop(this.opts.stopTimeoutMs);
      }
    }
    await this.backoff.wait(delayMs);
    for (const c of affected) {
      if (this.status !== 'running') return;
      c.restarts++;
      try {
        await this.startChild(c);
      } catch (error) {
        if (this.status !== 'running') return;
        c.lastExit = { reason: 'start-failed', error: (error as Error).message, at: Date.now() };
        this.onFailure(c, { reason: 'start-failed', error: error as Error });
        return;
      }
    }
  }

  private async giveUp(child: Child, exit: ActorExit): Promise<void> {
    if (this.status !== 'running') return;
    this.status = 'failed';
    const error = new SupervisorGiveUpError(
      this.name,
      `more than ${this.opts.maxRestarts} restarts within ${this.opts.periodMs} ms; last: ${child.spec.id} ${exit.reason}${exit.error ? ` (${exit.error.message})` : ''}`,
      { cause: exit.error },
    );
    this.giveUpError = error;
    this.unwatchAll();
    this.backoff.cancelAll();
    for (const c of [...this.children].reverse()) {
      if (c.run && !c.run.hasExited) {
        c.stopping = true;
        await c.run.stop(this.opts.stopTimeoutMs);
      }
      c.state = 'failed';
    }
    this.emit('giveup', { supervisor: this.name, error });
  }

  /** Hands a running actor to the process's liveness watch: its thread found hung, it is killed ('hung') and restarted. */
  private watchLiveness(child: Child, run: ActorRun): void {
    if (this.opts.livenessIntervalMs === 0) return;
    this.unwatch(child);
    child.unwatch = livenessWatch.watch(run, { intervalMs: this.opts.livenessIntervalMs, timeoutMs: this.opts.livenessTimeoutMs }, () => {
      if (child.run === run && !run.hasExited) void run.kill('hung');
    });
  }

  private unwatch(child: Child): void {
    child.unwatch?.();
    child.unwatch = undefined;
  }

  private unwatchAll(): void {
    for (const child of this.children) this.unwatch(child);
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function validateSupervisorOptions(o: typeof SUPERVISOR_DEFAULTS & { resetBackoffAfterMs: number }): void {
  validateRestartOptions(o);
  if (!Number.isInteger(o.livenessIntervalMs) || o.livenessIntervalMs < 0) {
    throw new InvalidOptionError(`livenessIntervalMs must be a whole number >= 0, got ${quoted(o.livenessIntervalMs)}`, { option: 'livenessIntervalMs' });
  }
  if (typeof o.waitOnReadiness !== 'boolean') throw new InvalidOptionError(`waitOnReadiness must be true or false, got ${quoted(o.waitOnReadiness)}`, { option: 'waitOnReadiness' });
  if (typeof o.sharedThreads !== 'boolean' && !THREAD_SHARING.includes(o.sharedThreads)) {
    throw new InvalidOptionError(`sharedThreads must be one of ${THREAD_SHARING.map((v) => `'${v}'`).join(', ')}, true (= 'all') or false (= 'none'), got ${quoted(o.sharedThreads)}`, { option: 'sharedThreads' });
  }
  for (const k of ['livenessTimeoutMs', 'startTimeoutMs', 'stopTimeoutMs', 'sliceMs'] as const) {
    if (typeof o[k] !== 'number' || !(o[k] > 0)) throw new InvalidOptionError(`${k} must be a positive number of ms, got ${quoted(o[k])}`, { option: k });
  }
}
