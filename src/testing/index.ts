/**
 * gopherdiscovery/testing — test kits: a fake discovery server that a service's own
 * clients and subscribers connect to (startFakeServer, see fake-server.ts), and the actor
 * test kit below.
 *
 * Start one actor alone (in its own worker thread, or inline in the test's thread), feed
 * it typed messages, observe its typed outputs, inject faults, and talk to it from a real
 * SP peer socket. This project's own actor tests are written with it.
 *
 *   const probe = await startActor('respondent', { urls: [url], service: 'svc' });
 *   const surveyor = PeerSocket.bind('surveyor', url).surveyDeadline(200);
 *   surveyor.send('');                       // a survey
 *   await surveyor.recv(1000);               // → <Buffer 73 76 63> ("svc")
 *   await probe.next('answered');            // → { type: 'answered', surveys: 1 }
 *   await probe.stop();
 */
/// <reference types="node" preserve="true" />
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { ActorRun, type ActorExit, type ThreadSharing } from '../actor-run.js';
import type { ActorArgs, ActorKind, ActorMessages, ActorReport, Fault, PipeMessage } from '../actors/messages.js';

export { PeerSocket } from './peer-socket.js';
export { startFakeServer, FakeServer, type FakeServerOptions, type SurveyResult } from './fake-server.js';
export { assertPortFree, freePort, tcpPair, ipcPair, inprocPair, type EndpointPair } from './endpoints.js';
export type { ActorExit, ExitReason } from '../actor-run.js';
export type * from '../actors/messages.js';
export { closeActorPool, actorThreadCount } from '../pool.js';
/** The member-list wire format (names joined by '|'), for peers a test drives by hand. */
export { encodeMembers, decodeMembers } from '../protocol.js';

export interface StartActorOptions {
  /**
   * Run in the test's own thread instead of a worker. Only the 'reject' fault can then be
   * injected, and each blocking receive holds the thread for up to sliceMs: give a small
   * sliceMs when a peer socket in the same thread must answer in time. Default false, but
   * true for a respondent or subscriber waiting on readiness with sharedThreads 'main'.
   */
  inline?: boolean;
  /** Bound on one blocking receive inside the actor. Default 50 ms (2 ms inline). */
  sliceMs?: number;
  /** A respondent or subscriber waits on its socket's readiness instead of receiving in slices of sliceMs. Default true. */
  waitOnReadiness?: boolean;
  /** Share a thread with other such actors (SupervisorOptions.sharedThreads: 'clients', 'main', 'all', true, ...). Default false: a worker thread of its own. */
  sharedThreads?: ThreadSharing | boolean;
  /** Give the actor a sibling pipe (surveyor / publisher) whose other end is `probe.pipe`. Default: for those two kinds. */
  pipe?: boolean;
  /** Deadline for the actor to become ready. Default 10,000 ms. */
  readyTimeoutMs?: number;
  name?: string;
}

type Out<K extends ActorKind> = ActorMessages[K]['out'];

/** The far end of an actor's sibling pipe: what a surveyor hands its publisher, or what a publisher receives. */
export class PipeEnd {
  readonly received: PipeMessage[] = [];
  private cursor = 0;
  private waiters: Array<() => void> = [];
  constructor(readonly port: MessagePort) {
    port.on('message', (m: PipeMessage) => {
      this.received.push(m);
      for (const w of this.waiters.splice(0)) w();
    });
  }
  send(msg: PipeMessage): void {
    this.port.postMessage(msg);
  }
  /** The next message on the pipe (matching `where`) after the last one next() returned. */
  async next(options: { where?: (m: PipeMessage) => boolean; timeoutMs?: number } = {}): Promise<PipeMessage> {
    return waitFor(
      () => {
        while (this.cursor < this.received.length) {
          const m = this.received[this.cursor++]!;
          if (!options.where || options.where(m)) return m;
        }
        return undefined;
      },
      (w) => this.waiters.push(w),
      options.timeoutMs ?? 5000,
      'a pipe message',
    );
  }
  close(): void {
    this.port.close();
  }
}

/** One actor under test. */
export class ActorProbe<K extends ActorKind> {
  /** Every message the actor sent, in order. */
  readonly outputs: Out<K>[] = [];
  readonly pipe: PipeEnd | undefined;
  private cursor = 0;
  private waiters: Array<() => void> = [];

  constructor(readonly kind: K, readonly run: ActorRun<Out<K>>, pipe: PipeEnd | undefined) {
    this.pipe = pipe;
    run.onMessage((m) => {
      this.outputs.push(m);
      for (const w of this.waiters.splice(0)) w();
    });
  }

  get name(): string {
    return this.run.name;
  }

  /**
   * The next output of type `type` (matching `where`) after the last one next() returned;
   * outputs that arrived before the call count, so nothing is missed between calls.
   */
  async next<T extends Out<K>['type']>(
    type: T,
    options: { where?: (m: Extract<Out<K>, { type: T }>) => boolean; timeoutMs?: number } = {},
  ): Promise<Extract<Out<K>, { type: T }>> {
    const match = (m: Out<K>) => m.type === type && (!options.where || options.where(m as Extract<Out<K>, { type: T }>));
    return waitFor(
      () => {
        for (let i = this.cursor; i < this.outputs.length; i++) {
          if (match(this.outputs[i]!)) {
            this.cursor = i + 1;
            return this.outputs[i] as Extract<Out<K>, { type: T }>;
          }
        }
        return undefined;
      },
      (w) => this.waiters.push(w),
      options.timeoutMs ?? 5000,
      `a '${type}' message from ${this.name}`,
    );
  }

  /** Sends the actor a typed inbound message (with a MessagePort to transfer, if it carries one). */
  send(msg: ActorMessages[K]['in']): void {
    const m = msg as { port?: MessagePort };
    this.run.post(msg, m.port ? [m.port] : []);
  }

  status(timeoutMs = 2000): Promise<ActorReport> {
    return this.run.call('status', timeoutMs);
  }

  injectFault(fault: Fault): Promise<void> {
    return this.run.injectFault(fault);
  }

  /** Resolves with how the actor ended. */
  get exited(): Promise<ActorExit> {
    return this.run.exited;
  }

  /** Stops the actor (terminating it after timeoutMs) and closes its sockets. */
  async stop(timeoutMs = 2000): Promise<ActorExit> {
    const exit = await this.run.stop(timeoutMs);
    this.pipe?.close();
    return exit;
  }
}

/**
 * Starts one actor alone and waits until it is ready (its sockets bound or dialled).
 * Rejects with the actor's own error (e.g. a SocketError with code EADDRINUSE) if it
 * cannot start.
 */
export async function startActor<K extends ActorKind>(
  kind: K,
  args: Omit<ActorMessages[K]['args'], 'kind'>,
  options: StartActorOptions = {},
): Promise<ActorProbe<K>> {
  const wantsPipe = options.pipe ?? (kind === 'surveyor' || kind === 'publisher');
  const channel = wantsPipe ? new MessageChannel() : undefined;
  const run = new ActorRun<Out<K>>(options.name ?? `test/${kind}`, { ...args, kind } as ActorArgs, {
    sliceMs: options.sliceMs ?? (options.inline ? 2 : 50),
    waitOnReadiness: options.waitOnReadiness ?? true,
    sharedThreads: options.sharedThreads ?? false,
    ...(channel ? { pipe: channel.port1 } : {}),
    // Unset: inline only when it shares the main thread (sharedThreads 'main').
    ...(options.inline !== undefined ? { inline: options.inline } : {}),
  });
  const probe = new ActorProbe(kind, run, channel ? new PipeEnd(channel.port2) : undefined);
  const timeoutMs = options.readyTimeoutMs ?? 10_000;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      run.ready,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${run.name} not ready within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } catch (error) {
    await run.kill();
    probe.pipe?.close();
    throw error;
  } finally {
    clearTimeout(timer);
  }
  return probe;
}

function waitFor<T>(poll: () => T | undefined, onChange: (wake: () => void) => void, timeoutMs: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
    const check = () => {
      const v = poll();
      if (v !== undefined) {
        clearTimeout(timer);
        resolve(v);
      } else {
        onChange(check);
      }
    };
    check();
  });
}
