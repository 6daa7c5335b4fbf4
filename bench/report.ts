/** The benchmark's results as Markdown: the tables the README shows. */
import type { Summary } from './stats.js';

/** One algorithm's figures at one N: what run.ts measures and this report prints. */
export interface AlgoAtN {
  join: Summary;
  leave: Summary;
  /** Connect → the server's own change event (before publication and delivery). */
  serverJoin: Summary;
  /**
   * The start of the survey a probe answered (the last round that started before its join) →
   * the server's change: the server's own work on a newcomer, without the wait for a survey,
   * whose phase differs between two servers side by side.
   */
  serverJoinAfterSurvey?: Summary;
  serverLeave: Summary;
  failedTrials: number;
  rounds: {
    count: number;
    complete: number;
    /** Survey sent → last answer received. */
    lastAnswerMs: Summary;
    /** The whole round, including the wait after the last answer. */
    durationMs: Summary;
    /** Members dropped that never left (a missed answer). */
    spuriousLeaves: number;
    /** Handing the survey to every respondent. */
    sendMs: Summary;
  };
  /** Actor restarts in the server during the window (a hung or crashed surveyor / publisher). */
  actorRestarts: number;
  /** Answers refused in the window, by reason. */
  refused?: Record<string, number>;
  eld: { p50: number; p99: number; max: number; samples: number };
  rssServerMiB: number;
  cpuPerRoundMs: number;
  /** The server process's CPU over the window, in cores (1 = one core busy). */
  cpuCores: number;
  /** Of which its main thread (the host's event loop). */
  mainThreadCores: number;
  bytes: {
    /** Size of one published list at N (median). */
    listBytes: number;
    publications: number;
    /** Membership events (each joiner / leaver) in the window. */
    changes: number;
    publicationsPerChange: number;
    /** Bytes on the wire to all S subscribers per membership change (lists + 8-byte SP/TCP frame each). */
    wireBytesPerChange: number;
  };
  ramp: { joined: number; publications: number; wireBytesPerJoin: number; seconds: number };
}

export interface ReportInput {
  date: string;
  /** Short names of the two configurations compared (default: original / this library). */
  names?: { original: string; library: string };
  mode: string;
  machine: { nproc: number; cpuModel: string; memoryGiB: number; node: string; os: string };
  config: { reps: number; lanes: number; subscribers: number; timing: { surveyTime: number; recvDeadline: number; pollTime: number } };
  results: Array<{
    n: number;
    algos: Record<'original' | 'library', AlgoAtN>;
    ratios: { join: { min: number; p50: number; p99: number }; leave: { min: number; p50: number; p99: number } };
    rssClientMiB: number;
    rssSubscribersMiB: Record<'original' | 'library', number>;
    swarm: { processes: number; cpuPerAnswerUs: number };
    noise: { loadavg: number[]; otherCores: number; machineBusyCores: number; controlEld: { p99: number; max: number } };
  }>;
  scenarios?: {
    restartStorm?: Record<string, Record<string, unknown>>;
    fdLimit?: Record<string, unknown>;
    massLeave?: Record<string, Record<string, unknown>>;
    respondentProcessDeaths?: Array<{ name: string; stderr: string }>;
  };
  durationSeconds: number;
}

const ms = (v: number) => (Number.isFinite(v) ? `${Math.round(v)}` : '–');
const trio = (s: Summary) => `${ms(s.min)} / **${ms(s.p50)}** / ${ms(s.p99)}`;
const x = (v: number) => (Number.isFinite(v) ? `×${v.toFixed(2)}` : '–');
const kb = (b: number) => (b >= 1e6 ? `${(b / 1e6).toFixed(2)} MB` : b >= 1e3 ? `${(b / 1e3).toFixed(1)} kB` : `${Math.round(b)} B`);

export function markdownReport(r: ReportInput): string {
  const t = r.config.timing;
  const A = r.names?.original ?? 'original';
  const B = r.names?.library ?? 'this library';
  const lines: string[] = [];
  lines.push(
    `Machine: ${r.machine.nproc} CPUs (${r.machine.cpuModel}), ${r.machine.memoryGiB} GiB, Node ${r.machine.node}, ${r.machine.os}. ` +
      `Run ${r.date.slice(0, 16).replace('T', ' ')} UTC (${r.mode}, ${r.durationSeconds} s): ${A} vs ${B}, side by side; surveyTime ${t.surveyTime} ms, recvDeadline ${t.recvDeadline} ms, pollTime ${t.pollTime} ms for both; ` +
      `${r.config.reps} joins and ${r.config.reps} leaves per N (${r.config.lanes} probes in flight at random phases), ${r.config.subscribers} subscribers per server.`,
  );
  lines.push('');
  lines.push('Latency, min / **p50** / p99 in ms (connect or close → every subscriber holds the new list):');
  lines.push('');
  lines.push(`| N | join: ${A} | join: ${B} | ratio p50 | leave: ${A} | leave: ${B} | ratio p50 |`);
  lines.push('| ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const n of r.results) {
    lines.push(
      `| ${n.n.toLocaleString('en')} | ${trio(n.algos.original.join)} | ${trio(n.algos.library.join)} | ${x(n.ratios.join.p50)} | ${trio(n.algos.original.leave)} | ${trio(n.algos.library.leave)} | ${x(n.ratios.leave.p50)} |`,
    );
  }
  lines.push('');
  lines.push(`Rounds and the server process (${A} · ${B}):`);
  lines.push('');
  lines.push('| N | survey send p50 (ms) | last answer p50 / p99 (ms) | rounds complete | main loop delay p99 / max (ms) | idle control process: delay p99 / max (ms) | server RSS (MiB) | server CPU, of which main thread (cores) |');
  lines.push('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const n of r.results) {
    const o = n.algos.original;
    const l = n.algos.library;
    const rounds = (a: AlgoAtN) =>
      `${a.rounds.complete}/${a.rounds.count}${a.rounds.spuriousLeaves ? ` (${a.rounds.spuriousLeaves} dropped)` : ''}${a.actorRestarts ? ` (${a.actorRestarts} actor restarts)` : ''}`;
    lines.push(
      `| ${n.n.toLocaleString('en')} | ${ms(o.rounds.sendMs.p50)} · ${ms(l.rounds.sendMs.p50)} | ${ms(o.rounds.lastAnswerMs.p50)} / ${ms(o.rounds.lastAnswerMs.p99)} · ${ms(l.rounds.lastAnswerMs.p50)} / ${ms(l.rounds.lastAnswerMs.p99)} | ${rounds(o)} · ${rounds(l)} | ${o.eld.p99.toFixed(1)} / ${o.eld.max.toFixed(1)} · ${l.eld.p99.toFixed(1)} / ${l.eld.max.toFixed(1)} | ${n.noise.controlEld.p99.toFixed(1)} / ${n.noise.controlEld.max.toFixed(1)} | ${o.rssServerMiB} · ${l.rssServerMiB} | ${o.cpuCores.toFixed(2)} (${o.mainThreadCores.toFixed(3)}) · ${l.cpuCores.toFixed(2)} (${l.mainThreadCores.toFixed(3)}) |`,
    );
  }
  lines.push('');
  lines.push(`Bytes published (${r.config.subscribers} subscribers per server; each list also carries nanomsg's 8-byte TCP frame) and client-side memory:`);
  lines.push('');
  lines.push(`| N | list size | wire bytes per membership change (${A} · ${B}) | publications per change | ramp to N: wire bytes per joiner (${A} · ${B}) | client process RSS (MiB) | subscriber process RSS (MiB) |`);
  lines.push('| ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const n of r.results) {
    const o = n.algos.original;
    const l = n.algos.library;
    lines.push(
      `| ${n.n.toLocaleString('en')} | ${kb(l.bytes.listBytes)} | ${kb(o.bytes.wireBytesPerChange)} · ${kb(l.bytes.wireBytesPerChange)} | ${o.bytes.publicationsPerChange} · ${l.bytes.publicationsPerChange} | ${kb(o.ramp.wireBytesPerJoin)} · ${kb(l.ramp.wireBytesPerJoin)} (${o.ramp.publications} · ${l.ramp.publications} lists for ${l.ramp.joined} joiners) | ${n.rssClientMiB} | ${r.config.subscribers} subscribers: ${n.rssSubscribersMiB.library} |`,
    );
  }
  lines.push('');
  lines.push(
    'Load while measuring: ' +
      r.results.map((n) => `N ${n.n.toLocaleString('en')}: ${n.swarm.processes} respondent processes at ${n.swarm.cpuPerAnswerUs} µs CPU per answer; machine busy ${n.noise.machineBusyCores} cores, of which ${n.noise.otherCores} outside this benchmark`).join('; ') +
      '.',
  );
  const s = r.scenarios;
  if (s?.restartStorm) {
    lines.push('');
    for (const [id, v] of Object.entries(s.restartStorm)) {
      if (typeof v !== 'object' || v === null || v.listedAfter === undefined) {
        lines.push(`- Restart storm: not measured (${JSON.stringify(v)})`);
        continue;
      }
      const l = v.listedAfter as Record<string, number>;
      lines.push(
        `- Restart storm, ${id}: the server killed and started again on its ports (${v.restartMs} ms), ${v.respondents} respondents redialling; ` +
          (v.untilAllListedMs !== null ? `every member listed again ${v.untilAllListedMs} ms after it was bound (round ${v.roundsUntilAllListed}; next rounds complete ${v.nextRoundsComplete})` : 'not every member listed again within 120 s') +
          `; listed after 10 / 30 / 60 / 120 s: ${l['10s']} / ${l['30s']} / ${l['60s']} / ${l['120s']}; survey send up to ${v.maxSendMs} ms; ${v.publications} lists published (${kb(v.wireBytes as number)} on the wire); ${v.actorRestarts} actor restarts.`,
      );
    }
  }
  if (s?.fdLimit) {
    const f = s.fdLimit;
    lines.push(
      `- A server process limited to ${f.nofile} open files, ${f.respondents} respondents: it listed ${f.membersListed} members at most, used ${f.serverCpuCores} cores, main loop delay p99 ${f.eldP99Ms ?? '–'} ms, alive: ${f.serverAlive}.`,
    );
  }
  if (s?.massLeave) {
    if (typeof s.massLeave.error === 'string') lines.push(`- Mass leave: not measured (${s.massLeave.error})`);
    else
      for (const [id, v] of Object.entries(s.massLeave)) {
        lines.push(`- Mass leave, ${id}: ${v.respondents} respondents closed at once; every subscriber held the list without them after ${v.untilEmptyMs ?? '–'} ms (${v.publications} lists published).`);
      }
  }
  if (s?.respondentProcessDeaths?.length) {
    lines.push(`- Respondent processes that died during the scenarios: ${s.respondentProcessDeaths.map((d) => `${d.name} (${d.stderr})`).join('; ')}.`);
  }
  lines.push('');
  return lines.join('\n');
}
