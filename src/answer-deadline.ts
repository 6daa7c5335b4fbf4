/**
 * Adaptive answer deadlines: for each member, when after a survey's send its answer
 * usually arrives, and so how long the surveyor should wait for it before counting it as
 * missing for the round — never longer than the survey itself (`surveyTime`).
 *
 * Pure: no clock, no socket. The surveyor feeds it times (ms on its monotonic clock,
 * relative to the moment the survey had gone out) and asks it for deadlines.
 *
 * - Per member, TCP's retransmission timeout rule (RFC 6298, section 2): a smoothed offset
 *   SRTT and its mean deviation RTTVAR (gains α = 1/8, β = 1/4); the deadline is
 *   SRTT + max(floor, K × RTTVAR) with K = 4, where the floor plays the part of RFC 6298's
 *   clock granularity G: the least slack any member gets, for a respondent's own pauses
 *   (GC, a blocked event loop) that its own history does not predict.
 * - The floor is learnt from every member together: twice the largest recent excess — the
 *   amount by which an answer came after its member's SRTT + K × RTTVAR, or by which the
 *   surveyor itself came back late from a receive or a yield (its thread or event loop was
 *   paused: answers may have waited that long unread) — decaying by 2 % a round, and at
 *   least a tenth of `surveyTime` or 20 ms, whichever is more. On a calm host it is 100 ms at
 *   the default 1 s survey; where respondents or the surveyor pause it grows to cover twice
 *   the longest recent pause.
 * - Local health, after HashiCorp memberlist's Lifeguard (Dadgar et al., "Lifeguard: Local
 *   Health Awareness for More Accurate Failure Detection", 2018): a saturating counter, the
 *   local health multiplier LHM (0..8), rises when a member the surveyor declared missing
 *   answered after all, and when many members fall silent at once (`mayAccuse`); it falls by
 *   one each round without such an event. Every deadline is multiplied by (1 + LHM), so an
 *   observer that has been wrong waits longer instead of accusing healthy members. A late
 *   observation (a receive or yield more than 10 ms, or a quarter of the floor, late) accuses
 *   no one.
 * - A member with fewer than 3 answers has the fixed deadline, `surveyTime`.
 */

/** RFC 6298's gains and multiplier, and this module's own constants. */
export const ANSWER_DEADLINE = {
  /** SRTT gain (RFC 6298: 1/8). */
  alpha: 1 / 8,
  /** RTTVAR gain (RFC 6298: 1/4). */
  beta: 1 / 4,
  /** RTTVAR multiplier (RFC 6298: 4). */
  k: 4,
  /** Answers seen before a member gets an adaptive deadline; fewer: `surveyTime`. */
  minSamples: 3,
  /** The least floor (slack over SRTT), as a fraction of `surveyTime`... */
  floorFraction: 0.1,
  /** ...but at least this many ms: a thread's scheduling hiccup on a loaded machine. */
  minFloorMs: 20,
  /** The floor is at least this multiple of the largest recent excess (an answer later than its SRTT + K × RTTVAR). */
  excessSafety: 2,
  /** The remembered excess is multiplied by this every round (half-life ~34 rounds). */
  excessDecay: 0.98,
  /** More members silent at once than this, and than `maxSilentShare` of those due, means trouble here, not departures. */
  maxSilentTogether: 2,
  maxSilentShare: 0.05,
  /** Lifeguard's cap on the local health multiplier (memberlist's default awareness max is 8). */
  maxLocalHealth: 8,
  /** The surveyor is "late" when a receive or a yield overruns the time asked for by more than this, in ms... */
  lateToleranceMs: 10,
  /** ...or this fraction of the floor, if more: a lag that eats a real part of the margin. */
  lateToleranceFloorFraction: 0.25,
} as const;

/** The farewell deadline's own constant (see AnswerDeadlines.farewell). */
export const FAREWELL = {
  /**
   * A member that said bye with its token may be dropped this long after the survey's send,
   * ms (a thread's scheduling hiccup). Its usual offset is not used: that is its place in
   * nanomsg's fan-out (a recent connection is served last, ~100 ms after the send at 1,000
   * members), which says nothing about a member that has closed its respondent; and the
   * surveyor drops it only once it has read every answer that had come (see farewell()).
   */
  deadlineMs: 10,
} as const;

interface Estimate {
  /** Smoothed answer offset, ms. */
  srtt: number;
  /** Mean deviation of the offset, ms. */
  rttvar: number;
  samples: number;
}

/** One member's deadline in a round, before the local health stretch. */
export interface PlannedDeadline {
  name: string;
  /** ms after the survey's send, unstretched (may exceed `surveyTime`; `due()` caps it). */
  baseMs: number;
}

export class AnswerDeadlines {
  /** The fixed deadline and cap, ms. */
  readonly surveyTime: number;
  /** The least the floor can be, ms: a tenth of `surveyTime`, at least 20 ms. */
  readonly minFloorMs: number;
  private readonly estimates = new Map<string, Estimate>();
  /** Members heard from only by answers that say nothing of their place in the main survey (see `heard`). */
  private readonly heardOnly = new Set<string>();
  private lhm = 0;
  private excessMs = 0;
  private troubledThisRound = false;

  /** `surveyTime`: the survey's length in ms (positive), the deadline no member's exceeds. */
  constructor(surveyTime: number) {
    if (!(surveyTime > 0)) throw new RangeError(`surveyTime must be a positive number of ms, got ${surveyTime}`);
    this.surveyTime = surveyTime;
    this.minFloorMs = Math.max(surveyTime * ANSWER_DEADLINE.floorFraction, ANSWER_DEADLINE.minFloorMs);
  }

  /** The least slack over a member's SRTT now, ms: `minFloorMs`, or twice the largest recent excess if more. */
  get floorMs(): number {
    return Math.max(this.minFloorMs, ANSWER_DEADLINE.excessSafety * this.excessMs);
  }

  /** A receive or yield that overruns by more than this (ms) means the surveyor is late: 10 ms, or a quarter of the floor if more. */
  get lateToleranceMs(): number {
    return Math.max(ANSWER_DEADLINE.lateToleranceMs, this.floorMs * ANSWER_DEADLINE.lateToleranceFloorFraction);
  }

  /**
   * Members whose deadlines fall within this many ms of each other are judged together (ms:
   * the late tolerance, 10 ms or a quarter of the floor): the surveyor accuses a member only
   * this long after its deadline, counting every member silent past its deadline by then, so
   * the members of one paused process are seen as many silent at once (`mayAccuse`).
   */
  get groupWindowMs(): number {
    return this.lateToleranceMs;
  }

  /** The largest recent excess, ms (decayed): how much later than its SRTT + 4 × RTTVAR any member's answer came. */
  get excess(): number {
    return this.excessMs;
  }

  /** Lifeguard's local health multiplier, 0 (healthy) .. 8. */
  get localHealth(): number {
    return this.lhm;
  }


  /** Answers seen from `name` (0 when unknown). */
  samples(name: string): number {
    return this.estimates.get(name)?.samples ?? 0;
  }

  /**
   * One answer from `name`, `offsetMs` after the survey went out (its first answer of the
   * round; negative offsets count as 0). Updates SRTT and RTTVAR as RFC 6298 does, and the
   * excess (and so the floor) when the answer came after SRTT + 4 × RTTVAR.
   */
  observe(name: string, offsetMs: number): void {
    this.heardOnly.delete(name);
    const r = Math.max(0, offsetMs);
    const e = this.estimates.get(name);
    if (!e) {
      this.estimates.set(name, { srtt: r, rttvar: r / 2, samples: 1 });
      return;
    }
    if (e.samples >= ANSWER_DEADLINE.minSamples) {
      const excess = r - (e.srtt + ANSWER_DEADLINE.k * e.rttvar);
      if (excess > this.excessMs) this.excessMs = excess;
    }
    e.rttvar = (1 - ANSWER_DEADLINE.beta) * e.rttvar + ANSWER_DEADLINE.beta * Math.abs(e.srtt - r);
    e.srtt = (1 - ANSWER_DEADLINE.alpha) * e.srtt + ANSWER_DEADLINE.alpha * r;
    e.samples++;
  }

  /**
   * A member declared missing this round answered after all, `offsetMs` after the send:
   * a false accusation. Counted as an excess (it raises the floor) and as a sign of poor local health.
   */
  /**
   * An answer from `name` that is no sample of its offset in the main survey: a join
   * survey's (src/join-survey.ts), over a socket where it is alone or nearly so, far sooner
   * than its place in the main survey's fan-out. It is known (a bye of it gets the farewell
   * deadline, see `farewell`), but its deadline stays fixed until it has answered main surveys.
   */
  heard(name: string): void {
    if (!this.estimates.has(name)) this.heardOnly.add(name);
  }

  falseSuspicion(name: string, offsetMs: number): void {
    this.observe(name, offsetMs);
    this.troubled();
  }

  /**
   * The surveyor overran a wait (a receive returned, or a yield resumed) `lagMs` after the
   * time it asked for: its thread was paused, and answers may have waited as long unread.
   * The lag counts as an excess (the floor grows to twice it, and fades): slack in proportion
   * to how late this side is. Returns whether the lag exceeds `lateToleranceMs` (10 ms, or a
   * quarter of the floor if more): a late observer accuses no one on that observation.
   */
  observerLag(lagMs: number): boolean {
    if (!(lagMs > this.lateToleranceMs)) return false;
    if (lagMs > this.excessMs) this.excessMs = lagMs;
    return true;
  }

  /**
   * Before accusing: `silent` members are past their deadlines without an answer, out of
   * `passed` whose deadlines have passed this round (answered or not). Many silent at once
   * (more than 2, and more than 5 % of those passed) looks like trouble on this side — the
   * surveyor or its host is slow, answers are still on their way — rather than that many
   * members left together: it counts as local trouble (deadlines stretch) and nobody is
   * accused on it (the surveyor judges the rest of the round at its end, as the original).
   * Returns whether the accusations may go ahead.
   */
  mayAccuse(silent: number, passed: number): boolean {
    if (silent <= ANSWER_DEADLINE.maxSilentTogether || silent <= ANSWER_DEADLINE.maxSilentShare * passed) return true;
    this.troubled();
    return false;
  }

  /** The round is over: local health recovers by one step if nothing went wrong; excesses fade. */
  endRound(): void {
    if (!this.troubledThisRound) this.lhm = Math.max(0, this.lhm - 1);
    this.troubledThisRound = false;
    this.excessMs *= ANSWER_DEADLINE.excessDecay;
  }

  /** Forgets every member not in `members` (dropped or left), so departed names cost nothing. */
  retain(members: ReadonlySet<string>): void {
    for (const name of this.estimates.keys()) if (!members.has(name)) this.estimates.delete(name);
    for (const name of this.heardOnly) if (!members.has(name)) this.heardOnly.delete(name);
  }

  /**
   * The round's plan: the members with an adaptive deadline, earliest first. Members left
   * out (too few answers) keep the fixed deadline and are judged at the round's end.
   */
  plan(members: Iterable<string>): PlannedDeadline[] {
    const out: PlannedDeadline[] = [];
    for (const name of members) {
      const e = this.estimates.get(name);
      if (e && e.samples >= ANSWER_DEADLINE.minSamples) {
        const baseMs = this.baseOf(e);
        if (baseMs < this.surveyTime) out.push({ name, baseMs });
      }
    }
    return out.sort((a, b) => a.baseMs - b.baseMs);
  }

  /** A planned deadline stretched by the current local health, in ms after the send, at most `surveyTime`. */
  due(baseMs: number): number {
    return Math.min(this.surveyTime, baseMs * (1 + this.lhm));
  }

  /** `name`'s deadline now, ms after the send: `surveyTime` for a member with too few answers. */
  deadline(name: string): number {
    const e = this.estimates.get(name);
    if (!e || e.samples < ANSWER_DEADLINE.minSamples) return this.surveyTime;
    return this.due(this.baseOf(e));
  }

  /**
   * The short deadline of a member that said bye (an announcement with its farewell token,
   * src/announcements.ts), unstretched, ms after the send: FAREWELL.deadlineMs (10 ms), the
   * same for every member, without the floor that covers pauses of a member that means to
   * stay; `due()` stretches it by local health as any other. The surveyor accuses it only
   * when its socket is empty (an on-time receive that got nothing, or a drain that emptied
   * it), so an answer that did come is read first, however long the fan-out. A member that really left does not answer, so it is
   * noticed within milliseconds; a live member named in a bye that carries its token (only
   * whoever reads its connection can forge one) is dropped and then answers and is listed
   * again (a flap, counted as a false suspicion, which raises local health). Undefined for a
   * member never heard from (neither `observe` nor `heard`): it keeps its usual deadline.
   */
  farewell(name: string): number | undefined {
    return this.estimates.has(name) || this.heardOnly.has(name) ? FAREWELL.deadlineMs : undefined;
  }

  private baseOf(e: Estimate): number {
    return e.srtt + Math.max(this.floorMs, ANSWER_DEADLINE.k * e.rttvar);
  }

  private troubled(): void {
    this.troubledThisRound = true;
    this.lhm = Math.min(ANSWER_DEADLINE.maxLocalHealth, this.lhm + 1);
  }
}
