/**
 * What servers, clients and subscribers share: a small supervision tree (one supervisor
 * owning their actors), closing (idempotent, also on an AbortSignal), and escalation:
 * when the tree's supervisor gives up, a parent (an application supervisor) decides
 * whether to restart the whole tree; without one, the handle fails — it closes and ends
 * its iterators with the supervisor's error.
 */
import { EventEmitter } from 'node:events';
import { ClosedError, InvalidOptionError } from './errors.js';
import { keysFromSecrets, type KeyMaterial } from './keyring.js';
import { type ChildHealth, type ChildSpec, Supervisor, type SupervisorEvents, type SupervisorOptions } from './supervisor.js';
import { quoted } from './printable.js';

export interface HandleEvents extends SupervisorEvents {
  /** The handle failed for good (its supervisor gave up, and no parent restarted it): it is closed, its iterators end with this error. */
  failure: [Error];
}

/** The application supervisor's side of a handle: it decides what a tree's give-up means. */
export interface TreeParent {
  /** Called when the handle's supervisor gave up. */
  childGaveUp(child: SupervisedHandle, error: Error): void;
}

const FORWARDED = ['actor:start', 'actor:exit', 'actor:restart', 'giveup'] as const;

export abstract class SupervisedHandle<Events extends HandleEvents & Record<keyof Events, unknown[]> = HandleEvents> extends EventEmitter<Events> {
  readonly name: string;
  private tree: Supervisor;
  private readonly specs: ChildSpec[];
  private readonly supervision: SupervisorOptions | undefined;
  private closing: Promise<void> | undefined;
  private readonly signal: AbortSignal | undefined;
  private readonly onAbort = () => void this.close();
  /** Set by an application supervisor that adopted this handle. */
  parent: TreeParent | undefined;

  protected constructor(specs: ChildSpec[], supervision: SupervisorOptions | undefined, name: string, signal?: AbortSignal) {
    super();
    this.name = name;
    this.specs = specs;
    this.supervision = supervision;
    this.signal = signal;
    this.tree = this.makeTree();
  }

  /** The supervisor of this handle's actors (a new one after the tree was restarted by a parent). */
  get supervisor(): Supervisor {
    return this.tree;
  }

  private makeTree(): Supervisor {
    const tree = new Supervisor(this.specs, { name: this.name, ...this.supervision });
    for (const event of FORWARDED) {
      tree.on(event, (e: unknown) => this.emitUntyped(event, e));
    }
    tree.on('giveup', ({ error }) => {
      if (this.closing) return;
      if (this.parent) this.parent.childGaveUp(this as unknown as SupervisedHandle, error);
      else void this.fail(error);
    });
    return tree;
  }

  /** Starts the actors; on failure nothing is left running and the error is thrown. */
  protected async start(): Promise<this> {
    this.signal?.throwIfAborted();
    await this.tree.start();
    if (this.signal) {
      if (this.signal.aborted) {
        await this.close();
        this.signal.throwIfAborted();
      }
      this.signal.addEventListener('abort', this.onAbort, { once: true });
    }
    return this;
  }

  /**
   * Replaces the whole tree with a fresh supervisor and starts it: how a parent restarts
   * a tree that gave up. Iterators and state mirrors live on the handle and carry over.
   */
  async restartTree(): Promise<void> {
    if (this.closing) throw new ClosedError(this.name);
    await this.tree.shutdown();
    this.tree = this.makeTree();
    await this.tree.start();
  }

  /** Fails the handle for good: iterators end with `error`, 'failure' is emitted, everything is closed. */
  async fail(error: Error): Promise<void> {
    if (this.closing) return this.closing;
    this.onEnd(error);
    this.emitUntyped('failure', error);
    await this.shutdownWith(error);
  }

  /** Base-class emits of events every handle has (the generic map cannot be narrowed here). */
  private emitUntyped(event: string, payload: unknown): void {
    (this.emit as unknown as (e: string, p: unknown) => boolean)(event, payload);
  }

  get closed(): boolean {
    return this.closing !== undefined;
  }

  /** Every actor's state and restart count. */
  health(): ChildHealth[] {
    return this.tree.health();
  }

  /** Stops every actor (sockets closed, worker threads exited, ports free) and ends the iterators. Idempotent. */
  close(): Promise<void> {
    return this.shutdownWith(undefined);
  }

  private shutdownWith(error: Error | undefined): Promise<void> {
    this.closing ??= (async () => {
      this.signal?.removeEventListener('abort', this.onAbort);
      await this.tree.shutdown();
      this.onEnd(error ?? this.tree.failure);
    })();
    return this.closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /**
   * Shared-secret mode's rotation: hands every running actor the new keyring and returns
   * it; the caller keeps it for its actors' start arguments, so an actor (re)started later
   * gets it too. Throws InvalidOptionError when `current` is undefined: a handle
   * made without a secret cannot be switched to secret mode in place.
   */
  protected rekeyActors(current: KeyMaterial[] | undefined, secret: unknown): KeyMaterial[] {
    if (!current) throw new InvalidOptionError(`${this.name} was created without a secret: plain mode cannot be switched to secret mode in place`, { option: 'secret' });
    this.assertOpen(this.name);
    const keys = keysFromSecrets('secret', secret);
    for (const h of this.tree.health()) this.tree.actor(h.id)?.post({ type: 'rekey', keys });
    return keys;
  }

  /** End iterators: normally after close(), with the error after a failure. */
  protected abstract onEnd(error: Error | undefined): void;

  protected assertOpen(what: string): void {
    if (this.closing) throw new ClosedError(what);
  }
}

export function positiveInteger(name: string, value: unknown, fallback: number): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw new InvalidOptionError(`${name} must be a whole number >= 1, got ${quoted(v)}`, { option: name });
  }
  return v;
}

/**
 * Refuses a URL given for two roles of one handle (survey, pubsub, announce, join): each
 * role is a socket of its own protocol, so one address can never serve two. `roles` in
 * the options' order; the error names both options, the later one as its `option`.
 */
export function distinctRoles(roles: ReadonlyArray<readonly [name: string, urls: readonly string[]]>): void {
  for (const [i, [first, firstUrls]] of roles.entries()) {
    for (const [second, secondUrls] of roles.slice(i + 1)) {
      const shared = firstUrls.find((u) => secondUrls.includes(u));
      if (shared !== undefined) throw new InvalidOptionError(`${first} and ${second} must differ: both are ${JSON.stringify(shared)}`, { option: second });
    }
  }
}

export function urlList(name: string, value: string | string[] | undefined): string[] {
  const list = Array.isArray(value) ? value : value === undefined ? [] : [value];
  if (list.length === 0) throw new InvalidOptionError(`${name} is required`, { option: name });
  if (new Set(list).size !== list.length) throw new InvalidOptionError(`${name} lists the same URL twice`, { option: name });
  return list;
}
