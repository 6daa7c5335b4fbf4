/**
 * A standalone subscriber (the original's NewSubscriber): one subscriber actor whose
 * lists `changes()` yields, stopped by `close()` or by aborting its signal.
 */
import { ListFeed } from './feed.js';
import { type HandleEvents, positiveInteger, SupervisedHandle } from './handle.js';
import { maxListBytes, parseEndpoint } from './protocol.js';
import type { SupervisorOptions } from './supervisor.js';

export interface SubscribeOptions {
  /** The server's pub/sub URL. */
  pubsubUrl: string;
  /** Aborting it closes the subscriber and ends `changes()`, as cancelling the original's context. */
  signal?: AbortSignal;
  /** Largest list accepted; default fits 10,000 members of 1,024 bytes. */
  maxListBytes?: number;
  /** Lists kept for a slow reader before the oldest are dropped. Default 16. */
  bufferSize?: number;
  supervision?: SupervisorOptions;
}

export interface SubscriberEvents extends HandleEvents {
  /** A member list arrived. */
  change: [string[]];
  /** A message that is not a valid list was dropped. */
  refused: [{ reason: string }];
}

let subscriberSeq = 0;

export class Subscriber extends SupervisedHandle<SubscriberEvents> {
  readonly pubsubUrl: string;
  private readonly feed: ListFeed;

  private constructor(options: SubscribeOptions) {
    parseEndpoint(options.pubsubUrl);
    const listBytes = positiveInteger('maxListBytes', options.maxListBytes, maxListBytes());
    const feed = new ListFeed(positiveInteger('bufferSize', options.bufferSize, 16));
    super(
      [
        {
          id: 'subscriber',
          kind: 'subscriber',
          args: () => ({ url: options.pubsubUrl, maxListBytes: listBytes }),
          onMessage: (msg) => {
            if (msg.type === 'list') {
              feed.push(msg.members);
              this.emit('change', msg.members);
            } else if (msg.type === 'refused') {
              this.emit('refused', { reason: msg.reason });
            }
          },
        },
      ],
      options.supervision,
      `subscriber#${++subscriberSeq}`,
      options.signal,
    );
    this.pubsubUrl = options.pubsubUrl;
    this.feed = feed;
  }

  static async create(options: SubscribeOptions): Promise<Subscriber> {
    return new Subscriber(options).start();
  }

  /** The member lists as they are published: the latest received first (if any), then each new one. */
  changes(): AsyncIterable<string[]> {
    this.assertOpen('subscriber');
    return this.feed.iterate();
  }

  /** The latest list received, or undefined if none yet. */
  latest(): string[] | undefined {
    return this.feed.latest;
  }

  protected onEnd(error: Error | undefined): void {
    this.feed.end(error);
  }
}

/** Subscribes to a server's member lists. Rejects on a malformed URL. */
export function subscribe(options: SubscribeOptions): Promise<Subscriber> {
  return Subscriber.create(options);
}
