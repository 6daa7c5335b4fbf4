/**
 * The benchmark's processes and how they talk: every child is `node --import tsx FILE`
 * with an IPC channel; the parent sends requests `{ id, cmd, ... }` and each child answers
 * `{ id, ok, ... }` (or `{ id, error }`), and may send unsolicited events `{ ev, ... }`.
 *
 * Every child started here is registered so that it is killed when the parent ends for
 * any reason (normal exit, an exception, SIGINT / SIGTERM): a benchmark that fails half
 * way must not leave respondents redialling or ports bound.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
export const REPO = join(BENCH_DIR, '..');

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across processes on one machine. */
export function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

export interface Request {
  id: number;
  cmd: string;
  [k: string]: unknown;
}

export type Reply = { id: number; ok: true; [k: string]: unknown } | { id: number; ok: false; error: string };

export interface Event {
  ev: string;
  [k: string]: unknown;
}

const children = new Set<ChildProcess>();

function killAll(): void {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) {
      try {
        // The whole process group: a child started through bash is the group leader.
        process.kill(-c.pid!, 'SIGKILL');
      } catch {
        c.kill('SIGKILL');
      }
    }
  }
}

process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(sig, () => {
    killAll();
    process.exit(130);
  });
}

export interface SpawnOptions {
  /** Raise the child's open-file limit (soft) to this, through `bash -c 'ulimit -n N; exec node ...'`. */
  nofile?: number;
  env?: Record<string, string>;
  /** Extra node flags, e.g. --cpu-prof. */
  nodeArgs?: string[];
  /** Run a plain JavaScript child without the TypeScript loader, whose memory and threads would be measured too. */
  plain?: boolean;
}

/** One benchmark child process, with request / reply over its IPC channel. */
export class BenchChild extends EventEmitter<{ event: [Event]; exit: [number | null, NodeJS.Signals | null] }> {
  readonly proc: ChildProcess;
  readonly exited: Promise<void>;
  private seq = 0;
  private readonly pending = new Map<number, { resolve: (r: Record<string, unknown>) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private stderrTail = '';
  private gone = false;

  constructor(readonly name: string, script: string, args: string[] = [], options: SpawnOptions = {}) {
    super();
    const file = join(BENCH_DIR, script);
    const loader = options.plain ? [] : ['--import', 'tsx'];
    const node = [process.execPath, ...(options.nodeArgs ?? []), ...loader, file, ...args].map(shellQuote).join(' ');
    const command = options.nofile ? `ulimit -n ${options.nofile} && exec ${node}` : `exec ${node}`;
    this.proc = spawn('bash', ['-c', command], {
      cwd: REPO,
      // Its own process group, so a kill reaches it even if bash had not exec'd yet.
      detached: true,
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
      env: { ...process.env, NODE_OPTIONS: '', ...options.env },
    });
    children.add(this.proc);
    // A send to a child that just died fails asynchronously (EPIPE): the pending request is rejected by 'exit'.
    this.proc.on('error', (e) => {
      this.stderrTail = (this.stderrTail + `\n[${name}] ${e.message}`).slice(-8000);
    });
    this.proc.stderr!.on('data', (d: Buffer) => {
      const text = d.toString();
      this.stderrTail = (this.stderrTail + text).slice(-8000);
      if (process.env.BENCH_VERBOSE) process.stderr.write(`[${name}] ${text}`);
    });
    this.proc.on('message', (m: Reply | Event) => {
      if ('ev' in m) {
        this.emit('event', m as Event);
        return;
      }
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      clearTimeout(p.timer);
      if (m.ok) p.resolve(m);
      else p.reject(new Error(`${name}: ${m.error}`));
    });
    this.exited = new Promise((resolve) => {
      this.proc.once('exit', (code, signal) => {
        this.gone = true;
        children.delete(this.proc);
        for (const [, p] of this.pending) {
          clearTimeout(p.timer);
          p.reject(new Error(`${name} exited (code ${code}, signal ${signal}); stderr: ${this.stderrTail.slice(-2000)}`));
        }
        this.pending.clear();
        this.emit('exit', code, signal);
        resolve();
      });
    });
  }

  get stderr(): string {
    return this.stderrTail;
  }

  get alive(): boolean {
    return !this.gone;
  }

  /** Sends a request and waits for its reply (rejects on error, timeout or exit). */
  request<T extends Record<string, unknown> = Record<string, unknown>>(cmd: string, body: Record<string, unknown> = {}, timeoutMs = 60_000): Promise<T> {
    if (this.gone) return Promise.reject(new Error(`${this.name} has exited; stderr: ${this.stderrTail.slice(-2000)}`));
    const id = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.name}: no reply to ${cmd} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (r: Record<string, unknown>) => void, reject, timer });
      this.proc.send({ id, cmd, ...body }, (err) => {
        if (!err) return;
        const p = this.pending.get(id);
        if (!p) return;
        this.pending.delete(id);
        clearTimeout(p.timer);
        p.reject(new Error(`${this.name}: cannot send ${cmd}: ${err.message}`));
      });
    });
  }

  /** Waits for the child to be up: it sends `{ ev: 'up' }` once it listens for requests. */
  up(timeoutMs = 30_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name} did not start within ${timeoutMs} ms; stderr: ${this.stderrTail}`)), timeoutMs);
      const onEvent = (e: Event) => {
        if (e.ev !== 'up') return;
        clearTimeout(timer);
        this.off('event', onEvent);
        resolve();
      };
      this.on('event', onEvent);
      this.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`${this.name} exited during start (code ${code}, signal ${signal}); stderr: ${this.stderrTail}`));
      });
    });
  }

  /** Asks the child to exit, then kills its process group if it has not within `ms`. */
  async stop(ms = 5000): Promise<void> {
    if (this.gone) return;
    this.request('exit', {}, ms).catch(() => {});
    const timer = setTimeout(() => this.kill(), ms);
    await this.exited;
    clearTimeout(timer);
  }

  kill(): void {
    if (this.gone) return;
    try {
      process.kill(-this.proc.pid!, 'SIGKILL');
    } catch {
      this.proc.kill('SIGKILL');
    }
  }
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

// ------------------------------------------------------------------ the child side

type Handler = (req: Request) => Promise<Record<string, unknown>> | Record<string, unknown>;

/**
 * Serves requests in a child: `handlers[cmd](req)` answers; `exit` runs `onExit` and
 * exits. A child whose parent went away (IPC channel closed) exits too.
 */
export function serve(handlers: Record<string, Handler>, onExit: () => Promise<void> | void = () => {}): void {
  if (!process.send) throw new Error('not started with an IPC channel');
  const send = (m: Reply | Event) => {
    try {
      process.send?.(m);
    } catch {}
  };
  let exiting = false;
  const exit = async (code: number) => {
    if (exiting) return;
    exiting = true;
    try {
      await onExit();
    } finally {
      process.exit(code);
    }
  };
  process.on('disconnect', () => void exit(0));
  process.on('message', async (req: Request) => {
    if (req.cmd === 'exit') {
      send({ id: req.id, ok: true });
      await exit(0);
      return;
    }
    const h = handlers[req.cmd];
    if (!h) {
      send({ id: req.id, ok: false, error: `unknown command ${req.cmd}` });
      return;
    }
    try {
      send({ id: req.id, ok: true, ...(await h(req)) });
    } catch (e) {
      send({ id: req.id, ok: false, error: (e as Error).stack ?? String(e) });
    }
  });
  send({ ev: 'up', pid: process.pid });
}

/** Sends an unsolicited event to the parent. */
export function emitEvent(ev: Event): void {
  try {
    process.send?.(ev);
  } catch {}
}
