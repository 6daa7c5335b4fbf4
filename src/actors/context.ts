/**
 * The effects side of an actor, inside its worker thread: its mailbox and pipe ports,
 * its socket ledger, its stop flag and injected faults, the readiness waits that let an
 * idle actor sleep on its socket without polling, and the cooperative yields that let the
 * worker's event loop serve control calls between blocking receives.
 */
import type { MessagePort } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { SocketLedger } from '../socket-ledger.js';
import type { NnSocket } from '../transport.js';
import type { ActorIn, ActorKind, ActorOut, ActorReport, ActorStatus, ActorTask, Fault, PipeMessage, PongMessage } from './messages.js';

/** Thrown inside an actor's loop when the 'reject' fault was injected. */
export class InjectedFault extends Error {
  readonly code = 'ERR_INJECTED_FAULT';
  constructor(fault: Fault) {
    super(`injected fault: ${fault}`);
    this.name = 'InjectedFault';
  }
}

export class ActorContext<Out extends ActorOut = ActorOut> {
  readonly name: string;
  readonly kind: ActorKind;
  readonly sliceMs: number;
  readonly waitOnReadiness: boolean;
  readonly ledger: SocketLedger;
  status: ActorStatus = 'active';
  ready = false;
  readonly stats: Record<string, number> = {};

  private readonly mailbox: MessagePort;
  private pipe: MessagePort | undefined;
  private pipeHandler: ((msg: PipeMessage) => void) | undefined;
  private stopRequested = false;
  private fault: InjectedFault | undefined;
  private wake: (() => void) | undefined;
  private lastYield = performance.now();
  private readonly stopWaiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];

  constructor(task: ActorTask) {
    this.name = task.name;
    this.kind = task.args.kind;
    this.sliceMs = task.sliceMs;
    this.waitOnReadiness = task.waitOnReadiness;
    this.ledger = new SocketLedger(task.ledger);
    this.mailbox = task.mailbox;
    this.pipe = task.pipe;
    this.mailbox.on('message', (msg: { type: string; port?: MessagePort }) => {
      if (msg.type === 'attach-pipe' && msg.port) this.attachPipe(msg.port);
      // Liveness (src/liveness.ts): answered here, by the thread's event loop, whatever the actor is doing.
      else if (msg.type === 'ping') this.mailbox.postMessage({ type: 'pong' } satisfies PongMessage);
      else this.inboxHandler?.(msg as ActorIn);
    });
  }

  get stopping(): boolean {
    return this.stopRequested;
  }

  /** Sends a typed message to the supervisor. */
  emit(msg: Out): void {
    this.mailbox.postMessage(msg);
  }

  markReady(): void {
    this.ready = true;
    this.emit({ type: 'ready', sockets: this.ledger.ids() } as Out);
  }

  count(stat: string, n = 1): void {
    this.stats[stat] = (this.stats[stat] ?? 0) + n;
  }

  private inboxHandler: ((msg: ActorIn) => void) | undefined;

  /** Receives the typed inbound messages from the supervisor (other than attach-pipe). */
  onInbox(handler: (msg: ActorIn) => void): void {
    this.inboxHandler = handler;
  }

  // ------------------------------------------------------------ sibling pipe

  onPipe(handler: (msg: PipeMessage) => void): void {
    this.pipeHandler = handler;
    this.pipe?.on('message', handler);
  }

  /** Called with each newly attached pipe, e.g. to send the sibling the current state. */
  onPipeAttached: (() => void) | undefined;

  private attachPipe(port: MessagePort): void {
    this.pipe?.close();
    this.pipe = port;
    if (this.pipeHandler) port.on('message', this.pipeHandler);
    this.onPipeAttached?.();
  }

  get hasPipe(): boolean {
    return this.pipe !== undefined;
  }

  sendPipe(msg: PipeMessage): void {
    this.pipe?.postMessage(msg);
  }

  // ------------------------------------------------------------ scheduling

  /** Throws the injected 'reject' fault, if any: the loop dies and the task rejects. */
  check(): void {
    if (this.fault) throw this.fault;
  }

  /** Lets the event loop run (control calls, mailbox) at most every sliceMs of busy work. */
  async maybeYield(): Promise<void> {
    const now = performance.now();
    if (now - this.lastYield < Math.min(5, this.sliceMs)) return;
    await this.yield();
  }

  async yield(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.lastYield = performance.now();
    this.check();
  }

  /** Sleeps up to `ms`; returns early (false) when stop() was called. */
  async sleep(ms: number): Promise<boolean> {
    if (this.stopRequested) return false;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
    });
    this.lastYield = performance.now();
    this.check();
    return !this.stopRequested;
  }

  /** Resolves when stop() is called; rejects when the 'reject' fault is injected. For event-driven actors. */
  untilStopped(): Promise<void> {
    if (this.stopRequested) return Promise.resolve();
    if (this.fault) return Promise.reject(this.fault);
    return new Promise((resolve, reject) => this.stopWaiters.push({ resolve, reject }));
  }

  // ------------------------------------------------------------ readiness

  /**
   * One receive of a loop that waits for messages; null when none came (the loop then
   * checks its stop flag and calls again). With waitOnReadiness (the default), a
   * non-blocking receive and, when nothing is queued, a wait on the socket's readiness
   * (readable()): the thread does not run at rest. In slices (`waitOnReadiness: false`), a
   * blocking receive of at most sliceMs, then a turn of the event loop for control calls:
   * the thread wakes every sliceMs. `withinMs`: null after at most this long (ms; default
   * no limit), for a loop that has something else to do at a time of its own.
   */
  async receive(socket: NnSocket, withinMs = Infinity): Promise<Buffer | null> {
    if (!this.waitOnReadiness) {
      const data = socket.recv(Math.max(0, Math.min(this.sliceMs, withinMs)));
      if (!data) await this.yield();
      return data;
    }
    const data = socket.recvNow();
    if (!data) await this.readable(socket, withinMs);
    return data;
  }

  /**
   * Waits, without polling, until `socket` has a message to receive, or `withinMs` have
   * passed (default: no limit), or stop() is called, or the 'reject' fault is injected
   * (then it throws). The watch runs on this thread's own event loop
   * (NnSocket.whenReadable): nothing in this thread runs meanwhile — a neighbour actor on
   * the same thread included —, control calls (liveness pings, stop) are served at once,
   * and no other thread is involved. Call it only after a non-blocking receive found
   * nothing: the watch fires only for messages still queued. Closing the socket ends its watch.
   * Several sockets: until any one of them has a message (the others' watches are dropped).
   */
  async readable(socket: NnSocket | readonly NnSocket[], withinMs = Infinity): Promise<void> {
    this.check();
    if (this.stopRequested) return;
    const sockets = Array.isArray(socket) ? (socket as readonly NnSocket[]) : [socket as NnSocket];
    const cancels: Array<() => void> = [];
    const cancel = () => cancels.forEach((c) => c());
    let timer: NodeJS.Timeout | undefined;
    try {
      const readable = await new Promise<boolean>((resolve) => {
        // Woken by stop() or a fault, or out of time: the watch is dropped either way.
        const giveUp = () => {
          cancel();
          resolve(false);
        };
        this.wake = giveUp;
        if (withinMs !== Infinity) timer = setTimeout(giveUp, Math.max(0, withinMs));
        for (const s of sockets) {
          cancels.push(
            s.whenReadable(() => {
              cancel();
              resolve(true);
            }),
          );
        }
      });
      // How often the actor was woken to receive: at rest it stays put (test/idle-actors.test.ts).
      if (readable) this.count('wakeups');
    } finally {
      clearTimeout(timer);
      this.wake = undefined;
    }
    this.lastYield = performance.now();
    this.check();
  }

  // ------------------------------------------------------------ control

  requestStop(): void {
    this.stopRequested = true;
    this.wake?.();
    for (const w of this.stopWaiters.splice(0)) w.resolve();
  }

  inject(fault: Fault): void {
    switch (fault) {
      case 'throw':
        setImmediate(() => {
          throw new InjectedFault('throw');
        });
        return;
      case 'exit':
        setImmediate(() => process.exit(1));
        return;
      case 'hang':
        // Block the thread without burning CPU; only termination ends it.
        setImmediate(() => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0));
        return;
      case 'reject':
        this.fault = new InjectedFault('reject');
        this.wake?.();
        for (const w of this.stopWaiters.splice(0)) w.reject(this.fault);
        return;
    }
  }

  report(): ActorReport {
    return { name: this.name, kind: this.kind, status: this.status, sockets: this.ledger.ids(), stats: { ...this.stats } };
  }

  closePorts(): void {
    this.pipe?.close();
  }
}
