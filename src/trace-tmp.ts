import { appendFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
const file = process.env.GD_TRACE;
export function trace(ev: string, o: Record<string, unknown> = {}): void {
  if (!file) return;
  appendFileSync(file, JSON.stringify({ t: performance.timeOrigin + performance.now(), pid: process.pid, ev, ...o }) + '\n');
}
