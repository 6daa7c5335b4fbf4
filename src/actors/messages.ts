/**
 * Every message that crosses a thread boundary, one interface each, grouped into a
 * discriminated union per actor and direction. `Out` messages go from an actor to its
 * supervisor over the actor's mailbox port; `In` messages go the other way. The
 * surveyor → publisher pipe is a MessagePort between the two worker threads.
 */
import type { MessagePort } from 'node:worker_threads';
import type { SerializedError } from '../errors.js';
import type { RefusalReason } from '../protocol.js';

export type ActorKind = 'surveyor' | 'publisher' | 'respondent' | 'subscriber';

/** An actor's status inside its worker, as xstate's: running, finished, crashed or stopped. */
export type ActorStatus = 'active' | 'done' | 'error' | 'stopped';

// ---------------------------------------------------------------- start arguments

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
  /** The member set before this start: the supervisor's mirror, so a restart publishes no spurious change. */
  initialMembers: string[];
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
  /** Heartbeat: republish the current list every this many ms even if unchanged; 0 = only on change (the original). */
  republishMs: number;
}

export interface RespondentArgs {
  kind: 'respondent';
  /** The surveyors to answer; one RESPONDENT socket connects to each. */
  urls: string[];
  service: string;
}

export interface SubscriberArgs {
  kind: 'subscriber';
  /** The publisher to listen to. */
  url: string;
  /** NN_RCVMAXSIZE: lists above this are refused by the socket. */
  maxListBytes: number;
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
  /** Respondents and subscribers wait on their socket's readiness instead of receiving in slices (see ActorContext.receive). */
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
  /** The surveyor's stable reason code (absent for the subscriber's malformed lists). */
  code?: RefusalReason;
  /** What was wrong, for humans (the latest instance when count > 1). */
  reason: string;
  count: number;
}

/** A new pipe to the sibling actor (after the sibling restarted). */
export interface AttachPipeMessage {
  type: 'attach-pipe';
  port: MessagePort;
}

// ---------------------------------------------------------------- readiness (actors that receive)

/**
 * Actor → supervisor: watch this socket (an id from the actor's ledger) and say once when it
 * has a message to receive. The actor then waits without polling; nanomsg can only watch a
 * socket on the main thread's loop (see watchReadable in src/transport.ts).
 */
export interface WatchMessage {
  type: 'watch';
  socket: number;
}

/** Actor → supervisor: stop watching this socket; the actor waits for 'unwatched' before closing it. */
export interface UnwatchMessage {
  type: 'unwatch';
  socket: number;
}

/** Supervisor → actor: the socket has a message queued. The watch is spent: the actor drains the socket and asks again. */
export interface ReadableMessage {
  type: 'readable';
  socket: number;
}

/** Supervisor → actor: the socket is no longer watched and may be closed. */
export interface UnwatchedMessage {
  type: 'unwatched';
  socket: number;
}

export type ReadinessRequest = WatchMessage | UnwatchMessage;
export type ReadinessReply = ReadableMessage | UnwatchedMessage;

// ---------------------------------------------------------------- surveyor

/** One finished survey round (every round). */
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
}

/** The member set changed: at a round's end, or mid-round for an eager join. */
export interface ChangeMessage {
  type: 'change';
  round: number;
  joined: string[];
  left: string[];
  members: string[];
  eager: boolean;
}

export type SurveyorIn = AttachPipeMessage;
export type SurveyorOut = ReadyMessage | StartFailedMessage | RoundMessage | ChangeMessage | RefusedMessage;

// ---------------------------------------------------------------- surveyor → publisher pipe

/** The current member set; the publisher publishes it if it differs from what it last published. */
export interface MembersMessage {
  type: 'members';
  members: string[];
}

export type PipeMessage = MembersMessage;

// ---------------------------------------------------------------- publisher

/** A list went out: a change (with the members), or a heartbeat republication of an unchanged list. */
export interface PublishedMessage {
  type: 'published';
  heartbeat: boolean;
  /** The members, for a change; omitted for heartbeats (nothing changed). */
  members?: string[];
  bytes: number;
}

export type PublisherIn = AttachPipeMessage;
export type PublisherOut = ReadyMessage | StartFailedMessage | PublishedMessage;

// ---------------------------------------------------------------- respondent

/** The respondent answered a survey (one per survey; its running count). */
export interface AnsweredMessage {
  type: 'answered';
  surveys: number;
}

export type RespondentIn = never;
export type RespondentOut = ReadyMessage | StartFailedMessage | AnsweredMessage;

// ---------------------------------------------------------------- subscriber

/** A member list received from the publisher. */
export interface ListMessage {
  type: 'list';
  members: string[];
}

export type SubscriberIn = never;
export type SubscriberOut = ReadyMessage | StartFailedMessage | ListMessage | RefusedMessage;

export type ActorIn = SurveyorIn | PublisherIn | RespondentIn | SubscriberIn | ReadinessReply;
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
