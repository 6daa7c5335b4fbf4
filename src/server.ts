/**
 * The discovery server: a surveyor actor and a publisher actor, linked by a pipe, under
 * one supervisor. The main thread keeps a mirror of the member set and of the last
 * publication; restarted actors are started from it, so a restart neither publishes a
 * spurious empty list nor republishes an unchanged one.
 */
import { acceptRule, judge, type AcceptOption } from './admission.js';
import type { AdmissionQueryMessage, AskHeldBy, ChangeMessage, Detection, DuplicatesMessage, RoundMessage, RoundTrigger } from './actors/messages.js';
import type { Schedule } from './actors/surveyor.js';
import { InvalidOptionError } from './errors.js';
import { checkOptionNames, optionNames } from './options.js';
import { distinctRoles, type HandleEvents, positiveInteger, SupervisedHandle } from './handle.js';
import { keysFromSecrets, type KeyMaterial } from './keyring.js';
import {
  DEFAULT_MAX_MEMBERS,
  DEFAULT_MAX_NAME_BYTES,
  parseEndpoint,
  REFUSAL_REASONS,
  validateDuration,
  validateTiming,
  type RefusalReason,
  type ServerTiming,
} from './protocol.js';
import { RefusalLog, type RefusalSummary } from './refusal-log.js';
import { SUPERVISOR_OPTION_NAMES, type SupervisorOptions } from './supervisor.js';
import { quoted } from './printable.js';

export interface ServerOptions extends Partial<ServerTiming> {
  /** Where the SURVEYOR listens, e.g. tcp://127.0.0.1:29400. */
  surveyUrl: string;
  /** Where the PUB socket listens, e.g. tcp://127.0.0.1:29401. */
  pubsubUrl: string;
  /** Distinct members tracked; further answers in a round are refused and counted. Default 10,000. */
  maxMembers?: number;
  /** Longest accepted service string, in UTF-8 bytes. Default 1,024. */
  maxNameBytes?: number;
  /**
   * Heartbeat: republish the full list once this many ms pass without a publication, so
   * late subscribers catch up within a period and multi-server subscribers can tell a
   * silent server from a dead one. Default 'auto': max(2,000 ms, list bytes / 32 KiB/s),
   * at most 10,000 ms (see heartbeatPeriodMs). 0: publish only on change, as the original.
   */
  republishMs?: number | 'auto';
  /**
   * State on connect: each survey carries a digest of the current list ("GDX1" body,
   * src/extensions.ts) and a client of this library that does not hold that list asks for
   * it in its answer; the list is then republished at once (at most once per round).
   * Go, nanocat and nng respondents answer such surveys as any other. Default true;
   * false sends the original's empty survey. With `republishMs: 0` too, the wire is the original's byte for byte.
   */
  listDigest?: boolean;
  /**
   * 'fixed-rate' (default): a round starts every pollTime, which needs surveyTime < pollTime.
   * 'original': as the Go original, wait pollTime after each round ends (a period is pollTime + the survey).
   */
  schedule?: Schedule;
  /**
   * Publish a newcomer as soon as its answer arrives instead of at the round's end
   * (departures: see `detection`). Default true; false is the original.
   */
  eagerJoin?: boolean;
  /** Grace rounds: a member is dropped only after missing this many consecutive surveys. Default 1, the original. */
  missedRounds?: number;
  /**
   * An answer that arrives after its survey's deadline: 'drop' (default, the original:
   * nanomsg discards it) or 'count' (a raw SURVEYOR reads every answer and counts a late
   * one in the next round, so a survey too short for the load does not drop members that
   * did answer). 'count' cannot check survey ids (nanomsg's bindings drop the header), so
   * an answer to any survey counts — no weaker than 'drop' against a peer that answers the
   * current survey with any name it likes.
   */
  lateAnswers?: 'count' | 'drop';
  /**
   * Admission rule (wire-compatible: applies to Go, nanocat and nng clients too): only
   * names in this list, names matching this RegExp, or names for which this function
   * returns true are listed; any other answer is refused and counted as 'not-accepted'.
   * Lists and patterns are checked in the surveyor's thread. A function cannot cross into
   * it: it runs in the main thread, once per newcomer, and its verdict is cached in the
   * surveyor (4,096 names, oldest forgotten first), so a newcomer joins a mailbox round
   * trip later (well under a round) and a refused name costs a map lookup per answer. A
   * function that throws refuses the name. Members are not checked again. Default: all.
   */
  accept?: AcceptOption;
  /**
   * Shared-secret mode (an extension, NOT compatible with Go, nanocat or nng peers): a
   * secret of at least 16 characters, or an array of them (a keyring: all are accepted,
   * the first signs and seals). Surveys carry a fresh nonce, answers must carry a MAC over
   * it (else they are refused as 'unauthenticated', 'unknown-key' or 'bad-mac'), and lists
   * are sealed with AES-256-GCM. Clients and subscribers need the same `secret`. See the
   * README, "Security". Default: none (plain mode, the original's wire format).
   */
  secret?: string | string[];
  /**
   * How a silent member is noticed. 'adaptive' (default): each member gets its own answer
   * deadline in the round — its usual answer time plus a margin, RFC 6298's SRTT +
   * max(floor, 4 × RTTVAR), the floor learnt from late answers and the surveyor's own lag
   * (at least max(surveyTime / 10, 20 ms)), stretched by Lifeguard's local health, and
   * never past `surveyTime` — and a member that reaches
   * `missedRounds` there is published as gone at once, mid-round. 'deadline': every member
   * has until the survey's end, as the original.
   */
  detection?: Detection;
  /**
   * Announcements (README "Announcements"): also bind a PULL socket here, e.g.
   * tcp://127.0.0.1:29402, where this library's clients say hello once connected and bye
   * when they close. An announcement only makes a round start now — rate-limited to one
   * survey per 2 × (10 ms + 1 ms per 100 members) at most — and a bye gives its member a
   * short answer deadline in it (its learnt answer time + max(10 ms, 4 × RTTVAR), with
   * adaptive detection); membership is still decided by survey answers alone. The URL is
   * advertised in extended survey bodies (with `listDigest` or `secret`), so clients learn
   * it from their first survey. Default: none (no announce socket).
   */
  announceUrl?: string;
  /**
   * The join survey (README "Join survey"): also bind a second SURVEYOR socket here, e.g.
   * tcp://127.0.0.1:29403, which only newcomers dial (clients given it as their `joinUrl`;
   * they drop it once listed). A hello from a name not listed then sends a survey on it at
   * once, so the newcomer's answer does not wait behind every member's answer to a main
   * round; the answer is checked as a main answer (`accept`, `secret`) and admits the member
   * at once. Join surveys: one at a time, each over when the names that asked for it are
   * listed or at `surveyTime`, spaced ≥ 2 ms, doubling while they admit nobody (up to
   * `pollTime`). A hello the join survey does not answer asks for a main round as without
   * it. Needs `announceUrl` (InvalidOptionError without). Default: none.
   */
  joinUrl?: string;
  /**
   * Connection hints (README "Connection hints"): while waiting for the next round, read
   * the survey socket's connection counters (nanomsg's nn_get_statistic) every 20 ms and,
   * when a connection closed (a member process died or left) or a respondent's pipe joined,
   * start a round now — rate-limited as announcements (one survey per 2 × (10 ms + 1 ms per
   * 100 members) at most, backing off to one per pollTime while such rounds change nothing).
   * A hint names nobody: membership is still decided by survey answers alone. Works with any
   * respondent (Go, nanocat, nng). Default true; false: rounds only on the schedule (and
   * announcements), as the original.
   */
  connectionHints?: boolean;
  /** At most one 'refused:summary' event per refusal reason, and one 'duplicate' event per name, per this many ms. Default 60,000. */
  refusalLogIntervalMs?: number;
  supervision?: SupervisorOptions;
  /** Aborting it closes the server. */
  signal?: AbortSignal;
}

/** Every ServerOptions name, checked against the interface at compile time (src/options.ts). */
export const SERVER_OPTION_NAMES = optionNames<ServerOptions>()([
  'surveyUrl',
  'pubsubUrl',
  'surveyTime',
  'recvDeadline',
  'pollTime',
  'maxMembers',
  'maxNameBytes',
  'republishMs',
  'schedule',
  'eagerJoin',
  'missedRounds',
  'lateAnswers',
  'detection',
  'listDigest',
  'accept',
  'secret',
  'announceUrl',
  'joinUrl',
  'connectionHints',
  'refusalLogIntervalMs',
  'supervision',
  'signal',
]);

export interface MembershipChange {
  members: string[];
  joined: string[];
  left: string[];
  round: number;
  /** Published mid-round (true: an eager join, or a departure at a member's adaptive deadline) or at a round's end (false). */
  eager: boolean;
  /** With `joinUrl`: set when newcomers were admitted by their answers to a join survey. */
  viaJoin?: boolean;
}

/** One join survey (README "Join survey") is over: the 'joinSurvey' event. */
export interface JoinSurveyInfo {
  /** From its send to its end, ms. */
  durationMs: number;
  answers: number;
  /** The join socket's connections as it went out (absent when nanomsg's counters cannot be read). */
  connections?: number;
  /** Whether it admitted a newcomer. */
  admitted: boolean;
  /** Hellos it was sent for whose names are still not listed: a main round is asked for them. */
  unlisted: number;
}

export interface RoundInfo {
  round: number;
  answers: number;
  durationMs: number;
  /** Handing the survey to every connected respondent, in ms; the survey deadline runs from its end. */
  sendMs: number;
  /** From the round's start to the last answer, in ms (0 without answers): how long collecting took, before the round's closing wait. */
  lastAnswerMs: number;
  members: number;
  /** Why the round ran: 'schedule' (pollTime), 'announcement' (a hello or bye) or 'connection' (a connection hint: a connection closed or a pipe joined). */
  trigger: RoundTrigger;
  /**
   * Rounds with a `trigger` other than 'schedule' only: ms from the first request for the
   * round (the surveyor reading an announcement or a connection hint) to its start, and what
   * held it back at that moment: 'round' (a round was under way; it is cut short once every
   * member has answered it), 'spacing' (the rate limit's spacing after the previous round),
   * 'collect' (the previous round's collection time, when longer), 'none'. See Announcements.
   */
  askedMs?: number;
  heldBy?: AskHeldBy;
  /**
   * Rounds with a `trigger` other than 'schedule' only: members silent in this round whose
   * silence it did not judge, because more were silent than departures (connections seen to
   * close) account for; the next scheduled round judges them (see Connection hints). 0 when
   * the round judged every silence.
   */
  unjudged?: number;
  /** With `detection: 'adaptive'`: the surveyor's local health multiplier (0 healthy .. 8), by which answer deadlines are stretched × (1 + it). */
  localHealth?: number;
  /** With `announceUrl`: whether an announcement started this round (false: the schedule did). */
  announced?: boolean;
  /** With `announceUrl`: valid hellos and byes received since the previous round ended (refused ones count as 'bad-announcement'). */
  hellos?: number;
  byes?: number;
  /** With `announceUrl`: members published as gone in this round at their farewell deadline (a bye with their token). */
  farewells?: number;
  /** With `detection: 'adaptive'`: the floor after the round, ms — the least slack over a member's usual answer time, learnt from late answers (see Adaptive detection). */
  floorMs?: number;
  /** With `joinUrl`: join surveys sent since the previous round's event. */
  joinSurveys?: number;
  /** With `joinUrl`: the join socket's connections at the round's end (newcomers not yet listed; -1 when unreadable). */
  joinConnections?: number;
}

export interface ServerEvents extends HandleEvents {
  /** The member set changed: at the end of a round, or mid-round (an eager join, an adaptive departure). */
  change: [MembershipChange];
  /** A round ended (every round). */
  round: [RoundInfo];
  /** A list went out on the PUB socket: a change, or a heartbeat republication (`heartbeat: true`). */
  published: [{ members: string[]; bytes: number; heartbeat: boolean }];
  /** Answers were refused in a round (oversized, not UTF-8, containing `|`, over the member cap): one event per round and reason. */
  refused: [{ code: RefusalReason; reason: string; count: number }];
  /** Refusals summarised at most once per reason per `refusalLogIntervalMs`: the event to log. */
  'refused:summary': [RefusalSummary];
  /**
   * Names answered more than once in a round: two members claiming one name, or one member
   * connected twice (each name with its answers beyond the first). One event per such round.
   */
  duplicates: [{ round: number; names: Array<{ name: string; count: number }> }];
  /**
   * A name answered more than once, summarised at most once per name per
   * `refusalLogIntervalMs` (the first at once): `count` answers beyond the first since the
   * name's previous summary, over `periodMs` (0 for the first). The event to log or alert on.
   */
  duplicate: [DuplicateSummary];
  /** With `joinUrl`: a join survey is over. */
  joinSurvey: [JoinSurveyInfo];
}

export interface DuplicateSummary {
  name: string;
  count: number;
  periodMs: number;
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
  /** Answers that repeated a name already answered in their round (answers beyond the first per name and round). */
  duplicates: number;
  /**
   * With `announceUrl`: valid announcements received, rounds an announcement started, and
   * members dropped at their farewell deadline (graceful leaves). Refused announcements:
   * `refused['bad-announcement']`.
   */
  announcements?: { hellos: number; byes: number; rounds: number; farewells: number };
}

export const DEFAULT_REFUSAL_LOG_INTERVAL_MS = 60_000;

let serverSeq = 0;

export class Server extends SupervisedHandle<ServerEvents> {
  readonly surveyUrl: string;
  readonly pubsubUrl: string;
  readonly timing: ServerTiming;
  /** Where the announce socket listens, if any (ServerOptions.announceUrl). */
  readonly announceUrl: string | undefined;
  /** Where the join socket listens, if any (ServerOptions.joinUrl). */
  readonly joinUrl: string | undefined;
  private current: string[] = [];
  private lastPublished: string[] = [];
  private readonly counters: ServerStats = {
    rounds: 0,
    answers: 0,
    changes: 0,
    published: 0,
    refused: Object.fromEntries(REFUSAL_REASONS.map((r) => [r, 0])) as Record<RefusalReason, number>,
    duplicates: 0,
  };
  private readonly refusalLog: RefusalLog;
  /** Shared-secret mode's keyring (undefined in plain mode). */
  private keys: KeyMaterial[] | undefined;
  private readonly duplicateLog: RefusalLog<string>;
  private refusalTimer: NodeJS.Timeout | undefined;

  private constructor(options: ServerOptions) {
    checkOptionNames('createServer', options, SERVER_OPTION_NAMES, { supervision: SUPERVISOR_OPTION_NAMES });
    parseEndpoint(options.surveyUrl, 'bind');
    parseEndpoint(options.pubsubUrl, 'bind');
    const announceUrl = optionalBindUrl('announceUrl', options.announceUrl);
    const joinUrl = optionalBindUrl('joinUrl', options.joinUrl);
    if (joinUrl !== undefined && announceUrl === undefined) throw new InvalidOptionError('joinUrl needs announceUrl: a hello there asks for the join survey', { option: 'joinUrl' });
    distinctRoles([
      ['surveyUrl', [options.surveyUrl]],
      ['pubsubUrl', [options.pubsubUrl]],
      ['announceUrl', announceUrl === undefined ? [] : [announceUrl]],
      ['joinUrl', joinUrl === undefined ? [] : [joinUrl]],
    ]);
    const timing = validateTiming(options);
    const maxMembers = positiveInteger('maxMembers', options.maxMembers, DEFAULT_MAX_MEMBERS);
    const maxNameBytes = positiveInteger('maxNameBytes', options.maxNameBytes, DEFAULT_MAX_NAME_BYTES);
    const missedRounds = positiveInteger('missedRounds', options.missedRounds, 1);
    const schedule = options.schedule ?? 'fixed-rate';
    if (schedule !== 'fixed-rate' && schedule !== 'original') throw new InvalidOptionError(`schedule must be 'fixed-rate' or 'original', got ${quoted(schedule)}`, { option: 'schedule' });
    if (schedule === 'fixed-rate' && timing.surveyTime >= timing.pollTime) {
      throw new InvalidOptionError(
        `surveyTime (${timing.surveyTime} ms) must be shorter than pollTime (${timing.pollTime} ms) with schedule 'fixed-rate': a survey must end before the next round starts`,
        { option: 'surveyTime' },
      );
    }
    const eagerJoin = options.eagerJoin ?? true;
    const lateAnswers = options.lateAnswers ?? 'drop';
    if (lateAnswers !== 'count' && lateAnswers !== 'drop') throw new InvalidOptionError(`lateAnswers must be 'count' or 'drop', got ${quoted(lateAnswers)}`, { option: 'lateAnswers' });
    const detection = options.detection ?? 'adaptive';
    if (detection !== 'adaptive' && detection !== 'deadline') throw new InvalidOptionError(`detection must be 'adaptive' or 'deadline', got ${quoted(detection)}`, { option: 'detection' });
    const republishMs = options.republishMs === undefined || options.republishMs === 'auto' ? 'auto' : options.republishMs === 0 ? 0 : validateDuration('republishMs', options.republishMs);
    const connectionHints = options.connectionHints ?? true;
    if (typeof connectionHints !== 'boolean') throw new InvalidOptionError(`connectionHints must be true or false, got ${quoted(connectionHints)}`, { option: 'connectionHints' });
    const listDigest = options.listDigest ?? true;
    if (typeof listDigest !== 'boolean') throw new InvalidOptionError(`listDigest must be true or false, got ${quoted(listDigest)}`, { option: 'listDigest' });
    const accept = options.accept === undefined ? undefined : acceptRule(options.accept);
    const keys = options.secret === undefined ? undefined : keysFromSecrets('secret', options.secret);
    const keyring = () => (this.keys ? { keys: this.keys } : {});
    const refusalLogIntervalMs = positiveInteger('refusalLogIntervalMs', options.refusalLogIntervalMs, DEFAULT_REFUSAL_LOG_INTERVAL_MS);
    super(
      [
        // The publisher binds first: a server never answers surveys without being able to publish.
        {
          id: 'publisher',
          pipe: 'surveyor',
          kind: 'publisher',
          args: () => ({ url: options.pubsubUrl, lastPublished: this.lastPublished, republishMs, ...keyring() }),
          onMessage: (msg) => {
            if (msg.type !== 'published') return;
            if (msg.members) this.lastPublished = msg.members;
            this.counters.published++;
            this.emit('published', { members: msg.members ?? this.lastPublished, bytes: msg.bytes, heartbeat: msg.heartbeat });
          },
        },
        {
          id: 'surveyor',
          pipe: 'publisher',
          kind: 'surveyor',
          args: () => ({
            url: options.surveyUrl,
            ...timing,
            maxMembers,
            maxNameBytes,
            missedRounds,
            schedule,
            eagerJoin,
            lateAnswers,
            detection,
            initialMembers: this.current,
            listDigest,
            connectionHints,
            ...(announceUrl !== undefined ? { announceUrl } : {}),
            ...(joinUrl !== undefined ? { joinUrl } : {}),
            ...(accept ? { accept } : {}),
            ...keyring(),
          }),
          onMessage: (msg) => {
            if (msg.type === 'change') this.onChange(msg);
            else if (msg.type === 'round') this.onRound(msg);
            // The surveyor's refusals are answer refusals (RefusalReason), never a subscriber's.
            else if (msg.type === 'refused' && msg.code) this.onRefused(msg.code as RefusalReason, msg.reason, msg.count);
            else if (msg.type === 'duplicates') this.onDuplicates(msg);
            else if (msg.type === 'join-survey') {
              const { type: _type, ...info } = msg;
              this.emit('joinSurvey', info);
            } else if (msg.type === 'admission-query') this.onAdmissionQuery(msg, options.accept as (name: string) => boolean);
          },
        },
      ],
      options.supervision,
      `server#${++serverSeq}`,
      options.signal,
    );
    this.keys = keys;
    this.surveyUrl = options.surveyUrl;
    this.pubsubUrl = options.pubsubUrl;
    this.timing = timing;
    this.announceUrl = announceUrl;
    this.joinUrl = joinUrl;
    if (announceUrl !== undefined) this.counters.announcements = { hellos: 0, byes: 0, rounds: 0, farewells: 0 };
    this.refusalLog = new RefusalLog(refusalLogIntervalMs, (summary) => this.emit('refused:summary', summary));
    this.duplicateLog = new RefusalLog<string>(
      refusalLogIntervalMs,
      (s) => this.emit('duplicate', { name: s.code, count: s.count, periodMs: s.periodMs }),
      undefined,
      true,
    );
  }

  static async create(options: ServerOptions): Promise<Server> {
    return new Server(options).start();
  }

  /** The current member list (sorted), as of the last finished round. */
  members(): string[] {
    return [...this.current];
  }

  /**
   * Key rotation in place (shared-secret mode): answers are checked against the new
   * keyring and lists sealed with its first key from the next survey and publication on;
   * nothing restarts and no member is dropped. Throws InvalidOptionError for a bad secret,
   * or when the server was created without one. README "Security" gives the procedure.
   */
  setSecret(secret: string | string[]): void {
    this.keys = this.rekeyActors(this.keys, secret);
  }

  /** Counters since creation: rounds, answers, changes, publications and refusals by reason. */
  stats(): ServerStats {
    return { ...this.counters, refused: { ...this.counters.refused }, ...(this.counters.announcements ? { announcements: { ...this.counters.announcements } } : {}) };
  }

  private onRefused(code: RefusalReason, reason: string, count: number): void {
    this.counters.refused[code] += count;
    this.emit('refused', { code, reason, count });
    this.refusalLog.add(code, count, reason);
    this.startSummaryTimer();
  }

  private onDuplicates(msg: DuplicatesMessage): void {
    for (const d of msg.names) {
      this.counters.duplicates += d.count;
      this.duplicateLog.add(d.name, d.count, '');
    }
    this.emit('duplicates', { round: msg.round, names: msg.names });
    this.startSummaryTimer();
  }

  /** Summaries of a burst that then stops still go out once their interval has passed. */
  private startSummaryTimer(): void {
    if (this.closed) return;
    this.refusalTimer ??= setInterval(() => {
      this.refusalLog.flush();
      this.duplicateLog.flush();
    }, this.refusalLog.intervalMs).unref();
  }

  /** Judges newcomers with the user's `accept` function, in this thread, and tells the surveyor. */
  private onAdmissionQuery(msg: AdmissionQueryMessage, accept: (name: string) => boolean): void {
    const { accepted, refused } = judge(accept, msg.names);
    this.supervisor.actor('surveyor')?.post({ type: 'admission-verdict', accepted, refused });
  }

  private onChange(msg: ChangeMessage): void {
    this.counters.changes++;
    this.current = msg.members;
    this.emit('change', { members: [...msg.members], joined: msg.joined, left: msg.left, round: msg.round, eager: msg.eager, ...(msg.viaJoin ? { viaJoin: true } : {}) });
  }

  private onRound(msg: RoundMessage): void {
    this.counters.rounds++;
    this.counters.answers += msg.answers;
    const a = this.counters.announcements;
    if (a && msg.announced !== undefined) {
      a.hellos += msg.hellos ?? 0;
      a.byes += msg.byes ?? 0;
      a.farewells += msg.farewells ?? 0;
      if (msg.announced) a.rounds++;
    }
    this.emit('round', {
      round: msg.round,
      answers: msg.answers,
      durationMs: msg.durationMs,
      sendMs: msg.sendMs,
      lastAnswerMs: msg.lastAnswerMs,
      members: msg.members,
      trigger: msg.trigger,
      ...(msg.unjudged !== undefined ? { unjudged: msg.unjudged } : {}),
      ...(msg.askedMs !== undefined ? { askedMs: msg.askedMs, heldBy: msg.heldBy ?? 'none' } : {}),
      ...(msg.localHealth !== undefined ? { localHealth: msg.localHealth } : {}),
      ...(msg.floorMs !== undefined ? { floorMs: msg.floorMs } : {}),
      ...(msg.announced !== undefined ? { announced: msg.announced, hellos: msg.hellos ?? 0, byes: msg.byes ?? 0, farewells: msg.farewells ?? 0 } : {}),
      ...(msg.joinSurveys !== undefined ? { joinSurveys: msg.joinSurveys, joinConnections: msg.joinConnections ?? -1 } : {}),
    });
  }

  protected onEnd(): void {
    clearInterval(this.refusalTimer);
    this.refusalLog.flush(true);
    this.duplicateLog.flush(true);
  }
}

/** An optional URL the server binds (announceUrl, joinUrl): undefined when absent; else a string it can bind. Throws InvalidOptionError / InvalidUrlError naming the option. */
function optionalBindUrl(name: 'announceUrl' | 'joinUrl', value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new InvalidOptionError(`${name} must be a URL string, got ${typeof value}`, { option: name });
  parseEndpoint(value, 'bind');
  return value;
}

/** Starts a discovery server. Rejects (with nothing left running) on a bad option, URL or port in use. */
export function createServer(options: ServerOptions): Promise<Server> {
  return Server.create(options);
}
