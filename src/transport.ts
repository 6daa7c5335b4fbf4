/**
 * A small typed wrapper over the `nanomsg` package's raw bindings.
 *
 * The package's JS `Socket` class polls on the main thread's libuv loop and aborts the
 * process when used from a worker, so actors use the bindings directly: non-blocking
 * receives, woken by this package's readiness watcher on the calling thread's own loop
 * (`NnSocket.whenReadable`, native/readiness.c), or blocking calls bounded by NN_RCVTIMEO /
 * NN_SNDTIMEO.
 */
import { createRequire } from 'node:module';
import { NativeBuildMissingError, SocketError } from './errors.js';
import type { SocketLedger } from './socket-ledger.js';
import { packagePath } from './package-root.js';

interface NanomsgBindings {
  Socket(domain: number, protocol: number): number;
  Close(s: number): number;
  Setopt(s: number, level: number, option: number, value: number): number;
  Getopt(s: number, level: number, option: number): number | undefined;
  Chan(s: number, option: number, topic: string): number;
  Bind(s: number, url: string): number;
  Connect(s: number, url: string): number;
  Shutdown(s: number, endpoint: number): number;
  Send(s: number, data: Uint8Array | string, flags: number): number;
  Recv(s: number, flags: number): Buffer | number;
  Errno(): number;
  Err(): string;
  [constant: string]: unknown;
}

/**
 * This package's readiness watcher (native/readiness.c, built by its install script): a
 * uv_poll over a descriptor on the loop of the thread that calls it. See whenReadable.
 */
interface ReadinessBindings {
  /** A watch over `fd`, not yet armed; `onReadable(status)` gets 0, or a negative libuv error. */
  open(fd: number, onReadable: (status: number) => void): ReadinessWatch;
  /** One-shot: onReadable is called once, on this thread's loop, when fd is readable. */
  arm(watch: ReadinessWatch): void;
  disarm(watch: ReadinessWatch): void;
  /** Stops and releases the poll (and its duplicate of the descriptor); idempotent. */
  close(watch: ReadinessWatch): void;
  /** Finds nn_get_statistic in nanomsg's addon at `path`, already loaded (RTLD_NOLOAD); throws Error code ERR_STATISTICS. */
  bindStatistics(path: string): true;
  /** nn_get_statistic(socket, statistic); -1 when nanomsg refuses (not a socket). */
  statistic(socket: number, statistic: number): number;
}

/** One uv_poll in the readiness addon, opaque to JS. */
type ReadinessWatch = { readonly __readinessWatch: unique symbol };

const require = createRequire(import.meta.url);
const readiness = loadReadiness();
const nn = loadBindings(readiness instanceof NativeBuildMissingError);

/**
 * nanomsg's JS module loads its compiled addon on require. When the addon's build was
 * skipped (`npm install --ignore-scripts`, pnpm 10's default) or targets another Node.js,
 * that throws "Could not locate the bindings file" / "NODE_MODULE_VERSION": importing this
 * library must still work, so the failure becomes bindings whose every member is a
 * function throwing NativeBuildMissingError (with the fix). The first socket call
 * (nn.Socket, in NnSocket.open) throws it, naming this package's addon too when it is
 * missing as well; the constants read below are then unused.
 */
function loadBindings(readinessMissing: boolean): NanomsgBindings {
  try {
    return (require('nanomsg') as { _bindings: NanomsgBindings })._bindings;
  } catch (cause) {
    if (!/Could not locate the bindings file|NODE_MODULE_VERSION/.test(String((cause as Error | undefined)?.message))) throw cause;
    const missing = () => {
      // Both missing (--ignore-scripts): one message names both fixes.
      throw new NativeBuildMissingError({ cause, addon: readinessMissing ? 'both' : 'nanomsg' });
    };
    return new Proxy({} as NanomsgBindings, { get: () => missing });
  }
}

/**
 * The readiness addon, or the NativeBuildMissingError that opening a socket throws when it
 * was not built (`npm install --ignore-scripts`, another Node.js). node-gyp builds it in
 * build/ at the package root, found from the root (src/package-root.ts): built, this code
 * sits in a bundle chunk, not one level below the root.
 */
function loadReadiness(): ReadinessBindings | NativeBuildMissingError {
  try {
    return require(packagePath('build/Release/readiness.node')) as ReadinessBindings;
  } catch (cause) {
    if (!/Cannot find module|NODE_MODULE_VERSION|invalid ELF|wrong ELF/.test(String((cause as Error | undefined)?.message))) throw cause;
    return new NativeBuildMissingError({ cause, addon: 'readiness' });
  }
}
const c = (name: string): number => nn[name] as number;

const AF_SP = c('AF_SP');
const AF_SP_RAW = c('AF_SP_RAW');
const NN_SOL_SOCKET = c('NN_SOL_SOCKET');
const NN_DONTWAIT = c('NN_DONTWAIT');
const NN_SURVEYOR = c('NN_SURVEYOR');
const NN_SUB_SUBSCRIBE = c('NN_SUB_SUBSCRIBE');
const NN_RCVFD = c('NN_RCVFD');
const ETIMEDOUT = c('ETIMEDOUT');
const EAGAIN = c('EAGAIN');
const EINTR = c('EINTR');
const ENODEV = c('ENODEV');

export type SocketKind = 'surveyor' | 'respondent' | 'pub' | 'sub' | 'push' | 'pull';

const PROTOCOL: Record<SocketKind, number> = {
  surveyor: c('NN_SURVEYOR'),
  respondent: c('NN_RESPONDENT'),
  pub: c('NN_PUB'),
  sub: c('NN_SUB'),
  // Announcements (src/announcements.ts): a client's PUSH to the server's PULL.
  push: c('NN_PUSH'),
  pull: c('NN_PULL'),
};

/** Socket-level options this library sets (NN_SOL_SOCKET). */
export const SocketOption = {
  linger: c('NN_LINGER'),
  sndbuf: c('NN_SNDBUF'),
  rcvbuf: c('NN_RCVBUF'),
  sndtimeo: c('NN_SNDTIMEO'),
  rcvtimeo: c('NN_RCVTIMEO'),
  reconnectIvl: c('NN_RECONNECT_IVL'),
  reconnectIvlMax: c('NN_RECONNECT_IVL_MAX'),
  rcvmaxsize: c('NN_RCVMAXSIZE'),
} as const;
export type SocketOptionName = keyof typeof SocketOption;

/**
 * nanomsg's per-socket counters (nn_get_statistic, nanomsg's src/nn.h and src/core/global.c).
 * `current`: pipes in the socket now — nn_sock_add counts a pipe once the SP header exchange
 * is done, so a pipe counted here is in a survey's distribution. `accepted`: connections a
 * listening endpoint accepted (counted BEFORE the header exchange). `broken`: established
 * connections that failed (the peer closed, was killed, or sent garbage). `dropped`:
 * connections dropped while the header exchange or the endpoint's stop was under way.
 */
export const SocketStatistic = {
  current: c('NN_STAT_CURRENT_CONNECTIONS'),
  accepted: c('NN_STAT_ACCEPTED_CONNECTIONS'),
  established: c('NN_STAT_ESTABLISHED_CONNECTIONS'),
  broken: c('NN_STAT_BROKEN_CONNECTIONS'),
  dropped: c('NN_STAT_DROPPED_CONNECTIONS'),
} as const;
export type SocketStatisticName = keyof typeof SocketStatistic;

/** Whether nn_get_statistic was found in nanomsg's addon (once per process; see statistic()). */
let statisticsBound = false;
/** The nanomsg package's addon, which the bindings loaded (node-gyp's Release build, or a Debug one). */
function bindStatistics(readinessAddon: ReadinessBindings): void {
  if (statisticsBound) return;
  const root = require.resolve('nanomsg/package.json').replace(/package\.json$/, '');
  const tried: string[] = [];
  for (const build of ['Release', 'Debug']) {
    const path = `${root}build/${build}/node_nanomsg.node`;
    try {
      readinessAddon.bindStatistics(path);
      statisticsBound = true;
      return;
    } catch (e) {
      tried.push((e as Error).message);
    }
  }
  throw new SocketError('read connection statistics', 'ESTATISTICS', -1, tried.join('; '));
}

const ERRNO_NAMES = new Map<number, string>();
for (const [k, v] of Object.entries(nn)) {
  if (/^E[A-Z]+$/.test(k) && typeof v === 'number' && !ERRNO_NAMES.has(v)) ERRNO_NAMES.set(v, k);
}

/** The name of a nanomsg errno (EADDRINUSE, EFSM, ...). */
export function errnoName(errno: number): string {
  return ERRNO_NAMES.get(errno) ?? `E${errno}`;
}

function fail(operation: string, url?: string, hint?: (errno: number) => string | undefined): never {
  const errno = nn.Errno();
  const detail = nn.Err();
  const more = hint?.(errno);
  throw new SocketError(operation, errnoName(errno), errno, more ? `${detail}; ${more}` : detail, url);
}

/** nanomsg 1.x binds to an IPv4 address or `*`: a DNS or interface name fails with a bare ENODEV (parseEndpoint refuses them first). */
const bindHint = (errno: number) =>
  errno === ENODEV ? 'a listening URL needs an IPv4 address or *, not a host or interface name' : undefined;

/**
 * Closes every socket still recorded in an actor's ledger (a dead actor's leftovers) and
 * returns how many were open.
 */
export function closeLeftovers(ledger: SocketLedger): number {
  let closed = 0;
  for (const id of ledger.takeAll()) if (nn.Close(id) === 0) closed++;
  return closed;
}

/** One nanomsg SP socket, used from a single thread. */
export class NnSocket {
  readonly kind: SocketKind;
  readonly id: number;
  private readonly ledger: SocketLedger | undefined;
  private closed = false;
  private recvTimeout = -2; // the NN_RCVTIMEO currently set; -2 = unknown
  /** The readiness watch over NN_RCVFD, opened on the first whenReadable. */
  private watch: ReadinessWatch | undefined;
  /** Who whenReadable calls next (one waiter at a time). */
  private onReadable: (() => void) | undefined;

  private constructor(kind: SocketKind, id: number, ledger: SocketLedger | undefined) {
    this.kind = kind;
    this.id = id;
    this.ledger = ledger;
  }

  /**
   * Opens a socket. `raw` opens it in nanomsg's raw mode (AF_SP_RAW): no protocol state
   * on this side, e.g. a raw SURVEYOR neither stamps surveys with an id nor drops late
   * answers — the caller prefixes each survey with its id and reads every answer.
   */
  static open(kind: SocketKind, ledger?: SocketLedger, options: { raw?: boolean } = {}): NnSocket {
    const id = nn.Socket(options.raw ? AF_SP_RAW : AF_SP, PROTOCOL[kind]);
    if (id < 0) fail(`open ${kind} socket`);
    // Both addons are needed; nanomsg's missing build has thrown above already.
    if (readiness instanceof NativeBuildMissingError) {
      nn.Close(id);
      throw readiness;
    }
    try {
      ledger?.record(id);
    } catch (e) {
      nn.Close(id);
      throw e;
    }
    const s = new NnSocket(kind, id, ledger);
    // Close must not wait to flush: a stopping actor should be gone promptly.
    s.setOption('linger', 0);
    if (kind === 'sub' && nn.Chan(id, NN_SUB_SUBSCRIBE, '') < 0) fail('subscribe');
    return s;
  }

  setOption(name: SocketOptionName, value: number): void {
    if (nn.Setopt(this.id, NN_SOL_SOCKET, SocketOption[name], value) < 0) fail(`set ${name}`);
    if (name === 'rcvtimeo') this.recvTimeout = value;
  }

  getOption(name: SocketOptionName): number {
    const v = nn.Getopt(this.id, NN_SOL_SOCKET, SocketOption[name]);
    if (v === undefined) fail(`get ${name}`);
    return v;
  }

  /** The survey deadline of a SURVEYOR socket (NN_SURVEYOR_DEADLINE), in ms. */
  setSurveyDeadline(ms: number): void {
    if (nn.Setopt(this.id, NN_SURVEYOR, c('NN_SURVEYOR_DEADLINE'), ms) < 0) fail('set survey deadline');
  }

  bind(url: string): number {
    const ep = nn.Bind(this.id, url);
    if (ep < 0) fail('bind', url, bindHint);
    return ep;
  }

  connect(url: string): number {
    const ep = nn.Connect(this.id, url);
    if (ep < 0) fail('connect', url);
    return ep;
  }

  /**
   * Removes one endpoint (the id bind or connect returned) from the socket (nn_shutdown):
   * its connection closes, the socket's other endpoints stay. Throws a SocketError (EINVAL
   * for an unknown endpoint id, EBADF when the socket is closed).
   */
  shutdown(endpoint: number): void {
    if (nn.Shutdown(this.id, endpoint) < 0) fail('shut down endpoint');
  }

  /**
   * One of nanomsg's counters for this socket (nn_get_statistic; see SocketStatistic): a
   * count, read without a system call (a lock in nanomsg). Throws a SocketError
   * (code ESTATISTICS) when nanomsg's addon does not export nn_get_statistic or is not the
   * copy loaded in this process, EBADF when the socket is closed; the readiness addon's
   * NativeBuildMissingError when that is not built.
   */
  statistic(name: SocketStatisticName): number {
    if (readiness instanceof NativeBuildMissingError) throw readiness;
    bindStatistics(readiness);
    const v = readiness.statistic(this.id, SocketStatistic[name]);
    if (v < 0) fail(`read statistic ${name}`);
    return v;
  }

  /** Sends without blocking; false when the socket cannot take the message now (EAGAIN). */
  send(data: Uint8Array | string): boolean {
    for (;;) {
      const rc = nn.Send(this.id, data, NN_DONTWAIT);
      if (rc >= 0) return true;
      const errno = nn.Errno();
      if (errno === EINTR) continue;
      if (errno === EAGAIN) return false;
      fail('send');
    }
  }

  /**
   * Blocks this thread for at most `timeoutMs` waiting for a message; null on timeout.
   * Other errors (EFSM on a surveyor with no survey outstanding...) throw a SocketError.
   */
  recv(timeoutMs: number): Buffer | null {
    const t = Math.max(0, Math.round(timeoutMs));
    if (t !== this.recvTimeout) this.setOption('rcvtimeo', t);
    for (;;) {
      const r = nn.Recv(this.id, 0);
      if (typeof r !== 'number') return r;
      const errno = nn.Errno();
      if (errno === EINTR) continue;
      if (errno === ETIMEDOUT || errno === EAGAIN) return null;
      fail('receive');
    }
  }

  /** A message already queued, without waiting; null if there is none. */
  recvNow(): Buffer | null {
    for (;;) {
      const r = nn.Recv(this.id, NN_DONTWAIT);
      if (typeof r !== 'number') return r;
      const errno = nn.Errno();
      if (errno === EINTR) continue;
      if (errno === EAGAIN || errno === ETIMEDOUT) return null;
      fail('receive');
    }
  }

  /**
   * Calls `onReadable` once, on the calling thread's event loop, when the socket has a
   * message to receive; returns a function that cancels the wait. Nothing runs meanwhile:
   * the thread sleeps in its loop (libuv polls the socket's NN_RCVFD, which nanomsg keeps
   * readable while a message is queued) and serves its other events (control calls,
   * timers). One-shot: receive what is queued (recvNow) and call again; a call while
   * another wait is pending replaces it. The loop is this thread's own — a worker's, or
   * the main thread's — never another thread's, so a busy main thread cannot delay a
   * worker's wake-up. A failed poll (a libuv error) also calls `onReadable`: the next
   * receive reports what is wrong. Throws a SocketError if the socket has no receive
   * descriptor (closed, or a PUB socket). close() ends the watch.
   */
  whenReadable(onReadable: () => void): () => void {
    if (readiness instanceof NativeBuildMissingError) throw readiness;
    if (!this.watch) {
      const fd = nn.Getopt(this.id, NN_SOL_SOCKET, NN_RCVFD);
      if (fd === undefined) fail('watch readable');
      this.watch = readiness.open(fd, () => {
        const call = this.onReadable;
        this.onReadable = undefined;
        call?.();
      });
    }
    const watch = this.watch;
    const waiter = () => onReadable();
    this.onReadable = waiter;
    readiness.arm(watch);
    return () => {
      if (this.onReadable !== waiter) return;
      this.onReadable = undefined;
      readiness.disarm(watch);
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    // The poll first: it holds a duplicate of the descriptor, which it closes with itself.
    if (this.watch && !(readiness instanceof NativeBuildMissingError)) readiness.close(this.watch);
    this.watch = undefined;
    this.onReadable = undefined;
    // Closing an id the supervisor already closed could close someone else's socket.
    if (this.ledger && !this.ledger.release(this.id)) return;
    nn.Close(this.id);
  }
}
