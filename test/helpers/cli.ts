/**
 * The built `gopherdiscovery` command as a child process (node dist/main.js), with its
 * stdout and stderr split into lines that tests wait on with deadlines. Every child is
 * killed when the test process exits, so a failed test leaves no server bound.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { freePort } from './endpoints.js';
import { within } from './wait.js';

export const MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

/** The original test suite's timings, as flags: for tests that do not mind a member missing a round. */
export const FAST_FLAGS = ['--poll-time', '20ms', '--survey-time', '10ms', '--recv-deadline', '10ms'];
/**
 * Rounds that give a client 400 ms to answer: with 10 ms, a client starved of CPU for a
 * moment (other test files run beside this one) misses a survey and is dropped and
 * re-added, which would make a test asserting exact lines flaky. Newcomers are still
 * published at once (eager joins); departures take a round of 450 ms.
 */
export const STEADY_FLAGS = ['--poll-time', '450ms', '--survey-time', '400ms', '--recv-deadline', '400ms'];

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

/** The environment for children: this one without any GOPHERDISCOVERY_* variable of the developer's. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GOPHERDISCOVERY_')));
  return { ...env, ...extra };
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

type Waiter = { test: (line: string) => boolean; resolve: (line: string) => void };

class Lines {
  readonly all: string[] = [];
  private waiters: Waiter[] = [];
  private buffer = '';
  private cursor = 0;

  feed(chunk: string): void {
    this.buffer += chunk;
    const parts = this.buffer.split('\n');
    this.buffer = parts.pop()!;
    for (const line of parts) {
      this.all.push(line);
      this.waiters = this.waiters.filter((w) => {
        if (!w.test(line)) return true;
        w.resolve(line);
        return false;
      });
    }
  }

  end(): void {
    if (this.buffer) this.feed('\n');
  }

  /** The next line (after the ones already taken by next()) that satisfies `test`. */
  next(test: (line: string) => boolean): Promise<string> {
    while (this.cursor < this.all.length) {
      const line = this.all[this.cursor++]!;
      if (test(line)) return Promise.resolve(line);
    }
    return new Promise((resolve) =>
      this.waiters.push({
        test,
        resolve: (line) => {
          this.cursor = this.all.length;
          resolve(line);
        },
      }),
    );
  }

  /** Any line so far or later that satisfies `test` (does not move the cursor). */
  some(test: (line: string) => boolean): Promise<string> {
    const found = this.all.find(test);
    return found !== undefined ? Promise.resolve(found) : new Promise((resolve) => this.waiters.push({ test, resolve }));
  }
}

export class Cli {
  readonly child: ChildProcess;
  readonly stdout = new Lines();
  readonly stderr = new Lines();
  readonly exited: Promise<Exit>;

  constructor(readonly args: string[], env: NodeJS.ProcessEnv = cleanEnv()) {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run npm run build first (npm test does)`);
    this.child = spawn(process.execPath, [MAIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(this.child);
    this.child.stdout!.setEncoding('utf8').on('data', (c: string) => this.stdout.feed(c));
    this.child.stderr!.setEncoding('utf8').on('data', (c: string) => this.stderr.feed(c));
    this.exited = new Promise((resolve) =>
      this.child.once('close', (code, signal) => {
        children.delete(this.child);
        this.stdout.end();
        this.stderr.end();
        resolve({ code, signal });
      }),
    );
  }

  /** Waits for the next stdout line satisfying `test`. */
  line(test: (line: string) => boolean, what: string, ms = 20_000): Promise<string> {
    return this.deadline(ms, what, this.stdout.next(test));
  }

  /** Waits for a JSON log line on stderr whose msg matches. */
  async log(msg: RegExp, what: string, ms = 20_000): Promise<Record<string, unknown>> {
    const line = await this.deadline(ms, what, this.stderr.some((l) => { const j = parseJson(l); return typeof j?.msg === 'string' && msg.test(j.msg); }));
    return JSON.parse(line) as Record<string, unknown>;
  }

  /** Sends a signal and waits for the exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', ms = 20_000): Promise<Exit> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return within(ms, `${this.args[0]} to exit after ${signal}`, this.exited);
  }

  /** Kills the child if it still runs (cleanup in `finally`). */
  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }

  private deadline<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
    return within(ms, what, Promise.race([p, this.exited.then((e) => Promise.reject(new Error(`${this.args[0]} exited (${e.code ?? e.signal}) while waiting for ${what}; stderr: ${this.stderr.all.join('\n')}`)))])).catch((e: Error) => {
      if (!e.message.includes('stderr:')) e.message += `; stdout: ${JSON.stringify(this.stdout.all)}; stderr: ${JSON.stringify(this.stderr.all.slice(-10))}`;
      throw e;
    });
  }
}

export function parseJson(line: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(line);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Runs a command to its end (for usage errors and --help). */
export async function runCli(args: string[], env?: NodeJS.ProcessEnv, ms = 20_000): Promise<Exit & { stdout: string[]; stderr: string[] }> {
  const cli = new Cli(args, env);
  const exit = await within(ms, `gopherdiscovery ${args.join(' ')} to exit`, cli.exited);
  return { ...exit, stdout: cli.stdout.all, stderr: cli.stderr.all };
}

/** Whether a loopback TCP port can be bound right now (it is free). */
export function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createNetServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** Holds a loopback TCP port, as another program would. */
export async function occupy(port: number): Promise<{ close(): Promise<void> }> {
  const s = createNetServer();
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => resolve());
  });
  return { close: () => new Promise<void>((r) => s.close(() => r())) };
}

/** Three ports for a server: survey, pub/sub and HTTP, and the flags that use them. */
export async function serverPorts(): Promise<{ survey: number; pubsub: number; http: number; surveyUrl: string; pubsubUrl: string; httpUrl: string; flags: string[] }> {
  const survey = await freePort();
  const pubsub = await freePort();
  const http = await freePort();
  const surveyUrl = `tcp://127.0.0.1:${survey}`;
  const pubsubUrl = `tcp://127.0.0.1:${pubsub}`;
  return {
    survey,
    pubsub,
    http,
    surveyUrl,
    pubsubUrl,
    httpUrl: `http://127.0.0.1:${http}/`,
    flags: ['--survey-url', surveyUrl, '--pubsub-url', pubsubUrl, '--http', `127.0.0.1:${http}`],
  };
}
