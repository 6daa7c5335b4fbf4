/**
 * A standalone subscriber (the original's NewSubscriber): one subscriber actor whose
 * lists `changes()` yields, stopped by `close()` or by aborting its signal.
 */
import { SupervisedHandle, type HandleEvents } from './handle.js';
import { checkOptionNames, optionNames } from './options.js';
import { PEER_LIST_OPTION_NAMES, PeerLists, type ListRefusal, type PeerListOptions } from './peer-lists.js';
import type { ListRefusalReason } from './protocol.js';
import type { SourceState } from './merge.js';
import { SUPERVISOR_OPTION_NAMES, type SupervisorOptions } from './supervisor.js';

export interface SubscribeOptions extends PeerListOptions {
  /** Aborting it closes the subscriber and ends `changes()`, as cancelling the original's context. */
  signal?: AbortSignal;
  supervision?: SupervisorOptions;
}

/** Every SubscribeOptions name (src/options.ts). */
export const SUBSCRIBE_OPTION_NAMES = optionNames<SubscribeOptions>()([...PEER_LIST_OPTION_NAMES, 'signal', 'supervision']);

export interface SubscriberEvents extends HandleEvents {
  /** The (merged) member list changed. */
  change: [string[]];
  /** A member entered the (merged) list: once per name per change, after 'change'. */
  joined: [string];
  /** A member left the (merged) list: once per name per change, after 'change'. */
  left: [string];
  /** A message that is not a valid list was dropped: malformed, or in secret mode unsealed, sealed with an unknown key, altered or forged, or replayed. */
  refused: [ListRefusal];
}

let subscriberSeq = 0;

export class Subscriber extends SupervisedHandle<SubscriberEvents> {
  readonly pubsubUrls: string[];
  private readonly lists: PeerLists;

  private constructor(options: SubscribeOptions) {
    checkOptionNames('subscribe', options, SUBSCRIBE_OPTION_NAMES, { supervision: SUPERVISOR_OPTION_NAMES });
    const lists = new PeerLists(options, {
      change: (members, joined, left) => {
        this.emit('change', members);
        for (const name of joined) this.emit('joined', name);
        for (const name of left) this.emit('left', name);
      },
      refused: (refusal) => this.emit('refused', refusal),
    });
    super(lists.specs(), options.supervision, `subscriber#${++subscriberSeq}`, options.signal);
    this.lists = lists;
    this.pubsubUrls = lists.urls;
  }

  static async create(options: SubscribeOptions): Promise<Subscriber> {
    return new Subscriber(options).start();
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
