/**
 * The list side of clients and subscribers: one subscriber actor per pub/sub URL, their
 * lists merged (src/merge.ts) and fed to `peers()` / `changes()` iterators.
 */
import { ListFeed } from './feed.js';
import { positiveInteger, urlList } from './handle.js';
import { ListMerger, type SourceState } from './merge.js';
import { keysFromSecrets, type KeyMaterial } from './keyring.js';
import { LIST_REFUSAL_REASONS, maxListBytes as defaultMaxListBytes, parseEndpoint, validateDuration, type ListRefusalReason } from './protocol.js';
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
   * A server silent this long no longer counts in the merged list (until it publishes
   * again). Needs servers that republish (`republishMs`): use at least 2 × their period.
   * Default: none — a server's last list counts until it publishes another.
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

export class PeerLists {
  readonly urls: string[];
  readonly feed: ListFeed;
  private readonly merger: ListMerger;
  private readonly listBytes: number;
  private readonly staleAfterMs: number | undefined;
  /** Shared-secret mode's keyring, for (re)started subscriber actors; rotated by the owner. */
  keys: KeyMaterial[] | undefined;
  /** Messages dropped, by reason. */
  readonly refused = noListRefusals();
  private timer: NodeJS.Timeout | undefined;

  constructor(options: PeerListOptions, private readonly onChange: (members: string[]) => void) {
    this.urls = urlList('pubsubUrl', options.pubsubUrl);
    this.urls.forEach((u) => parseEndpoint(u));
    this.listBytes = positiveInteger('maxListBytes', options.maxListBytes, defaultMaxListBytes());
    this.feed = new ListFeed(positiveInteger('bufferSize', options.bufferSize, 16));
    this.staleAfterMs = options.staleAfterMs === undefined ? undefined : validateDuration('staleAfterMs', options.staleAfterMs);
    this.merger = new ListMerger(this.urls, this.staleAfterMs);
    this.keys = options.secret === undefined ? undefined : keysFromSecrets('secret', options.secret);
  }

  /** One subscriber actor per URL ('subscriber', or 'subscriber:0', 'subscriber:1'... for several). */
  specs(onRefused?: (refusal: ListRefusal) => void): ChildSpec[] {
    return this.urls.map((url, i) => ({
      id: this.urls.length === 1 ? 'subscriber' : `subscriber:${i}`,
      kind: 'subscriber' as const,
      args: () => ({ url, maxListBytes: this.listBytes, ...(this.keys ? { keys: this.keys } : {}) }),
      onMessage: (msg: SubscriberOut) => {
        if (msg.type === 'list') this.deliver(this.merger.update(url, msg.members, Date.now()));
        else if (msg.type === 'refused') {
          // A subscriber's refusals are list refusals; 'malformed' when it gave no code.
          const code = (msg.code ?? 'malformed') as ListRefusalReason;
          this.refused[code] += msg.count;
          onRefused?.({ code, reason: msg.reason });
        }
      },
    }));
  }

  /** Starts expiring silent servers (when staleAfterMs is set). */
  start(): void {
    if (this.staleAfterMs === undefined || this.timer) return;
    this.timer = setInterval(() => this.deliver(this.merger.expire(Date.now())), Math.max(10, this.staleAfterMs / 4));
    this.timer.unref();
  }

  end(error?: Error): void {
    clearInterval(this.timer);
    this.feed.end(error);
  }

  /** Each server's latest list, when it was last heard, and whether it counts. */
  sources(): SourceState[] {
    return this.merger.state(Date.now());
  }

  private deliver(merged: string[] | undefined): void {
    if (!merged) return;
    this.feed.push(merged);
    this.onChange(merged);
  }
}
