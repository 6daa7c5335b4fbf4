/**
 * `npm run bench:detection [-- --quick] [options]`: adaptive answer deadlines against the
 * fixed one, side by side in one run.
 *
 * Three servers, each in its own process, with the same timing, answered by the same
 * respondents, watched by S subscribers each:
 * - original: the Go original's algorithm (schedule 'original', eagerJoin false, detection 'deadline');
 * - deadline: this library with detection 'deadline' (every member has until the survey's end);
 * - adaptive: detection 'adaptive' (per-member deadlines, mid-round drops), connection hints off;
 * - hints: this library's defaults, detection 'adaptive' with connection hints (a closed
 *   connection starts a survey at once, rate-limited; README "Connection hints").
 * The default run is original, adaptive and hints; `--modes` picks others (deadline too).
 *
 * For each timing set (default 1000/1000/2000 ms, fast 100/100/200 ms) and each N, probes
 * join at random phases, stay for 4 rounds (a member needs 3 answers for an adaptive
 * deadline) and leave at a random phase; join / leave latency runs from the probe's connect /
 * close to the moment every subscriber of that server holds a list with / without it.
 * False drops: members that never left but were published as gone (each is a flap: gone,
 * then back). Rounds complete: every member counted and none dropped.
 *
 * `--starve`: the same, with a CPU hog busy on every core (stress-ng, or busy child
 * processes if it is missing) and respondent processes whose event loop blocks for 50–200 ms
 * at random moments (bench/procs/swarm.ts, SWARM_BLOCK_MS): the false drops of each mode.
 *
 * `--modes original,hints`: the original beside one library mode only (the default runs
 * three), so that N = 10,000 fits in the loopback's ephemeral ports (2 × N connections).
 *
 * Results: bench/results/detection-{full,quick,starve}.json, .md (the table) and .svg (the
 * chart); `--render FILE.json[,MORE.json]` re-renders the last two from a results file,
 * merging the rows of the others into it. Every process it starts is
 * stopped at the end, even on failure.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { drawDetectionChart } from './detection-chart.js';
import { BenchChild, BENCH_DIR } from './ipc.js';
import { machine, nofileLimits } from './machine.js';
import { ratio, round, summarize, type Summary } from './stats.js';
import { ServerView, settleAt, startServerBed, SubscriberView, Swarm, type ChangeEvent, type RoundEvent } from './views.js';

const { values: argv } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    starve: { type: 'boolean', default: false },
    n: { type: 'string' },
    timing: { type: 'string' },
    reps: { type: 'string' },
    lanes: { type: 'string' },
    subscribers: { type: 'string' },
    'per-process': { type: 'string' },
    out: { type: 'string' },
    render: { type: 'string' },
    modes: { type: 'string' },
  },
});

const TIMINGS = {
  default: { surveyTime: 1000, recvDeadline: 1000, pollTime: 2000 },
  fast: { surveyTime: 100, recvDeadline: 100, pollTime: 200 },
} as const;
type TimingId = keyof typeof TIMINGS;

const ALL_MODES = [
  { id: 'original', label: "original: schedule 'original', eagerJoin false, detection 'deadline', no connection hints", options: { schedule: 'original', eagerJoin: false, detection: 'deadline', connectionHints: false } },
  { id: 'deadline', label: "this library, detection 'deadline': every member has until the survey's end (no connection hints)", options: { schedule: 'fixed-rate', eagerJoin: true, detection: 'deadline', connectionHints: false } },
  { id: 'adaptive', label: "this library, detection 'adaptive': per-member deadlines, no connection hints", options: { schedule: 'fixed-rate', eagerJoin: true, detection: 'adaptive', connectionHints: false } },
  { id: 'hints', label: "this library's defaults: detection 'adaptive' with connection hints (a closed connection starts a survey)", options: { schedule: 'fixed-rate', eagerJoin: true, detection: 'adaptive', connectionHints: true } },
] as const;
type ModeId = (typeof ALL_MODES)[number]['id'];
type LibraryModeId = Exclude<ModeId, 'original'>;

const starve = argv.starve!;
const quick = argv.quick!;
const config = {
  mode: starve ? 'starve' : quick ? 'quick' : 'full',
  timings: (argv.timing ?? 'default,fast').split(',') as TimingId[],
  ns: (argv.n ?? (starve ? '100' : '100,1000')).split(',').map(Number),
  reps: Number(argv.reps ?? (quick ? 12 : 32)),
  lanes: Number(argv.lanes ?? (quick ? 4 : 8)),
  subscribers: Number(argv.subscribers ?? 2),
  /** Starved respondents block per process: small processes, so that the blocks of different members are independent. */
  perProcess: Number(argv['per-process'] ?? (starve ? 20 : 400)),
  block: starve ? { ms: '50-200', everyMs: 1500 } : null,
  maxMembers: 20_000,
  /**
   * The modes run side by side: the original always, beside one or both library modes. One
   * library mode per run halves the respondents' loopback connections (N per server), so that
   * N = 10,000 fits in Linux's ~28,000 ephemeral ports (32768–60999).
   */
  modes: (argv.modes ?? 'original,adaptive,hints').split(',') as ModeId[],
};
for (const m of config.modes) if (!ALL_MODES.some((x) => x.id === m)) throw new Error(`--modes: one or more of ${ALL_MODES.map((x) => x.id).join(', ')}`);
if (!config.modes.includes('original') || config.modes.length < 2) throw new Error('--modes: the original and at least one library mode (the ratios are to the original)');
const MODES = ALL_MODES.filter((m) => config.modes.includes(m.id));
/**
 * Every respondent dials every server from one loopback address: N × modes connections, each
 * holding an ephemeral port (32768–60999, ~28,000). Past that nanomsg aborts the respondent
 * process (usock_posix.inc:195), so such a run is refused before it starts.
 */
const EPHEMERAL_PORTS_USABLE = 25_000;
for (const n of config.ns) {
  if (n * MODES.length > EPHEMERAL_PORTS_USABLE) {
    throw new Error(`--n ${n} with ${MODES.length} modes needs ${n * MODES.length} loopback connections, more than the ~${EPHEMERAL_PORTS_USABLE} ephemeral ports usable: run fewer modes (--modes original,adaptive)`);
  }
}
for (const t of config.timings) if (!(t in TIMINGS)) throw new Error(`--timing: one or more of ${Object.keys(TIMINGS).join(', ')}`);
for (const n of config.ns) if (!Number.isInteger(n) || n < 2) throw new Error(`--n: bad member count ${n}`);

/** Rounds a probe stays listed before it leaves (an adaptive deadline needs 3 answers). */
const DWELL_ROUNDS = 4;
const startedAt = performance.now();
const log = (...a: unknown[]) => console.error(`[detection ${((performance.now() - startedAt) / 1000).toFixed(1)}s]`, ...a);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface ModeAtN {
  join: Summary;
  leave: Summary;
  /** Live members published as gone (each a flap), during the trials. */
  falseDrops: number;
  rounds: { count: number; complete: number };
  /** Adaptive only: the surveyor's local health multiplier over the rounds (mean, max): how far deadlines were stretched. */
  localHealth?: { mean: number; max: number };
  /** Adaptive only: the floor over the rounds, ms (mean, max). */
  floor?: { mean: number; max: number };
  failedTrials: number;
  /**
   * Where each leave's time went (p50 / p90 over the leaves, ms): `survey`, from the close to
   * the send of the survey that found the member silent; `decide`, from that send to the
   * change (the member's deadline, or the survey's end); `deliver`, from the change to the
   * last subscriber holding the list without it (publication and delivery).
   */
  leaveParts?: Record<'survey' | 'decide' | 'deliver', { p50: number; p90: number }>;
}

interface Row {
  timing: TimingId;
  n: number;
  modes: Partial<Record<ModeId, ModeAtN>>;
  /** leave and join of each library mode / the original's (p50, p99). */
  ratios: Partial<Record<LibraryModeId, { leaveP50: number; leaveP99: number; joinP50: number }>>;
  noise: { loadavg: number[] };
  respondentBlocks?: number;
}

/** Everything started for one timing set: servers, subscribers, probes, respondents. */
class Bed {
  readonly servers = new Map<ModeId, ServerView>();
  readonly subs = new Map<ModeId, SubscriberView>();
  probe!: BenchChild;
  swarm!: Swarm;
  surveyUrls: string[] = [];
  readonly period: number;

  constructor(readonly timingId: TimingId) {
    const t = TIMINGS[timingId];
    // The original's period is pollTime plus its round; the library's is pollTime.
    this.period = t.pollTime + t.surveyTime;
  }

  async start(): Promise<void> {
    const timing = TIMINGS[this.timingId];
    const nofile = Math.min(nofileLimits().hard, Math.max(...config.ns) + 4096);
    for (const m of MODES) {
      const { server, subs, surveyUrl } = await startServerBed(m.id, { ...timing, ...m.options, maxMembers: config.maxMembers }, config.subscribers, nofile);
      this.surveyUrls.push(surveyUrl);
      this.servers.set(m.id, server);
      this.subs.set(m.id, subs);
    }
    this.probe = new BenchChild('probes', 'procs/swarm.ts');
    await this.probe.up();
    const env: Record<string, string> = config.block ? { SWARM_BLOCK_MS: config.block.ms, SWARM_BLOCK_EVERY_MS: String(config.block.everyMs) } : {};
    this.swarm = new Swarm(this.surveyUrls, config.perProcess, { nofile: 4096, env });
  }

  /** Until every server had two complete rounds in a row with n members and every subscriber holds n. */
  async settle(n: number): Promise<void> {
    await settleAt(MODES.map((m) => this.servers.get(m.id)!), MODES.map((m) => this.subs.get(m.id)!), n);
  }


  /** Join and leave trials of probes at random phases; latencies to every subscriber of each server. */
  async measure(n: number, tag: number): Promise<Row> {
    const from = Object.fromEntries(MODES.map((m) => [m.id, { rounds: this.servers.get(m.id)!.rounds.length, changes: this.servers.get(m.id)!.changes.length }])) as Record<ModeId, { rounds: number; changes: number }>;
    const blocks0 = config.block ? await this.blocks() : 0;
    const joins = Object.fromEntries(MODES.map((m) => [m.id, [] as number[]])) as Record<ModeId, number[]>;
    const leaves = Object.fromEntries(MODES.map((m) => [m.id, [] as number[]])) as Record<ModeId, number[]>;
    const failed = Object.fromEntries(MODES.map((m) => [m.id, 0])) as Record<ModeId, number>;
    /** Each completed leave: the probe's name, its close and the last subscriber's list without it (wall ms). */
    const leaveTimes = Object.fromEntries(MODES.map((m) => [m.id, [] as Array<{ name: string; closedAt: number; seenAt: number }>])) as Record<ModeId, Array<{ name: string; closedAt: number; seenAt: number }>>;
    const probeNames = new Set<string>();
    const watchMs = 4 * this.period + 10_000;
    const perLane = Math.ceil(config.reps / config.lanes);
    const lane = async (l: number) => {
      for (let i = 0; i < perLane && l * perLane + i < config.reps; i++) {
        const name = `http://10.${250 - tag}.${l}.${i}:8080`;
        probeNames.add(name);
        await sleep(Math.random() * this.period);
        const joinWatch = await Promise.all(MODES.map((m) => this.subs.get(m.id)!.watch(name, true, watchMs)));
        const { at: joinAt } = await this.probe.request<{ at: number }>('open', { names: [name], urls: this.surveyUrls });
        const joined = await Promise.all(joinWatch.map((w) => w.done));
        // A member lives for a while before it leaves: long enough to have answered the
        // rounds an adaptive deadline needs (3), then a random phase.
        await sleep(DWELL_ROUNDS * TIMINGS[this.timingId].pollTime + Math.random() * this.period);
        const leaveWatch = await Promise.all(MODES.map((m) => this.subs.get(m.id)!.watch(name, false, watchMs)));
        const { at: leaveAt } = await this.probe.request<{ at: number }>('close', { names: [name] });
        const left = await Promise.all(leaveWatch.map((w) => w.done));
        MODES.forEach((m, k) => {
          if (joined[k]) joins[m.id].push(Math.max(...joined[k]!) - joinAt);
          if (left[k]) {
            leaves[m.id].push(Math.max(...left[k]!) - leaveAt);
            leaveTimes[m.id].push({ name, closedAt: leaveAt, seenAt: Math.max(...left[k]!) });
          }
          if (!joined[k] || !left[k]) failed[m.id]++;
        });
      }
    };
    await Promise.all(Array.from({ length: config.lanes }, (_, l) => lane(l)));
    await Promise.all(MODES.map((m) => this.servers.get(m.id)!.waitRound(() => true, 3 * this.period + 10_000, 'a round')));
    const modes = {} as Record<ModeId, ModeAtN>;
    for (const m of MODES) {
      const view = this.servers.get(m.id)!;
      const changes = view.changes.slice(from[m.id].changes);
      const falseIn = (c: (typeof changes)[number]) => c.leftCount - c.left.filter((x) => probeNames.has(x)).length;
      const dropRounds = new Set(changes.filter((c) => falseIn(c) > 0).map((c) => c.round));
      const rounds = view.rounds.slice(from[m.id].rounds);
      modes[m.id] = {
        join: summarize(joins[m.id]),
        leave: summarize(leaves[m.id]),
        falseDrops: changes.reduce((sum, c) => sum + falseIn(c), 0),
        rounds: { count: rounds.length, complete: rounds.filter((r) => r.answers >= n && !dropRounds.has(r.round)).length },
        failedTrials: failed[m.id],
      };
      const parts = leaveParts(leaveTimes[m.id], changes, rounds);
      if (parts) modes[m.id].leaveParts = parts;
      const lhm = rounds.map((r) => r.localHealth).filter((v): v is number => v !== undefined);
      if (lhm.length > 0) modes[m.id].localHealth = { mean: round(lhm.reduce((a, b) => a + b, 0) / lhm.length, 2), max: Math.max(...lhm) };
      const floors = rounds.map((r) => r.floorMs).filter((v): v is number => v !== undefined);
      if (floors.length > 0) modes[m.id].floor = { mean: round(floors.reduce((a, b) => a + b, 0) / floors.length, 0), max: Math.max(...floors) };
    }
    const ratios: Row['ratios'] = {};
    for (const m of MODES) {
      if (m.id === 'original') continue;
      const leave = ratio(modes[m.id].leave, modes.original.leave);
      ratios[m.id] = { leaveP50: round(leave.p50, 2), leaveP99: round(leave.p99, 2), joinP50: round(ratio(modes[m.id].join, modes.original.join).p50, 2) };
    }
    const row: Row = { timing: this.timingId, n, modes, ratios, noise: { loadavg: os.loadavg().map((v) => round(v, 2)) } };
    if (config.block) row.respondentBlocks = (await this.blocks()) - blocks0;
    return row;
  }

  private async blocks(): Promise<number> {
    const stats = await Promise.all(this.swarm.procs.map((p) => p.child.request<{ blocks: number }>('stats')));
    return stats.reduce((s, x) => s + x.blocks, 0);
  }

  async stop(): Promise<void> {
    await Promise.allSettled([this.swarm?.stop(), this.probe?.stop()]);
    await Promise.allSettled([...this.subs.values()].map((s) => s.child.stop()));
    await Promise.allSettled([...this.servers.values()].map((s) => s.child.stop(10_000)));
  }
}

/**
 * Splits each leave at the survey that found the member silent and at the change that
 * dropped it: the change is the first one after the close whose `left` names the probe, its
 * round's survey went out `sendMs` after the round began (`at - durationMs`).
 */
function leaveParts(
  leaves: Array<{ name: string; closedAt: number; seenAt: number }>,
  changes: ChangeEvent[],
  rounds: RoundEvent[],
): ModeAtN['leaveParts'] | undefined {
  const survey: number[] = [];
  const decide: number[] = [];
  const deliver: number[] = [];
  for (const l of leaves) {
    const change = changes.find((c) => c.at >= l.closedAt && c.left.includes(l.name));
    const r = change && rounds.find((x) => x.round === change.round);
    if (!change || !r) continue;
    const sentAt = r.at - r.durationMs + r.sendMs;
    survey.push(sentAt - l.closedAt);
    decide.push(change.at - sentAt);
    deliver.push(l.seenAt - change.at);
  }
  if (survey.length === 0) return undefined;
  const of = (v: number[]) => {
    const sorted = [...v].sort((a, b) => a - b);
    const at = (q: number) => round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!, 0);
    return { p50: at(0.5), p90: at(0.9) };
  };
  return { survey: of(survey), decide: of(decide), deliver: of(deliver) };
}

// ------------------------------------------------------------------ the CPU hog

/** Busy on every core: stress-ng if installed, else one busy-looping node process per core. */
function startHog(): ChildProcess[] {
  const cores = os.availableParallelism();
  if (!spawnSync('stress-ng', ['--version'], { stdio: 'ignore' }).error) {
    return [spawn('stress-ng', ['--cpu', String(cores), '--quiet'], { stdio: 'ignore', detached: true })];
  }
  return Array.from({ length: cores }, () => spawn(process.execPath, ['-e', 'for(;;);'], { stdio: 'ignore', detached: true }));
}

function stopHog(hog: ChildProcess[]): void {
  for (const h of hog) {
    try {
      process.kill(-h.pid!, 'SIGKILL');
    } catch {
      h.kill('SIGKILL');
    }
  }
}

// ------------------------------------------------------------------ main

const rows: Row[] = [];

function markdown(result: { date: string; machine: ReturnType<typeof machine>; config: typeof config; rows: Row[]; note?: string; merged?: Array<{ date: string; config: typeof config }> }): string {
  const ms = (v: number) => (Number.isFinite(v) ? `${Math.round(v)}` : '–');
  const x = (v: number) => (Number.isFinite(v) ? `×${v.toFixed(2)}` : '–');
  const lines = [
    `Detection benchmark (${result.config.mode}), ${result.date}: ${result.machine.nproc} CPUs (${result.machine.cpuModel}), node ${result.machine.node}; ` +
      `${result.config.reps} join + leave trials per N, ${result.config.subscribers} subscribers per server` +
      (result.config.block ? `; CPU hog on every core, respondents blocked ${result.config.block.ms} ms about every ${result.config.block.everyMs} ms` : '') +
      '.',
    '',
    '| timing (survey/recv/poll ms) | N | mode | join p50 / p99 ms | leave p50 / p99 ms | leave p50 / p99 vs original | leave p50: to survey · decide · deliver ms | false drops | rounds complete | local health mean / max | floor mean / max ms | load average |',
    '|---|---:|---|---|---|---|---|---:|---|---|---|---|',
  ];
  for (const r of result.rows) {
    const t = TIMINGS[r.timing];
    for (const m of ALL_MODES) {
      const a = r.modes[m.id];
      if (!a) continue;
      const vs = m.id === 'original' ? '–' : `${x(r.ratios[m.id]!.leaveP50)} / ${x(r.ratios[m.id]!.leaveP99)}`;
      const parts = a.leaveParts ? `${a.leaveParts.survey.p50} · ${a.leaveParts.decide.p50} · ${a.leaveParts.deliver.p50}` : '–';
      lines.push(
        `| ${r.timing} (${t.surveyTime}/${t.recvDeadline}/${t.pollTime}) | ${r.n.toLocaleString('en')} | ${m.id} | ${ms(a.join.p50)} / ${ms(a.join.p99)} | ${ms(a.leave.p50)} / ${ms(a.leave.p99)} | ${vs} | ${parts} | ${a.falseDrops} | ${a.rounds.complete}/${a.rounds.count} | ${a.localHealth ? `${a.localHealth.mean} / ${a.localHealth.max}` : '–'} | ${a.floor ? `${a.floor.mean} / ${a.floor.max}` : '–'} | ${r.noise.loadavg.join(' ')} |`,
      );
    }
  }
  for (const m of result.merged ?? []) lines.push('', `Merged: a run of ${m.date} (N = ${m.config.ns.join(', ')}; ${m.config.timings.join(', ')} timing; modes ${m.config.modes.join(', ')}; ${m.config.reps} trials per N).`);
  if (result.note) lines.push('', `Note: ${result.note}.`);
  return lines.join('\n') + '\n';
}

async function main(): Promise<void> {
  const m = machine();
  log(`machine: ${m.nproc} CPUs, node ${m.node}; config ${JSON.stringify(config)}`);
  let hog: ChildProcess[] = [];
  try {
    for (const timingId of config.timings) {
      const bed = new Bed(timingId);
      try {
        await bed.start();
        for (const [i, n] of config.ns.entries()) {
          log(`${timingId}: growing to ${n} members`);
          await bed.swarm.grow(n);
          await bed.settle(n);
          if (starve) hog = startHog();
          const row = await bed.measure(n, config.timings.indexOf(timingId) * 10 + i);
          stopHog(hog);
          hog = [];
          rows.push(row);
          log(
            `${timingId} N=${row.n}: leave p50 ` +
              MODES.map((mo) => `${mo.id} ${Math.round(row.modes[mo.id]!.leave.p50)}`).join(', ') +
              ` ms (${Object.entries(row.ratios).map(([id, v]) => `${id} ×${v.leaveP50}`).join(', ')}); parts ` +
              MODES.map((mo) => `${mo.id} ${JSON.stringify(row.modes[mo.id]!.leaveParts)}`).join(', ') +
              '; false drops ' +
              MODES.map((mo) => `${mo.id} ${row.modes[mo.id]!.falseDrops}`).join(', ') +
              (row.respondentBlocks !== undefined ? `; respondent blocks ${row.respondentBlocks}` : ''),
          );
        }
      } finally {
        stopHog(hog);
        await bed.stop();
      }
    }
  } finally {
    stopHog(hog);
  }
  const result = { benchmark: 'gopherdiscovery detection', date: new Date().toISOString(), machine: m, config, modes: Object.fromEntries(MODES.map((mo) => [mo.id, mo.label])), timings: TIMINGS, rows, durationSeconds: round((performance.now() - startedAt) / 1000, 0) };
  const dir = argv.out ?? join(BENCH_DIR, 'results');
  mkdirSync(dir, { recursive: true });
  const base = join(dir, `detection-${config.mode}`);
  writeFileSync(`${base}.json`, JSON.stringify(result, null, 2) + '\n');
  const md = markdown(result);
  writeFileSync(`${base}.md`, md);
  writeFileSync(`${base}.svg`, drawDetectionChart(result));
  console.log(md);
  log(`results: ${base}.json, .md`);
}

if (argv.render) {
  // Re-render the table and chart of a results file, without running anything. More files
  // after a comma (a run of other N or modes, say N = 10,000 with --modes original,adaptive)
  // are merged into the first: their rows appended, their configurations kept under `merged`.
  const [first, ...more] = argv.render.split(',');
  const result = JSON.parse(readFileSync(first!, 'utf8'));
  for (const file of more) {
    const other = JSON.parse(readFileSync(file, 'utf8'));
    result.rows.push(...other.rows);
    result.modes = { ...other.modes, ...result.modes };
    result.merged = [...(result.merged ?? []), { date: other.date, config: other.config, durationSeconds: other.durationSeconds }];
  }
  if (more.length > 0) writeFileSync(first!, JSON.stringify(result, null, 2) + '\n');
  writeFileSync(first!.replace(/\.json$/, '.md'), markdown(result));
  writeFileSync(first!.replace(/\.json$/, '.svg'), drawDetectionChart(result));
  console.log(`rendered ${first!.replace(/\.json$/, '.md')} and .svg`);
} else {
  main().then(
    () => process.exit(0),
    (e) => {
      log('FAILED:', (e as Error).stack ?? e);
      if (rows.length > 0) {
        const dir = argv.out ?? join(BENCH_DIR, 'results');
        mkdirSync(dir, { recursive: true });
        writeFileSync(join(dir, `detection-${config.mode}-failed.json`), JSON.stringify({ error: String((e as Error).stack ?? e), config, rows }, null, 2) + '\n');
      }
      process.exit(1);
    },
  );
}
