/** Measurements a benchmark process takes of itself. */
import { readdirSync, readFileSync } from 'node:fs';

/** Per-thread CPU (user + system, ms) and name, from /proc/self/task (Linux). */
export function threadTimes(): Array<{ tid: number; name: string; cpuMs: number }> {
  const tick = 10; // USER_HZ is 100 on Linux
  const out: Array<{ tid: number; name: string; cpuMs: number }> = [];
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const name = stat.slice(stat.indexOf('(') + 1, close);
      const fields = stat.slice(close + 2).split(' ');
      out.push({ tid: Number(tid), name, cpuMs: (Number(fields[11]) + Number(fields[12])) * tick });
    } catch {}
  }
  return out;
}
