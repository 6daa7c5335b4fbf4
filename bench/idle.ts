/**
 * `npm run bench:idle [-- --seconds 20] [--counts 1,10,50] [--before PATH/dist/index.js]`:
 * what an embedded client costs at rest, beside node-discover in the same run.
 *
 * Every group runs in its own processes, started together and measured over the same
 * window, so the machine's load (shared, noisy) weighs on all of them alike:
 * - a bare Node process (the baseline), one that ran a hot loop first ('warmed': V8's
 *   optimizing compiler's code paged in, as in any process that has run for a while), and
 *   one with an idle worker thread (what any worker costs before it loads our code);
 * - this library: a server process, and for each count C one process holding C clients
 *   (createClient with a subscription: a respondent and a subscriber actor each) with the
 *   defaults (sharedThreads 'clients': the clients' actors share threads); the same again
 *   with `supervision: { sharedThreads: 'main' }` (the clients' actors on the main
 *   thread), with `{ sharedThreads: 'all' }` (the publisher shares too), with
 *   `{ sharedThreads: 'none' }` (a thread per actor) and with
 *   `{ waitOnReadiness: false }` (receiving in slices, the fallback); and, to show where
 *   one client's MiB go, the defaults' one client under `node --no-opt` (no optimizing
 *   compiler: its code pages never load) and the library imported with nothing created;
 * - with --before, the same (its defaults) for another build (e.g. the base commit's),
 *   with its own server;
 * - node-discover, loopback only (address and broadcast 127.255.255.255): ten processes
 *   of one member each (the per-member figure, as a service embedding it would run), and
 *   for each count C > 1 one process holding C members, each group on its own UDP port.
 * Defaults of both libraries. Per process: CPU over the window (user + system, from
 * /proc/PID/stat, 10 ms ticks) in % of one core, the run time of all its threads (schedstat,
 * exact: the figure that tells 0.05 % from 0.1 % in a short window), how often its main
 * thread and its other threads were woken (context switches a second, /proc/PID/task), RSS (median of one reading a second, VmRSS), of it the
 * anonymous memory (/proc/PID/smaps_rollup; the rest is file-backed: code of node and its
 * addons), and threads (/proc/PID/status); then, for this library's clients, how long each close()
 * takes (p50 / max, ms). Children are plain JavaScript run without the TypeScript
 * loader, which would add its own memory to every process and worker thread.
 * Results: bench/results/idle.json and idle.md.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { setTimeout as delay } from 'node:timers/promises';
import { freePort, tcpPair } from '../src/testing/endpoints.js';
import { BenchChild, BENCH_DIR, REPO } from './ipc.js';
import { machine, processCpuMs } from './machine.js';
import { summarize } from './stats.js';

const { values: argv } = parseArgs({
  options: {
    seconds: { type: 'string', default: '20' },
    settle: { type: 'string', default: '5' },
    counts: { type: 'string', default: '1,10,50' },
    'discover-processes': { type: 'string', default: '10' },
    before: { type: 'string' },
    out: { type: 'string', default: join(BENCH_DIR, 'results') },
  },
});
const windowMs = Number(argv.seconds) * 1000;
const settleMs = Number(argv.settle) * 1000;
const counts = argv.counts!.split(',').map(Number);
const discoverProcesses = Number(argv['discover-processes']);
if (!(windowMs > 0) || !(settleMs >= 0) || counts.some((c) => !Number.isInteger(c) || c < 1) || !(discoverProcesses >= 2)) {
  throw new Error('usage: npm run bench:idle -- [--seconds S] [--settle S] [--counts 1,10,50] [--discover-processes N>=2] [--before PATH/dist/index.js]');
}
const thisLib = pathToFileURL(join(REPO, 'dist', 'index.js')).href;
const beforeLib = argv.before ? pathToFileURL(argv.before).href : undefined;

interface Group {
  name: string;
  /** Members per process. */
  members: number;
  procs: BenchChild[];
  pids: number[];
}

const groups: Group[] = [];
const all: BenchChild[] = [];

async function group(name: string, members: number, processes: number, start: Record<string, unknown>, nodeArgs: string[] = []): Promise<Group> {
  const procs = Array.from({ length: processes }, (_, i) => new BenchChild(`${name}#${i}`, 'procs/idle-members.mjs', [], { plain: true, nodeArgs }));
  all.push(...procs);
  await Promise.all(procs.map((p) => p.up()));
  const replies = await Promise.all(procs.map((p) => p.request<{ pid: number }>('start', { count: members, ...start }, 180_000)));
  const g = { name, members, procs, pids: replies.map((r) => r.pid) };
  groups.push(g);
  return g;
}

async function libraryGroups(label: string, lib: string, supervision?: Record<string, boolean | string>, breakdown = false): Promise<void> {
  const urls = await tcpPair();
  await group(`${label}: server`, 0, 1, { kind: 'server', lib, ...urls, supervision });
  await Promise.all([
    ...counts.map((c) => group(`${label}: ${c} client${c > 1 ? 's' : ''} in one process`, c, 1, { kind: 'library', lib, ...urls, supervision })),
    // Where one client's MiB go: the same client with V8's optimizing compiler off (its
    // machine code is file-backed pages of the node binary), and the import alone.
    ...(breakdown
      ? [
          group(`${label}: 1 client in one process, node --no-opt`, 1, 1, { kind: 'library', lib, ...urls, supervision }, ['--no-opt']),
          group(`${label}: imported, nothing created`, 0, 1, { kind: 'import', lib }),
        ]
      : []),
  ]);
}

async function discoverGroups(): Promise<void> {
  const solo = await freePort();
  await group(`node-discover: 1 member per process (×${discoverProcesses})`, 1, discoverProcesses, {
    kind: 'discover',
    port: solo,
    expectPeers: discoverProcesses - 1,
  });
  for (const c of counts.filter((c) => c > 1)) {
    await group(`node-discover: ${c} members in one process`, c, 1, { kind: 'discover', port: await freePort(), expectPeers: c - 1 });
  }
}

function status(pid: number): { rssMiB: number; threads: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  return {
    rssMiB: Number(/^VmRSS:\s+(\d+)/m.exec(s)?.[1] ?? NaN) / 1024,
    threads: Number(/^Threads:\s+(\d+)/m.exec(s)?.[1] ?? NaN),
  };
}

/** One thread's counters: context switches (voluntary + not: how often it was woken and ran) and run time (ns). */
interface ThreadCounters {
  switches: number;
  runNs: number;
}

/**
 * Every thread of a process, by thread id (the main thread's is the pid): how often each
 * was switched in (/proc/PID/task/TID/status: voluntary_ctxt_switches + nonvoluntary, so
 * each wake-up of a thread that sleeps between events counts once) and its run time
 * (/proc/PID/task/TID/schedstat, ns: exact, where /proc/PID/stat counts 10 ms ticks).
 */
function threadCounters(pid: number): Map<number, ThreadCounters> {
  const threads = new Map<number, ThreadCounters>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const s = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
      const switches = Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(s)?.[1] ?? 0) + Number(/^nonvoluntary_ctxt_switches:\s+(\d+)/m.exec(s)?.[1] ?? 0);
      const runNs = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      threads.set(Number(tid), { switches, runNs });
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return threads;
}

/** Wake-ups per second of the main thread and of the others, and run time in % of a core, between two readings (threads that ended meanwhile are not counted). */
function wakeups(pid: number, before: Map<number, ThreadCounters>, after: Map<number, ThreadCounters>, elapsedMs: number): { main: number; others: number; cpuPct: number } {
  let main = 0;
  let others = 0;
  let runNs = 0;
  for (const [tid, end] of after) {
    const start = before.get(tid) ?? { switches: 0, runNs: 0 };
    if (tid === pid) main += end.switches - start.switches;
    else others += end.switches - start.switches;
    runNs += end.runNs - start.runNs;
  }
  const perSecond = (n: number) => (n / elapsedMs) * 1000;
  return { main: perSecond(main), others: perSecond(others), cpuPct: (runNs / 1e6 / elapsedMs) * 100 };
}

/** Of the RSS, anonymous memory (heaps, stacks, malloc) in MiB: the rest is file-backed (code of node and addons). */
function anonMiB(pid: number): number {
  const s = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  return Number(/^Anonymous:\s+(\d+)/m.exec(s)?.[1] ?? NaN) / 1024;
}

const round1 = (x: number) => Math.round(x * 10) / 10;
const round2 = (x: number) => Math.round(x * 100) / 100;
const round3 = (x: number) => Math.round(x * 1000) / 1000;

try {
  console.log(`bench:idle: starting (${counts.join(' / ')} members per process; window ${windowMs / 1000} s after ${settleMs / 1000} s at rest)`);
  await Promise.all([
    group('bare Node process', 0, 1, { kind: 'bare' }),
    group('bare Node process, warmed (a hot loop ran once)', 0, 1, { kind: 'warm' }),
    group('bare Node process with one idle worker thread', 0, 1, { kind: 'worker' }),
    libraryGroups('this library', thisLib, undefined, true),
    libraryGroups("this library, sharedThreads: 'main'", thisLib, { sharedThreads: 'main' }),
    libraryGroups("this library, sharedThreads: 'all'", thisLib, { sharedThreads: 'all' }),
    libraryGroups("this library, sharedThreads: 'none'", thisLib, { sharedThreads: 'none' }),
    libraryGroups('this library, in slices (waitOnReadiness: false)', thisLib, { waitOnReadiness: false }),
    ...(beforeLib ? [libraryGroups('before', beforeLib)] : []),
    discoverGroups(),
  ]);
  console.log('bench:idle: every member is up; measuring');
  await delay(settleMs);
  const pids = groups.flatMap((g) => g.pids);
  const cpu0 = new Map(pids.map((pid) => [pid, processCpuMs([pid])]));
  const threads0 = new Map(pids.map((pid) => [pid, threadCounters(pid)]));
  const rss = new Map<number, number[]>(pids.map((pid) => [pid, []]));
  const anon = new Map<number, number[]>(pids.map((pid) => [pid, []]));
  const t0 = performance.now();
  while (performance.now() - t0 < windowMs) {
    for (const pid of pids) {
      rss.get(pid)!.push(status(pid).rssMiB);
      anon.get(pid)!.push(anonMiB(pid));
    }
    await delay(1000);
  }
  const elapsed = performance.now() - t0;
  const woken = new Map(pids.map((pid) => [pid, wakeups(pid, threads0.get(pid)!, threadCounters(pid), elapsed)]));
  const rows = groups.map((g) => {
    const cpuPct = g.pids.map((pid) => ((processCpuMs([pid]) - cpu0.get(pid)!) / elapsed) * 100);
    const rssMiB = g.pids.map((pid) => summarize(rss.get(pid)!).p50);
    const anonPerProcess = g.pids.map((pid) => summarize(anon.get(pid)!).p50);
    const threads = g.pids.map((pid) => status(pid).threads);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const wake = g.pids.map((pid) => woken.get(pid)!);
    return {
      group: g.name,
      processes: g.pids.length,
      membersPerProcess: g.members,
      cpuPctPerProcess: round2(mean(cpuPct)),
      cpuPctPerMember: g.members > 0 ? round2(mean(cpuPct) / g.members) : null,
      runPctPerProcess: round3(mean(wake.map((w) => w.cpuPct))),
      wakeupsPerSecond: { main: round1(mean(wake.map((w) => w.main))), others: round1(mean(wake.map((w) => w.others))) },
      rssMiBPerProcess: round1(mean(rssMiB)),
      anonMiBPerProcess: round1(mean(anonPerProcess)),
      threadsPerProcess: Math.round(mean(threads)),
    };
  });
  // After the window: close the library's clients one by one, timed in their own process.
  const closing = await Promise.all(
    groups.map(async (g) => {
      if (!g.name.includes('client')) return null;
      const { closeMs } = await g.procs[0]!.request<{ closeMs: number[] }>('close', {}, 180_000);
      const s = summarize(closeMs);
      return { p50: round1(s.p50), max: round1(s.max) };
    }),
  );
  const results = rows.map((r, i) => ({ ...r, closeMs: closing[i] ?? null }));
  // Groups are listed as they came up, not as started: find the baseline by name.
  const bare = results.find((r) => r.group === 'bare Node process')!;
  const md = [
    `Idle for ${Math.round(elapsed / 1000)} s after ${settleMs / 1000} s at rest; per process (mean over the group's processes). Machine: ${machine().nproc} cores, load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}.`,
    '',
    '| group | processes | members per process | CPU, % of a core | CPU per member | run time (schedstat), % of a core | wake-ups / s: main thread + other threads | RSS (MiB) | RSS above bare Node (MiB) | of which anonymous / file-backed (MiB) | threads | close() p50 / max (ms) |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...results.map((r) => {
      const above = r === bare ? '' : round1(r.rssMiBPerProcess - bare.rssMiBPerProcess);
      const anonAbove = round1(r.anonMiBPerProcess - bare.anonMiBPerProcess);
      const split = r === bare ? `${r.anonMiBPerProcess} / ${round1(r.rssMiBPerProcess - r.anonMiBPerProcess)}` : `${anonAbove} / ${round1(r.rssMiBPerProcess - bare.rssMiBPerProcess - anonAbove)}`;
      const wake = `${r.wakeupsPerSecond.main} + ${r.wakeupsPerSecond.others}`;
      return `| ${r.group} | ${r.processes} | ${r.membersPerProcess} | ${r.cpuPctPerProcess} | ${r.cpuPctPerMember ?? ''} | ${r.runPctPerProcess} | ${wake} | ${r.rssMiBPerProcess} | ${above} | ${split} | ${r.threadsPerProcess} | ${r.closeMs ? `${r.closeMs.p50} / ${r.closeMs.max}` : ''} |`;
    }),
  ].join('\n');
  console.log(md);
  writeFileSync(join(argv.out!, 'idle.json'), JSON.stringify({ machine: machine(), windowMs: elapsed, settleMs, rows: results }, null, 2) + '\n');
  writeFileSync(join(argv.out!, 'idle.md'), md + '\n');
} finally {
  await Promise.all(all.map((p) => p.stop()));
}
