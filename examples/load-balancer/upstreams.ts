/**
 * The proxy's live upstream set: one undici connection pool per backend, replaced as a
 * whole from each published member list, and a round-robin pick over it.
 */
import { Pool } from 'undici';

/** Members that are backends: those whose service string is an http(s) base URL. */
export function backendsOf(members: readonly string[]): string[] {
  return members
    .filter((m) => {
      try {
        const u = new URL(m);
        return (u.protocol === 'http:' || u.protocol === 'https:') && (u.pathname === '/' || u.pathname === '') && !u.search && !u.hash;
      } catch {
        return false;
      }
    })
    .sort();
}

export class Upstreams {
  private order: string[] = [];
  private readonly pools = new Map<string, Pool>();
  private turn = 0;

  /** The upstreams in rotation, sorted. */
  get list(): readonly string[] {
    return this.order;
  }

  /**
   * Makes `urls` the rotation. A removed upstream's pool is closed gracefully: requests
   * already sent to it finish (or fail and are retried elsewhere), no new one goes there.
   */
  set(urls: readonly string[]): { added: string[]; removed: string[] } {
    const next = [...new Set(urls)].sort();
    const added = next.filter((u) => !this.pools.has(u));
    const removed = this.order.filter((u) => !next.includes(u));
    for (const u of added) this.pools.set(u, new Pool(u, { headersTimeout: 30_000, bodyTimeout: 30_000 }));
    for (const u of removed) {
      const pool = this.pools.get(u)!;
      this.pools.delete(u);
      pool.close().catch(() => {});
    }
    this.order = next;
    return { added, removed };
  }

  /** The next upstream in round-robin order, or undefined when there is none. */
  pick(): string | undefined {
    if (this.order.length === 0) return undefined;
    return this.order[this.turn++ % this.order.length];
  }

  /** An upstream other than `failed` for a retry (the one after it in the rotation), or undefined. */
  pickOther(failed: string): string | undefined {
    const others = this.order.filter((u) => u !== failed);
    if (others.length === 0) return undefined;
    const at = this.order.indexOf(failed);
    return at < 0 ? others[this.turn++ % others.length] : this.order[(at + 1) % this.order.length];
  }

  pool(url: string): Pool | undefined {
    return this.pools.get(url);
  }

  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map((p) => p.close().catch(() => {})));
    this.pools.clear();
    this.order = [];
  }
}
