/**
 * One run of one actor, seen from the main thread: the piscina task, the comlink control
 * proxy, the typed mailbox and the socket ledger. Knows when the actor is ready, when it
 * exits and why, and how to stop it gracefully or kill it. The supervisor restarts an
 * actor by making a new ActorRun; the test kit drives a single one.
 */
import { wrap, releaseProxy, type Remote } from 'comlink/dist/esm/comlink.mjs';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { MessageChannel, type MessagePort, type TransferListItem } from 'node:worker_threads';
import { ActorExitedError, ActorTimeoutError, deserializeError } from './errors.js';
import type { ActorArgs, ActorControl, ActorIn, ActorOut, ActorReport, ActorTask, Fault } from './actors/messages.js';
import { actorPool } from './pool.js';
import { SocketLedger } from './transport.js';

export type ExitReason =
  /** stop() was called and the actor ended cleanly. */
  | 'stopped'
  /** The actor's loop returned on its own. */
  | 'done'
  /** It never got ready (bind failed, bad URL...); `error` says why. */
  | 'start-failed'
  /** Its task rejected: uncaught exception, process.exit, a loop that threw. */
  | 'crashed'
  /** It stopped answering liveness checks and was terminated. */
  | 'hung'
  /** It was terminated on purpose (kill()). */
  | 'killed';

export interface ActorExit {
  reason: ExitReason;
  error?: Error;
  report?: ActorReport;
}

export interface ActorRunOptions {
  /** Bound on a blocking receive inside the actor: how late it notices stop() and messages. */
  sliceMs?: number;
  /** A pipe end to hand the actor at start (its sibling's other end). */
  pipe?: MessagePort;
}

export const DEFAULT_SLICE_MS = 50;

export class ActorRun<Out extends ActorOut = ActorOut> {
  readonly name: string;
  readonly args: ActorArgs;
  readonly ledger = new SocketLedger();
  readonly control: Remote<ActorControl>;
  /** Resolves once the actor's sockets are bound / connected; rejects if it exits first. */
  readonly ready: Promise<void>;
  /** Resolves exactly once, however the actor ends. */
  readonly exited: Promise<ActorExit>;
  readonly startedAt = Date.now();
  private readonly mailbox: MessagePort;
  private readonly controlPort: MessagePort;
  private readonly abort = new AbortController();
  private readonly listeners = new Set<(msg: Out) => void>();
  private killReason: ExitReason | undefined;
  private exit: ActorExit | undefined;
  private resolveExit!: (exit: ActorExit) => void;
  /**
   * Control calls waiting for an answer, failed at once if the actor exits. A set, not a
   * `.then` on `exited` per call: those reactions would pile up for as long as the actor
   * lives (a liveness ping a second, each holding its timer), a leak the soak test found.
   */
  private readonly pendingCalls = new Set<(exit: ActorExit) => void>();

  constructor(name: string, args: ActorArgs, options: ActorRunOptions = {}) {
    this.name = name;
    this.args = args;
    const control = new MessageChannel();
    const mailbox = new MessageChannel();
    this.controlPort = control.port1;
    this.mailbox = mailbox.port1;
    this.control = wrap<ActorControl>(nodeEndpoint(control.port1));
    this.exited = new Promise((resolve) => (this.resolveExit = resolve));

    let readyResolve!: () => void;
    let readyReject!: (e: Error) => void;
    this.ready = new Promise<void>((res, rej) => {
      readyResolve = res;
      readyReject = rej;
    });
    this.ready.catch(() => {}); // observed through exited as well
    this.mailbox.on('message', (msg: Out) => {
      if (msg.type === 'ready') readyResolve();
      for (const l of this.listeners) l(msg);
    });

    const task: ActorTask = {
      name,
      args,
      control: control.port2,
      mailbox: mailbox.port2,
      ledger: this.ledger.buffer,
      sliceMs: options.sliceMs ?? DEFAULT_SLICE_MS,
      ...(options.pipe ? { pipe: options.pipe } : {}),
    };
    const transferList: TransferListItem[] = [control.port2, mailbox.port2];
    if (options.pipe) transferList.push(options.pipe);

    // A worker that dies closes its ports: that is often the first sign of a crash.
    this.controlPort.once('close', () => {
      if (!this.exit) this.finish({ reason: this.killReason ?? 'crashed', error: new ActorExitedError(name, 'its worker thread ended') });
    });
    actorPool()
      .run(task, { transferList, signal: this.abort.signal })
      .then(
        (report: ActorReport) => {
          if (report.status === 'error') {
            const error = report.error ? deserializeError(report.error) : new ActorExitedError(name, 'failed to start');
            this.finish({ reason: 'start-failed', error, report });
          } else {
            this.finish({ reason: report.status === 'stopped' ? 'stopped' : 'done', report });
          }
        },
        (error: Error) => {
          const reason = this.killReason ?? 'crashed';
          this.finish({ reason, error: new ActorExitedError(name, `${reason}: ${error.message}`, { cause: error }) });
        },
      );
    void this.exited.then((exit) => readyReject(exit.error ?? new ActorExitedError(name, `${exit.reason} before it was ready`)));
  }

  /** Receives the actor's typed outbound messages. Returns an unsubscribe function. */
  onMessage(listener: (msg: Out) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Sends the actor a typed inbound message. */
  post(msg: ActorIn, transfer: TransferListItem[] = []): void {
    this.mailbox.postMessage(msg, transfer);
  }

  get hasExited(): boolean {
    return this.exit !== undefined;
  }

  /** A control call with a deadline that also fails at once if the actor exits. */
  async call<K extends keyof ActorControl>(
    method: K,
    timeoutMs: number,
    ...params: Parameters<ActorControl[K]>
  ): Promise<Awaited<ReturnType<ActorControl[K]>>> {
    if (this.exit) throw new ActorExitedError(this.name, this.exit.reason);
    let timer: NodeJS.Timeout | undefined;
    let onExit: ((exit: ActorExit) => void) | undefined;
    const fn = this.control[method] as unknown as (...a: unknown[]) => Promise<Awaited<ReturnType<ActorControl[K]>>>;
    try {
      return await Promise.race([
        fn(...params),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new ActorTimeoutError(this.name, method, timeoutMs)), timeoutMs);
          onExit = (exit) => reject(new ActorExitedError(this.name, exit.reason, { cause: exit.error }));
          this.pendingCalls.add(onExit);
        }),
      ]);
    } finally {
      clearTimeout(timer);
      if (onExit) this.pendingCalls.delete(onExit);
    }
  }

  ping(timeoutMs: number): Promise<number> {
    return this.call('ping', timeoutMs);
  }

  /** Makes the actor fail on purpose. Resolves once the fault is armed, or already struck (the reply can die with the worker). */
  async injectFault(fault: Fault, timeoutMs = 1000): Promise<void> {
    try {
      await this.call('injectFault', timeoutMs, fault);
    } catch (error) {
      if (!(error instanceof ActorExitedError)) throw error;
    }
  }

  /** Stops the actor gracefully within `timeoutMs`, else terminates it. Resolves when it has exited and its sockets are closed. */
  async stop(timeoutMs: number): Promise<ActorExit> {
    if (!this.exit) {
      try {
        await this.call('stop', timeoutMs);
      } catch {
        await this.kill('killed');
      }
    }
    return this.exited;
  }

  /** Terminates the actor's worker thread; its sockets are closed from here. */
  async kill(reason: ExitReason = 'killed'): Promise<ActorExit> {
    if (!this.exit) {
      this.killReason = reason;
      this.abort.abort(new ActorExitedError(this.name, reason));
    }
    return this.exited;
  }

  private finish(exit: ActorExit): void {
    if (this.exit) return;
    this.exit = exit;
    // The worker is gone or done with its sockets: whatever it left open is closed here,
    // so the port is free before anyone restarts the actor.
    this.ledger.closeAll();
    this.control[releaseProxy]();
    this.controlPort.close();
    this.mailbox.close();
    this.resolveExit(exit);
    for (const fail of this.pendingCalls) fail(exit);
    this.pendingCalls.clear();
  }
}
