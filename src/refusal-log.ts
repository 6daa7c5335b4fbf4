/**
 * Rate-limited reporting of refused answers, so that a hostile peer sending garbage in
 * every round cannot flood a log: at most one summary per reason per interval.
 *
 * nanomsg does not tell which peer (or address) a message came from, so the limit is per
 * reason, not per peer. Counters (`server.stats()`) stay exact; only the summaries are
 * limited. Pure apart from the clock, which is injected for tests.
 */
import { performance } from 'node:perf_hooks';
import type { RefusalReason } from './protocol.js';

export interface RefusalSummary<K extends string = RefusalReason> {
  code: K;
  /** Refusals of this reason since its previous summary. */
  count: number;
  /** The latest refusal's detail, e.g. `answer of 1500 bytes exceeds 1024`. */
  reason: string;
  /** How long this summary covers, in ms: since the previous summary of this reason (0 for the first). */
  periodMs: number;
}

interface Entry {
  lastSummary: number;
  pending: number;
  reason: string;
}

/**
 * Keyed by refusal reason by default; the server keys a second one by member name for its
 * duplicate reports (`forgetQuiet`: a key quiet for an interval is forgotten, so the keys
 * held stay bounded by those active within an interval).
 */
export class RefusalLog<K extends string = RefusalReason> {
  private readonly entries = new Map<K, Entry>();

  constructor(
    readonly intervalMs: number,
    private readonly emit: (summary: RefusalSummary<K>) => void,
    private readonly now: () => number = () => performance.now(),
    private readonly forgetQuiet = false,
  ) {}

  /**
   * Records `count` refusals. The first refusal of a reason (or the first after a quiet
   * interval) is summarised at once, so an operator sees an attack start; later ones are
   * counted until the interval since the previous summary has passed.
   */
  add(code: K, count: number, reason: string): void {
    const t = this.now();
    const e = this.entries.get(code);
    if (!e) {
      this.entries.set(code, { lastSummary: t, pending: 0, reason });
      this.emit({ code, count, reason, periodMs: 0 });
      return;
    }
    e.pending += count;
    e.reason = reason;
    if (t - e.lastSummary >= this.intervalMs) this.summarise(code, e, t);
  }

  /** Summarises every reason with refusals pending whose interval has passed; all of them with `force` (at close). */
  flush(force = false): void {
    const t = this.now();
    for (const [code, e] of this.entries) {
      if (e.pending > 0 && (force || t - e.lastSummary >= this.intervalMs)) this.summarise(code, e, t);
      else if (this.forgetQuiet && e.pending === 0 && t - e.lastSummary >= this.intervalMs) this.entries.delete(code);
    }
  }

  /** Refusals counted but not yet summarised. */
  get pending(): number {
    let n = 0;
    for (const e of this.entries.values()) n += e.pending;
    return n;
  }

  /** Keys held (reasons, or names for duplicates). */
  get size(): number {
    return this.entries.size;
  }

  private summarise(code: K, e: Entry, t: number): void {
    const summary: RefusalSummary<K> = { code, count: e.pending, reason: e.reason, periodMs: t - e.lastSummary };
    e.lastSummary = t;
    e.pending = 0;
    this.emit(summary);
  }
}
