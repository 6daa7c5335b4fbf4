/** Child processes for tests that kill things for real: JSON-line output, awaited with deadlines. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { within } from './wait.js';

export class ChildLines {
  readonly lines: Array<Record<string, unknown>> = [];
  readonly exited: Promise<number | null>;
  private waiters: Array<() => void> = [];

  constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        this.lines.push(JSON.parse(line));
      } catch {
        this.lines.push({ text: line });
      }
      for (const w of this.waiters.splice(0)) w();
    });
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))));
  }

  /** Waits for a line (after `from`) that satisfies `pred`. */
  waitFor(pred: (line: Record<string, unknown>) => boolean, ms: number, what: string, from = 0): Promise<Record<string, unknown>> {
    return within(ms, what, new Promise((resolve) => {
      const check = () => {
        const hit = this.lines.slice(from).find(pred);
        if (hit) resolve(hit);
        else this.waiters.push(check);
      };
      check();
    }));
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }
}

/** Runs a TypeScript file under tsx in a child process with extra environment. */
export function spawnTs(file: string, env: Record<string, string>): ChildLines {
  return new ChildLines(spawn(process.execPath, ['--import', 'tsx', file], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] }));
}
