/**
 * The discovery server: a surveyor actor and a publisher actor, linked by a pipe, under
 * one supervisor. The main thread keeps a mirror of the member set and of the last
 * publication; restarted actors are started from it, so a restart neither publishes a
 * spurious empty list nor republishes an unchanged one.
 */
import type { RoundMessage } from './actors/messages.js';
import { InvalidOptionError } from './errors.js';
import { positiveInteger, SupervisedHandle } from './handle.js';
import {
  DEFAULT_MAX_MEMBERS,
  DEFAULT_MAX_NAME_BYTES,
  parseEndpoint,
  REFUSAL_REASONS,
  validateTiming,
  type RefusalReason,
  type ServerTiming,
} from './protocol.js';
import { RefusalLog, type RefusalSummary } from './refusal-log.js';
import type { SupervisorOptions } from './supervisor.js';

export interface ServerOptions extends Partial<ServerTiming> {
  /** Where the SURVEYOR listens, e.g. tcp://127.0.0.1:40007. */
  surveyUrl: string;
  /** Where the PUB socket listens, e.g. tcp://127.0.0.1:50007. */
  pubsubUrl: string;
  /** Distinct members tracked; further answers in a round are refused and counted. Default 10,000. */
  maxMembers?: number;
  /** Longest accepted service string, in UTF-8 bytes. Default 1,024. */
  maxNameBytes?: number;
  /** Grace rounds: a member is dropped only after missing this many consecutive surveys. Default 1, the original. */
  missedRounds?: number;
  /** At most one 'refused:summary' event per refusal reason per this many ms. Default 60,000. */
  refusalLogIntervalMs?: number;
  supervision?: SupervisorOptions;
  /** Aborting it closes the server. */
  signal?: AbortSignal;
}

export interface MembershipChange {
  members: string[];
  joined: string[];
  left: string[];
  round: number;
}

export interface RoundInfo {
  round: number;
  answers: number;
  durationMs: number;
  members: number;
}

export interface ServerEvents {
  /** The member set changed at the end of a round. */
  change: [MembershipChange];
  /** A round ended (every round). */
  round: [RoundInfo];
  /** A list went out on the PUB socket. */
  published: [{ members: string[]; bytes: number }];
  /** Answers were refused in a round (oversized, not UTF-8, containing `|`, over the member cap): one event per round and reason. */
  refused: [{ code: RefusalReason; reason: string; count: number }];
  /** Refusals summarised at most once per reason per `refusalLogIntervalMs`: the event to log. */
  'refused:summary': [RefusalSummary];
  failure: [Error];
}

/** Counters since the server was created; they survive actor restarts. */
export interface ServerStats {
  rounds: number;
  /** Answers received (refused ones included). */
  answers: number;
  /** Rounds that changed the member set. */
  changes: number;
  /** Lists sent on the PUB socket. */
  published: number;
  /** Answers refused, by reason (every reason present, zero when none). */
  refused: Record<RefusalReason, number>;
}

export const DEFAULT_REFUSAL_LOG_INTERVAL_MS = 60_000;

let serverSeq = 0;

export class Server extends SupervisedHandle<ServerEvents> {
  readonly surveyUrl: string;
  readonly pubsubUrl: string;
  readonly timing: ServerTiming;
  private current: string[] = [];
  private lastPublished: string[] = [];
  private readonly counters: ServerStats = {
    rounds: 0,
    answers: 0,
    changes: 0,
    published: 0,
    refused: Object.fromEntries(REFUSAL_REASONS.map((r) => [r, 0])) as Record<RefusalReason, number>,
  };
  private readonly refusalLog: RefusalLog;
  private refusalTimer: NodeJS.Timeout | undefined;

  private constructor(options: ServerOptions) {
    parseEndpoint(options.surveyUrl);
    parseEndpoint(options.pubsubUrl);
    if (options.surveyUrl === options.pubsubUrl) throw new InvalidOptionError('surveyUrl and pubsubUrl must differ');
    const timing = validateTiming(options);
    const maxMembers = positiveInteger('maxMembers', options.maxMembers, DEFAULT_MAX_MEMBERS);
    const maxNameBytes = positiveInteger('maxNameBytes', options.maxNameBytes, DEFAULT_MAX_NAME_BYTES);
    const missedRounds = positiveInteger('missedRounds', options.missedRounds, 1);
    const refusalLogIntervalMs = positiveInteger('refusalLogIntervalMs', options.refusalLogIntervalMs, DEFAULT_REFUSAL_LOG_INTERVAL_MS);
    super(
      [
        // The publisher binds first: a server never answers surveys without being able to publish.
        {
          id: 'publisher',
          pipe: 'surveyor',
          kind: 'publisher',
          args: () => ({ url: options.pubsubUrl, lastPublished: this.lastPublished }),
          onMessage: (msg) => {
            if (msg.type !== 'published') return;
            this.lastPublished = msg.members;
            this.counters.published++;
            this.emit('published', { members: msg.members, bytes: msg.bytes });
          },
        },
        {
          id: 'surveyor',
          pipe: 'publisher',
          kind: 'surveyor',
          args: () => ({ url: options.surveyUrl, ...timing, maxMembers, maxNameBytes, missedRounds, initialMembers: this.current }),
          onMessage: (msg) => {
            if (msg.type === 'round') this.onRound(msg);
            else if (msg.type === 'refused' && msg.code) this.onRefused(msg.code, msg.reason, msg.count);
          },
        },
      ],
      options.supervision,
      `server#${++serverSeq}`,
      options.signal,
    );
    this.surveyUrl = options.surveyUrl;
    this.pubsubUrl = options.pubsubUrl;
    this.timing = timing;
    this.refusalLog = new RefusalLog(refusalLogIntervalMs, (summary) => this.emit('refused:summary', summary));
  }

  static async create(options: ServerOptions): Promise<Server> {
    return new Server(options).start();
  }

  /** The current member list (sorted), as of the last finished round. */
  members(): string[] {
    return [...this.current];
  }

  /** Counters since creation: rounds, answers, changes, publications and refusals by reason. */
  stats(): ServerStats {
    return { ...this.counters, refused: { ...this.counters.refused } };
  }

  private onRefused(code: RefusalReason, reason: string, count: number): void {
    this.counters.refused[code] += count;
    this.emit('refused', { code, reason, count });
    this.refusalLog.add(code, count, reason);
    // Summaries of a burst that then stops still go out once their interval has passed.
    if (!this.closed) this.refusalTimer ??= setInterval(() => this.refusalLog.flush(), this.refusalLog.intervalMs).unref();
  }

  private onRound(msg: RoundMessage): void {
    this.counters.rounds++;
    this.counters.answers += msg.answers;
    if (msg.members) {
      this.counters.changes++;
      this.current = msg.members;
      this.emit('change', { members: [...msg.members], joined: msg.joined, left: msg.left, round: msg.round });
    }
    this.emit('round', { round: msg.round, answers: msg.answers, durationMs: msg.durationMs, members: this.current.length });
  }

  protected onEnd(): void {
    clearInterval(this.refusalTimer);
    this.refusalLog.flush(true);
  }
}

/** Starts a discovery server. Rejects (with nothing left running) on a bad option, URL or port in use. */
export function createServer(options: ServerOptions): Promise<Server> {
  return Server.create(options);
}
