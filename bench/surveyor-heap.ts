/**
 * `npm run bench:surveyor-heap [-- --n 10000 --seconds 30 --trials 2]`: what the periodic
 * collection of an actor thread's old generation (src/actors/thread-collect.ts,
 * watchHeapGrowth) costs the surveyor's rounds at N members, side by side with the same
 * rounds without it, in one run: each trial runs the rounds for S seconds once each way,
 * in alternating order, in a fresh worker thread with V8's default heap limits (as the
 * surveyor's own pool has, src/pool.ts).
 *
 * A round here is the surveyor's own work on N answers, without sockets: each answer a
 * fresh Buffer (as nanomsg's receive hands it over), read (readAnswer), counted
 * (surveyorLogic.answer) and timed (AnswerDeadlines.observe); then the round's end
 * (endRound, and the deadlines' plan for the next round). That is what allocates in the
 * surveyor's thread round after round. Reported: ms per round (p50 / p99 / max), the
 * collections the thread asked for, and its heap at the end (MiB).
 */
import { parseArgs } from 'node:util';
import { getHeapSpaceStatistics, getHeapStatistics } from 'node:v8';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { AnswerDeadlines } from '../src/answer-deadline.js';
import { readAnswer, surveyorLogic, type SurveyorLimits } from '../src/actors/surveyor.js';
import { collectionsAsked, watchHeapGrowth } from '../src/actors/thread-collect.js';
import { round, summarize, type Summary } from './stats.js';

interface Job {
  n: number;
  seconds: number;
  watch: boolean;
}
interface Result {
  rounds: number;
  perRound: Summary;
  maxMs: number;
  collections: number;
  totalHeapMiB: number;
  usedHeapMiB: number;
  oldSpaceMiB: number;
}

const MiB = (bytes: number) => round(bytes / 2 ** 20, 1);

async function runRounds({ n, seconds, watch }: Job): Promise<Result> {
  if (watch) watchHeapGrowth();
  const names = Array.from({ length: n }, (_, k) => `http://10.${k % 25}.${(k >> 8) & 255}.${k & 255}:8080`);
  const limits: SurveyorLimits = { maxNameBytes: 1024, maxMembers: 2 * n, missedRounds: 1 };
  const deadlines = new AnswerDeadlines(1000);
  let state = surveyorLogic.initial(names);
  const times: number[] = [];
  const warmupUntil = performance.now() + 2000;
  const endAt = warmupUntil + seconds * 1000;
  for (let r = 0; performance.now() < endAt; r++) {
    const t0 = performance.now();
    state = surveyorLogic.beginRound(state);
    deadlines.plan(state.members);
    for (let i = 0; i < n; i++) {
      const data = Buffer.from(names[(i * 7919 + r) % n]!, 'utf8');
      const read = readAnswer(data, true);
      const outcome = surveyorLogic.answer(state, read.name, limits);
      if (outcome.kind === 'counted') deadlines.observe(outcome.name, 5 + (i % 40));
    }
    deadlines.endRound();
    state = surveyorLogic.endRound(state, limits, performance.now()).state;
    if (t0 >= warmupUntil) times.push(performance.now() - t0);
    // The surveyor waits between rounds (its thread's timers and tasks run then): so here.
    await new Promise((resolve) => setImmediate(resolve));
  }
  const heap = getHeapStatistics();
  const old = getHeapSpaceStatistics().find((s) => s.space_name === 'old_space');
  return {
    rounds: times.length,
    perRound: summarize(times),
    maxMs: round(Math.max(...times), 2),
    collections: collectionsAsked(),
    totalHeapMiB: MiB(heap.total_heap_size),
    usedHeapMiB: MiB(heap.used_heap_size),
    oldSpaceMiB: MiB(old?.space_used_size ?? 0),
  };
}

if (!isMainThread) {
  parentPort!.postMessage(await runRounds(workerData as Job));
} else {
  const { values } = parseArgs({ options: { n: { type: 'string', default: '10000' }, seconds: { type: 'string', default: '30' }, trials: { type: 'string', default: '2' } } });
  const n = Number(values.n);
  const seconds = Number(values.seconds);
  const trials = Number(values.trials);
  if (!(n > 0) || !(seconds > 0) || !(trials > 0)) throw new Error('usage: --n N --seconds S --trials T (positive numbers)');
  const inWorker = (job: Job) =>
    new Promise<Result>((resolve, reject) => {
      // A worker thread does not inherit tsx's ESM hooks for its entry module: it registers them first.
      const entry = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(import.meta.url)}); })`;
      const w = new Worker(entry, { eval: true, workerData: job });
      w.once('message', (r: Result) => void w.terminate().then(() => resolve(r)));
      w.once('error', reject);
    });
  console.log(`surveyor rounds without sockets: N = ${n}, ${seconds} s of rounds a trial (after 2 s of warm-up), ${trials} trials, with and without the growth check (alternating order)`);
  console.log('| old generation | trial | rounds | ms per round p50 / p99 / max | collections | heap committed / used, MiB | old space used, MiB |');
  console.log('| --- | ---: | ---: | --- | ---: | --- | --- |');
  for (let t = 0; t < trials; t++) {
    for (const watch of t % 2 === 0 ? [false, true] : [true, false]) {
      const r = await inWorker({ n, seconds, watch });
      console.log(
        `| ${watch ? 'collected on growth (watchHeapGrowth)' : "V8's own collections only (before)"} | ${t + 1} | ${r.rounds} | ${round(r.perRound.p50, 2)} / ${round(r.perRound.p99, 2)} / ${r.maxMs} | ${r.collections} | ${r.totalHeapMiB} / ${r.usedHeapMiB} | ${r.oldSpaceMiB} |`,
      );
    }
  }
}
