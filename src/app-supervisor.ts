/**
 * The application supervisor: the root of a supervision tree that users embed in their
 * services. It hosts servers, clients and subscribers, each a small tree of its own
 * (a supervisor and its actors). When one of those trees gives up, the escalation comes
 * here: within this supervisor's own intensity the tree is restarted whole (its iterators
 * and state carry over), with the strategy deciding which sibling trees restart with it;
 * beyond it, this supervisor gives up too — every tree is closed and every iterator ends
 * with the error.
 */
import { performance } from 'node:perf_hooks';
import { EventEmitter } from 'node:events';
import { createClient, type Client, type ClientOptions } from './client.js';
import { ClosedError, SupervisorGiveUpError } from './errors.js';
import type { HandleEvents, SupervisedHandle, TreeParent } from './handle.js';
import { checkOptionNames, optionNames } from './options.js';
import {
  affectedBy,
  BackoffTimers,
  backoffDelay,
  recordRestart,
  RESTART_SETTING_NAMES,
  validateRestartOptions,
  type RestartOptions,
  type RestartSettings,
  type Strategy,
} from './restart-policy.js';
import { createServer, type Server, type ServerOptions } from './server.js';
import { subscribe, type SubscribeOptions, type Subscriber } from './subscriber.js';
import { SUPERVISOR_OPTION_NAMES, type ChildHealth, type GiveUpEvent, type SupervisorEvents, type SupervisorOptions } from './supervisor.js';

/**
 * Restart settings for whole trees (defaults in APP_SUPERVISOR_DEFAULTS: 3 tree restarts
 * within 60 s — a tree that gives up has already restarted its actors several times —
 * backoff 100 ms to 10 s), and the supervision of the hosted trees.
 */
export interface AppSupervisorOptions extends RestartSettings {
  /** Supervisor options given to every hosted tree unless its own options set them. */
  supervision?: SupervisorOptions;
}

/** Every AppSupervisorOptions name (src/options.ts). */
export const APP_SUPERVISOR_OPTION_NAMES = optionNames<AppSupervisorOptions>()([...RESTART_SETTING_NAMES, 'supervision']);

export const APP_SUPERVISOR_DEFAULTS = {
  strategy: 'one_for_one' as Strategy,
  maxRestarts: 3,
  periodMs: 60_000,
  minBackoffMs: 100,
  maxBackoffMs: 10_000,
  randomFactor: 0.2,
};

export interface TreeRestartEvent {
  supervisor: string;
  /** The tree that gave up. */
  tree: string;
  /** All trees restarted together (strategy). */
  trees: string[];
  delayMs: number;
  error: Error;
}

export interface AppSupervisorEvents extends SupervisorEvents {
  /** A hosted tree gave up and is being restarted. */
  'tree:restart': [TreeRestartEvent];
}

export interface TreeHealth {
  tree: string;
  kind: 'server' | 'client' | 'subscriber';
  closed: boolean;
  restarts: number;
  actors: ChildHealth[];
}

type Hosted = Server | Client | Subscriber;
interface Tree {
  handle: SupervisedHandle;
  kind: TreeHealth['kind'];
  restarts: number;
  attempt: number;
  startedAt: number;
}

let appSeq = 0;

export class AppSupervisor extends EventEmitter<AppSupervisorEvents> implements TreeParent {
  readonly name: string;
  private readonly opts: RestartOptions;
  private readonly supervision: SupervisorOptions | undefined;
  private readonly trees: Tree[] = [];
  private restartLog: number[] = [];
  private status: 'running' | 'stopping' | 'stopped' | 'failed' = 'running';
  private giveUpError: SupervisorGiveUpError | undefined;
  private readonly backoff = new BackoffTimers();
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(options: AppSupervisorOptions = {}) {
    super();
    checkOptionNames('createSupervisor', options, APP_SUPERVISOR_OPTION_NAMES, { supervision: SUPERVISOR_OPTION_NAMES });
    this.name = options.name ?? `app#${++appSeq}`;
    const o = { ...APP_SUPERVISOR_DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) };
    this.opts = {
      strategy: o.strategy,
      maxRestarts: o.maxRestarts,
      periodMs: o.periodMs,
      minBackoffMs: o.minBackoffMs,
      maxBackoffMs: o.maxBackoffMs,
      randomFactor: o.randomFactor,
      resetBackoffAfterMs: options.resetBackoffAfterMs ?? o.periodMs,
    };
    validateRestartOptions(this.opts);
    this.supervision = options.supervision;
  }

  /** The error it gave up with, if it did. */
  get failure(): SupervisorGiveUpError | undefined {
    return this.giveUpError;
  }

  /** Starts a server in this tree. */
  createServer(options: ServerOptions): Promise<Server> {
    return this.host('server', () => createServer(this.withSupervision(options)));
  }

  /** Starts a client in this tree. */
  createClient(options: ClientOptions): Promise<Client> {
    return this.host('client', () => createClient(this.withSupervision(options)));
  }

  /** Starts a subscriber in this tree. */
  subscribe(options: SubscribeOptions): Promise<Subscriber> {
    return this.host('subscriber', () => subscribe(this.withSupervision(options)));
  }

  /** Every hosted tree with its actors' states and restart counts. */
  health(): TreeHealth[] {
    return this.trees.map((t) => ({ tree: t.handle.name, kind: t.kind, closed: t.handle.closed, restarts: t.restarts, actors: t.handle.health() }));
  }

  /** Whether every actor of every open tree is running. */
  healthy(): boolean {
    return this.status === 'running' && this.trees.every((t) => t.handle.closed || t.handle.health().every((a) => a.state === 'running'));
  }

  /**
   * Stops every tree in reverse start order, each within timeoutMs per actor (else its
   * worker is terminated). Resolves when every worker thread has exited and every socket is closed.
   */
  async shutdown(options: { timeoutMs?: number } = {}): Promise<void> {
    if (this.status === 'stopped') return;
    this.status = 'stopping';
    this.backoff.cancelAll();
    await Promise.allSettled([...this.inFlight]);
    for (const tree of [...this.trees].reverse()) {
      await closeWithin(tree.handle, options.timeoutMs);
    }
    this.status = 'stopped';
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown();
  }

  // ------------------------------------------------------------------ escalation

  childGaveUp(child: SupervisedHandle, error: Error): void {
    const tree = this.trees.find((t) => t.handle === child);
    if (!tree || this.status !== 'running') {
      void child.fail(error);
      return;
    }
    const now = performance.now(); // durations only: restart intensity and backoff reset
    const intensity = recordRestart(this.restartLog, now, this.opts);
    this.restartLog = intensity.log;
    if (intensity.exceeded) {
      void this.track(this.giveUp(tree, error));
      return;
    }
    const open = this.trees.filter((t) => !t.handle.closed);
    const affected = affectedBy(this.opts.strategy, open, open.indexOf(tree));
    if (now - tree.startedAt >= this.opts.resetBackoffAfterMs) tree.attempt = 0;
    const delayMs = backoffDelay(tree.attempt++, this.opts);
    this.emit('tree:restart', { supervisor: this.name, tree: child.name, trees: affected.map((t) => t.handle.name), delayMs, error });
    void this.track(this.restartTrees(affected, delayMs));
  }

  private async restartTrees(affected: Tree[], delayMs: number): Promise<void> {
    await this.backoff.wait(delayMs);
    for (const tree of affected) {
      if (this.status !== 'running') return;
      try {
        await tree.handle.restartTree();
        tree.restarts++;
        tree.startedAt = performance.now();
      } catch (error) {
        if (this.status !== 'running') return;
        this.childGaveUp(tree.handle, error as Error);
        return;
      }
    }
  }

  private async giveUp(tree: Tree, cause: Error): Promise<void> {
    if (this.status !== 'running') return;
    this.status = 'failed';
    const error = new SupervisorGiveUpError(
      this.name,
      `more than ${this.opts.maxRestarts} tree restarts within ${this.opts.periodMs} ms; last: ${tree.handle.name} (${cause.message})`,
      { cause },
    );
    this.giveUpError = error;
    this.backoff.cancelAll();
    for (const t of [...this.trees].reverse()) await t.handle.fail(error);
    const event: GiveUpEvent = { supervisor: this.name, error };
    this.emit('giveup', event);
  }

  // ------------------------------------------------------------------ internals

  private async host<H extends Hosted>(kind: Tree['kind'], create: () => Promise<H>): Promise<H> {
    if (this.status !== 'running') throw this.giveUpError ?? new ClosedError(`supervisor ${this.name}`);
    const handle = await create();
    if (this.status !== 'running') {
      await handle.close();
      throw this.giveUpError ?? new ClosedError(`supervisor ${this.name}`);
    }
    const generic = handle as unknown as SupervisedHandle;
    generic.parent = this;
    // Actor events of every tree surface here, tagged with their supervisor's name.
    for (const event of ['actor:start', 'actor:exit', 'actor:restart'] as const) {
      (generic as unknown as EventEmitter).on(event, (e: unknown) => (this.emit as unknown as (n: string, e: unknown) => boolean)(event, e));
    }
    this.trees.push({ handle: generic, kind, restarts: 0, attempt: 0, startedAt: performance.now() });
    return handle;
  }

  private withSupervision<T extends { supervision?: SupervisorOptions }>(options: T): T {
    return this.supervision ? { ...options, supervision: { ...this.supervision, ...options.supervision } } : options;
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p)).catch(() => {});
    return p;
  }
}

async function closeWithin(handle: SupervisedHandle<HandleEvents>, timeoutMs: number | undefined): Promise<void> {
  if (timeoutMs === undefined) return handle.close();
  // The tree's supervisor bounds each actor's stop by its stopTimeoutMs; shutdown's bound is per tree.
  await handle.supervisor.shutdown({ timeoutMs });
  await handle.close();
}

/** Creates an application supervisor to host servers, clients and subscribers in one supervision tree. */
export function createSupervisor(options: AppSupervisorOptions = {}): AppSupervisor {
  return new AppSupervisor(options);
}
