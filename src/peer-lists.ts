/**
 * The list side of clients and subscribers: one subscriber actor per pub/sub URL, their
 * lists merged (src/merge.ts) and fed to `peers()` / `changes()` iterators.
 */
import { performance } from 'node:perf_hooks';
import { ListFeed } from './feed.js';
import { positiveInteger, urlList } from './handle.js';
import { ListMerger, type SourceState } from './merge.js';
import { keysFromSecrets, type KeyMaterial } from './keyring.js';
import { optionNames } from './options.js';
import { diffLists, LIST_REFUSAL_REASONS, maxListBytes as defaultMaxListBytes, parseEndpoint, validateDuration, type ListRefusalReason } from './protocol.js';
import type { SubscriberOut } from './actors/messages.js';
import type { ChildSpec } from './supervisor.js';

export interface PeerListOptions {
  /** One publisher, or several servers' publishers whose lists are merged. */
  pubsubUrl: string | string[];
  /** Largest list accepted; default fits 10,000 members of 1,024 bytes. */
  maxListBytes?: number;
  /** Lists kept for a slow reader before the oldest are dropped. Default 16. */
  bufferSize?: number;
  /**
   * An explicit override: a server silent this long (ms) no longer counts in the merged
   * list (until it publishes again). Default: with several servers, each server's
   * heartbeat period is learned and a server that misses it stops counting (phi accrual,
   * src/merge.ts); a server that never republishes never stops counting; with one server,
   * its last list counts until it publishes another.
   */
  staleAfterMs?: number;
  /**
   * Shared-secret mode: the server's secret (or a keyring, an array: any of its keys opens a
   * list; the first one also signs this client's answers). Only lists sealed with one of
   * these keys, and newer than the last one from the same publisher, are accepted; anything
   * else is dropped and counted (`refusedLists()`, a 'refused' event). Default: none (plain).
   */
  secret?: string | string[];
}

/** A dropped message: why, and the detail. */
export interface ListRefusal {
  code: ListRefusalReason;
  reason: string;
}

/** A zero count for every list refusal reason. */
export function noListRefusals(): Record<ListRefusalReason, number> {
  return Object.fromEntries(LIST_REFUSAL_REASONS.map((r) => [r, 0])) as Record<ListRefusalReason, number>;
}

/** What the owner (a Client or Subscriber) hears of the merged list. */
export interface PeerListEvents {
  /** The merged list changed: the new list, and who joined and left it (each name once). */
  change(members: string[], joined: string[], left: string[]): void;
  /** The digests (hex) of the latest list held from each server changed (state on connect). */
  held?(digests: string[]): void;
  /** A message that is not a valid list (or, in secret mode, not sealed by a key held, or replayed) was dropped. */
  refused?(refusal: ListRefusal): void;
}

/** Every PeerListOptions name (src/options.ts); clients and subscribers extend the list. */
export const PEER_LIST_OPTION_NAMES = optionNames<PeerListOptions>()(['pubsubUrl', 'maxListBytes', 'bufferSize', 'staleAfterMs', 'secret']);

export class PeerLists {
  readonly urls: string[];
  readonly feed: ListFeed;
  private readonly merger: ListMerger;
  private readonly listBytes: number;
  /** Shared-secret mode's keyring, for (re)started subscriber actors; rotated by the owner. */
  keys: KeyMaterial[] | undefined;
  /** Messages dropped, by reason. */
  readonly refused = noListRefusals();
  private readonly digests = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private ended = false;

  constructor(options: PeerListOptions, private readonly events: PeerListEvents) {
    this.urls = urlList('pubsubUrl', options.pubsubUrl);
    this.urls.forEach((u) => parseEndpoint(u, 'connect'));
    this.listBytes = positiveInteger('maxListBytes', options.maxListBytes, defaultMaxListBytes());
    this.feed = new ListFeed(positiveInteger('bufferSize', options.bufferSize, 16));
    const staleAfterMs = options.staleAfterMs === undefined ? undefined : validateDuration('staleAfterMs', options.staleAfterMs);
    this.merger = new ListMerger(this.urls, staleAfterMs);
    this.keys = options.secret === undefined ? undefined : keysFromSecrets('secret', options.secret);
  }

  /** One subscriber actor per URL ('subscriber', or 'subscriber:0', 'subscriber:1'... for several). */
  specs(): ChildSpec[] {
    return this.urls.map((url, i) => ({
      id: this.urls.length === 1 ? 'subscriber' : `subscriber:${i}`,
      kind: 'subscriber' as const,
      args: () => ({ url, maxListBytes: this.listBytes, ...(this.keys ? { keys: this.keys } : {}) }),
      onMessage: (msg: SubscriberOut) => {
        if (msg.type === 'list') this.receive(url, msg.members, msg.digest);
        else if (msg.type === 'refused') {
          // A subscriber's refusals are list refusals; 'malformed' when it gave no code.
          const code = (msg.code ?? 'malformed') as ListRefusalReason;
          this.refused[code] += msg.count;
          this.events.refused?.({ code, reason: msg.reason });
        }
      },
    }));
  }

  /** The digests (hex) of the latest list held from each server. */
  heldDigests(): string[] {
    return [...new Set(this.digests.values())];
  }

  end(error?: Error): void {
    this.ended = true;
    clearTimeout(this.timer);
    this.feed.end(error);
  }

  /** Each server's latest list, when it was last heard, and whether it counts. */
  sources(): SourceState[] {
    return this.merger.state(performance.now());
  }

  private receive(url: string, members: string[], digest: string): void {
    if (this.ended) return;
    // Monotonic time: a wall-clock step (NTP, a VM resumed) must not expire or revive a server.
    this.deliver(this.merger.update(url, members, performance.now()));
    if (this.digests.get(url) !== digest) {
      this.digests.set(url, digest);
      this.events.held?.(this.heldDigests());
    }
  }

  private deliver(merged: string[] | undefined): void {
    if (merged) {
      const { joined, left } = diffLists(this.feed.latest ?? [], merged);
      this.feed.push(merged);
      this.events.change(merged, joined, left);
    }
    this.scheduleExpiry();
  }

  /** One timer, for the moment the next server stops counting if it stays silent. */
  private scheduleExpiry(): void {
    clearTimeout(this.timer);
    if (this.ended) return;
    const now = performance.now();
    const at = this.merger.nextExpiry(now);
    if (at === undefined) return;
    this.timer = setTimeout(() => this.deliver(this.merger.expire(performance.now())), Math.ceil(at - now) + 1);
    this.timer.unref();
  }
}
