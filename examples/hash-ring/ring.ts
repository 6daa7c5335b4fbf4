/**
 * A consistent-hash ring of the current peers, built with the `hashring` package
 * (ketama-compatible: MD5, 40 virtual nodes × 4 points = 160 points per peer on the
 * ring). Every process builds its ring from the same published member list, so every
 * process computes the same owner for every key: agreement needs no coordination beyond
 * the list itself.
 */
import HashRing from 'hashring';

export class PeerRing {
  readonly members: readonly string[];
  private readonly ring: HashRing | undefined;

  constructor(members: readonly string[]) {
    // Sorted, so the ring does not depend on the order a list arrives in (the wire order is unspecified).
    this.members = [...new Set(members)].sort();
    this.ring = this.members.length > 0 ? new HashRing([...this.members]) : undefined;
  }

  /** The peer that owns `key`, or undefined on an empty ring. */
  owner(key: string): string | undefined {
    return this.ring?.get(key);
  }
}

/** The demo's key space: key-0 … key-(count-1). */
export function demoKeys(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `key-${i}`);
}

/** What changed between two assignments of the same keys: how many keys moved, from whom, to whom. */
export function movedKeys(before: readonly (string | undefined)[], after: readonly (string | undefined)[]): {
  moved: number;
  from: Record<string, number>;
  to: Record<string, number>;
} {
  const from: Record<string, number> = {};
  const to: Record<string, number> = {};
  let moved = 0;
  for (let i = 0; i < after.length; i++) {
    if (before[i] === after[i]) continue;
    moved++;
    const f = before[i] ?? '(none)';
    const t = after[i] ?? '(none)';
    from[f] = (from[f] ?? 0) + 1;
    to[t] = (to[t] ?? 0) + 1;
  }
  return { moved, from, to };
}
