/**
 * One run of one actor, seen from the main thread: the piscina task, the comlink control
 * proxy, the typed mailbox and the socket ledger. Knows when the actor is ready, when it exits and why, and how to stop
 * it gracefully or kill it. The supervisor restarts an actor by making a new ActorRun;
 * the test kit drives a single one.
 */
import { performance } from 'node:perf_hooks';
import { wrap, releaseProxy, type Endpoint, type Remote } from 'comlink/dist/esm/comlink.mjs';
import { MessageChannel, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { ActorExitedError, ActorTimeoutError, InvalidOptionError, deserializeError } from './errors.js';
import type { ActorArgs, ActorControl, ActorIn, ActorOut, ActorReport, ActorTask, Fault, HostedMessage, PingMessage, PongMessage } from './actors/messages.js';
import { actorPoolFor, terminateActorThread, threadEnding, type ActorPool } from './pool.js';
import { SocketLedger } from './socket-ledger.js';

/**
 * What a message to an actor may transfer: its ports (and buffers). Our own name rather than
 * @types/node's TransferListItem, which @types/node 26 no longer exports: a public
 * declaration naming it failed a user's strict type check with the newer types.
 */
export type ActorTransfer = MessagePort | ArrayBuffer;

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
  /** Respondents and subscribers wait on readiness instead of receiving in slices (SupervisorOptions.waitOnReadiness). Default true. */
  waitOnReadiness?: boolean;
  /**
   * Which actors share a worker thread with other actors that do not block theirs
   * (SupervisorOptions.sharedThreads; `true` is 'all', `false` is 'none'). Default 'none'
   * here: a thread of its own (kept in the pool for reuse after it exits); supervisors
   * pass their own default, 'clients'.
   */
  sharedThreads?: ThreadSharing | boolean;
  /** A pipe end to hand the actor at start (its sibling's other end). */
  pipe?: MessagePort;
  /** The pool whose thread hosts it; default the process-wide pool. */
  pool?: ActorPool;
  /**
   * Run the actor in this very thread instead of a worker (the test kit's inline mode;
   * sharedThreads 'main' for respondents and subscribers waiting on readiness): its
   * blocking receives then hold this thread for up to sliceMs at a time, and only the
   * 'reject' fault can be injected (the others would kill or hang this thread).
   * Default: true for an actor that shares the main thread ('main'), else false.
   */
  inline?: boolean;
}

export const DEFAULT_SLICE_MS = 50;

/**
 * Whether an actor holds its thread while it waits, so that it must not share one: the
 * surveyor blocks within a round, and an actor receiving in slices blocks up to sliceMs
 * per receive. The publisher only waits on its pipe and timers; respondents and
 * subscribers that wait on readiness hold no thread while they wait.
 */
export function blocksItsThread(args: ActorArgs, waitOnReadiness: boolean): boolean {
  if (args.kind === 'surveyor') return true;
  if (args.kind === 'publisher') return false;
  return !waitOnReadiness;
}

/**
 * Which actors share threads (README "How actors map to threads"): 'clients' — the
 * client side (respondents, subscribers), many to a process and all alike, share worker
 * threads; 'main' — they run on the main thread's event loop instead, with no worker
 * thread at all; 'all' — the publisher shares worker threads too; 'none' — every actor on
 * a worker thread of its own. An actor that blocks its thread never shares one, whatever
 * the setting.
 */
export type ThreadSharing = 'none' | 'clients' | 'main' | 'all';

export const THREAD_SHARING: readonly ThreadSharing[] = ['none', 'clients', 'main', 'all'];

/** The sharedThreads option as one of THREAD_SHARING: `true` is 'all' (its meaning before 'clients' existed), `false` 'none'. */
export function threadSharing(option: ThreadSharing | boolean): ThreadSharing {
  return option === true ? 'all' : option === false ? 'none' : option;
}

/**
 * Whether this actor is co-hosted (shares its worker thread) under `sharing`. The
 * server-side actors keep a thread each under 'clients': there are one or two per process,
 * the surveyor is heavy at 10,000 members, and a hung publisher must not stall the
 * respondents of the clients in its process (the server would drop them).
 */
export function sharesThread(args: ActorArgs, sharing: ThreadSharing, waitOnReadiness: boolean): boolean {
  if (sharing === 'none' || blocksItsThread(args, waitOnReadiness)) return false;
  // 'main' shares one thread too: the main thread, among the clients' actors and the host's own code.
  return sharing === 'all' || args.kind === 'respondent' || args.kind === 'subscriber';
}

type MessageHandler = Parameters<Endpoint['addEventListener']>[1];

/**
 * comlink's endpoint over the main thread's end of an actor's control port, which lets go
 * of the port once the actor has exited. comlink registers every proxy it makes (one per
 * control call) in a FinalizationRegistry whose held value is the endpoint, so an endpoint
 * outlives its actor until that registry's cleanup has run after a collection; comlink's
 * own node adapter would keep the MessagePort — and through its listeners the whole
 * ActorRun — alive with it (test/actor-run-release.test.ts).
 */
class ControlEndpoint implements Endpoint {
  private port: MessagePort | undefined;
  private readonly handlers = new Map<MessageHandler, (data: unknown) => void>();

  constructor(port: MessagePort) {
    this.port = port;
  }

  postMessage(message: unknown, transfer: ActorTransfer[] = []): void {
    this.port?.postMessage(message, transfer);
  }

  addEventListener(_type: string, handler: MessageHandler): void {
    if (!this.port || this.handlers.has(handler)) return;
    const listener = (data: unknown) => {
      const event = { data } as MessageEvent;
      if (typeof handler === 'function') handler(event);
      else handler.handleEvent(event);
    };
    this.handlers.set(handler, listener);
    this.port.on('message', listener);
  }

  removeEventListener(_type: string, handler: MessageHandler): void {
    const listener = this.handlers.get(handler);
    if (!listener) return;
    this.handlers.delete(handler);
    this.port?.off('message', listener);
  }

  /** Drops the port and every listener: what comlink's registry still holds is this empty shell. */
  detach(): void {
    for (const listener of this.handlers.values()) this.port?.off('message', listener);
    this.handlers.clear();
    this.port = undefined;
  }
}

/**
 * Co-hosted actors are handed to the pool one at a time: each once the one before has
 * said which thread it runs on (or has exited). piscina starts a new thread for every task
 * it finds queued, so a burst of starts (clients created together, the restarts after a
 * shared thread died) would otherwise start a thread each, instead of joining the first.
 */
let placing: Promise<void> = Promise.resolve();

function placeInTurn<T>(placed: Promise<void>, start: () => Promise<T>): Promise<T> {
  const turn = placing;
  placing = placed;
  return turn.then(start);
}

/** How long a dead actor's thread may take to go away before its sockets are closed regardless. */
const THREAD_EXIT_WAIT_MS = 5_000;

/**
 * Closes the sockets a dead actor left open. nanomsg is loaded into this thread only now
 * (src/socket-ledger.ts); if it cannot load here, no actor of this process could have
 * opened a socket with it either.
 */
async function closeLeftovers(ledger: SocketLedger): Promise<void> {
  try {
    (await import('./transport.js')).closeLeftovers(ledger);
  } catch {}
}

export class ActorRun<Out extends ActorOut = ActorOut> {
  readonly name: string;
  readonly args: ActorArgs;
  readonly ledger = new SocketLedger();
  private readonly control: Remote<ActorControl>;
  /** Resolves once the actor's sockets are bound / connected; rejects if it exits first. */
  readonly ready: Promise<void>;
  /** Resolves exactly once, however the actor ends. */
  readonly exited: Promise<ActorExit>;
  /** When this run started, in ms on performance.now()'s clock (for durations, not display). */
  readonly startedAt = performance.now();
  private readonly mailbox: MessagePort;
  private readonly controlPort: MessagePort;
  private readonly controlEndpoint: ControlEndpoint;
  private readonly abort = new AbortController();
  private readonly listeners = new Set<(msg: Out) => void>();
  private killReason: ExitReason | undefined;
  private readonly threadGone: Promise<void>;
  private readonly dispatch: (msg: Out | HostedMessage | PongMessage) => void;
  /** When the last message from the actor arrived (heardAt). */
  private lastHeard = performance.now();
  /** Runs in this thread (test kit) rather than in a worker. */
  readonly inline: boolean;
  /** Shares its worker thread with other actors (src/pool.ts); a kill then ends them too. */
  readonly cohosted: boolean;
  private readonly pool: ActorPool | undefined;
  private thread: number | undefined;
  /** Resolves once it runs on a thread, or has exited. */
  private placed!: () => void;
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
    this.controlEndpoint = new ControlEndpoint(control.port1);
    this.control = wrap<ActorControl>(this.controlEndpoint);
    this.exited = new Promise((resolve) => (this.resolveExit = resolve));

    let readyResolve!: () => void;
    let readyReject!: (e: Error) => void;
    this.ready = new Promise<void>((res, rej) => {
      readyResolve = res;
      readyReject = rej;
    });
    this.ready.catch(() => {}); // observed through exited as well
    this.dispatch = (msg: Out | HostedMessage | PongMessage) => {
      // Any message proves the actor's thread ran JavaScript when it sent it (src/liveness.ts).
      this.lastHeard = performance.now();
      if (msg.type === 'pong') return;
      if (msg.type === 'hosted') return this.onHosted(msg.threadId);
      if (msg.type === 'ready') readyResolve();
      for (const l of this.listeners) l(msg);
    };
    this.mailbox.on('message', this.dispatch);

    const task: ActorTask = {
      name,
      args,
      control: control.port2,
      mailbox: mailbox.port2,
      ledger: this.ledger.buffer,
      sliceMs: options.sliceMs ?? DEFAULT_SLICE_MS,
      waitOnReadiness: options.waitOnReadiness ?? true,
      ...(options.pipe ? { pipe: options.pipe } : {}),
    };
    const transferList: ActorTransfer[] = [control.port2, mailbox.port2];
    if (options.pipe) transferList.push(options.pipe);

    // A worker that dies closes its ports: that is often the first sign of a crash.
    // The port closes only when the thread is torn down, so it also tells when the dead
    // thread can no longer touch its sockets.
    this.threadGone = new Promise<void>((resolve) => this.controlPort.once('close', resolve));
    void this.threadGone.then(() => {
      // Before it exited: its thread died. Keep restarts off it until piscina has removed it.
      if (!this.exit && this.thread !== undefined) threadEnding(this.thread);
      if (!this.exit) this.finish({ reason: this.killReason ?? 'crashed', error: new ActorExitedError(name, 'its worker thread ended') });
    });
    const sharing = threadSharing(options.sharedThreads ?? 'none');
    const shares = sharesThread(args, sharing, task.waitOnReadiness);
    this.inline = options.inline ?? (sharing === 'main' && shares);
    this.cohosted = !this.inline && shares;
    this.pool = this.inline ? undefined : (options.pool ?? actorPoolFor(args.kind));
    // An actor alone on its thread is an abortable task: aborting it terminates the thread
    // (piscina). A co-hosted one carries no signal (piscina would not share its thread);
    // kill() terminates the thread it reported in 'hosted'.
    const pool = this.pool;
    const placed = new Promise<void>((resolve) => (this.placed = resolve));
    const running: Promise<ActorReport> = !pool
      ? // Loaded on first use: a process whose actors all run on worker threads never loads
        // the actors' code (nor nanomsg) into its main thread (README "At rest").
        new Promise<void>((resolve) => setImmediate(resolve))
          .then(() => import('./actors/worker.js'))
          .then(({ default: runActorTask }) => runActorTask(task))
      : this.cohosted
        ? placeInTurn(placed, () =>
            // Killed while waiting its turn: it never starts (no thread to terminate).
            this.killReason === undefined ? pool.run(task, { transferList }) : Promise.reject(new ActorExitedError(name, 'killed before it started')),
          )
        : pool.run(task, { transferList, signal: this.abort.signal });
    running.then(
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
  post(msg: ActorIn, transfer: ActorTransfer[] = []): void {
    this.mailbox.postMessage(msg, transfer);
  }

  /** The worker thread (threadId) running it, once it has started there; undefined inline and after it exited. */
  get threadId(): number | undefined {
    return this.exit ? undefined : this.thread;
  }

  /**
   * When the last message from the actor (any: its typed messages, 'hosted', a liveness
   * pong) arrived here, in ms on performance.now()'s clock: the evidence that its thread's
   * event loop runs, read by the liveness watch (src/liveness.ts). Its start until then.
   */
  get heardAt(): number {
    return this.lastHeard;
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

  /** A control call answered with the worker's clock (ms): a round trip through comlink, bounded by `timeoutMs`. */
  ping(timeoutMs: number): Promise<number> {
    return this.call('ping', timeoutMs);
  }

  /**
   * The supervisors' liveness ping (src/liveness.ts): one bare message on the mailbox,
   * answered by the actor's thread with a pong that only moves `heardAt`. No-op once exited.
   */
  sendPing(): void {
    if (!this.exit) this.mailbox.postMessage({ type: 'ping' } satisfies PingMessage);
  }

  /** Makes the actor fail on purpose. Resolves once the fault is armed, or already struck (the reply can die with the worker). */
  async injectFault(fault: Fault, timeoutMs = 1000): Promise<void> {
    if (this.inline && fault !== 'reject') {
      throw new InvalidOptionError(`an inline actor runs in this thread: only the 'reject' fault can be injected, not '${fault}'`);
    }
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

  /** Terminates the actor's worker thread (and so every actor it shares it with); its sockets are closed from here. */
  async kill(reason: ExitReason = 'killed'): Promise<ActorExit> {
    if (this.inline) {
      // No thread to terminate: ask it to stop, as fast as a slice allows.
      if (!this.exit) void this.call('stop', 60_000).catch(() => {});
      return this.exited;
    }
    if (!this.exit && this.killReason === undefined) {
      this.killReason = reason;
      if (!this.cohosted) this.abort.abort(new ActorExitedError(this.name, reason));
      else if (this.thread !== undefined) terminateActorThread(this.thread, this.pool);
      // else: still queued for a thread; it is terminated as soon as it says where it runs.
    }
    return this.exited;
  }

  private onHosted(threadId: number): void {
    if (this.inline) return;
    this.thread = threadId;
    this.placed();
    if (this.cohosted && this.killReason !== undefined && !this.exit) terminateActorThread(threadId, this.pool);
  }

  private finish(exit: ActorExit): void {
    if (this.exit) return;
    this.exit = exit;
    this.placed();
    void this.release(exit);
  }

  private async release(exit: ActorExit): Promise<void> {
    // A loop that threw closed its own sockets (its thread lives on in the pool); only a
    // thread that died with sockets recorded in the ledger needs waiting for.
    const died = exit.reason === 'crashed' || exit.reason === 'hung' || exit.reason === 'killed';
    if (died && !this.inline && this.ledger.ids().length > 0) {
      // piscina settles a task as soon as its worker errors or is told to terminate; the
      // thread may run on for a moment. Its sockets are closed only once it is gone:
      // nanomsg reuses socket ids, and a thread still running could otherwise touch the
      // socket of the actor restarted in its place.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.threadGone, new Promise<void>((r) => (timer = setTimeout(r, THREAD_EXIT_WAIT_MS)))]);
      clearTimeout(timer);
    }
    // Messages the actor sent just before it ended (a round's result...) still count.
    for (let m = receiveMessageOnPort(this.mailbox); m; m = receiveMessageOnPort(this.mailbox)) this.dispatch(m.message as Out);
    // Whatever the actor left open is closed here, so its port is free before anyone restarts it.
    if (this.ledger.ids().length > 0) await closeLeftovers(this.ledger);
    this.control[releaseProxy]();
    this.controlEndpoint.detach();
    this.controlPort.close();
    this.mailbox.close();
    this.resolveExit(exit);
    for (const fail of this.pendingCalls) fail(exit);
    this.pendingCalls.clear();
  }
}
