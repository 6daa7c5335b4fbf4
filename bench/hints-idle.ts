/**
 * `npm run bench:hints-idle [-- --seconds 30] [--members 10] [--reps 3]`: what connection
 * hints cost a server at rest (README "Connection hints"): the surveyor reads its socket's
 * connection counters every CONNECTION_HINT_POLL_MS (20 ms) between rounds.
 *
 * Three server processes with the default timing, one with `connectionHints: true` (the
 * default), one with `false`, and one with the default and an `announceUrl` (its surveyor
 * also waits on the announce socket: README "Announcements"), started together and
 * measured over the same window, so the
 * machine's load (shared, noisy) weighs on both alike; each is answered by the same
 * `--members` respondents (one process of library clients without subscriptions, dialling
 * both servers). CPU per server process over the window (user + system, /proc/PID/stat) in %
 * of one core; `--reps` windows, the two servers started afresh each time. Children are plain
 * JavaScript on dist/ (run `npm run build` first), without the TypeScript loader.
 * Results: bench/results/hints-idle.json and hints-idle.md.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import os from 'node:os';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { setTimeout as delay } from 'node:timers/promises';
import { freePort, tcpPair } from '../src/testing/endpoints.js';
import { BENCH_DIR, REPO } from './ipc.js';
import { machine, processCpuMs } from './machine.js';
import { round } from './stats.js';

const { values: argv } = parseArgs({
  options: {
    seconds: { type: 'string', default: '30' },
    settle: { type: 'string', default: '5' },
    members: { type: 'string', default: '10' },
    reps: { type: 'string', default: '3' },
    out: { type: 'string', default: join(BENCH_DIR, 'results') },
  },
});
const windowMs = Number(argv.seconds) * 1000;
const settleMs = Number(argv.settle) * 1000;
const members = Number(argv.members);
const reps = Number(argv.reps);
if (!(windowMs > 0) || !(settleMs >= 0) || !Number.isInteger(members) || members < 0 || !Number.isInteger(reps) || reps < 1) {
  throw new Error('usage: npm run bench:hints-idle -- [--seconds S] [--settle S] [--members N>=0] [--reps R>=1]');
}
const lib = pathToFileURL(join(REPO, 'dist', 'index.js')).href;

/** A plain-JavaScript child that prints one line once it is up and runs until killed. */
function child(code: string): Promise<ChildProcess> {
  const proc = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    proc.once('exit', (c) => reject(new Error(`child exited (${c}) before it was up`)));
    proc.stdout!.once('data', () => resolve(proc));
  });
}

const serverCode = (urls: { surveyUrl: string; pubsubUrl: string }, options: { connectionHints: boolean; announceUrl?: string }) =>
  `import { createServer } from ${JSON.stringify(lib)};
   await createServer({ ...${JSON.stringify(urls)}, ...${JSON.stringify(options)} });
   console.log('up'); setInterval(() => {}, 1 << 30);`;
const membersCode = (surveyUrls: string[]) =>
  `import { createClient } from ${JSON.stringify(lib)};
   for (let i = 0; i < ${members}; i++) await createClient({ surveyUrl: ${JSON.stringify(surveyUrls)}, service: 'member-' + i });
   console.log('up'); setInterval(() => {}, 1 << 30);`;

const results: Array<{ rep: number; on: number; off: number; announce: number; loadavg: number[] }> = [];
for (let rep = 0; rep < reps; rep++) {
  const [onUrls, offUrls, announceUrls] = [await tcpPair(), await tcpPair(), await tcpPair()];
  const procs: ChildProcess[] = [];
  try {
    const on = await child(serverCode(onUrls, { connectionHints: true }));
    procs.push(on);
    const off = await child(serverCode(offUrls, { connectionHints: false }));
    procs.push(off);
    const announce = await child(serverCode(announceUrls, { connectionHints: true, announceUrl: `tcp://127.0.0.1:${await freePort()}` }));
    procs.push(announce);
    if (members > 0) procs.push(await child(membersCode([onUrls.surveyUrl, offUrls.surveyUrl, announceUrls.surveyUrl])));
    await delay(settleMs);
    const pids = [on.pid!, off.pid!, announce.pid!];
    const cpu0 = pids.map((pid) => processCpuMs([pid]));
    await delay(windowMs);
    const cpu1 = pids.map((pid) => processCpuMs([pid]));
    const pct = (k: number) => round(((cpu1[k]! - cpu0[k]!) / windowMs) * 100, 2);
    results.push({ rep, on: pct(0), off: pct(1), announce: pct(2), loadavg: os.loadavg().map((v) => round(v, 2)) });
    console.error(`[hints-idle] rep ${rep + 1}/${reps}: hints on ${pct(0)} %, off ${pct(1)} %, announce ${pct(2)} % of a core (load ${os.loadavg()[0]!.toFixed(2)})`);
  } finally {
    for (const p of procs) {
      p.kill('SIGKILL');
      if (p.exitCode === null && p.signalCode === null) await once(p, 'exit');
    }
  }
}
const mean = (k: 'on' | 'off' | 'announce') => round(results.reduce((s, r) => s + r[k], 0) / results.length, 2);
const m = machine();
const summary = { benchmark: 'gopherdiscovery connection hints at rest', date: new Date().toISOString(), machine: m, config: { seconds: windowMs / 1000, settle: settleMs / 1000, members, reps }, results, mean: { on: mean('on'), off: mean('off'), announce: mean('announce') } };
const md = [
  `Connection hints at rest, ${summary.date}: ${m.nproc} CPUs (${m.cpuModel}), node ${m.node}; three servers (default timing) side by side, ${members} members each, ${windowMs / 1000} s windows.`,
  '',
  '| window | server CPU, hints on (% of a core) | hints off | hints on + announceUrl | load average |',
  '|---:|---:|---:|---:|---|',
  ...results.map((r) => `| ${r.rep + 1} | ${r.on} | ${r.off} | ${r.announce} | ${r.loadavg.join(' ')} |`),
  `| mean | **${summary.mean.on}** | **${summary.mean.off}** | **${summary.mean.announce}** | |`,
].join('\n');
writeFileSync(join(argv.out!, 'hints-idle.json'), JSON.stringify(summary, null, 2) + '\n');
writeFileSync(join(argv.out!, 'hints-idle.md'), md + '\n');
console.log(md);
