/** Summaries of samples: min / p50 / p99 / max / mean, and ratios between two summaries. */

export interface Summary {
  n: number;
  min: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

/** The q-quantile (0..1) of sorted values, interpolating linearly between ranks (numpy's default). */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export function summarize(values: readonly number[]): Summary {
  const s = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (s.length === 0) return { n: 0, min: NaN, p50: NaN, p99: NaN, max: NaN, mean: NaN };
  return {
    n: s.length,
    min: s[0]!,
    p50: quantile(s, 0.5),
    p99: quantile(s, 0.99),
    max: s[s.length - 1]!,
    mean: s.reduce((a, b) => a + b, 0) / s.length,
  };
}

/** a / b for each statistic (how the library compares with the original: < 1 is faster). */
export function ratio(a: Summary, b: Summary): { min: number; p50: number; p99: number; mean: number } {
  return { min: a.min / b.min, p50: a.p50 / b.p50, p99: a.p99 / b.p99, mean: a.mean / b.mean };
}

export function round(v: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
