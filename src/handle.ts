/**
 * What servers, clients and subscribers share: one supervisor that owns their actors,
 * closing (idempotent, also on an AbortSignal), and ending their iterators with the
 * supervisor's error when it gives up.
 */
import { EventEmitter } from 'node:events';
import { ClosedError, InvalidOptionError } from './errors.js';
import { type ChildHealth, type ChildSpec, Supervisor, type SupervisorOptions } from './supervisor.js';

export interface HandleEvents {
  /** The supervisor gave up (restart intensity exceeded): the handle is closed, its iterators end with this error. */
  failure: [Error];
}

export abstract class SupervisedHandle<Events extends Record<keyof Events, unknown[]> & HandleEvents> extends EventEmitter<
  Events & HandleEvents
> {
  readonly supervisor: Supervisor;
  private closing: Promise<void> | undefined;
  private readonly signal: AbortSignal | undefined;
  private readonly onAbort = () => void this.close();

  protected constructor(specs: ChildSpec[], supervision: SupervisorOptions | undefined, name: string, signal?: AbortSignal) {
    super();
    this.supervisor = new Supervisor(specs, { name, ...supervision });
    this.signal = signal;
    this.supervisor.on('giveup', ({ error }) => {
      this.onEnd(error);
      (this.emit as (e: 'failure', err: Error) => boolean)('failure', error);
      void this.close();
    });
  }

  /** Starts the actors; on failure nothing is left running and the error is thrown. */
  protected async start(): Promise<this> {
    this.signal?.throwIfAborted();
    await this.supervisor.start();
    if (this.signal) {
      if (this.signal.aborted) {
        await this.close();
        this.signal.throwIfAborted();
      }
      this.signal.addEventListener('abort', this.onAbort, { once: true });
    }
    return this;
  }

  get closed(): boolean {
    return this.closing !== undefined;
  }

  /** Every actor's state and restart count. */
  health(): ChildHealth[] {
    return this.supervisor.health();
  }

  /** Stops every actor (sockets closed, ports free) and ends the iterators. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.signal?.removeEventListener('abort', this.onAbort);
      await this.supervisor.shutdown();
      this.onEnd(this.supervisor.failure);
    })();
    return this.closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** End iterators: normally after close(), with the error after a give-up. */
  protected abstract onEnd(error: Error | undefined): void;

  protected assertOpen(what: string): void {
    if (this.closing) throw new ClosedError(what);
  }
}

export function positiveInteger(name: string, value: unknown, fallback: number): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw new InvalidOptionError(`${name} must be a whole number >= 1, got ${String(v)}`);
  }
  return v;
}

export function urlList(name: string, value: string | string[] | undefined): string[] {
  const list = Array.isArray(value) ? value : value === undefined ? [] : [value];
  if (list.length === 0) throw new InvalidOptionError(`${name} is required`);
  if (new Set(list).size !== list.length) throw new InvalidOptionError(`${name} lists the same URL twice`);
  return list;
}
