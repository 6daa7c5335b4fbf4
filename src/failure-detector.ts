/**
 * The phi accrual failure detector (Hayashibara, Défago, Yared and Katayama, "The φ accrual
 * failure detector", SRDS 2004), as Akka and Cassandra use it: from the inter-arrival
 * times of a source's heartbeats it learns their mean and standard deviation, and turns
 * the silence since the last arrival into a suspicion level
 *
 *   φ(t) = −log10(P(the next heartbeat arrives later than t))
 *
 * under a normal distribution of the intervals (Akka's logistic approximation of its
 * CDF). The source is suspected once φ exceeds a threshold: φ = 8 means the chance that a
 * live source would stay this silent is 10⁻⁸ under the learned distribution. Pure: the
 * caller passes every time (ms on a monotonic clock); no timers, no I/O.
 *
 * Because the threshold is fixed, the suspicion point is a fixed number of standard
 * deviations past the mean (z ≈ 5.22 for φ = 8), so a caller can compute *when* a silent
 * source will be suspected (`suspectAt`) and set one timer instead of polling φ.
 */

export interface PhiAccrualOptions {
  /** Suspect the source when φ exceeds this. Default 8 (Akka's default). */
  threshold?: number;
  /** Intervals remembered (a sliding window). Default 100. */
  maxSamples?: number;
  /**
   * The standard deviation used is at least this many ms (Akka's min-std-deviation), so a
   * perfectly regular source is not suspected the instant it is a little late. Default 100 ms.
   */
  minStdDeviationMs?: number;
  /**
   * …and at least this fraction of the mean interval, so slow heartbeats (seconds apart)
   * tolerate proportionally longer pauses (a GC pause, a loaded machine). Default 0.25.
   */
  minStdDeviationRatio?: number;
}

export const PHI_DEFAULTS: Required<PhiAccrualOptions> = {
  threshold: 8,
  maxSamples: 100,
  minStdDeviationMs: 100,
  minStdDeviationRatio: 0.25,
};

/** P(X > mean + y·σ) for a normal X, by the logistic approximation Akka uses (error < 1.4e-4). */
function tailProbability(y: number): number {
  const e = Math.exp(-y * (1.5976 + 0.070566 * y * y));
  return y > 0 ? e / (1 + e) : 1 - 1 / (1 + e);
}

/** φ for a silence that is `y` standard deviations past the mean. */
export function phiOf(y: number): number {
  return -Math.log10(Math.max(tailProbability(y), Number.MIN_VALUE));
}

/** The y (standard deviations past the mean) at which φ reaches `threshold`, by bisection. */
export function deviationsForPhi(threshold: number): number {
  let lo = 0;
  let hi = 40;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (phiOf(mid) < threshold) lo = mid;
    else hi = mid;
  }
  return hi;
}

export class PhiAccrualDetector {
  private readonly opts: Required<PhiAccrualOptions>;
  private readonly deviations: number;
  private readonly intervals: number[] = [];
  private sum = 0;
  private sumSquares = 0;
  private last: number | undefined;

  constructor(options: PhiAccrualOptions = {}) {
    this.opts = { ...PHI_DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) };
    if (!(this.opts.threshold > 0)) throw new RangeError(`threshold must be > 0, got ${this.opts.threshold}`);
    if (!Number.isInteger(this.opts.maxSamples) || this.opts.maxSamples < 1) throw new RangeError(`maxSamples must be a whole number >= 1, got ${this.opts.maxSamples}`);
    this.deviations = deviationsForPhi(this.opts.threshold);
  }

  /** A message arrived at `now` that proves the source alive, without teaching an interval (e.g. a change). */
  alive(now: number): void {
    this.last = now;
  }

  /** A heartbeat arrived at `now`: learns the interval since the previous arrival. */
  heartbeat(now: number): void {
    if (this.last !== undefined && now >= this.last) this.record(now - this.last);
    this.last = now;
  }

  /** Forgets the learned intervals (keeps the last arrival): after a source came back from the dead. */
  reset(): void {
    this.intervals.length = 0;
    this.sum = 0;
    this.sumSquares = 0;
  }

  /** Intervals learned so far. */
  get samples(): number {
    return this.intervals.length;
  }

  /** The learned mean interval in ms, or undefined before any. */
  get meanMs(): number | undefined {
    return this.intervals.length === 0 ? undefined : this.sum / this.intervals.length;
  }

  /** The standard deviation used (after the floors), in ms, or undefined before any interval. */
  get stdDeviationMs(): number | undefined {
    const mean = this.meanMs;
    if (mean === undefined) return undefined;
    const variance = Math.max(0, this.sumSquares / this.intervals.length - mean * mean);
    return Math.max(Math.sqrt(variance), this.opts.minStdDeviationMs, mean * this.opts.minStdDeviationRatio);
  }

  /** φ at `now`: 0 before any interval was learned (nothing to expect yet) or before any arrival. */
  phi(now: number): number {
    const mean = this.meanMs;
    if (mean === undefined || this.last === undefined) return 0;
    return phiOf((now - this.last - mean) / this.stdDeviationMs!);
  }

  /** Whether φ at `now` exceeds the threshold. A source never heard twice is never suspected. */
  suspected(now: number): boolean {
    const at = this.suspectAt();
    return at !== undefined && now > at;
  }

  /**
   * When the source becomes suspected if nothing more arrives: last arrival + mean + z·σ
   * (z ≈ 5.22 for φ = 8). Undefined while no interval is learned.
   */
  suspectAt(): number | undefined {
    const mean = this.meanMs;
    if (mean === undefined || this.last === undefined) return undefined;
    return this.last + mean + this.deviations * this.stdDeviationMs!;
  }

  private record(interval: number): void {
    this.intervals.push(interval);
    this.sum += interval;
    this.sumSquares += interval * interval;
    if (this.intervals.length > this.opts.maxSamples) {
      const old = this.intervals.shift()!;
      this.sum -= old;
      this.sumSquares -= old * old;
    }
  }
}
