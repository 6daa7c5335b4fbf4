/**
 * `npm run bench:announce [-- --quick] [--n 100,1000] [--reps R] [--modes original,announce]`: join and graceful leave
 * with announcements (README "Announcements"), side by side in one run with the same
 * members answering every server:
 * - original: the Go original's algorithm (schedule 'original', eagerJoin false, detection 'deadline', connection hints off);
 * - library: this library's defaults (connection hints on), without an announce socket;
 * - announce: this library's defaults with `announceUrl` and `joinUrl` (README "Join survey":
 *   the probes and churn members dial the join URL too, so a hello is surveyed there);
 * - node-discover (devDependency, loopback only: address and broadcast 127.255.255.255):
 *   an observer and N background members in one process (N = 100 only: at 1,000 every member
 *   hears every other's hello each second, a million datagrams a second on one host).
 *
 * Default timing (1000 / 1000 / 2000 ms). For each N: N raw respondents (bench/procs/swarm.ts)
 * answer all three servers; probes are library clients (bench/procs/announce-probes.ts) that
 * answer all three and say hello and bye to the announce server. Join runs from the call to
 * createClient (whose own duration is reported beside) to the moment both subscribers of a
 * server hold a list with the probe; graceful leave from the call to close() to both holding
 * a list without it. Then, at each N: rounds and answers per second of each server
 * (a) at rest, (b) under a churn of 10 joins and 10 leaves a second (raw members that
 * announce as library clients do, each staying 1 s), and
 * (c) under a flood of 1,000 forged hellos and 100 forged byes (naming listed members) a
 * second, with the changes the flood caused (none expected: lists stay exact).
 *
 * Each join and leave of the announce server is split at the survey and at the change
 * (server events): join = createClient resolved → send of the survey it first answered (the
 * join survey's, for a change that says `viaJoin`) ·
 * → the change listing it · → both subscribers; leave = close() → send of the survey that
 * found it silent · → the change dropping it · → both subscribers (`parts`: p50 / p90 ms).
 * Each join is also traced (`joinTraces`, summed up in `joinTraceSummary` and the .md): the
 * probe's hellos (its client's 'announced' events), every survey sent from createClient
 * resolved to the one that listed it with the round's trigger, `askedMs`, `heldBy` and
 * collection time, and surveys after the hello that missed the probe.
 *
 * `--modes original,announce`: the announce server beside one other (the default runs all
 * three), so that N = 10,000 fits in the loopback's ephemeral ports: every respondent dials
 * every server (N × modes connections); a run needing more than ~25,000 is refused up front.
 *
 * Results: bench/results/announce-{full,quick}[-TAG].json and .md (`--tag TAG`). Every process it starts is
 * stopped at the end, even on failure.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { freePort } from '../src/testing/endpoints.js';
import { BenchChild, BENCH_DIR } from './ipc.js';
import { machine, nofileLimits } from './machine.js';
import { quantile, round, summarize, type Summary } from './stats.js';
import { ServerView, settleAt, startServerBed, SubscriberView, Swarm, type ChangeEvent, type JoinSurveyEvent, type RoundEvent } from './views.js';

const { values: argv } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    n: { type: 'string' },
    reps: { type: 'string' },
    lanes: { type: 'string' },
    out: { type: 'string' },
    modes: { type: 'string' },
    tag: { type: 'string' },
  },
});

const TIMING = { surveyTime: 1000, recvDeadline: 1000, pollTime: 2000 } as const;
const ALL_MODES = [
  { id: 'original', label: "original: schedule 'original', eagerJoin false, detection 'deadline', no connection hints", options: { schedule: 'original', eagerJoin: false, detection: 'deadline', connectionHints: false } },
  { id: 'library', label: 'this library, defaults (connection hints), no announce socket', options: {} },
  { id: 'announce', label: 'this library, defaults + announceUrl + joinUrl', options: {} },
] as const;
type ModeId = (typeof ALL_MODES)[number]['id'];
const modeIds = (argv.modes ?? ALL_MODES.map((m) => m.id).join(',')).split(',');
for (const m of modeIds) if (!ALL_MODES.some((x) => x.id === m)) throw new Error(`--modes: one or more of ${ALL_MODES.map((x) => x.id).join(', ')}`);
if (!modeIds.includes('announce') || modeIds.length < 2) throw new Error('--modes: announce and at least one other mode (they run side by side)');
const MODES = ALL_MODES.filter((m) => modeIds.includes(m.id));

const quick = argv.quick!;
const config = {
  mode: quick ? 'quick' : 'full',
  ns: (argv.n ?? '100,1000').split(',').map(Number),
  reps: Number(argv.reps ?? (quick ? 8 : 20)),
  lanes: Number(argv.lanes ?? 4),
  subscribers: 2,
  perProcess: 400,
  discoverAtMost: 100,
  phaseSeconds: quick ? 5 : 10,
  modes: MODES.map((m) => m.id),
};
/**
 * Every respondent dials every server: N × modes loopback connections, each holding an
 * ephemeral port (32768–60999, ~28,000) of its source address. Past that nanomsg aborts the
 * respondent process (usock_posix.inc:195), so such a run is refused up front. The swarm's
 * processes each dial from a source address of their own (SWARM_SOURCE_SPREAD), since other
 * benches on the host draw on 127.0.0.1's ports too (one aborted at ~17,000 of ours): the
 * bound applies to the whole run all the same, as the ports of the servers' side, the
 * descriptors and memory grow with it.
 */
const EPHEMERAL_PORTS_USABLE = 25_000;
for (const n of config.ns) {
  if (!Number.isInteger(n) || n < 2) throw new Error(`--n: bad member count ${n}`);
  if (n * MODES.length > EPHEMERAL_PORTS_USABLE) {
    throw new Error(`--n ${n} with ${MODES.length} modes needs ${n * MODES.length} loopback connections, more than the ~${EPHEMERAL_PORTS_USABLE} ephemeral ports usable: run fewer modes (--modes original,announce)`);
  }
}
const period = TIMING.pollTime + TIMING.surveyTime;
const startedAt = performance.now();
const log = (...a: unknown[]) => console.error(`[announce ${((performance.now() - startedAt) / 1000).toFixed(1)}s]`, ...a);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Phase {
  seconds: number;
  /** Per mode: rounds and answers a second, join surveys a second (the announce server's), and changes that removed a listed swarm member (flaps). */
  modes: Record<ModeId, { roundsPerSecond: number; answersPerSecond: number; joinSurveysPerSecond: number; falseDrops: number }>;
  sent?: number;
  loadavg: number[];
}

interface Row {
  n: number;
  join: Record<ModeId | 'node-discover', Summary>;
  /** Join from createClient's resolve (the client's respondent is connected and its hello on its way) rather than its call. */
  joinFromReady: Record<ModeId, Summary>;
  leave: Record<ModeId | 'node-discover', Summary>;
  createClientMs: Summary;
  closeMs: Summary;
  failedTrials: Record<ModeId, number>;
  /** The announce server's joins and leaves split at the survey and the change (p50 / p90 ms): see the module comment. */
  parts?: { join: Parts; leave: Parts };
  /** The announce server's joins listed by a join survey (the rest by a main round), of the trials traced. */
  joinsViaJoinSurvey?: number;
  /** The announce server's joins traced step by step (see JoinTrace), and their summary. */
  joinTraces?: JoinTrace[];
  joinTraceSummary?: ReturnType<typeof traceSummary>;
  /** Rest, churn and flood at this N. */
  phases?: Record<string, Phase>;
  loadavg: number[];
}

type Parts = Record<'survey' | 'change' | 'deliver', { p50: number; p90: number }>;

/** One join or leave of a probe: from `fromAt` (createClient resolved, close() called) to `seenAt` (both subscribers), wall ms. */
interface Trial {
  name: string;
  fromAt: number;
  seenAt: number;
  /** Joins: wall ms of the probe's hellos (its client's 'announced' events). */
  hellos?: number[];
}

/**
 * One join of the announce server, traced (ms from createClient resolved): the probe's
 * hellos, every survey sent from then until the one whose change listed the probe (with its
 * trigger), and that change. `missed`: surveys sent after the first hello that did not list it.
 */
interface JoinTrace {
  hellos: number[];
  /** `askedMs`, `heldBy`: the round's (RoundInfo); `collectMs`: its last answer after its send. */
  surveys: Array<{ at: number; trigger: string; answers: number; askedMs?: number; heldBy?: string; collectMs: number }>;
  change: number;
  missed: number;
}

/** The join survey that admitted a `viaJoin` change: the one under way as it was published (its event comes at its end). */
function joinSurveyOf(change: ChangeEvent, joinSurveys: JoinSurveyEvent[]): JoinSurveyEvent | undefined {
  return change.viaJoin ? joinSurveys.find((j) => j.at - j.durationMs <= change.at + 0.5 && j.at >= change.at - 0.5) : undefined;
}

/** When the survey that listed a change's newcomers was sent (wall ms): a join survey's, or its round's. */
function listedBy(change: ChangeEvent, rounds: RoundEvent[], joinSurveys: JoinSurveyEvent[]): number | undefined {
  const j = joinSurveyOf(change, joinSurveys);
  if (j) return j.at - j.durationMs;
  const r = rounds.find((x) => x.round === change.round);
  return r && r.at - r.durationMs + r.sendMs;
}

/** The join traces of `trials` (see JoinTrace), from the announce server's rounds, join surveys and changes. */
function traceJoins(trials: Trial[], changes: ChangeEvent[], rounds: RoundEvent[], joinSurveys: JoinSurveyEvent[]): JoinTrace[] {
  const traces: JoinTrace[] = [];
  for (const t of trials) {
    const change = changes.find((c) => c.at >= t.fromAt - 1000 && c.joined.includes(t.name));
    const listedAt = change && listedBy(change, rounds, joinSurveys);
    if (!change || listedAt === undefined) continue;
    const sentOf = (x: RoundEvent) => x.at - x.durationMs + x.sendMs;
    const j = joinSurveyOf(change, joinSurveys);
    const surveys: JoinTrace['surveys'] = rounds
      .filter((x) => sentOf(x) >= t.fromAt - 5 && sentOf(x) <= listedAt + 0.5)
      .map((x) => ({ at: round(sentOf(x) - t.fromAt, 1), trigger: x.trigger, answers: x.answers, ...(x.askedMs !== undefined ? { askedMs: round(x.askedMs, 1), heldBy: x.heldBy } : {}), collectMs: round(x.lastAnswerMs - x.sendMs, 1) }));
    if (j) surveys.push({ at: round(listedAt - t.fromAt, 1), trigger: 'join survey', answers: j.answers, collectMs: round(j.durationMs, 1) });
    const hellos = (t.hellos ?? []).map((h) => round(h - t.fromAt, 1));
    const firstHello = hellos[0] ?? 0;
    traces.push({ hellos, surveys, change: round(change.at - t.fromAt, 1), missed: surveys.filter((s) => s.at >= firstHello && s.at < listedAt - t.fromAt - 0.5).length });
  }
  return traces;
}

/** p50 / p90 of the join traces' steps: createClient resolved → first hello → next survey sent; surveys that missed the probe. */
function traceSummary(traces: JoinTrace[]): Record<string, { p50: number; p90: number } | number> {
  const of = (v: number[]) => {
    const sorted = [...v].sort((a, b) => a - b);
    return { p50: round(quantile(sorted, 0.5), 1), p90: round(quantile(sorted, 0.9), 1) };
  };
  const withHello = traces.filter((t) => t.hellos.length > 0);
  return {
    traced: traces.length,
    helloSeen: withHello.length,
    readyToHello: of(withHello.map((t) => t.hellos[0]!)),
    helloToSurvey: of(withHello.flatMap((t) => {
      const next = t.surveys.find((s) => s.at >= t.hellos[0]!);
      return next ? [next.at - t.hellos[0]!] : [];
    })),
    hellosPerJoin: of(withHello.map((t) => t.hellos.length)),
    joinsWithMissedSurvey: traces.filter((t) => t.missed > 0).length,
  };
}

/**
 * Splits each trial at the send of the survey of the round whose change lists (`joined`) or
 * drops (`left`) the probe, and at that change: a round's survey went out `sendMs` after
 * it began (`at - durationMs`).
 */
function splitTrials(trials: Trial[], side: 'joined' | 'left', changes: ChangeEvent[], rounds: RoundEvent[], joinSurveys: JoinSurveyEvent[]): Parts | undefined {
  const parts = { survey: [] as number[], change: [] as number[], deliver: [] as number[] };
  for (const t of trials) {
    const change = changes.find((c) => c.at >= t.fromAt - 1000 && c[side].includes(t.name));
    const sentAt = change && listedBy(change, rounds, joinSurveys);
    if (!change || sentAt === undefined) continue;
    parts.survey.push(sentAt - t.fromAt);
    parts.change.push(change.at - sentAt);
    parts.deliver.push(t.seenAt - change.at);
  }
  if (parts.survey.length === 0) return undefined;
  const of = (v: number[]) => {
    const sorted = [...v].sort((a, b) => a - b);
    return { p50: round(quantile(sorted, 0.5), 0), p90: round(quantile(sorted, 0.9), 0) };
  };
  return { survey: of(parts.survey), change: of(parts.change), deliver: of(parts.deliver) };
}

class Bed {
  readonly servers = new Map<ModeId, ServerView>();
  readonly subs = new Map<ModeId, SubscriberView>();
  readonly surveyUrls: string[] = [];
  announceUrl = '';
  joinUrl = '';
  probes!: BenchChild;
  swarm!: Swarm;

  async start(): Promise<void> {
    const nofile = Math.min(nofileLimits().hard, Math.max(...config.ns) + 4096);
    this.announceUrl = `tcp://127.0.0.1:${await freePort()}`;
    this.joinUrl = `tcp://127.0.0.1:${await freePort()}`;
    for (const m of MODES) {
      const announce = m.id === 'announce' ? { announceUrl: this.announceUrl, joinUrl: this.joinUrl } : {};
      const { server, subs, surveyUrl } = await startServerBed(m.id, { ...TIMING, ...m.options, ...announce, maxMembers: 20_000 }, config.subscribers, nofile);
      this.surveyUrls.push(surveyUrl);
      this.servers.set(m.id, server);
      this.subs.set(m.id, subs);
    }
    this.probes = new BenchChild('probes', 'procs/announce-probes.ts');
    await this.probes.up();
    this.swarm = new Swarm(this.surveyUrls, config.perProcess, { nofile: 4096, env: { SWARM_SOURCE_SPREAD: '1' } });
  }

  async settle(n: number): Promise<void> {
    await settleAt(MODES.map((m) => this.servers.get(m.id)!), MODES.map((m) => this.subs.get(m.id)!), n);
  }


  async trials(tag: number): Promise<Omit<Row, 'n' | 'loadavg'> & { discover?: { join: Summary; leave: Summary } }> {
    const joins = Object.fromEntries(MODES.map((m) => [m.id, [] as number[]])) as Record<ModeId, number[]>;
    const fromReady = Object.fromEntries(MODES.map((m) => [m.id, [] as number[]])) as Record<ModeId, number[]>;
    const leaves = Object.fromEntries(MODES.map((m) => [m.id, [] as number[]])) as Record<ModeId, number[]>;
    const failed = Object.fromEntries(MODES.map((m) => [m.id, 0])) as Record<ModeId, number>;
    const createMs: number[] = [];
    const closeMs: number[] = [];
    const view = this.servers.get('announce')!;
    const from = { rounds: view.rounds.length, changes: view.changes.length, joinSurveys: view.joinSurveys.length };
    const joinTrials: Trial[] = [];
    const leaveTrials: Trial[] = [];
    const watchMs = 4 * period + 10_000;
    const perLane = Math.ceil(config.reps / config.lanes);
    const lane = async (l: number) => {
      for (let i = 0; i < perLane && l * perLane + i < config.reps; i++) {
        const name = `http://10.${250 - tag}.${l}.${i}:8080`;
        await sleep(Math.random() * period);
        const joinWatch = await Promise.all(MODES.map((m) => this.subs.get(m.id)!.watch(name, true, watchMs)));
        const opened = await this.probes.request<{ at: number; readyAt: number }>('open', { name, surveyUrls: this.surveyUrls, announceUrl: this.announceUrl, joinUrl: this.joinUrl });
        createMs.push(opened.readyAt - opened.at);
        const joined = await Promise.all(joinWatch.map((w) => w.done));
        // Long enough for every mode's detection to know the probe (an adaptive deadline needs 3 answers), then a random phase.
        await sleep(4 * TIMING.pollTime + Math.random() * period);
        const leaveWatch = await Promise.all(MODES.map((m) => this.subs.get(m.id)!.watch(name, false, watchMs)));
        const closed = await this.probes.request<{ at: number; doneAt: number; hellos: number[] }>('close', { name });
        closeMs.push(closed.doneAt - closed.at);
        const left = await Promise.all(leaveWatch.map((w) => w.done));
        MODES.forEach((m, k) => {
          if (joined[k]) joins[m.id].push(Math.max(...joined[k]!) - opened.at);
          if (joined[k]) fromReady[m.id].push(Math.max(...joined[k]!) - opened.readyAt);
          if (left[k]) leaves[m.id].push(Math.max(...left[k]!) - closed.at);
          if (!joined[k] || !left[k]) failed[m.id]++;
          if (m.id === 'announce' && joined[k]) joinTrials.push({ name, fromAt: opened.readyAt, seenAt: Math.max(...joined[k]!), hellos: closed.hellos });
          if (m.id === 'announce' && left[k]) leaveTrials.push({ name, fromAt: closed.at, seenAt: Math.max(...left[k]!) });
        });
      }
    };
    await Promise.all(Array.from({ length: config.lanes }, (_, l) => lane(l)));
    // The round that dropped the last probe reports at its end: wait for one more round.
    await view.waitRound(() => true, 2 * period + 10_000, 'a round after the trials');
    const changes = view.changes.slice(from.changes);
    const rounds = view.rounds.slice(from.rounds);
    const joinSurveys = view.joinSurveys.slice(from.joinSurveys);
    const join = splitTrials(joinTrials, 'joined', changes, rounds, joinSurveys);
    const leave = splitTrials(leaveTrials, 'left', changes, rounds, joinSurveys);
    const joinTraces = traceJoins(joinTrials, changes, rounds, joinSurveys);
    return {
      joinsViaJoinSurvey: joinTraces.filter((t) => t.surveys.at(-1)?.trigger === 'join survey').length,
      ...(join && leave ? { parts: { join, leave } } : {}),
      joinTraces,
      joinTraceSummary: traceSummary(joinTraces),
      join: Object.fromEntries(MODES.map((m) => [m.id, summarize(joins[m.id])])) as Row['join'],
      joinFromReady: Object.fromEntries(MODES.map((m) => [m.id, summarize(fromReady[m.id])])) as Row['joinFromReady'],
      leave: Object.fromEntries(MODES.map((m) => [m.id, summarize(leaves[m.id])])) as Row['leave'],
      createClientMs: summarize(createMs),
      closeMs: summarize(closeMs),
      failedTrials: failed,
    };
  }

  /** Rounds and answers a second of each server while `load` runs, and the listed swarm members each dropped. */
  async phase(seconds: number, load: () => Promise<number | void>): Promise<Phase> {
    const from = Object.fromEntries(MODES.map((m) => [m.id, { rounds: this.servers.get(m.id)!.rounds.length, changes: this.servers.get(m.id)!.changes.length, joinSurveys: this.servers.get(m.id)!.joinSurveys.length }])) as Record<ModeId, { rounds: number; changes: number; joinSurveys: number }>;
    const t0 = performance.now();
    const sent = await load();
    const elapsed = Math.max(seconds, (performance.now() - t0) / 1000);
    const modes = {} as Phase['modes'];
    for (const m of MODES) {
      const v = this.servers.get(m.id)!;
      const rounds = v.rounds.slice(from[m.id].rounds);
      const changes = v.changes.slice(from[m.id].changes);
      modes[m.id] = {
        roundsPerSecond: round(rounds.length / elapsed, 2),
        answersPerSecond: round(rounds.reduce((s, r) => s + r.answers, 0) / elapsed, 0),
        joinSurveysPerSecond: round((v.joinSurveys.length - from[m.id].joinSurveys) / elapsed, 2),
        // Swarm members are named http://10.<proc>.x.y with proc < 200; probes use 10.25x.
        falseDrops: changes.reduce((s, c) => s + c.left.filter((x) => Number(x.split('.')[1]) < 200).length + (c.left.length === 0 ? c.leftCount : 0), 0),
      };
    }
    return { seconds: round(elapsed, 1), modes, ...(typeof sent === 'number' ? { sent } : {}), loadavg: os.loadavg().map((v) => round(v, 2)) };
  }

  /** 10 joins and 10 leaves a second (raw members that announce as library clients do: bench/procs/announce-probes.ts). */
  async churn(seconds: number): Promise<void> {
    await this.probes.request('churn', { surveyUrls: this.surveyUrls, announceUrl: this.announceUrl, joinUrl: this.joinUrl, perSecond: 10, seconds, stayMs: 1000 }, 120_000);
  }

  async stop(): Promise<void> {
    await Promise.allSettled([this.swarm?.stop(), this.probes?.stop()]);
    await Promise.allSettled([...this.subs.values()].map((s) => s.child.stop()));
    await Promise.allSettled([...this.servers.values()].map((s) => s.child.stop(10_000)));
  }
}

async function discoverTrials(n: number): Promise<{ join: Summary; leave: Summary }> {
  const child = new BenchChild('node-discover', 'procs/discover.ts');
  try {
    await child.up();
    await child.request('start', { port: await freePort(), count: n - 1 });
    await sleep(3000); // its members find each other (hello every 1 s)
    const joins: number[] = [];
    const leaves: number[] = [];
    const perLane = Math.ceil(config.reps / config.lanes);
    await Promise.all(
      Array.from({ length: config.lanes }, async (_, l) => {
        for (let i = 0; i < perLane && l * perLane + i < config.reps; i++) {
          const name = `probe-${l}-${i}`;
          await sleep(Math.random() * 1000);
          joins.push((await child.request<{ ms: number }>('join', { name })).ms);
          await sleep(2000);
          leaves.push((await child.request<{ ms: number }>('leave', { name })).ms);
        }
      }),
    );
    return { join: summarize(joins), leave: summarize(leaves) };
  } finally {
    await child.stop();
  }
}

function markdown(result: { date: string; machine: ReturnType<typeof machine>; config: typeof config; rows: Row[] }): string {
  const ms = (s: Summary | undefined) => (s && Number.isFinite(s.p50) ? `${Math.round(s.p50)} / ${Math.round(s.p99)}` : '–');
  const lines = [
    `Announcements benchmark (${result.config.mode}), ${result.date}: ${result.machine.nproc} CPUs (${result.machine.cpuModel}), node ${result.machine.node}; ` +
      `default timing (${TIMING.surveyTime}/${TIMING.recvDeadline}/${TIMING.pollTime} ms), ${result.config.reps} join + leave trials per N, ${result.config.subscribers} subscribers per server.`,
    '',
    '| N | mode | join p50 / p99 ms | join after createClient resolved p50 / p99 ms | graceful leave p50 / p99 ms | failed trials | load avg |',
    '|---:|---|---|---|---|---:|---|',
  ];
  for (const r of result.rows) {
    for (const id of [...MODES.map((m) => m.id), 'node-discover'] as const) {
      if (!r.join[id]) continue;
      const own = id === 'node-discover' ? undefined : (id as ModeId);
      lines.push(`| ${r.n.toLocaleString('en')} | ${id} | ${ms(r.join[id])} | ${own ? ms(r.joinFromReady[own]) : '–'} | ${ms(r.leave[id])} | ${own ? r.failedTrials[own] : '–'} | ${r.loadavg.join(' ')} |`);
    }
    lines.push(`| ${r.n.toLocaleString('en')} | (createClient itself; close itself) | ${ms(r.createClientMs)} | | ${ms(r.closeMs)} | | |`);
  }
  const part = (p: Parts) => `${p.survey.p50} · ${p.change.p50} · ${p.deliver.p50} (p90 ${p.survey.p90} · ${p.change.p90} · ${p.deliver.p90})`;
  lines.push('', '| N | announce: join from createClient resolved → survey sent · → change · → both subscribers, p50 ms | graceful leave from close() → survey sent · → change · → both subscribers, p50 ms |', '|---:|---|---|');
  for (const r of result.rows) if (r.parts) lines.push(`| ${r.n.toLocaleString('en')} | ${part(r.parts.join)} | ${part(r.parts.leave)} |`);
  const pp = (v: unknown) => (typeof v === 'object' && v ? `${(v as { p50: number }).p50} (p90 ${(v as { p90: number }).p90})` : String(v));
  lines.push('', '| N | announce joins traced: createClient resolved → first hello · first hello → next survey sent, p50 ms | hellos per join p50 | joins with a survey after the hello that missed the probe |', '|---:|---|---|---|');
  for (const r of result.rows) {
    const t = r.joinTraceSummary;
    if (t) lines.push(`| ${r.n.toLocaleString('en')} | ${pp(t.readyToHello)} · ${pp(t.helloToSurvey)} (${t.helloSeen} of ${t.traced} with hellos seen) | ${pp(t.hellosPerJoin)} | ${t.joinsWithMissedSurvey} of ${t.traced} |`);
  }
  lines.push('', '| N | announce joins listed by a join survey |', '|---:|---|');
  for (const r of result.rows) {
    if (r.joinsViaJoinSurvey !== undefined) lines.push(`| ${r.n.toLocaleString('en')} | ${r.joinsViaJoinSurvey} of ${r.joinTraces?.length ?? 0} traced |`);
  }
  lines.push('', '| N | phase | mode | rounds / s | join surveys / s | answers / s | live members dropped | load avg |', '|---:|---|---|---:|---:|---:|---:|---|');
  for (const r of result.rows) {
    for (const [name, p] of Object.entries(r.phases ?? {})) {
      for (const m of MODES) lines.push(`| ${r.n.toLocaleString('en')} | ${name}${p.sent !== undefined ? ` (${p.sent} sent)` : ''} | ${m.id} | ${p.modes[m.id].roundsPerSecond} | ${p.modes[m.id].joinSurveysPerSecond} | ${p.modes[m.id].answersPerSecond} | ${p.modes[m.id].falseDrops} | ${p.loadavg.join(' ')} |`);
    }
  }
  return lines.join('\n') + '\n';
}

async function main(): Promise<void> {
  const m = machine();
  log(`machine: ${m.nproc} CPUs, node ${m.node}; config ${JSON.stringify(config)}; loopback connections at most ${Math.max(...config.ns) * MODES.length} (N × modes)`);
  const rows: Row[] = [];
  const bed = new Bed();
  try {
    await bed.start();
    for (const [i, n] of config.ns.entries()) {
      log(`growing to ${n} members`);
      await bed.swarm.grow(n);
      await bed.settle(n);
      const t = await bed.trials(i);
      const row: Row = { n, ...t, loadavg: os.loadavg().map((v) => round(v, 2)) };
      if (n <= config.discoverAtMost) {
        log(`node-discover at ${n}`);
        const d = await discoverTrials(n);
        row.join['node-discover'] = d.join;
        row.leave['node-discover'] = d.leave;
      }
      rows.push(row);
      row.phases = await phases(bed);
      log(`N=${n}: traces ${JSON.stringify(row.joinTraceSummary)}`);
      log(`N=${n}: parts ${JSON.stringify(row.parts)}; createClient p50 ${Math.round(row.createClientMs.p50)}; join p50 ` + [...MODES.map((mo) => mo.id), 'node-discover' as const].map((id) => `${id} ${Math.round(row.join[id]?.p50 ?? NaN)}`).join(', ') + '; leave p50 ' + MODES.map((mo) => `${mo.id} ${Math.round(row.leave[mo.id].p50)}`).join(', '));
    }
  } finally {
    await bed.stop();
  }
  const result = { benchmark: 'gopherdiscovery announcements', date: new Date().toISOString(), machine: m, config, timing: TIMING, modes: Object.fromEntries(MODES.map((mo) => [mo.id, mo.label])), rows, durationSeconds: round((performance.now() - startedAt) / 1000, 0) };
  const dir = argv.out ?? join(BENCH_DIR, 'results');
  mkdirSync(dir, { recursive: true });
  const base = join(dir, `announce-${config.mode}${argv.tag ? `-${argv.tag}` : ''}`);
  writeFileSync(`${base}.json`, JSON.stringify(result, null, 2) + '\n');
  const md = markdown(result);
  writeFileSync(`${base}.md`, md);
  console.log(md);
  log(`results: ${base}.json, .md`);
}

/** Rest, churn (10 joins + 10 leaves a second) and a flood of forged announcements, `config.phaseSeconds` each, at the bed's current N. */
async function phases(bed: Bed): Promise<Record<string, Phase>> {
  const s = config.phaseSeconds;
  log('phases: rest, churn, flood');
  const out: Record<string, Phase> = {};
  out.rest = await bed.phase(s, async () => void (await sleep(s * 1000)));
  out['churn 10 joins + 10 leaves / s'] = await bed.phase(s, () => bed.churn(s));
  const swarmNames = bed.swarm.procs.flatMap((p) => p.names);
  out['flood 1,000 forged hellos + 100 forged byes / s'] = await bed.phase(s, async () => {
    const [hellos, byes] = await Promise.all([
      bed.probes.request<{ sent: number }>('flood', { url: bed.announceUrl, perSecond: 1000, seconds: s, tag: `h${bed.swarm.size}` }, 120_000),
      forgedByes(bed.announceUrl, swarmNames, 100, s),
    ]);
    return hellos.sent + byes;
  });
  return out;
}

/** Forged byes naming listed members (without their farewell tokens), from this process: `perSecond` for `seconds`. */
async function forgedByes(url: string, names: string[], perSecond: number, seconds: number): Promise<number> {
  const { NnSocket } = await import('../src/transport.js');
  const { encodeAnnouncement } = await import('../src/extensions.js');
  const push = NnSocket.open('push');
  try {
    push.connect(url);
    for (let i = 0; i < 1000 && !push.send(encodeAnnouncement('bye', names[0]!)); i++) await sleep(2);
    let sent = 1;
    const t0 = performance.now();
    for (let t = 0; t < seconds * 10; t++) {
      for (let i = 0; i < perSecond / 10; i++) if (push.send(encodeAnnouncement('bye', names[(t * 10 + i) % names.length]!))) sent++;
      await sleep(Math.max(0, t0 + (t + 1) * 100 - performance.now()));
    }
    return sent;
  } finally {
    push.close();
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    log('FAILED:', (e as Error).stack ?? e);
    process.exit(1);
  },
);
