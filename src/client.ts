/**
 * A discovery client: a respondent actor that answers every survey with the service
 * string, and, with a pub/sub URL, a subscriber actor whose lists `peers()` yields.
 */
import { NoPubSubError } from './errors.js';
import { ListFeed } from './feed.js';
import { type HandleEvents, positiveInteger, SupervisedHandle, urlList } from './handle.js';
import { DEFAULT_MAX_NAME_BYTES, maxListBytes, parseEndpoint, validateServiceName } from './protocol.js';
import type { ChildSpec, SupervisorOptions } from './supervisor.js';

export interface ClientOptions {
  /** The server's survey URL (or several servers' URLs; one RESPONDENT socket dials them all). */
  surveyUrl: string | string[];
  /** This client's service string: non-empty, no `|`, at most maxNameBytes UTF-8 bytes. */
  service: string;
  /** The server's pub/sub URL; without it `peers()` throws NoPubSubError, as the original's Peers(). */
  pubsubUrl?: string;
  /** Default 1,024 (the server's default). */
  maxNameBytes?: number;
  /** Largest list accepted; default fits 10,000 members of maxNameBytes. */
  maxListBytes?: number;
  /** Lists kept for a slow `peers()` reader before the oldest are dropped. Default 16. */
  bufferSize?: number;
  supervision?: SupervisorOptions;
  /** Aborting it closes the client. */
  signal?: AbortSignal;
}

export interface ClientEvents extends HandleEvents {
  /** A peer list arrived. */
  peers: [string[]];
}

let clientSeq = 0;

export class Client extends SupervisedHandle<ClientEvents> {
  readonly service: string;
  readonly surveyUrls: string[];
  readonly pubsubUrl: string | undefined;
  private readonly feed: ListFeed | undefined;

  private constructor(options: ClientOptions) {
    const surveyUrls = urlList('surveyUrl', options.surveyUrl);
    surveyUrls.forEach((u) => parseEndpoint(u));
    if (options.pubsubUrl !== undefined) parseEndpoint(options.pubsubUrl);
    const maxNameBytes = positiveInteger('maxNameBytes', options.maxNameBytes, DEFAULT_MAX_NAME_BYTES);
    const service = validateServiceName(options.service, maxNameBytes);
    const listBytes = positiveInteger('maxListBytes', options.maxListBytes, maxListBytes(undefined, maxNameBytes));
    const feed = options.pubsubUrl !== undefined ? new ListFeed(positiveInteger('bufferSize', options.bufferSize, 16)) : undefined;
    const specs: ChildSpec[] = [];
    if (options.pubsubUrl !== undefined) {
      // The subscriber connects first, so it is listening before this client's answer can change the list.
      specs.push({
        id: 'subscriber',
        kind: 'subscriber',
          args: () => ({ url: options.pubsubUrl!, maxListBytes: listBytes }),
        onMessage: (msg) => {
          if (msg.type !== 'list') return;
          feed!.push(msg.members);
          this.emit('peers', msg.members);
        },
      });
    }
    specs.push({ id: 'respondent', kind: 'respondent',
          args: () => ({ urls: surveyUrls, service }) });
    super(specs, options.supervision, `client#${++clientSeq}(${service})`, options.signal);
    this.service = service;
    this.surveyUrls = surveyUrls;
    this.pubsubUrl = options.pubsubUrl;
    this.feed = feed;
  }

  static async create(options: ClientOptions): Promise<Client> {
    return new Client(options).start();
  }

  /**
   * The peer lists published by the server: first the latest one received (if any), then
   * each new one. Ends when the client is closed. Throws NoPubSubError at once for a
   * client created without `pubsubUrl`.
   */
  peers(): AsyncIterable<string[]> {
    if (!this.feed) throw new NoPubSubError();
    this.assertOpen('client');
    return this.feed.iterate();
  }

  /** The latest peer list received, or undefined if none yet (or no pubsubUrl). */
  latestPeers(): string[] | undefined {
    return this.feed?.latest;
  }

  protected onEnd(error: Error | undefined): void {
    this.feed?.end(error);
  }
}

/** Starts a client. Rejects (with nothing left running) on a bad URL or service name. */
export function createClient(options: ClientOptions): Promise<Client> {
  return Client.create(options);
}
