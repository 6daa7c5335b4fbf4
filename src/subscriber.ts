/**
 * A standalone subscriber (the original's NewSubscriber): one subscriber actor whose
 * lists `changes()` yields, stopped by `close()` or by aborting its signal.
 */
import { SupervisedHandle, type HandleEvents } from './handle.js';
import { PeerLists, type ListRefusal, type PeerListOptions } from './peer-lists.js';
import type { ListRefusalReason } from './protocol.js';
import type { SourceState } from './merge.js';
import type { SupervisorOptions } from './supervisor.js';

export interface SubscribeOptions extends PeerListOptions {
  /** Aborting it closes the subscriber and ends `changes()`, as cancelling the original's context. */
  signal?: AbortSignal;
  supervision?: SupervisorOptions;
}

export interface SubscriberEvents extends HandleEvents {
  /** The (merged) member list changed. */
  change: [string[]];
  /** A message that is not a valid list was dropped: malformed, or in secret mode unsealed, sealed with an unknown key, altered or forged, or replayed. */
  refused: [ListRefusal];
}

let subscriberSeq = 0;

export class Subscriber extends SupervisedHandle<SubscriberEvents> {
  readonly pubsubUrls: string[];
  private readonly lists: PeerLists;

  private constructor(options: SubscribeOptions) {
    const lists = new PeerLists(options, (members) => this.emit('change', members));
    super(lists.specs((refusal) => this.emit('refused', refusal)), options.supervision, `subscriber#${++subscriberSeq}`, options.signal);
    this.lists = lists;
    this.pubsubUrls = lists.urls;
  }

  static async create(options: SubscribeOptions): Promise<Subscriber> {
    const sub = await new Subscriber(options).start();
    sub.lists.start();
    return sub;
  }

  /** The first pub/sub URL (the only one, unless several servers are merged). */
  get pubsubUrl(): string {
    return this.pubsubUrls[0]!;
  }

  /** The member lists as they change: the latest received first (if any), then each new one. */
  changes(): AsyncIterable<string[]> {
    this.assertOpen('subscriber');
    return this.lists.feed.iterate();
  }

  /** The latest list received, or undefined if none yet. */
  latest(): string[] | undefined {
    return this.lists.feed.latest;
  }

  /**
   * Key rotation in place (shared-secret mode): lists are opened with the new keyring
   * from now on. Throws InvalidOptionError for a bad secret, or for a subscriber created
   * without one.
   */
  setSecret(secret: string | string[]): void {
    this.lists.keys = this.rekeyActors(this.lists.keys, secret);
  }

  /** Messages dropped since creation, by reason (every reason present, zero when none). */
  refusedLists(): Record<ListRefusalReason, number> {
    return { ...this.lists.refused };
  }

  /** Each server's latest list and whether it still counts in the merge. */
  sources(): SourceState[] {
    return this.lists.sources();
  }

  protected onEnd(error: Error | undefined): void {
    this.lists.end(error);
  }
}

/** Subscribes to one or several servers' member lists. Rejects on a malformed URL. */
export function subscribe(options: SubscribeOptions): Promise<Subscriber> {
  return Subscriber.create(options);
}
