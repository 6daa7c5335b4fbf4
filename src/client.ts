/**
 * A discovery client: a respondent actor that answers every survey with the service
 * string (to one server or several), and, with a pub/sub URL (or several, merged), the
 * subscriber actors whose lists `peers()` yields.
 */
import type { EventEmitter } from 'node:events';
import { MAX_ANNOUNCE_URLS } from './announcements.js';
import { ClosedError, InvalidOptionError, NoPubSubError } from './errors.js';
import { distinctRoles, positiveInteger, SupervisedHandle, urlList, type HandleEvents } from './handle.js';
import type { SourceState } from './merge.js';
import { keysFromSecrets, type KeyMaterial } from './keyring.js';
import { checkOptionNames, optionNames } from './options.js';
import { noListRefusals, PEER_LIST_OPTION_NAMES, PeerLists, type ListRefusal, type PeerListOptions } from './peer-lists.js';
import { DEFAULT_MAX_NAME_BYTES, maxListBytes, parseEndpoint, validateServiceName, type ListRefusalReason } from './protocol.js';
import { SUPERVISOR_OPTION_NAMES, type ChildSpec, type SupervisorOptions } from './supervisor.js';

export interface ClientOptions extends Omit<PeerListOptions, 'pubsubUrl'> {
  /** The server's survey URL, or several servers': one RESPONDENT socket dials them all and answers each. */
  surveyUrl: string | string[];
  /** This client's service string: non-empty, no `|`, no control characters, at most maxNameBytes UTF-8 bytes. */
  service: string;
  /** The server's pub/sub URL (or several, merged); without it `peers()` throws NoPubSubError, as the original's Peers(). */
  pubsubUrl?: string | string[];
  /** Default 1,024 (the server's default). */
  maxNameBytes?: number;
  /**
   * Announcements (README "Announcements"): the server's announce URL (or several servers',
   * at most 4), where this client says hello once its respondent is connected — so it is
   * surveyed and listed at once rather than at the next round — and bye when it closes, so
   * its departure is published within milliseconds. Without it, a client learns the URL from
   * its first survey of a server that advertises one, and then says bye only.
   */
  announceUrl?: string | string[];
  /**
   * The join survey (README "Join survey"): the server's join URL (or several servers', at
   * most 4), which this client's respondent dials beside the survey URL before its hello, so
   * that the server's join survey — sent at once for the hello — reaches it over a pipe of
   * its own; dropped 50 ms after its first answered survey (or after 2 s without one).
   * Needs `announceUrl` (the hello asks for the join survey): InvalidOptionError without.
   */
  joinUrl?: string | string[];
  supervision?: SupervisorOptions;
  /** Aborting it closes the client. */
  signal?: AbortSignal;
}

/** Every ClientOptions name (src/options.ts). */
export const CLIENT_OPTION_NAMES = optionNames<ClientOptions>()([
  ...PEER_LIST_OPTION_NAMES,
  'surveyUrl',
  'service',
  'maxNameBytes',
  'announceUrl',
  'joinUrl',
  'supervision',
  'signal',
]);

export interface ClientEvents extends HandleEvents {
  /** The (merged) peer list changed. */
  peers: [string[]];
  /** A published message was dropped (see SubscriberEvents['refused']). */
  refused: [ListRefusal];
  /** A member entered the (merged) peer list: once per name per change, after 'peers'. */
  joined: [string];
  /** A member left the (merged) peer list: once per name per change, after 'peers'. */
  left: [string];
  /** An announcement went out (README "Announcements"): a hello once connected, or a bye on close, to `url`. */
  announced: [{ kind: 'hello' | 'bye'; url: string }];
  /**
   * The client answered a survey; `surveys` counts the answers of its respondent since it
   * (re)started: 1 is the first. Reported for every survey while a listener is attached (the
   * first always), so a listener attached late sees the count jump. One RESPONDENT socket answers every server, and SP does not
   * tell which server a survey came from, so the count is over all of them.
   */
  answered: [{ surveys: number }];
  /**
   * A join survey (README "Join survey") reached this client, which has no `joinUrl`: one of
   * its `surveyUrl`s is a server's join URL, not its survey URL. The join survey lists it; the
   * next main round, which never reaches it there, drops it. Once per respondent start.
   */
  misdialled: [{ surveyUrls: string[] }];
}

let clientSeq = 0;

export class Client extends SupervisedHandle<ClientEvents> {
  readonly service: string;
  readonly surveyUrls: string[];
  readonly pubsubUrls: string[];
  private readonly lists: PeerLists | undefined;
  /** Shared-secret mode's keyring for the respondent (the subscribers' is in `lists`). */
  private keys: KeyMaterial[] | undefined;
  private readonly listedOnce: { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void; settled: boolean };
  private readonly abortSignal: AbortSignal | undefined;
  private misdialledUrls: string[] | undefined;

  private constructor(options: ClientOptions) {
    checkOptionNames('createClient', options, CLIENT_OPTION_NAMES, { supervision: SUPERVISOR_OPTION_NAMES });
    const surveyUrls = urlList('surveyUrl', options.surveyUrl);
    surveyUrls.forEach((u) => parseEndpoint(u, 'connect'));
    const announceUrls = serverSideUrls('announceUrl', options.announceUrl);
    const joinUrls = serverSideUrls('joinUrl', options.joinUrl);
    if (joinUrls.length > 0 && announceUrls.length === 0) throw new InvalidOptionError('joinUrl needs announceUrl: the hello sent there asks for the join survey', { option: 'joinUrl' });
    const pubsubUrls = options.pubsubUrl === undefined ? [] : urlList('pubsubUrl', options.pubsubUrl);
    distinctRoles([['surveyUrl', surveyUrls], ['pubsubUrl', pubsubUrls], ['announceUrl', announceUrls], ['joinUrl', joinUrls]]);
    const maxNameBytes = positiveInteger('maxNameBytes', options.maxNameBytes, DEFAULT_MAX_NAME_BYTES);
    const service = validateServiceName(options.service, maxNameBytes);
    // Checked before anything starts; derived once per secret per process (cached).
    const keys = options.secret === undefined ? undefined : keysFromSecrets('secret', options.secret);
    const keyring = () => (this.keys ? { keys: this.keys } : {});
    const lists =
      options.pubsubUrl === undefined
        ? undefined
        : new PeerLists(
            { ...options, pubsubUrl: options.pubsubUrl, maxListBytes: options.maxListBytes ?? maxListBytes(undefined, maxNameBytes) },
            {
              change: (members, joined, left) => {
                this.emit('peers', members);
                for (const name of joined) this.emit('joined', name);
                for (const name of left) this.emit('left', name);
                if (members.includes(this.service)) this.settleListed();
              },
              // The lists live here, the answers are made in the respondent's worker: tell it what we hold.
              held: (digests) => this.supervisor.actor('respondent')?.post({ type: 'held-lists', digests }),
              refused: (refusal) => this.emit('refused', refusal),
            },
          );
    // Subscribers connect first, so they listen before this client's answer can change the list.
    const specs: ChildSpec[] = [
      ...(lists?.specs() ?? []),
      { id: 'respondent', kind: 'respondent', args: () => ({ urls: surveyUrls, service, asksForLists: lists !== undefined, heldDigests: lists?.heldDigests() ?? [], ...(announceUrls.length > 0 ? { announceUrls } : {}), ...(joinUrls.length > 0 ? { joinUrls } : {}), reportAnswers: this.listenerCount('answered') > 0 ? 'all' : 'first', ...keyring() }),
        onMessage: (msg) => {
          if (msg.type === 'announced') this.emit('announced', { kind: msg.kind, url: msg.url });
          else if (msg.type === 'answered') this.emit('answered', { surveys: msg.surveys });
          else if (msg.type === 'misdialled') {
            this.misdialledUrls = msg.surveyUrls;
            this.emit('misdialled', { surveyUrls: msg.surveyUrls });
          }
        },
      },
    ];
    super(specs, options.supervision, `client#${++clientSeq}(${service})`, options.signal);
    this.service = service;
    this.surveyUrls = surveyUrls;
    this.pubsubUrls = lists?.urls ?? [];
    this.lists = lists;
    this.keys = keys;
    this.abortSignal = options.signal;
    let resolve!: () => void;
    let reject!: (e: Error) => void;
    const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
    promise.catch(() => undefined); // nobody has to ask: an unobserved rejection is not an error
    this.listedOnce = { promise, resolve, reject, settled: false };
    // Each answer reported wakes this thread once a round: every one only while someone
    // listens to 'answered', else the first only (README "At rest").
    let reportingAll = false;
    const reportAnswers = (event: string | symbol) => {
      if (event !== 'answered') return;
      // 'newListener' comes before the listener is added: counted once it is.
      queueMicrotask(() => {
        const all = this.listenerCount('answered') > 0;
        if (all === reportingAll) return;
        reportingAll = all;
        this.supervisor.actor('respondent')?.post({ type: 'report-answers', all });
      });
    };
    // EventEmitter's own events, outside ClientEvents' map.
    (this as EventEmitter).on('newListener', reportAnswers).on('removeListener', reportAnswers);
  }

  private settleListed(error?: Error): void {
    if (this.listedOnce.settled) return;
    this.listedOnce.settled = true;
    if (error) this.listedOnce.reject(error);
    else this.listedOnce.resolve();
  }

  static async create(options: ClientOptions): Promise<Client> {
    return new Client(options).start();
  }

  /** The first pub/sub URL, if any. */
  get pubsubUrl(): string | undefined {
    return this.pubsubUrls[0];
  }

  /**
   * The peer lists as they change: first the latest one received (if any), then each new
   * one. Ends when the client is closed. Throws NoPubSubError at once for a client
   * created without `pubsubUrl`.
   */
  peers(): AsyncIterable<string[]> {
    if (!this.lists) throw new NoPubSubError();
    this.assertOpen('client');
    return this.lists.feed.iterate();
  }

  /**
   * Resolves when this client first receives a list that contains its own service string
   * (it is registered, and its subscription works). Rejects with the abort signal's reason,
   * the failure, or a ClosedError if the client closes first; with NoPubSubError for a
   * client created without `pubsubUrl`.
   */
  listed(): Promise<void> {
    if (!this.lists) return Promise.reject(new NoPubSubError());
    return this.listedOnce.promise;
  }

  /**
   * Set once a join survey has reached this client without a `joinUrl` (the 'misdialled'
   * event, which may come before a listener is attached): its survey URLs, one of which is a
   * server's join URL. Undefined otherwise.
   */
  get misdialledSurveyUrls(): string[] | undefined {
    return this.misdialledUrls;
  }

  /** The latest peer list received, or undefined if none yet (or no pubsubUrl). */
  latestPeers(): string[] | undefined {
    return this.lists?.feed.latest;
  }

  /**
   * Key rotation in place (shared-secret mode): answers are signed with the new keyring's
   * first key from the next survey on, and lists opened with any of its keys. Throws
   * InvalidOptionError for a bad secret, or for a client created without one.
   */
  setSecret(secret: string | string[]): void {
    this.keys = this.rekeyActors(this.keys, secret);
    if (this.lists) this.lists.keys = this.keys;
  }

  /** Published messages dropped since creation, by reason (all zero without pubsubUrl). */
  refusedLists(): Record<ListRefusalReason, number> {
    return { ...(this.lists?.refused ?? noListRefusals()) };
  }

  /** Each server's latest list and whether it still counts in the merge ([] without pubsubUrl). */
  sources(): SourceState[] {
    return this.lists?.sources() ?? [];
  }

  protected onEnd(error: Error | undefined): void {
    this.lists?.end(error);
    const reason: unknown = this.abortSignal?.aborted ? this.abortSignal.reason : undefined;
    this.settleListed(error ?? (reason instanceof Error ? reason : new ClosedError(`client ${this.service}`)));
  }
}

/**
 * The servers' URLs an optional, repeatable client option names (announceUrl, joinUrl): []
 * when absent or empty; else each a URL this client can dial, none twice, at most
 * MAX_ANNOUNCE_URLS. Throws InvalidOptionError / InvalidUrlError naming the option.
 */
function serverSideUrls(name: 'announceUrl' | 'joinUrl', value: string | string[] | undefined): string[] {
  if (value === undefined || (Array.isArray(value) && value.length === 0)) return [];
  const urls = urlList(name, value);
  urls.forEach((u) => parseEndpoint(u, 'connect'));
  if (urls.length > MAX_ANNOUNCE_URLS) throw new InvalidOptionError(`${name}: at most ${MAX_ANNOUNCE_URLS} URLs, got ${urls.length}`, { option: name });
  return urls;
}

/** Starts a client. Rejects (with nothing left running) on a bad URL or service name. */
export function createClient(options: ClientOptions): Promise<Client> {
  return Client.create(options);
}
