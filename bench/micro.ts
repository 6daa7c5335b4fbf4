/**
 * `npm run bench:micro`: the per-change and per-answer costs inside the server's actors, each
 * measured side by side with the alternative, in one process (CPU time of the work itself,
 * no sockets): what one membership change costs the surveyor and publisher threads at N
 * members, with the members handed down sorted (this library) or in set order (before), and
 * what one answer costs the surveyor.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';
import { publisherLogic } from '../src/actors/publisher.js';
import { readAnswer, surveyAuthentication, surveyorLogic, type SurveyorLimits } from '../src/actors/surveyor.js';
import { AnswerDeadlines } from '../src/answer-deadline.js';
import { encodeExtendedAnswer, FieldTag } from '../src/extensions.js';
import { randomBytes } from 'node:crypto';
import { answerTo } from '../src/admission.js';
import { deriveKey, Keyring, ListSealer } from '../src/keyring.js';
import { encodeMembers } from '../src/protocol.js';
import { BENCH_DIR } from './ipc.js';
import { machine } from './machine.js';
import { round, summarize } from './stats.js';

const names = (n: number) => {
  const out = Array.from({ length: n }, (_, k) => `http://10.${k % 25}.${(k >> 8) & 255}.${k & 255}:8080`);
  // Set order is join order, which is not sorted: shuffle as respondents answer in any order.
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
};

/** Runs `f` repeatedly; returns per-call times (ms) after a warm-up. */
function time(f: () => void, reps: number): ReturnType<typeof summarize> {
  for (let i = 0; i < Math.max(3, reps / 10); i++) f();
  const t: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    f();
    t.push(performance.now() - t0);
  }
  return summarize(t);
}

const { port1, port2 } = new MessageChannel();
const post = (m: unknown) => {
  port1.postMessage(m);
  receiveMessageOnPort(port2);
};

/**
 * One membership change, as the actors handle it: the surveyor reports the change (sorted
 * list to its supervisor) and hands the set to the publisher; the publisher compares,
 * encodes and publishes, and reports the published list (sorted) to its supervisor.
 */
function change(members: Set<string>, sortedHandOff: boolean): void {
  // Surveyor thread.
  const sorted = [...members].sort();
  post({ type: 'change', members: sorted });
  const handed = sortedHandOff ? sorted : [...members];
  post({ type: 'members', members: handed });
  // Publisher thread (a fresh state: the set differs from the last one published).
  const step = publisherLogic.receive(publisherLogic.initial([]), handed);
  post({ type: 'published', members: [...step.state.lastPublished].sort(), bytes: step.publish!.byteLength });
}

const results: Record<string, unknown> = {};
for (const n of [1000, 10_000]) {
  const set = new Set(names(n));
  const reps = n >= 10_000 ? 60 : 300;
  const before = time(() => change(set, false), reps);
  const after = time(() => change(set, true), reps);
  results[`change@${n}`] = { setOrder: before, sorted: after, ratioP50: round(after.p50 / before.p50, 2) };
  console.log(`one change at N=${n}: set order ${before.p50.toFixed(2)} ms, sorted hand-off ${after.p50.toFixed(2)} ms (×${(after.p50 / before.p50).toFixed(2)})`);
}

/** A round of every member's answer through the surveyor's logic, each answer first opened by `open` (secret mode). */
function answerRound(list: string[], answers: Buffer[], open: (answer: Buffer) => Uint8Array = (a) => a): ReturnType<typeof summarize> {
  const limits: SurveyorLimits = { maxNameBytes: 1024, maxMembers: 20_000, missedRounds: 1 };
  const state = surveyorLogic.initial(list);
  return time(() => {
    const s = surveyorLogic.beginRound(state);
    for (const b of answers) surveyorLogic.answer(s, open(b), limits);
  }, 40);
}

// One answer: decode, validate, count (the JS side of the surveyor's receive loop).
{
  const n = 10_000;
  const list = names(n);
  const perRound = answerRound(list, list.map((s) => Buffer.from(s)));
  results[`answers@${n}`] = { perRoundMs: perRound, perAnswerUs: round((perRound.p50 * 1000) / n, 2) };
  console.log(`${n} answers in a round: ${perRound.p50.toFixed(2)} ms (${((perRound.p50 * 1000) / n).toFixed(2)} µs per answer)`);
}
// An announce server's answer path at N = 1,000 (issue 18): each answer extended with a
// farewell token (split once, opened, counted, its token kept, its offset observed by the
// adaptive deadlines) — the surveyor's JS per answer, beside the plain path.
{
  const n = 1000;
  const list = names(n);
  const limits: SurveyorLimits = { maxNameBytes: 1024, maxMembers: 20_000, missedRounds: 1 };
  const auth = surveyAuthentication({ lateAnswers: 'drop' });
  const answers = list.map((s) => encodeExtendedAnswer(Buffer.from(s), [[FieldTag.farewellToken, randomBytes(8)]]));
  const state = surveyorLogic.initial(list);
  const deadlines = new AnswerDeadlines(1000);
  const tokens = new Map<string, Buffer>();
  const perRound = time(() => {
    const s = surveyorLogic.beginRound(state);
    for (const a of answers) {
      const read = readAnswer(a, true);
      const opened = auth.open(a, read);
      if (!opened.ok) throw new Error(opened.reason);
      const outcome = surveyorLogic.answer(s, opened.name, limits);
      if (outcome.kind !== 'counted') throw new Error(outcome.kind);
      if (read.token) tokens.set(outcome.name, Buffer.from(read.token));
      deadlines.observe(outcome.name, 5);
    }
  }, 200);
  const plain = answerRound(list, list.map((s) => Buffer.from(s)));
  results[`announceAnswers@${n}`] = { perRoundMs: perRound, perAnswerUs: round((perRound.p50 * 1000) / n, 2), plainPerAnswerUs: round((plain.p50 * 1000) / n, 2) };
  console.log(`${n} token-carrying answers in a round (announce server): ${perRound.p50.toFixed(2)} ms (${((perRound.p50 * 1000) / n).toFixed(2)} µs per answer; plain ${((plain.p50 * 1000) / n).toFixed(2)})`);
}
// Shared-secret mode: the same round with each answer's MAC checked first (the surveyor's
// extra work), a respondent's MAC per survey, and sealing / opening a list of N names.
{
  const n = 10_000;
  const list = names(n);
  const keys = [deriveKey('micro-secret-0123456789abcdef')];
  const ring = new Keyring(keys);
  const auth = surveyAuthentication({ keys, lateAnswers: 'drop' });
  const body = Buffer.from(auth.body());
  const answers = list.map((s) => answerTo(Buffer.from(s), ring, body)!);
  const plainRound = answerRound(list, list.map((s) => Buffer.from(s)));
  const secretRound = answerRound(list, answers, (b) => {
    const opened = auth.open(b);
    if (!opened.ok) throw new Error(opened.reason);
    return opened.name;
  });
  const name = Buffer.from(list[0]!);
  const answer = time(() => answerTo(name, ring, body), 2000);
  const encoded = encodeMembers(list);
  const sealer = new ListSealer(ring);
  const seal = time(() => sealer.seal(encoded), 200);
  const sealed = sealer.seal(encoded);
  const open = time(() => ring.open(sealed), 200);
  results[`secret@${n}`] = {
    plainRoundMs: plainRound,
    secretRoundMs: secretRound,
    ratioP50: round(secretRound.p50 / plainRound.p50, 2),
    verifyUsPerAnswer: round(((secretRound.p50 - plainRound.p50) * 1000) / n, 2),
    answerMacUs: round(answer.p50 * 1000, 2),
    sealMs: seal,
    openMs: open,
    listBytes: encoded.byteLength,
  };
  console.log(
    `${n} answers in a round, secret mode: ${secretRound.p50.toFixed(2)} ms against ${plainRound.p50.toFixed(2)} ms plain ` +
      `(×${(secretRound.p50 / plainRound.p50).toFixed(2)}, +${(((secretRound.p50 - plainRound.p50) * 1000) / n).toFixed(2)} µs per answer); ` +
      `a respondent's MAC ${(answer.p50 * 1000).toFixed(1)} µs; sealing / opening a list of ${n} (${encoded.byteLength} bytes) ${seal.p50.toFixed(2)} / ${open.p50.toFixed(2)} ms`,
  );
}
port1.close();

const out = { date: new Date().toISOString(), machine: machine(), results };
writeFileSync(join(BENCH_DIR, 'results', 'micro.json'), JSON.stringify(out, null, 2) + '\n');
