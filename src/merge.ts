/**
 * Member lists from one or several servers, merged into one.
 *
 * Merge rule: the merged list is the union of the latest list of every server that is
 * live. A server is live until `staleAfterMs` passes without a message from it; then its
 * list no longer counts, until it publishes again. Without `staleAfterMs` every server
 * counts forever. Lists are only published on change unless the servers republish
 * (`republishMs`), so a staleness bound needs the servers' heartbeat: use
 * `staleAfterMs` ≥ 2 × the servers' `republishMs`. The merged list changes — and is
 * yielded — only when its membership changes; a republished unchanged list is silent.
 */
export interface SourceState {
  url: string;
  members: string[] | undefined;
  lastHeard: number | undefined;
  live: boolean;
}

export class ListMerger {
  private readonly sources: Map<string, { members: string[] | undefined; lastHeard: number | undefined }>;
  private readonly staleAfterMs: number | undefined;
  private current: string[] | undefined;

  constructor(urls: readonly string[], staleAfterMs?: number) {
    this.sources = new Map(urls.map((u) => [u, { members: undefined, lastHeard: undefined }]));
    this.staleAfterMs = staleAfterMs;
  }

  /** A list arrived from `url`; returns the new merged list if the membership changed. */
  update(url: string, members: readonly string[], now: number): string[] | undefined {
    const source = this.sources.get(url);
    if (!source) throw new Error(`unknown source ${url}`);
    source.members = [...members];
    source.lastHeard = now;
    return this.recompute(now);
  }

  /** Re-evaluates staleness at `now`; returns the new merged list if a server's expiry changed it. */
  expire(now: number): string[] | undefined {
    return this.recompute(now);
  }

  merged(): string[] | undefined {
    return this.current ? [...this.current] : undefined;
  }

  state(now: number): SourceState[] {
    return [...this.sources].map(([url, s]) => ({ url, members: s.members, lastHeard: s.lastHeard, live: this.isLive(s, now) }));
  }

  private isLive(s: { lastHeard: number | undefined }, now: number): boolean {
    return s.lastHeard !== undefined && (this.staleAfterMs === undefined || now - s.lastHeard <= this.staleAfterMs);
  }

  private recompute(now: number): string[] | undefined {
    const heard = [...this.sources.values()].filter((s) => s.lastHeard !== undefined);
    if (heard.length === 0) return undefined; // nothing known yet: no list to give
    const union = new Set<string>();
    for (const s of heard) if (this.isLive(s, now)) for (const m of s.members!) union.add(m);
    const next = [...union].sort();
    if (this.current && next.length === this.current.length && next.every((m, i) => m === this.current![i])) return undefined;
    this.current = next;
    return [...next];
  }
}
