/**
 * Member lists from one or several servers, merged into one.
 *
 * Merge rule: the merged list is the union of the latest list of every server that is
 * live; it changes — and is yielded — only when its membership changes (a republished
 * unchanged list is silent). When a server stops counting:
 *
 * - With `staleAfterMs` (an explicit override): once that many ms pass without a message from it.
 * - Otherwise, with several servers: when its heartbeat is overdue by the phi accrual
 *   failure detector (src/failure-detector.ts) fed with the intervals of its unchanged
 *   republications — it learns each server's own period, so no setting has to match the
 *   servers'. A server never heard republishing (a Go server, or ours with `republishMs: 0`)
 *   teaches no interval and is never expired: its silence says nothing.
 * - With a single server and no `staleAfterMs`: never; its last list is the best there is.
 *
 * A server that stopped counting counts again at its next message, and its learned
 * intervals start afresh (the gap it was away for is not a heartbeat interval).
 * Every time is ms on a monotonic clock (performance.now()), never the wall clock.
 */
import { PhiAccrualDetector, type PhiAccrualOptions } from './failure-detector.js';

export interface SourceState {
  url: string;
  members: string[] | undefined;
  /** When it was last heard, in ms on performance.now()'s clock (undefined before any message). */
  lastHeard: number | undefined;
  /** Whether its list counts in the merge now. */
  live: boolean;
  /** The learned mean interval of its heartbeats, in ms (undefined before two were heard, or with staleAfterMs). */
  heartbeatMs: number | undefined;
  /** When it stops counting if nothing more arrives (performance.now() clock), or undefined: never. */
  expiresAt: number | undefined;
}

interface Source {
  members: string[] | undefined;
  lastHeard: number | undefined;
  detector: PhiAccrualDetector;
  /** It stopped counting: its next message starts its learning afresh. */
  expired: boolean;
}

export class ListMerger {
  private readonly sources: Map<string, Source>;
  private readonly staleAfterMs: number | undefined;
  /** Expire silent servers by their learned heartbeat (several servers, no staleAfterMs). */
  private readonly adaptive: boolean;
  private current: string[] | undefined;

  constructor(urls: readonly string[], staleAfterMs?: number, detector?: PhiAccrualOptions) {
    this.sources = new Map(urls.map((u) => [u, { members: undefined, lastHeard: undefined, detector: new PhiAccrualDetector(detector), expired: false }]));
    this.staleAfterMs = staleAfterMs;
    this.adaptive = staleAfterMs === undefined && urls.length > 1;
  }

  /** A list arrived from `url` at `now` (ms, monotonic); returns the new merged list if the membership changed. */
  update(url: string, members: readonly string[], now: number): string[] | undefined {
    const source = this.sources.get(url);
    if (!source) throw new Error(`unknown source ${url}`);
    const wasLive = source.lastHeard !== undefined && !source.expired && this.isLive(source, now);
    if (!wasLive) source.detector.reset();
    // Only an unchanged list is a heartbeat: the publisher republishes a full period after
    // its last publication, so these intervals are its period; a change comes at any time.
    if (wasLive && sameList(source.members!, members)) source.detector.heartbeat(now);
    else source.detector.alive(now);
    source.members = [...members];
    source.lastHeard = now;
    source.expired = false;
    return this.recompute(now);
  }

  /** Re-evaluates staleness at `now`; returns the new merged list if a server's expiry changed it. */
  expire(now: number): string[] | undefined {
    return this.recompute(now);
  }

  merged(): string[] | undefined {
    return this.current ? [...this.current] : undefined;
  }

  /** The earliest time (ms, monotonic) after `now` at which a server still counting stops counting, if any. */
  nextExpiry(now: number): number | undefined {
    let next: number | undefined;
    for (const s of this.sources.values()) {
      const at = this.expiresAt(s);
      if (at !== undefined && at >= now && (next === undefined || at < next)) next = at;
    }
    return next;
  }

  state(now: number): SourceState[] {
    return [...this.sources].map(([url, s]) => ({
      url,
      members: s.members,
      lastHeard: s.lastHeard,
      live: this.isLive(s, now),
      heartbeatMs: this.staleAfterMs === undefined ? s.detector.meanMs : undefined,
      expiresAt: this.expiresAt(s),
    }));
  }

  private expiresAt(s: Source): number | undefined {
    if (s.lastHeard === undefined || s.expired) return undefined;
    if (this.staleAfterMs !== undefined) return s.lastHeard + this.staleAfterMs;
    return this.adaptive ? s.detector.suspectAt() : undefined;
  }

  private isLive(s: Source, now: number): boolean {
    if (s.lastHeard === undefined || s.expired) return false;
    const at = this.expiresAt(s);
    return at === undefined || now <= at;
  }

  private recompute(now: number): string[] | undefined {
    const heard = [...this.sources.values()].filter((s) => s.lastHeard !== undefined);
    if (heard.length === 0) return undefined; // nothing known yet: no list to give
    const union = new Set<string>();
    for (const s of heard) {
      if (!this.isLive(s, now)) {
        s.expired = true; // stays out until it is heard again, whatever its detector says later
        continue;
      }
      for (const m of s.members!) union.add(m);
    }
    const next = [...union].sort();
    if (this.current && sameList(next, this.current)) return undefined;
    this.current = next;
    return [...next];
  }
}

/** The same members, in any order (lists hold no duplicates). */
function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const set = new Set(a);
  return b.every((m) => set.has(m));
}
