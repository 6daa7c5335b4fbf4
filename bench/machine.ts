/** The machine a benchmark ran on, and how busy it was (other people's work included). */
import { readFileSync } from 'node:fs';
import os from 'node:os';

export interface Machine {
  nproc: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  os: string;
  /** Open-file limits of the benchmark's process (soft / hard). */
  nofile: { soft: number; hard: number };
}

export function machine(): Machine {
  let cpuModel = os.cpus()[0]?.model ?? 'unknown';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) cpuModel = m[1]!.trim();
  } catch {}
  return {
    nproc: os.availableParallelism(),
    cpuModel,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    os: `${os.type()} ${os.release()}`,
    nofile: nofileLimits(),
  };
}

export function nofileLimits(): { soft: number; hard: number } {
  try {
    const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (m) {
      const n = (s: string) => (s === 'unlimited' ? Infinity : Number(s));
      return { soft: n(m[1]!), hard: n(m[2]!) };
    }
  } catch {}
  return { soft: NaN, hard: NaN };
}

/** Cumulative busy and total CPU time of the whole machine (all processes), in ms, from /proc/stat. */
export function machineCpu(): { busyMs: number; totalMs: number } {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal
    const idle = v[3]! + (v[4] ?? 0);
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    return { busyMs: (total - idle) * 10, totalMs: total * 10 };
  } catch {
    return { busyMs: NaN, totalMs: NaN };
  }
}

/** CPU time (user + system, ms) of the given processes, from /proc/PID/stat; ended ones count 0. */
export function processCpuMs(pids: Iterable<number>): number {
  let total = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += (Number(f[11]) + Number(f[12])) * 10;
    } catch {}
  }
  return total;
}
