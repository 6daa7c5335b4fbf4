/**
 * Every message that crosses a thread boundary, one interface each, grouped into a
 * discriminated union per actor and direction. `Out` messages go from an actor to its
 * supervisor over the actor's mailbox port; `In` messages go the other way. The
 * surveyor → publisher pipe is a MessagePort between the two worker threads.
 */
import type { MessagePort } from 'node:worker_threads';
import type { SerializedError } from '../errors.js';
import type { AcceptRule } from '../admission.js';
import type { KeyMaterial } from '../keyring.js';
import type { ListRefusalReason, RefusalReason } from '../protocol.js';

export type ActorKind = 'surveyor' | 'publisher' | 'respondent' | 'subscriber';

/** An actor's status inside its worker, as xstate's: running, finished, crashed or stopped. */
export type ActorStatus = 'active' | 'done' | 'error' | 'stopped';

// ---------------------------------------------------------------- start arguments

/** How the surveyor decides that a member missed a round (see SurveyorArgs.detection). */
export type Detection = 'adaptive' | 'deadline';

/**
 * Why a round ran: 'schedule' (pollTime), 'announcement' (a hello or bye asked for it,
 * src/announcements.ts) or 'connection' (a connection hint: a pipe of the SURVEYOR socket
 * closed or joined, src/connection-hints.ts).
 */
export type RoundTrigger = 'schedule' | 'announcement' | 'connection';

export interface SurveyorArgs {
  kind: 'surveyor';
  /** Where the SURVEYOR socket listens. */
  url: string;
  surveyTime: number;
  recvDeadline: number;
  pollTime: number;
  maxMembers: number;
  maxNameBytes: number;
  /** A member is dropped after missing this many consecutive surveys; 1 is the original's behaviour. */
  missedRounds: number;
  /** 'original': pollTime after each round ends; 'fixed-rate': a round every pollTime. */
  schedule: 'original' | 'fixed-rate';
  /** Publish a newcomer as soon as its answer arrives, not at the round's end. */
  eagerJoin: boolean;
  /**
   * 'count': a raw SURVEYOR that reads every answer, so one that arrives after its survey's
   * deadline counts in the next round; 'drop' (the original, and the default here): nanomsg
   * drops answers to any survey but the current one.
   */
  lateAnswers?: 'count' | 'drop';
  /**
   * 'adaptive': each member has its own answer deadline, learnt from when its answers
   * arrive (src/answer-deadline.ts), and a member that reaches `missedRounds` at it is
   * dropped at once, mid-round; 'deadline' (the original, and the default here): every
   * member has until the survey's end.
   */
  detection?: Detection;
  /** The member set before this start: the supervisor's mirror, so a restart publishes no spurious change. */
  initialMembers: string[];
  /** The server's `accept` rule for newcomers; absent: every name. */
  accept?: AcceptRule;
  /** Shared-secret mode: the keyring (first key used in surveys); absent: plain surveys and answers. */
  keys?: KeyMaterial[];
  /**
   * State on connect: every survey carries the digest of the current list (FieldTag.listDigest
   * in a GDX1 body), and an answer with FieldTag.needList makes the publisher republish at
   * once (at most once per round). false: the original's empty survey.
   */
  listDigest?: boolean;
  /**
   * Announcements (src/announcements.ts): bind a PULL socket here; a hello or bye makes a
   * round start now (rate-limited), and the URL is advertised in extended survey bodies
   * (FieldTag.announceUrl). Absent: no announce socket, everything as without them.
   */
  announceUrl?: string;
  /**
   * The join survey (src/join-survey.ts): bind a second SURVEYOR socket here, which only
   * newcomers dial; a hello from a name not listed sends a survey on it at once. Only with
   * `announceUrl` (the server refuses it without). Absent: hellos ask for main rounds.
   */
  joinUrl?: string;
  /**
   * Connection hints (src/connection-hints.ts): read the SURVEYOR socket's connection
   * counters every CONNECTION_HINT_POLL_MS while waiting for the next round, and ask for a
   * round (rate-limited as announcements) when a pipe closed or joined. Absent/false: none.
   */
  connectionHints?: boolean;
}

export interface PublisherArgs {
  kind: 'publisher';
  /** Where the PUB socket listens. */
  url: string;
  /**
   * The set last published before this start ([] at first, as the original's initial
   * empty set), so a restart republishes nothing unchanged and never a spurious empty list.
   */
  lastPublished: string[];
  /**
   * Heartbeat: republish the current list this many ms after the last publication, even if
   * unchanged; 'auto' = a period that grows with the list's size (heartbeatPeriodMs in
   * src/actors/publisher.ts); 0 = only on change (the original).
   */
  republishMs: number | 'auto';
  /** Shared-secret mode: lists are sealed with the first key; absent: plain lists. */
  keys?: KeyMaterial[];
}

export interface RespondentArgs {
  kind: 'respondent';
  /** The surveyors to answer; one RESPONDENT socket connects to each. */
  urls: string[];
  service: string;
  /** Shared-secret mode: answer only surveys with a nonce, with a MAC by the first key. */
  keys?: KeyMaterial[];
  /**
   * Whether this client holds lists (it has a subscription): then it answers a survey whose
   * list digest it does not hold with FieldTag.needList. A client without one never asks.
   */
  asksForLists?: boolean;
  /** Digests (hex) of the lists the client holds at this start (see HeldListsMessage). */
  heldDigests?: string[];
  /**
   * Announcements: the servers' announce URLs, one PUSH socket each: a hello once connected,
   * a bye right after the respondent closes. Absent or empty: learnt from survey bodies
   * (FieldTag.announceUrl), which then give a bye only.
   */
  announceUrls?: string[];
  /**
   * The join survey: the servers' join URLs, dialled by the respondent socket beside `urls`
   * before the hello; dropped (nn_shutdown) once a survey has been answered, or when the
   * hellos are over (HELLO.giveUpMs). Absent or empty: none.
   */
  joinUrls?: string[];
  /**
   * Which answers it reports (AnsweredMessage): 'all' (the default), or 'first' — the first
   * since this start only, for a client nobody asks about every answer: each message wakes
   * the main thread once a round for nothing (README "At rest"). See ReportAnswersMessage.
   */
  reportAnswers?: 'all' | 'first';
}

export interface SubscriberArgs {
  kind: 'subscriber';
  /** The publisher to listen to. */
  url: string;
  /** NN_RCVMAXSIZE: lists above this are refused by the socket. */
  maxListBytes: number;
  /** Shared-secret mode: accept only lists sealed by a key of this keyring. */
  keys?: KeyMaterial[];
}

export type ActorArgs = SurveyorArgs | PublisherArgs | RespondentArgs | SubscriberArgs;

/** What the supervisor hands piscina to run one actor. */
export interface ActorTask {
  /** Unique name for logs and errors, e.g. `server#1/surveyor`. */
  name: string;
  args: ActorArgs;
  /** comlink endpoint serving ActorControl. */
  control: MessagePort;
  /** Typed In / Out messages. */
  mailbox: MessagePort;
  /** The sibling pipe (surveyor ↔ publisher), when the sibling is already running. */
  pipe?: MessagePort;
  /** SocketLedger buffer: the ids of the sockets this actor holds. */
  ledger: SharedArrayBuffer;
  /** Slice of a blocking receive: the bound on how late the actor notices stop() or a message. */
  sliceMs: number;
  /** Respondents and subscribers wait on their socket's readiness (the default) instead of receiving in slices (see ActorContext.receive). */
  waitOnReadiness: boolean;
}

// ---------------------------------------------------------------- messages common to all actors

/** The actor's sockets are bound / connected and it is serving. */
export interface ReadyMessage {
  type: 'ready';
  sockets: number[];
}

/** The actor could not start (bind failed, bad URL...); it has closed whatever it opened. */
export interface StartFailedMessage {
  type: 'start-failed';
  error: SerializedError;
}

/** Bytes from a peer were refused (oversized, not UTF-8, contains `|`...). */
export interface RefusedMessage {
  type: 'refused';
  /** The stable reason code: the surveyor's RefusalReason, the subscriber's ListRefusalReason. */
  code?: RefusalReason | ListRefusalReason;
  /** What was wrong, for humans (the latest instance when count > 1). */
  reason: string;
  count: number;
}

/** A new pipe to the sibling actor (after the sibling restarted). */
export interface AttachPipeMessage {
  type: 'attach-pipe';
  port: MessagePort;
}

// ---------------------------------------------------------------- hosting

/**
 * Actor → its ActorRun, first of all: the worker thread it runs on (worker_threads'
 * threadId), so that a kill can end that thread (src/pool.ts, terminateActorThread).
 */
export interface HostedMessage {
  type: 'hosted';
  threadId: number;
}

/**
 * Supervisor → an actor's mailbox: a liveness ping (src/liveness.ts), sent to one actor of
 * a worker thread only when no message of any actor on that thread has arrived for
 * livenessIntervalMs. Answered by the thread's event loop, not by the actor's logic, with a
 * PongMessage: what it proves is that the thread is not blocked.
 */
export interface PingMessage {
  type: 'ping';
}

/** Actor → its ActorRun: the answer to a PingMessage (the thread's event loop runs). */
export interface PongMessage {
  type: 'pong';
}

// ---------------------------------------------------------------- surveyor

/** One finished survey round (every round). */
/** What held an extra round back when it was asked for (RoundMessage.heldBy). */
export type AskHeldBy = 'round' | 'spacing' | 'collect' | 'none';

export interface RoundMessage {
  type: 'round';
  round: number;
  answers: number;
  durationMs: number;
  /** How long handing the survey to every connected respondent took, in ms (the deadline runs from there). */
  sendMs: number;
  /** From the round's start (the survey being sent) to the last answer received, in ms (0 when none came). */
  lastAnswerMs: number;
  /** How many members after the round. */
  members: number;
  /** Why the round ran. */
  trigger: RoundTrigger;
  /**
   * Extra rounds only: ms from the first request for it (an announcement or connection hint
   * read) to the round's start, and what held it back then: 'round' (a round was under way:
   * it ends once every member answered it), 'spacing' or 'collect' (AnnounceGate.heldBy), or
   * 'none'.
   */
  askedMs?: number;
  heldBy?: AskHeldBy;
  /** Extra rounds only: silent members whose silence the round did not judge (more than departures account for: DepartureBudget). */
  unjudged?: number;
  /** Adaptive detection only: the local health multiplier (0..8) after the round; deadlines are stretched × (1 + it). */
  localHealth?: number;
  /** With an announce socket only: whether an announcement started this round (false: the schedule did). */
  announced?: boolean;
  /** With an announce socket only: hellos and byes received since the previous round's message (refused ones are 'refused' messages). */
  hellos?: number;
  byes?: number;
  /** With an announce socket only: members published as gone this round at their farewell deadline (after a bye with their token). */
  farewells?: number;
  /** Adaptive detection only: the floor after the round, ms (the least slack over a member's usual answer time). */
  floorMs?: number;
  /** With a join socket only: join surveys sent since the previous round's message. */
  joinSurveys?: number;
  /** With a join socket only: its connections at the round's end (nanomsg's CURRENT counter; -1 when unreadable). */
  joinConnections?: number;
}

/** A join survey (src/join-survey.ts) is over. */
export interface JoinSurveyMessage {
  type: 'join-survey';
  /** From its send to its end, ms. */
  durationMs: number;
  answers: number;
  /** The join socket's connections as it went out (absent when unreadable). */
  connections?: number;
  /** Whether it admitted a newcomer. */
  admitted: boolean;
  /** Hellos it was sent for whose names are still not listed (a main round is asked for them). */
  unlisted: number;
}

/** The member set changed: at a round's end, or mid-round (`eager`) for an eager join or an adaptive departure. */
export interface ChangeMessage {
  type: 'change';
  round: number;
  joined: string[];
  left: string[];
  members: string[];
  eager: boolean;
  /** Set when the change admits newcomers by their answers to a join survey (src/join-survey.ts). */
  viaJoin?: boolean;
}

/** `accept` is a predicate: the surveyor asks the main thread about these newcomers. */
export interface AdmissionQueryMessage {
  type: 'admission-query';
  names: string[];
}

/** The main thread's verdicts on names the surveyor asked about. */
export interface AdmissionVerdictMessage {
  type: 'admission-verdict';
  accepted: string[];
  refused: string[];
}

/** Shared-secret mode: a new keyring (key rotation without a restart); the first key signs and seals from now on. */
export interface RekeyMessage {
  type: 'rekey';
  keys: KeyMaterial[];
}

/**
 * Names answered more than once in a round (sent before that round's RoundMessage, only
 * when there were any): two members claiming one name, or one member connected twice.
 */
export interface DuplicatesMessage {
  type: 'duplicates';
  round: number;
  /** Each such name with its answers beyond the first in the round. */
  names: Array<{ name: string; count: number }>;
}

export type SurveyorIn = AttachPipeMessage | AdmissionVerdictMessage | RekeyMessage;
export type SurveyorOut = ReadyMessage | StartFailedMessage | RoundMessage | ChangeMessage | RefusedMessage | DuplicatesMessage | AdmissionQueryMessage | JoinSurveyMessage;

// ---------------------------------------------------------------- surveyor → publisher pipe

/** The current member set; the publisher publishes it if it differs from what it last published. */
export interface MembersMessage {
  type: 'members';
  members: string[];
}

/** A client answered that it does not hold the current list: publish it again now, changed or not. */
export interface RepublishMessage {
  type: 'republish';
}

export type PipeMessage = MembersMessage | RepublishMessage;

// ---------------------------------------------------------------- publisher

/** A list went out: a change (with the members), or a heartbeat republication of an unchanged list. */
export interface PublishedMessage {
  type: 'published';
  heartbeat: boolean;
  /** The members, for a change; omitted for heartbeats (nothing changed). */
  members?: string[];
  bytes: number;
}

export type PublisherIn = AttachPipeMessage | RekeyMessage;
export type PublisherOut = ReadyMessage | StartFailedMessage | PublishedMessage;

// ---------------------------------------------------------------- respondent

/** The respondent answered a survey (its running count): every survey, or the first only (RespondentArgs.reportAnswers). */
export interface AnsweredMessage {
  type: 'answered';
  surveys: number;
}

/**
 * The digests (hex, src/extensions.ts listDigest) of the latest list the client holds from
 * each server: the lists live in the main thread, the answers are made in the worker.
 */
export interface HeldListsMessage {
  type: 'held-lists';
  digests: string[];
}

/** The respondent sent an announcement (a hello once connected, or a bye on close) to `url`. */
export interface AnnouncedMessage {
  type: 'announced';
  kind: 'hello' | 'bye';
  url: string;
}

/** Main → respondent: report every answer from now on (someone listens to them), or the first only. */
export interface ReportAnswersMessage {
  type: 'report-answers';
  all: boolean;
}

export type RespondentIn = HeldListsMessage | RekeyMessage | ReportAnswersMessage;
/** The respondent dropped its join endpoints (nn_shutdown): `answered` after a survey was answered, else the hellos were over. */
export interface JoinDroppedMessage {
  type: 'join-dropped';
  answered: boolean;
}

/**
 * A join survey (FieldTag.joinSurvey) reached a respondent that dialled no join URL: one of
 * its survey URLs is a server's join URL. Sent once per respondent start.
 */
export interface MisdialledMessage {
  type: 'misdialled';
  surveyUrls: string[];
}

export type RespondentOut = ReadyMessage | StartFailedMessage | AnsweredMessage | AnnouncedMessage | JoinDroppedMessage | MisdialledMessage;

// ---------------------------------------------------------------- subscriber

/** A member list received from the publisher. */
export interface ListMessage {
  type: 'list';
  members: string[];
  /** listDigest of the bytes received (hex): what the server's survey names when this is its current list. */
  digest: string;
}

export type SubscriberIn = RekeyMessage;
export type SubscriberOut = ReadyMessage | StartFailedMessage | ListMessage | RefusedMessage;

export type ActorIn = SurveyorIn | PublisherIn | RespondentIn | SubscriberIn;
export type ActorOut = SurveyorOut | PublisherOut | RespondentOut | SubscriberOut;

/** Maps an actor kind to its messages, for typed supervisors and test kits. */
export interface ActorMessages {
  surveyor: { args: SurveyorArgs; in: SurveyorIn; out: SurveyorOut };
  publisher: { args: PublisherArgs; in: PublisherIn; out: PublisherOut };
  respondent: { args: RespondentArgs; in: RespondentIn; out: RespondentOut };
  subscriber: { args: SubscriberArgs; in: SubscriberIn; out: SubscriberOut };
}

// ---------------------------------------------------------------- control (comlink)

/** Ways to make an actor fail on purpose, for supervision tests. */
export type Fault =
  /** An uncaught exception in the worker. */
  | 'throw'
  /** process.exit(1) in the worker. */
  | 'exit'
  /** The actor's run loop throws: its task rejects. */
  | 'reject'
  /** The thread blocks forever and answers nothing. */
  | 'hang';

export interface ActorReport {
  name: string;
  kind: ActorKind;
  status: ActorStatus;
  sockets: number[];
  /** Counters: rounds, answers, published, surveys, lists, refused... */
  stats: Record<string, number>;
  /** Why it could not start, when status is 'error' before it was ready. */
  error?: SerializedError;
}

/** The calls the main thread makes on an actor through comlink. */
export interface ActorControl {
  status(): ActorReport;
  /** Stops the loop, closes the sockets; resolves with the final report. */
  stop(): Promise<ActorReport>;
  /** Liveness: answers with the worker's monotonic clock. */
  ping(): number;
  injectFault(fault: Fault): void;
}
