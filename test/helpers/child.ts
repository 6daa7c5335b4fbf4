/**
 * Example programs run as real child processes (`node --import tsx FILE ARGS`) that print
 * one JSON object per line on stdout. Tests wait for lines with deadlines, never sleep.
 * Every line is kept with the time it arrived (on this process's clock), so a test can
 * also look back.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { within } from './wait.js';

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface Line {
  /** The parsed JSON object. */
  value: Record<string, unknown> & { event?: string };
  /** performance.now() when the line arrived. */
  at: number;
  /** Position among this child's lines. */
  index: number;
}

const running = new Set<ExampleProcess>();
process.on('exit', () => {
  for (const c of running) c.proc.kill('SIGKILL');
});

export class ExampleProcess extends EventEmitter<{ line: [Line]; exit: [{ code: number | null; signal: NodeJS.Signals | null }] }> {
  readonly proc: ChildProcess;
  readonly lines: Line[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  private stderrTail = '';
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  constructor(
    readonly name: string,
    script: string,
    args: string[],
  ) {
    super();
    this.proc = spawn(process.execPath, ['--import', 'tsx', join(REPO, script), ...args], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    running.add(this);
    createInterface({ input: this.proc.stdout! }).on('line', (text) => {
      let value: Line['value'];
      try {
        value = JSON.parse(text) as Line['value'];
      } catch {
        value = { event: 'text', text };
      }
      const line = { value, at: performance.now(), index: this.lines.length };
      this.lines.push(line);
      this.emit('line', line);
    });
    this.proc.stderr!.on('data', (d: Buffer) => {
      this.stderrTail = (this.stderrTail + d.toString()).slice(-4000);
    });
    this.exited = new Promise((resolve) => {
      this.proc.once('exit', (code, signal) => {
        running.delete(this);
        this.exitInfo = { code, signal };
        this.emit('exit', this.exitInfo);
        resolve({ code, signal, at: performance.now() });
      });
    });
  }

  /** What the child wrote on stderr lately (for failure messages). */
  get stderr(): string {
    return this.stderrTail;
  }

  /**
   * The first line at or after position `from` that satisfies `predicate`: already received,
   * or the next to arrive within `ms`. Rejects early if the child exits.
   */
  waitFor(predicate: (v: Line['value']) => boolean, ms: number, what: string, from = 0): Promise<Line> {
    const found = this.lines.slice(from).find((l) => predicate(l.value));
    if (found) return Promise.resolve(found);
    let onLine: (l: Line) => void = () => {};
    let onExit: () => void = () => {};
    const wait = new Promise<Line>((resolve, reject) => {
      onLine = (l) => {
        if (l.index >= from && predicate(l.value)) resolve(l);
      };
      onExit = () =>
        reject(new Error(`${this.name} exited (${JSON.stringify(this.exitInfo)}) while waiting for ${what}; stderr: ${this.stderrTail}`));
      if (this.exitInfo) return onExit();
      this.on('line', onLine);
      this.once('exit', onExit);
    });
    return within(ms, `${this.name}: ${what}`, wait).finally(() => {
      this.off('line', onLine);
      this.off('exit', onExit);
    });
  }

  /** Sends `signal` and waits for the exit; SIGKILL if it has not exited within `ms`. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', ms = 10_000): Promise<void> {
    if (this.exitInfo) return;
    this.proc.kill(signal);
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), ms);
    await this.exited;
    clearTimeout(timer);
  }
}

/** Stops every child given (gracefully, then by force), in parallel. */
export async function stopAll(children: readonly (ExampleProcess | undefined)[]): Promise<void> {
  await Promise.all(children.map((c) => c?.stop()));
}

/** Rounds an example's server may take beyond the one the issue allows: a loaded machine answers late now and then. */
export const ROUND_TOLERANCE = 2;
/** Child start-up includes tsx compiling the example: generous on a busy machine. */
export const START_MS = 30_000;
export const EVENT_MS = 15_000;
/**
 * Fast rounds for the examples' discovery server: a round every 75 ms, surveys of 50 ms
 * rather than 25 — on a machine shared with other CPU-heavy tests, 25 ms answers are
 * sometimes late, and a member that misses one survey is (rightly, missedRounds 1)
 * dropped for a round.
 */
export const EXAMPLE_TIMING = ['--poll-time', '75', '--survey-time', '50', '--recv-deadline', '50'];

/** The last round an example's discovery server had finished when `at` came (its round lines are in arrival order). */
export function lastRoundAt(server: ExampleProcess, at: number): number {
  let r = -1;
  for (const l of server.lines) {
    if (l.at > at) break;
    if (l.value.event === 'round') r = l.value.round as number;
  }
  return r;
}
