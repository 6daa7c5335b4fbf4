/** The parent side of server-child.ts: start a server in its own process, follow it, measure its CPU. */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ChildHealth, ServerOptions, ServerStats } from '../../src/index.js';
import { within } from './wait.js';

const CHILD = fileURLToPath(new URL('./server-child.ts', import.meta.url));

type FromChild =
  | { type: 'ready' }
  | { type: 'failed'; message: string }
  | { type: 'change'; members: string[]; left: string[] }
  | { type: 'round'; round: number; durationMs: number }
  | { type: 'reply'; id: number; value: unknown };

export interface ServerSnapshot {
  stats: ServerStats;
  health: ChildHealth[];
  members: string[];
}

export class ServerProcess {
  readonly child: ChildProcess;
  /** Every member list the server changed to, in order. */
  readonly changes: string[][] = [];
  rounds = 0;
  maxRoundMs = 0;
  private seq = 0;
  private readonly replies = new Map<number, (v: unknown) => void>();
  private readonly roundWaiters = new Set<() => void>();
  readonly exited: Promise<number | null>;

  private constructor(options: ServerOptions) {
    this.child = fork(CHILD, [JSON.stringify(options)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
    this.child.on('message', (m: FromChild) => {
      if (m.type === 'change') this.changes.push(m.members);
      else if (m.type === 'round') {
        this.rounds = m.round;
        this.maxRoundMs = Math.max(this.maxRoundMs, m.durationMs);
        for (const w of this.roundWaiters) w();
      } else if (m.type === 'reply') this.replies.get(m.id)?.(m.value);
    });
  }

  static async start(options: ServerOptions, ms = 30_000): Promise<ServerProcess> {
    const p = new ServerProcess(options);
    try {
      await within(
        ms,
        'the server process to start',
        new Promise<void>((resolve, reject) => {
          p.child.on('message', (m: FromChild) => {
            if (m.type === 'ready') resolve();
            if (m.type === 'failed') reject(new Error(`server process failed: ${m.message}`));
          });
          p.child.once('exit', (code) => reject(new Error(`server process exited with ${code}`)));
        }),
      );
    } catch (e) {
      p.child.kill('SIGKILL');
      throw e;
    }
    return p;
  }

  get members(): string[] {
    return this.changes.at(-1) ?? [];
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null && this.child.connected;
  }

  private request<T>(cmd: string, ms = 10_000): Promise<T> {
    const id = ++this.seq;
    return within(
      ms,
      `the server process to answer ${cmd}`,
      new Promise<T>((resolve) => {
        this.replies.set(id, (v) => {
          this.replies.delete(id);
          resolve(v as T);
        });
        this.child.send({ cmd, id });
      }),
    );
  }

  /** user + system CPU time of the whole server process (all its threads), in ms. */
  async cpuMs(): Promise<number> {
    const u = await this.request<NodeJS.CpuUsage>('cpu');
    return (u.user + u.system) / 1000;
  }

  snapshot(): Promise<ServerSnapshot> {
    return this.request<ServerSnapshot>('stats');
  }

  /** Waits until `n` more rounds have ended. */
  moreRounds(n: number, ms: number): Promise<void> {
    const target = this.rounds + n;
    return within(
      ms,
      `${n} more rounds (at round ${this.rounds})`,
      new Promise<void>((resolve) => {
        const check = () => {
          if (this.rounds >= target) {
            this.roundWaiters.delete(check);
            resolve();
          }
        };
        this.roundWaiters.add(check);
        check();
      }),
    );
  }

  /** The server process's CPU use, in cores (CPU ms per wall ms), over a window of `rounds` rounds. */
  async cpuOverRounds(rounds: number, ms: number): Promise<{ cores: number; cpuMs: number; wallMs: number }> {
    const cpu0 = await this.cpuMs();
    const t0 = performance.now();
    await this.moreRounds(rounds, ms);
    const cpuMs = (await this.cpuMs()) - cpu0;
    const wallMs = performance.now() - t0;
    return { cores: cpuMs / wallMs, cpuMs, wallMs };
  }

  async close(): Promise<void> {
    if (this.alive) {
      try {
        await this.request('close', 15_000);
      } catch {
        this.child.kill('SIGKILL');
      }
    }
    await within(15_000, 'the server process to exit', this.exited).catch(() => this.child.kill('SIGKILL'));
  }
}
