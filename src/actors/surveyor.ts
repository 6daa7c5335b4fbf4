/**
 * The surveyor actor: a SURVEYOR socket that listens on the server's survey URL and,
 * every round, sends a survey (empty as the original's, or one GDX1 body with the list
 * digest and, in shared-secret mode, a nonce) and collects the answers until the survey
 * deadline. A round whose set differs from the current one replaces it and hands the
 * new set to the publisher over the sibling pipe. With adaptive detection a member that
 * lets its own answer deadline (src/answer-deadline.ts) pass is dropped mid-round.
 */
import { performance } from 'node:perf_hooks';
import { compileAccept, keyringOf, openAnswer, secretSurveyFields, unparsedAnswer, verifyAnswerParts, type Field } from '../admission.js';
import { AnnounceGate } from '../announcements.js';
import { JoinGate, joinsCoveredByJoinSocket } from '../join-survey.js';
import { AnswerDeadlines, type PlannedDeadline } from '../answer-deadline.js';
import { CONNECTION_HINT_POLL_MS, ConnectionWatch, DepartureBudget } from '../connection-hints.js';
import { encodeSurveyBody, FieldTag, listDigest, splitAnswer } from '../extensions.js';
import { surveyNonce, type KeyMaterial } from '../keyring.js';
import { decodeAnswer, diffMembers, encodeMembers, SURVEY_BODY, type RefusalReason } from '../protocol.js';
import { NnSocket } from '../transport.js';
import type { ActorContext } from './context.js';
import type { AskHeldBy, RoundTrigger, SurveyorArgs, SurveyorOut } from './messages.js';

// ------------------------------------------------------------------ logic (pure)

export interface SurveyorState {
  readonly members: ReadonlySet<string>;
  /** Answers collected in the round under way. */
  readonly fresh: Set<string>;
  /** How many of `fresh` are listed members (the round under way; mutated with `fresh`). */
  readonly tally: { incumbents: number };
  /** Consecutive rounds each listed member has failed to answer. */
  readonly misses: ReadonlyMap<string, number>;
  readonly round: number;
  /** Until this time (ms, the caller's clock) missed answers do not count: respondents are still reconnecting after a restart. */
  readonly graceUntil: number;
  /**
   * Names admitted by a join-survey answer since the round under way started (mutated with
   * `fresh`): their answer to this round's main survey, if one comes, is neither a
   * duplicate nor counted twice. Absent: none.
   */
  readonly viaJoin?: Set<string>;
}

export interface SurveyorLimits {
  maxNameBytes: number;
  maxMembers: number;
  /** A member is dropped after missing this many consecutive rounds (1 = the original). */
  missedRounds: number;
  /**
   * The `accept` rule, asked about newcomers only (members were accepted when they joined):
   * true admits, false refuses ('not-accepted'), undefined means "not known yet" (a predicate
   * the main thread evaluates): the answer is held as 'pending'.
   */
  accept?: (name: string) => boolean | undefined;
}

export type AnswerOutcome =
  /** A name counted in this round; `newcomer` when it is not a member yet (an eager join candidate). */
  | { kind: 'counted'; name: string; newcomer: boolean }
  /** A name already answered in this round (by another member, or by one connected twice). */
  | { kind: 'duplicate'; name: string }
  /** A newcomer whose admission the main thread must decide (`accept` is a predicate). */
  | { kind: 'pending'; name: string }
  | { kind: 'refused'; code: RefusalReason; reason: string };

export interface RoundOutcome {
  state: SurveyorState;
  joined: string[];
  left: string[];
  changed: boolean;
}

/** The surveyor's transitions, free of sockets and clocks so they can be tested alone. */
export const surveyorLogic = {
  initial(members: Iterable<string>, graceUntil = 0): SurveyorState {
    return { members: new Set(members), fresh: new Set(), tally: { incumbents: 0 }, misses: new Map(), round: 0, graceUntil, viaJoin: new Set() };
  },

  beginRound(state: SurveyorState): SurveyorState {
    return { ...state, fresh: new Set(), tally: { incumbents: 0 }, round: state.round + 1, viaJoin: new Set() };
  },

  /**
   * Adds one answer to the round (mutates `fresh` and `tally`, which belong to the round
   * under way). At the member cap, listed members keep their places: a new name is
   * admitted only into a place that no listed member can still claim this round, so a
   * flood of distinct names cannot push out the members others rely on.
   */
  answer(state: SurveyorState, data: Uint8Array, limits: SurveyorLimits): AnswerOutcome {
    const decoded = decodeAnswer(data, limits.maxNameBytes);
    if (!decoded.ok) return { kind: 'refused', code: decoded.code, reason: decoded.reason };
    const name = decoded.name;
    // Admitted by its join-survey answer this round: its main answer is its first as a member.
    if (state.viaJoin?.delete(name)) return { kind: 'counted', name, newcomer: false };
    if (state.fresh.has(name)) return { kind: 'duplicate', name };
    const incumbent = state.members.has(name);
    if (!incumbent && limits.accept) {
      const verdict = limits.accept(name);
      if (verdict === false) return { kind: 'refused', code: 'not-accepted', reason: `${JSON.stringify(name.slice(0, 80))} is not accepted by the server's accept rule` };
      if (verdict === undefined) return { kind: 'pending', name };
    }
    const reserved = incumbent ? 0 : state.members.size - state.tally.incumbents;
    if (state.fresh.size + reserved >= limits.maxMembers) {
      return { kind: 'refused', code: 'member-cap', reason: `member cap of ${limits.maxMembers} reached` };
    }
    state.fresh.add(name);
    if (incumbent) state.tally.incumbents++;
    return { kind: 'counted', name, newcomer: !incumbent };
  },

  /**
   * An answer to a join survey (src/join-survey.ts), checked as a main answer is (name,
   * `accept`, the member cap): a newcomer is counted in the round under way — it may not
   * have had the main survey, and must not be judged silent in it — and is to be admitted
   * at once (`admit`); a listed name is 'listed' and changes nothing (its main answer
   * counts as usual). Between rounds it counts in the `fresh` set that the next round's
   * start clears, which changes nothing either. Mutates `fresh`, `tally` and `viaJoin`.
   */
  joinAnswer(state: SurveyorState, data: Uint8Array, limits: SurveyorLimits): AnswerOutcome | { kind: 'listed'; name: string } {
    const decoded = decodeAnswer(data, limits.maxNameBytes);
    if (decoded.ok && state.members.has(decoded.name)) return { kind: 'listed', name: decoded.name };
    // Counted in this round already (its main answer came first, or another join answer of the name).
    if (decoded.ok && state.fresh.has(decoded.name)) return { kind: 'duplicate', name: decoded.name };
    const outcome = surveyorLogic.answer(state, data, limits);
    if (outcome.kind === 'counted') state.viaJoin?.add(outcome.name);
    return outcome;
  },

  /**
   * Eager join: makes newcomers members now, mid-round, instead of at the round's end.
   * (Departures are mid-round only with adaptive detection: see `expire`.) The admitted
   * have answered this round, so they count as members that claimed their place.
   */
  admit(state: SurveyorState, names: readonly string[]): { state: SurveyorState; joined: string[] } {
    const joined = names.filter((n) => !state.members.has(n));
    if (joined.length === 0) return { state, joined };
    const members = new Set(state.members);
    for (const n of joined) members.add(n);
    return { state: { ...state, members, tally: { incumbents: state.tally.incumbents + joined.length } }, joined: joined.sort() };
  },

  /**
   * Adaptive detection: `names` let their own answer deadlines pass this round without
   * answering. One that thereby reaches `missedRounds` consecutive misses is dropped now,
   * mid-round (returned in `left`, sorted); the others are judged at the round's end as
   * before. Nothing counts during the restart grace.
   */
  expire(state: SurveyorState, names: readonly string[], limits: SurveyorLimits, now: number): { state: SurveyorState; left: string[] } {
    if (now < state.graceUntil) return { state, left: [] };
    const left = names.filter((n) => state.members.has(n) && !state.fresh.has(n) && (state.misses.get(n) ?? 0) + 1 >= limits.missedRounds);
    if (left.length === 0) return { state, left };
    const members = new Set(state.members);
    const misses = new Map(state.misses);
    for (const n of left) {
      members.delete(n);
      misses.delete(n);
    }
    return { state: { ...state, members, misses }, left: left.sort() };
  },

  /**
   * Ends the round. Members that answered stay or join; a listed member that did not
   * answer is dropped once it has missed `missedRounds` rounds in a row (not counted
   * during the restart grace, nor when `silenceCounts` is false: an extra round whose
   * silences departures do not account for, see DepartureBudget). The set changes only if
   * someone joined or was dropped.
   */
  endRound(state: SurveyorState, limits: SurveyorLimits, now: number, silenceCounts = true): RoundOutcome {
    const counting = silenceCounts && now >= state.graceUntil;
    const next = new Set(state.fresh);
    const misses = new Map<string, number>();
    for (const m of state.members) {
      if (state.fresh.has(m)) continue;
      const missed = (state.misses.get(m) ?? 0) + (counting ? 1 : 0);
      if (missed < limits.missedRounds && next.size < limits.maxMembers) {
        next.add(m);
        misses.set(m, missed);
      }
    }
    const { joined, left } = diffMembers(state.members, next);
    const changed = joined.length > 0 || left.length > 0;
    return {
      state: { members: changed ? next : state.members, fresh: new Set(), tally: { incumbents: 0 }, misses, round: state.round, graceUntil: state.graceUntil, viaJoin: new Set() },
      joined,
      left,
      changed,
    };
  },
};

/**
 * After a restart the respondents need to notice the old connection died and dial
 * again (they redial every 100 ms): until then their silence is not a departure. Two
 * rounds at least, and a second, so a loaded machine does not publish a shrunken list.
 */
export function restartGraceMs(pollTime: number): number {
  return Math.max(1000, 2 * pollTime);
}

// ------------------------------------------------------------------ effects

/** Answers above this many bytes close the sender's connection (nanomsg drops them); smaller ones are refused and counted. */
export function surveyorRecvMaxSize(maxNameBytes: number): number {
  return maxNameBytes + 1024;
}

/** Announcements above this many bytes close the sender's connection (nanomsg drops them): a name and 5 bytes of header fit. */
export function announceRecvMaxSize(maxNameBytes: number): number {
  return maxNameBytes + 64;
}

/** How the surveyor paces its rounds. */
export type Schedule =
  /** As the Go original: wait pollTime after each round ends; a period is pollTime + the survey. */
  | 'original'
  /** A round starts every pollTime (the original's own comment calls pollTime "the minimal time between surveys"). */
  | 'fixed-rate';

/** Eager joins are published at most this often, so a mass join does not publish a list per newcomer. */
export const EAGER_MIN_INTERVAL_MS = 10;
/** Plus 1 ms per this many members: an eager list costs bytes in proportion to its length, so a
 * connection storm at 10,000 members publishes about 10 lists a second, not 100. */
export const EAGER_MEMBERS_PER_MS = 100;

/** The least time between two eager publications with `members` members. */
export function eagerIntervalMs(members: number): number {
  return EAGER_MIN_INTERVAL_MS + members / EAGER_MEMBERS_PER_MS;
}

/**
 * The survey body for a member set: with `digest`, "GDX1" + FieldTag.listDigest of the list
 * the publisher publishes for it (so a client can tell whether it holds it); without, the
 * original's empty body.
 */
export function surveyBodyFor(members: Iterable<string>, digest: boolean): Buffer {
  const fields = surveyDigestFields(members, digest);
  return fields.length > 0 ? encodeSurveyBody(fields) : Buffer.from(SURVEY_BODY);
}

/** The list-digest field of a survey for a member set (none without `digest`). */
export function surveyDigestFields(members: Iterable<string>, digest: boolean): Field[] {
  return digest ? [[FieldTag.listDigest, listDigest(encodeMembers(members))]] : [];
}

/** An answer as the surveyor reads it once: its name, its fields, and whether it asks for the current list. */
export interface ReadAnswer {
  name: Uint8Array;
  needList: boolean;
  fields: ReadonlyMap<number, Uint8Array>;
  /** Set when the fields after the NUL do not parse (the parser's message); `name` is then the whole answer. */
  malformed?: string;
  /** The member's farewell token (announcements), when the answer carries one. */
  token?: Uint8Array;
}

const NO_FIELDS: ReadonlyMap<number, Uint8Array> = new Map();

/**
 * Splits an answer once into its name and fields: FieldTag.needList (state on connect),
 * secret mode's MAC, the farewell token (FieldTag.farewellToken, announcements).
 * Only answers to extended surveys carry fields; an answer whose fields do not parse is
 * left whole, for decodeAnswer to refuse (its NUL is a control character).
 */
export function readAnswer(data: Buffer, extended: boolean): ReadAnswer {
  if (!extended || !data.includes(0)) return { name: data, needList: false, fields: NO_FIELDS };
  try {
    const { name, fields } = splitAnswer(data);
    const token = fields.get(FieldTag.farewellToken);
    return { name, needList: fields.has(FieldTag.needList), fields, ...(token ? { token } : {}) };
  } catch (e) {
    return { name: data, needList: false, fields: NO_FIELDS, malformed: (e as Error).message };
  }
}

/**
 * The SP header a raw SURVEYOR puts before a survey's body: the 32-bit survey id, big
 * endian, with its top bit set (the last hop of the backtrace). The bytes on the wire are
 * those of a survey from a cooked SURVEYOR; respondents answer with the id in front.
 */
export function surveyHeader(id: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE((id | 0x80000000) >>> 0);
  return b;
}

/**
 * Shared-secret mode's part of a round (src/admission.ts): a fresh nonce in every survey
 * body, and each answer's MAC checked against it before the name is read. The previous
 * survey's nonce stays valid only when late answers count: an answer one survey late is
 * then accepted, an older one (or one replayed later) is not. Plain mode: empty surveys,
 * answers taken as they are.
 */
export function surveyAuthentication(args: Pick<SurveyorArgs, 'keys' | 'lateAnswers'>): {
  /**
   * The next survey's body: `before` (other extensions' fields, e.g. the list digest), then
   * in secret mode a fresh nonce and key id. `join`: a join survey's (src/join-survey.ts),
   * whose nonce is its own (the main survey's stays valid for the main answers).
   */
  body(before?: readonly Field[], join?: boolean): Uint8Array;
  /**
   * Secret mode: checks the answer's MAC and gives its name, from `read` (the answer as
   * readAnswer split it, so that it is split once) or else splitting `data`; `join`: an
   * answer to a join survey, checked against the latest join survey's nonce only. Plain
   * mode: `read`'s name, by default the whole answer.
   */
  open(data: Buffer, read?: ReadAnswer, join?: boolean): ReturnType<typeof openAnswer>;
  /** Rotation: the new keyring checks answers from now on (the survey under way included). */
  rekey(keys: KeyMaterial[]): void;
} {
  let keyring = keyringOf(args.keys);
  if (!keyring) {
    return {
      body: (before = []) => (before.length > 0 ? encodeSurveyBody(before) : SURVEY_BODY),
      open: (data, read) => ({ ok: true, name: read?.name ?? data }),
      rekey: () => {},
    };
  }
  let nonces: Buffer[] = [];
  let joinNonces: Buffer[] = [];
  return {
    body(before = [], join = false) {
      const nonce = surveyNonce();
      if (join) joinNonces = [nonce];
      else nonces = args.lateAnswers === 'count' ? [nonce, ...nonces.slice(0, 1)] : [nonce];
      return encodeSurveyBody([...before, ...secretSurveyFields(keyring!, nonce)]);
    },
    open(data, read, join = false) {
      const valid = join ? joinNonces : nonces;
      if (!read) return openAnswer(keyring!, valid, data);
      return read.malformed !== undefined ? unparsedAnswer(read.malformed) : verifyAnswerParts(keyring!, valid, read, data.byteLength);
    },
    rekey: (keys) => (keyring = keyringOf(keys) ?? keyring),
  };
}

/** Marks a join survey's body (FieldTag.joinSurvey), so that a client with the join URL as its survey URL can tell. */
const JOIN_SURVEY_FIELD: Field = [FieldTag.joinSurvey, new Uint8Array(0)];

/** While draining a main round's answers, the join survey and the announce socket are looked at this often, ms. */
export const JOIN_TURN_MS = 1;

/** Announcements read in one go at most; the rest stay queued in nanomsg until the loop's next turn. */
export const MAX_ANNOUNCEMENTS_PER_TURN = 256;

/** Names asked about at once at most (a flood of distinct names waits, it does not queue without bound). */
export const MAX_ADMISSION_QUERIES = 1024;
/** Verdicts kept on names that are not members (refused ones, mostly); the oldest are forgotten first. */
export const MAX_ADMISSION_VERDICTS = 4096;

/**
 * `accept` as a predicate, which cannot cross into this thread: the main thread judges
 * each newcomer once and the verdict is cached here, so a refused name answering every
 * round costs a map lookup, as any other refusal. Members are not looked up at all.
 */
export class AdmissionCache {
  private readonly verdicts = new Map<string, boolean>();
  private readonly asked = new Set<string>();
  private toAsk: string[] = [];

  get(name: string): boolean | undefined {
    return this.verdicts.get(name);
  }

  /** Queues a question about `name`, unless it is already asked or too many are. */
  ask(name: string): void {
    if (this.asked.has(name) || this.asked.size >= MAX_ADMISSION_QUERIES) return;
    this.asked.add(name);
    this.toAsk.push(name);
  }

  /** The names to send to the main thread now (and forgets them as queued). */
  takeQueries(): string[] {
    const names = this.toAsk;
    this.toAsk = [];
    return names;
  }

  record(accepted: readonly string[], refused: readonly string[]): void {
    for (const [names, verdict] of [[accepted, true], [refused, false]] as const) {
      for (const n of names) {
        this.asked.delete(n);
        this.verdicts.delete(n);
        this.verdicts.set(n, verdict);
      }
    }
    while (this.verdicts.size > MAX_ADMISSION_VERDICTS) this.verdicts.delete(this.verdicts.keys().next().value!);
  }
}

export async function runSurveyor(args: SurveyorArgs, ctx: ActorContext<SurveyorOut>): Promise<void> {
  // Counting late answers needs a raw socket: a cooked one discards every answer to an
  // earlier survey inside nanomsg, so a member whose answer missed the deadline is counted
  // as silent even though it answered. A raw one stamps no survey id of its own: the loop
  // below adds the header and keeps the deadline itself.
  const raw = args.lateAnswers === 'count';
  const socket = NnSocket.open('surveyor', ctx.ledger, { raw });
  let announce: NnSocket | undefined;
  let join: NnSocket | undefined;
  try {
    socket.setOption('rcvmaxsize', surveyorRecvMaxSize(args.maxNameBytes));
    if (!raw) socket.setSurveyDeadline(args.surveyTime);
    socket.bind(args.url);
    // Connection hints read nanomsg's counters: if they cannot be read, the start fails here.
    if (args.connectionHints) socket.statistic('current');
    // Announcements: a PULL socket in this thread, so a hello or bye reaches the loop that
    // runs the rounds without a hop. Bound before ready, so a bad URL fails the start.
    if (args.announceUrl !== undefined) {
      announce = NnSocket.open('pull', ctx.ledger);
      announce.setOption('rcvmaxsize', announceRecvMaxSize(args.maxNameBytes));
      announce.bind(args.announceUrl);
    }
    // The join survey (src/join-survey.ts): a second SURVEYOR, cooked (one join survey at a
    // time, its deadline kept by nanomsg), bound before ready as the others.
    if (args.joinUrl !== undefined) {
      join = NnSocket.open('surveyor', ctx.ledger);
      join.setOption('rcvmaxsize', surveyorRecvMaxSize(args.maxNameBytes));
      join.setSurveyDeadline(args.surveyTime);
      join.bind(args.joinUrl);
    }
    const admission = args.accept?.kind === 'ask' ? new AdmissionCache() : undefined;
    const accept = admission ? (name: string) => admission.get(name) : args.accept ? compileAccept(args.accept) : undefined;
    const limits: SurveyorLimits = { maxNameBytes: args.maxNameBytes, maxMembers: args.maxMembers, missedRounds: args.missedRounds, ...(accept ? { accept } : {}) };
    const auth = surveyAuthentication(args);
    let state = surveyorLogic.initial(args.initialMembers, args.initialMembers.length > 0 ? performance.now() + restartGraceMs(args.pollTime) : 0);
    // Sorted once per change, for the change report and for the publisher, whose encoding
    // and report then sort an already sorted list (linear) instead of sorting twice more.
    const sortedMembers = () => [...state.members].sort();
    // A new pipe means a (re)started publisher: tell it the current set; it publishes only if that differs.
    const sendMembers = (members: string[] = sortedMembers()) => ctx.sendPipe({ type: 'members', members });
    // The list digest, once per member set (state.members is replaced on every change); in
    // secret mode the nonce and key id follow it in the same body, fresh every survey.
    const digestOn = args.listDigest ?? false;
    // An extended body (digest or secret mode) also advertises the announce URL; the
    // original's empty survey stays empty (its clients must be given the URL).
    const advertised: Field[] = args.announceUrl !== undefined && (digestOn || (args.keys?.length ?? 0) > 0) ? [[FieldTag.announceUrl, Buffer.from(args.announceUrl, 'utf8')]] : [];
    const fieldsFor = (members: ReadonlySet<string>) => [...surveyDigestFields(members, digestOn), ...advertised];
    let digest = { of: state.members, fields: fieldsFor(state.members) };
    const surveyBody = (joinSurvey = false) => {
      if (digest.of !== state.members) digest = { of: state.members, fields: fieldsFor(state.members) };
      return auth.body(joinSurvey ? [...digest.fields, JOIN_SURVEY_FIELD] : digest.fields, joinSurvey);
    };
    // At most one extra publication per round, however many clients ask for the list.
    let listAsked = false;
    ctx.onPipeAttached = () => sendMembers();
    if (ctx.hasPipe) sendMembers();
    ctx.markReady();

    // The supervisor's mirror hears of a change before the publisher does: if this thread
    // dies in between, the restarted surveyor starts from the new set and hands it to the
    // publisher, so the change is published late rather than lost.
    /** Whether the round under way changed the member set (an announced round that did not backs the next one off). */
    let changedThisRound = false;
    const publishChange = (joined: string[], left: string[], eager: boolean, viaJoin = false) => {
      changedThisRound = true;
      ctx.count('changes');
      const members = sortedMembers();
      ctx.emit({ type: 'change', round: state.round, joined, left, members, eager, ...(viaJoin ? { viaJoin } : {}) });
      sendMembers(members);
    };

    // Refusals of the round under way, by reason (the latest detail of each).
    const refused = new Map<RefusalReason, { count: number; reason: string }>();
    // Names answered more than once in the round under way: answers beyond the first.
    const duplicates = new Map<string, number>();
    let pendingJoins: string[] = [];
    let lastEager = -Infinity;
    /** The earliest time (performance.now()) the next eager publication may go out. */
    const eagerWaitUntil = () => lastEager + eagerIntervalMs(state.members.size);
    const flushJoins = (now: number) => {
      if (pendingJoins.length === 0 || now < eagerWaitUntil()) return;
      const admitted = surveyorLogic.admit(state, pendingJoins);
      pendingJoins = [];
      state = admitted.state;
      if (admitted.joined.length > 0) {
        lastEager = now;
        publishChange(admitted.joined, [], true);
      }
    };
    const refuse = (code: RefusalReason, reason: string) => {
      const r = refused.get(code);
      if (r) {
        r.count++;
        r.reason = reason;
      } else refused.set(code, { count: 1, reason });
    };
    // Newcomers of the round under way whose admission the main thread is deciding.
    const awaiting = new Set<string>();
    // Adaptive detection: each member's answer deadline, from when its answers usually come.
    const deadlines = args.detection === 'adaptive' ? new AnswerDeadlines(args.surveyTime) : undefined;
    let plan: PlannedDeadline[] = [];
    let planned = 0; // plan[planned] is the next deadline to watch
    /** Members dropped this round at their own deadline (an answer from one afterwards is a false accusation). */
    const accused = new Set<string>();
    /**
     * Departures seen (connections closed) that no drop has matched yet: an extra round drops
     * silent members only as many as these account for (src/connection-hints.ts).
     */
    const departures = new DepartureBudget(args.pollTime + args.surveyTime);
    /** Whether the round under way is an extra one (asked for by an announcement or a connection hint). */
    let extraRound = false;
    /** Silent members an extra round left unjudged (more than departures account for), for its round message. */
    let unjudged = 0;
    let sentAt = 0;
    /** Members that said bye, with their short deadlines this round (AnswerDeadlines.farewell); few, unsorted. */
    let farewells: PlannedDeadline[] = [];
    const planFarewells = (names: readonly string[]) => {
      for (const name of names) {
        const baseMs = deadlines?.farewell(name);
        if (baseMs !== undefined && state.members.has(name)) farewells.push({ name, baseMs });
      }
    };
    /**
     * When the next member still silent can be accused (performance.now()): its deadline plus
     * the group window, or a farewell deadline (no window: a bye foretold it); or Infinity.
     */
    const nextDue = (): number => {
      while (planned < plan.length && state.fresh.has(plan[planned].name)) planned++;
      let due = planned < plan.length ? sentAt + deadlines!.due(plan[planned].baseMs) + deadlines!.groupWindowMs : Infinity;
      for (const f of farewells) if (!state.fresh.has(f.name)) due = Math.min(due, sentAt + deadlines!.due(f.baseMs));
      return due;
    };
    /**
     * Members that said bye and are past their short deadlines without an answer: dropped
     * now (no many-at-once check: a bye is a departure foretold, and a live member named in a
     * forged one answers and is listed again).
     */
    const expireFarewells = (now: number) => {
      const due = farewells.filter((f) => !state.fresh.has(f.name) && sentAt + deadlines!.due(f.baseMs) <= now).map((f) => f.name);
      if (due.length === 0) return;
      farewells = farewells.filter((f) => !due.includes(f.name));
      const expired = surveyorLogic.expire(state, due, limits, now);
      if (expired.left.length === 0) return;
      state = expired.state;
      for (const n of expired.left) accused.add(n);
      departures.spend(expired.left.length);
      ctx.count('earlyLeaves', expired.left.length);
      ctx.count('farewells', expired.left.length);
      farewellDrops += expired.left.length;
      publishChange([], expired.left, true);
    };
    /**
     * Drops the members whose deadlines passed a group window ago by `now`, if they reached
     * missedRounds, and publishes at once. Members silent past deadlines inside the window
     * count as silent together with them: the members of one paused process (deadlines a few
     * ms apart) are judged as one group, not accused a few at a time.
     */
    const expireDue = (now: number) => {
      if (farewells.length > 0) expireFarewells(now);
      const due: string[] = [];
      const accuseBy = now - deadlines!.groupWindowMs;
      let silent = 0;
      let passed = planned;
      let accusable = planned;
      for (; passed < plan.length && sentAt + deadlines!.due(plan[passed].baseMs) <= now; passed++) {
        if (state.fresh.has(plan[passed].name)) continue;
        silent++;
        if (sentAt + deadlines!.due(plan[passed].baseMs) <= accuseBy) {
          due.push(plan[passed].name);
          accusable = passed + 1;
        }
      }
      if (due.length === 0) return;
      if (!deadlines!.mayAccuse(silent, passed)) {
        // Many silent at once: this side is slow, not they gone. The rest of this round is
        // judged at its end, by the fixed deadline; the next rounds' deadlines are stretched.
        planned = plan.length;
        return;
      }
      if (extraRound && !departures.covers(silent, now)) {
        // An extra round, and more members silent than departures account for: their silence
        // is judged at the round's end (again against the departures seen by then).
        planned = plan.length;
        return;
      }
      planned = accusable;
      const expired = surveyorLogic.expire(state, due, limits, now);
      if (expired.left.length === 0) return;
      state = expired.state;
      departures.spend(expired.left.length);
      for (const n of expired.left) accused.add(n);
      ctx.count('earlyLeaves', expired.left.length);
      publishChange([], expired.left, true);
    };
    /** A cooperative yield, timed: one that takes long means this thread was paused (Lifeguard's local health). */
    const timedYield = async (yieldNow: () => Promise<void>) => {
      const t = performance.now();
      await yieldNow();
      deadlines?.observerLag(performance.now() - t);
    };

    /**
     * One authenticated (or plain) name: counted, refused, held for the main thread's
     * verdict, or a duplicate. `at` (performance.now()) is when it arrived off the wire,
     * absent for an answer taken again once its verdict came.
     */
    const takeName = (name: Uint8Array, needList: boolean, at?: number, token?: Uint8Array) => {
      const outcome = surveyorLogic.answer(state, name, limits);
      if (token && announce && outcome.kind === 'counted') farewellTokens.set(outcome.name, Buffer.from(token));
      // A name answered by two clients (two tokens): a bye from one of them proves no departure.
      else if (announce && outcome.kind === 'duplicate' && !(token && farewellTokens.get(outcome.name)?.equals(token))) farewellTokens.delete(outcome.name);
      if (outcome.kind === 'counted' && farewells.some((f) => f.name === outcome.name)) {
        farewells = farewells.filter((f) => f.name !== outcome.name);
        gate?.answeredAfterFarewell(outcome.name);
      }
      // A member that lacks the list gets it republished now. A newcomer does not: its own
      // join changes the list, and that publication (eager, or at the round's end) is what it needs.
      if (needList && !listAsked && outcome.kind === 'counted' && !outcome.newcomer) {
        listAsked = true;
        ctx.count('listRequests');
        ctx.sendPipe({ type: 'republish' });
      }
      if (deadlines && at !== undefined && outcome.kind === 'counted') {
        if (accused.has(outcome.name)) {
          ctx.count('falseSuspicions');
          deadlines.falseSuspicion(outcome.name, at - sentAt);
        } else deadlines.observe(outcome.name, at - sentAt);
      }
      if (outcome.kind === 'refused') refuse(outcome.code, outcome.reason);
      else if (outcome.kind === 'pending') {
        awaiting.add(outcome.name);
        admission!.ask(outcome.name);
      } else if (outcome.kind === 'counted') {
        if (outcome.newcomer && args.eagerJoin) pendingJoins.push(outcome.name);
      } else duplicates.set(outcome.name, (duplicates.get(outcome.name) ?? 0) + 1);
    };
    const extended = digestOn || (args.keys?.length ?? 0) > 0;
    const take = (data: Buffer, at: number) => {
      // One answer may carry both extensions: needList (state on connect) and a MAC (secret mode).
      const read = readAnswer(data, extended);
      const opened = auth.open(data, read);
      if (opened.ok) takeName(opened.name, read.needList, at, read.token);
      else refuse(opened.code, opened.reason);
    };
    const askMainThread = () => {
      const names = admission?.takeQueries() ?? [];
      if (names.length > 0) ctx.emit({ type: 'admission-query', names });
    };
    ctx.onInbox((msg) => {
      if (msg.type === 'rekey') auth.rekey(msg.keys);
      if (msg.type !== 'admission-verdict' || !admission) return;
      admission.record(msg.accepted, msg.refused);
      // A verdict that arrives while its round is open counts the answer in that round.
      for (const name of [...msg.accepted, ...msg.refused]) {
        if (awaiting.delete(name)) takeName(Buffer.from(name, 'utf8'), false);
      }
    });

    // Connection hints (src/connection-hints.ts): the socket's connection counters, read every
    // CONNECTION_HINT_POLL_MS; a change asks for a round through the announcements' gate.
    const connections = args.connectionHints ? new ConnectionWatch() : undefined;
    const gate = announce || connections ? new AnnounceGate(args.maxNameBytes, args.pollTime) : undefined;
    /** What asked for the next extra round since the round under way started (the gate's request is one). */
    let askedBy: Exclude<RoundTrigger, 'schedule'> | undefined;
    /** When the gate was first asked for the next extra round (performance.now()), and what held that round back then. */
    let asked: { at: number; heldBy: AskHeldBy } | undefined;
    let inRound = false;
    const noteAsked = (now: number) => {
      if (asked || !gate!.asksForRound) return;
      asked = { at: now, heldBy: inRound ? 'round' : (gate!.heldBy(now, state.members.size) ?? 'none') };
    };
    let nextHintRead = 0;
    /** With a join socket: both sockets' ACCEPTED counters at the last hint reading (see joinsCoveredByJoinSocket). */
    let acceptedSeen: { survey: number; join: number } | undefined;
    const readHints = (now: number) => {
      nextHintRead = now + CONNECTION_HINT_POLL_MS;
      const counts = { current: socket.statistic('current'), broken: socket.statistic('broken'), dropped: socket.statistic('dropped') };
      const hint = connections!.observe(counts, state.members.size);
      departures.add(connections!.closed, now);
      let covered = false;
      if (join) {
        const read = { survey: socket.statistic('accepted'), join: join.statistic('accepted') };
        covered = acceptedSeen !== undefined && joinsCoveredByJoinSocket(read.survey - acceptedSeen.survey, read.join - acceptedSeen.join);
        acceptedSeen = read;
      }
      if (!hint || (hint === 'joined' && covered)) return;
      gate!.ask();
      askedBy ??= 'connection';
      noteAsked(now);
    };
    /** Each member's farewell token, from its latest counted answer: a bye must carry it to shorten its deadline. */
    const farewellTokens = new Map<string, Buffer>();
    let hellos = 0;
    let byes = 0;
    let farewellDrops = 0;
    // The join survey (src/join-survey.ts): a hello from a name not listed sends one at once.
    const joinGate = join ? new JoinGate(args.surveyTime, args.pollTime) : undefined;
    /** Join surveys sent since the previous round's message. */
    let joinSurveys = 0;
    /** The join socket's connections (its CURRENT counter), undefined when unreadable. */
    const joinConnections = (): number | undefined => {
      try {
        return join!.statistic('current');
      } catch {
        return undefined;
      }
    };
    /** Reads the join survey's answers queued now: each checked as a main answer, newcomers admitted and published at once (one change per batch). */
    const takeJoinAnswers = () => {
      if (!joinGate?.surveying) return;
      const admitted: string[] = [];
      for (;;) {
        let data: Buffer | null;
        try {
          data = join!.recvNow();
        } catch (e) {
          if ((e as { code?: string }).code === 'EFSM') break; // its deadline passed
          throw e;
        }
        if (!data) break;
        const read = readAnswer(data, extended);
        const opened = auth.open(data, read, true);
        if (!opened.ok) {
          refuse(opened.code, opened.reason);
          joinGate.answered(false);
          continue;
        }
        const outcome = surveyorLogic.joinAnswer(state, opened.name, limits);
        if (outcome.kind === 'refused') refuse(outcome.code, outcome.reason);
        // A predicate's verdict comes from the main thread: cached for the newcomer's next answer (the fallback round's).
        else if (outcome.kind === 'pending') admission!.ask(outcome.name);
        else if (outcome.kind === 'counted') {
          admitted.push(outcome.name);
          // Heard from, though not in the main survey: its bye (with this answer's token) gets the farewell deadline.
          deadlines?.heard(outcome.name);
        }
        if (read.token && (outcome.kind === 'counted' || outcome.kind === 'listed')) farewellTokens.set(outcome.name, Buffer.from(read.token));
        joinGate.answered(outcome.kind === 'counted');
      }
      askMainThread();
      if (admitted.length === 0) return;
      const result = surveyorLogic.admit(state, admitted);
      state = result.state;
      if (result.joined.length > 0) {
        ctx.count('joinAdmissions', result.joined.length);
        publishChange(result.joined, [], true, true);
      }
    };
    /** Ends the join survey under way if it is over; hellos it did not list ask for a main round (rate-limited as before). */
    const endJoinSurvey = (now: number) => {
      if (!joinGate!.isOver(now, state.members)) return;
      const outcome = joinGate!.ended(now, state.members)!;
      if (outcome.unlisted.length > 0 && gate) {
        gate.ask();
        askedBy ??= 'announcement';
        noteAsked(now);
      }
      ctx.emit({
        type: 'join-survey',
        durationMs: outcome.durationMs,
        answers: outcome.answers,
        ...(outcome.connections !== undefined ? { connections: outcome.connections } : {}),
        admitted: outcome.admitted,
        unlisted: outcome.unlisted.length,
      });
    };
    /** Sends a join survey if one is due (the main survey's fields, its own nonce in secret mode). */
    const sendJoinSurvey = (now: number) => {
      if (now < joinGate!.dueAt()) return;
      if (joinGate!.surveying) endJoinSurvey(now); // past its deadline (dueAt waits for it)
      const connections = joinConnections();
      join!.send(surveyBody(true));
      joinGate!.sent(performance.now(), connections);
      joinSurveys++;
      ctx.count('joinSurveys');
    };
    /** One turn of the join survey: its answers, its end, the next one if due. */
    const joinTurn = (now: number) => {
      takeJoinAnswers();
      endJoinSurvey(now);
      sendJoinSurvey(now);
    };
    /** When the join survey next needs this thread (its deadline, or the next one's time), ms from `now`; Infinity without one. */
    const joinWaitMs = (now: number) => (joinGate ? Math.max(1, Math.min(joinGate.dueAt(), joinGate.deadline) - now) : Infinity);
    /** Reads the announcements queued now (at most a bounded batch: a flood waits in nanomsg's buffer, the loop goes on). */
    const takeAnnouncements = (first: Buffer | null = announce!.recvNow()) => {
      for (let data = first, n = 0; data; data = ++n < MAX_ANNOUNCEMENTS_PER_TURN ? announce!.recvNow() : null) {
        const outcome = gate!.take(data, state.members, (name) => farewellTokens.get(name), joinGate !== undefined);
        if (outcome.kind === 'hello' && outcome.asksForRound && joinGate) joinGate.hello(outcome.name);
        else if (outcome.kind !== 'refused' && outcome.asksForRound) askedBy = 'announcement';
        if (outcome.kind === 'refused') refuse('bad-announcement', outcome.reason);
        else if (outcome.kind === 'hello') hellos++;
        else byes++;
      }
      noteAsked(performance.now());
      // A newcomer's hello: its join survey goes out now (if due), before anything else runs.
      if (joinGate) sendJoinSurvey(performance.now());
    };
    let surveyId = Math.floor(Math.random() * 0x80000000);
    let nextStart = performance.now() + (args.schedule === 'original' ? args.pollTime : 0);
    /**
     * Until the next round: its scheduled start, or sooner when an announcement asks for one
     * or a connection hint (src/connection-hints.ts) asks for one (src/announcements.ts:
     * rate-limited). Without either, a plain sleep as always; with an announce socket,
     * blocking receives on it in slices; with hints, the counters are read every
     * CONNECTION_HINT_POLL_MS (during rounds too, in the answer loop). False when stopping.
     */
    const untilNextRound = async (): Promise<boolean> => {
      if (!gate) return ctx.sleep(Math.max(0, nextStart - performance.now()));
      for (;;) {
        if (ctx.stopping) return false;
        let now = performance.now();
        if (connections && now >= nextHintRead) readHints(now);
        now = performance.now();
        if (joinGate) joinTurn(now);
        const start = Math.min(nextStart, gate.dueAt(state.members.size));
        if (now >= start) return true;
        const wait = Math.min(start - now, connections ? nextHintRead - now : Infinity, joinWaitMs(now));
        if (!announce) {
          if (!(await ctx.sleep(wait))) return false;
          continue;
        }
        // Waits on the announce socket's readiness (no polling: the thread runs only for an
        // announcement, the next hint reading or the next round).
        const data = announce.recvNow();
        if (data) {
          takeAnnouncements(data);
          await ctx.maybeYield();
        } else await ctx.readable(joinGate?.surveying ? [announce, join!] : announce, wait);
      }
    };
    while (await untilNextRound()) {
      // An extra round (the gate's) runs before the schedule's time.
      const extra = gate !== undefined && performance.now() < nextStart;
      const trigger: RoundTrigger = extra ? (askedBy ?? 'announcement') : 'schedule';
      const announced = trigger === 'announcement';
      extraRound = extra;
      askedBy = undefined;
      const askedMs = extra && asked ? performance.now() - asked.at : undefined;
      const heldBy = asked?.heldBy;
      asked = undefined;
      const started = performance.now();
      if (gate) {
        farewells = [];
        planFarewells(gate.roundStarted(started));
      }
      state = surveyorLogic.beginRound(state);
      listAsked = false;
      changedThisRound = false;
      // Fixed rate: the next round starts pollTime after this one started (slots missed by an overrun are skipped).
      // An announced round is an extra one: the schedule stays as it was.
      if (args.schedule === 'fixed-rate' && !extra) nextStart = Math.max(nextStart + args.pollTime, started);
      surveyId = (surveyId + 1) & 0x7fffffff;
      if (!socket.send(raw ? Buffer.concat([surveyHeader(surveyId), surveyBody()]) : surveyBody())) {
        if (args.schedule === 'original') nextStart = performance.now() + args.pollTime;
        continue;
      }
      sentAt = performance.now();
      inRound = true;
      if (deadlines) {
        plan = deadlines.plan(state.members);
        planned = 0;
        accused.clear();
      }
      // The deadline runs from the moment the survey has gone out to every respondent, as
      // nanomsg's own survey deadline does: sending to 10,000 pipes takes a while itself.
      const surveyEnd = sentAt + args.surveyTime;
      let lastAnswer = sentAt;
      let answers = 0;
      /** How long this round has taken to collect its answers so far (its start to its last answer), ms. */
      const collectedMs = () => (answers > 0 ? lastAnswer - started : 0);
      for (;;) {
        // Like the original's per-receive deadline: stop after recvDeadline without an answer, or when the survey expires.
        const now = performance.now();
        const remaining = Math.min(surveyEnd, lastAnswer + args.recvDeadline) - now;
        if (remaining <= 0 || ctx.stopping) break;
        // Announcements mid-round: a bye gives its member a short deadline in this round (if
        // it has not answered yet); a hello or bye ends the round early once every member
        // has answered it, so that the asked-for round starts (src/announcements.ts).
        // A connection hint mid-round asks for the next round the same way: a member that closed
        // after answering this survey is then surveyed again as soon as the others have answered.
        let allAnswered = false;
        if (gate) {
          if (announce) takeAnnouncements();
          if (joinGate) joinTurn(now);
          if (connections && now >= nextHintRead) readHints(now);
          planFarewells(gate.takeFarewells((n) => state.fresh.has(n)));
          allAnswered = state.tally.incumbents >= state.members.size && pendingJoins.length === 0 && awaiting.size === 0;
          if (gate.mayCut(allAnswered, sentAt, now, state.members.size, collectedMs())) break;
        }
        let data: Buffer | null;
        // A round that may be cut short (every member has answered) waits on the readiness of
        // both sockets, its answers' and the announce socket: an announcement is read at once.
        const tail = allAnswered && announce !== undefined;
        // With a join socket, a hello mid-round is read as it comes (not after a blocking
        // receive of up to sliceMs: at 1,000 members answers pause while the respondents wait
        // for a core), and a join survey's answers wake this loop too (read at its top).
        const joinWatch = joinGate?.surveying === true;
        const watchAnnounce = tail || (joinGate !== undefined && announce !== undefined);
        const wait = Math.max(
          0,
          Math.round(
            Math.min(
              remaining,
              tail ? Infinity : ctx.sliceMs,
              // ...and wakes when the round may be cut for an announcement already read.
              tail ? Math.max(1, gate!.cutAt(sentAt, state.members.size, collectedMs()) - now) : Infinity,
              pendingJoins.length > 0 ? Math.max(1, eagerWaitUntil() - now) : Infinity,
              nextDue() - now,
              connections ? Math.max(1, nextHintRead - now) : Infinity,
              joinWaitMs(now),
            ),
          ),
        );
        try {
          if (watchAnnounce || joinWatch) {
            data = socket.recvNow();
            if (!data) {
              await ctx.readable([socket, ...(watchAnnounce ? [announce!] : []), ...(joinWatch ? [join!] : [])], wait);
              data = socket.recvNow();
            }
          } else data = socket.recv(wait);
        } catch (e) {
          if ((e as { code?: string }).code === 'EFSM') break; // the survey expired
          throw e;
        }
        if (data) {
          answers++;
          take(data, performance.now());
          // Drain what is already queued before publishing, so a burst of newcomers becomes one
          // list; but not for long once a newcomer waits: at 10,000 members the answers of the
          // others stream in for hundreds of ms, and draining them all first would hold the
          // newcomer's list back to the round's end. Never past the deadline either: with late
          // answers counted, a steady flow would stretch the round.
          const drainStart = performance.now();
          const keepDraining = () => {
            const now = performance.now();
            return now < surveyEnd && (pendingJoins.length === 0 || now - drainStart < EAGER_MIN_INTERVAL_MS);
          };
          let more: Buffer | null | undefined = socket.recvNow();
          // A newcomer's hello and its join answer are not left behind a long drain (at 1,000
          // members answers stream in for ~30 ms): read every JOIN_TURN_MS meanwhile.
          let nextJoinTurn = drainStart + JOIN_TURN_MS;
          for (; more; more = keepDraining() ? socket.recvNow() : undefined) {
            answers++;
            const at = performance.now();
            take(more, at);
            if (joinGate && at >= nextJoinTurn) {
              takeAnnouncements();
              joinTurn(at);
              nextJoinTurn = performance.now() + JOIN_TURN_MS;
            }
          }
          lastAnswer = performance.now();
          // Drained to empty (null, not stopped early): every answer that had come is read, so a
          // member that said bye and is past its farewell deadline can be dropped now, even while
          // the others' answers still stream in (they may not leave the socket empty for long).
          if (more === null && farewells.length > 0) expireFarewells(lastAnswer);
          askMainThread();
          flushJoins(lastAnswer);
          await timedYield(() => ctx.maybeYield());
        } else {
          const back = performance.now();
          flushJoins(back);
          // The socket was empty just now. Members past their deadlines are accused only if this
          // receive came back on time: a late one means this thread was descheduled, and answers
          // may be waiting unread (nanomsg's own I/O thread starves with it).
          if (deadlines && !deadlines.observerLag(back - now - wait)) expireDue(back);
          await timedYield(() => ctx.yield());
        }
      }
      inRound = false;
      if (ctx.stopping) break;
      // Joins still held back by the eager interval are simply part of the round's result.
      pendingJoins = [];
      awaiting.clear();
      const endedAt = performance.now();
      // An extra round judges silence only as far as departures account for it (DepartureBudget).
      const silent = extra ? [...state.members].filter((m) => !state.fresh.has(m)).length : 0;
      const silenceCounts = !extra || departures.covers(silent, endedAt);
      if (!silenceCounts) unjudged = silent;
      const outcome = surveyorLogic.endRound(state, limits, endedAt, silenceCounts);
      departures.spend(outcome.left.length);
      state = outcome.state;
      farewells = [];
      for (const name of farewellTokens.keys()) if (!state.members.has(name)) farewellTokens.delete(name);
      if (deadlines) {
        deadlines.endRound();
        deadlines.retain(state.members);
      }
      ctx.count('rounds');
      ctx.count('answers', answers);
      // Refusals are reported once per round and reason, not per message: a hostile peer cannot flood the mailbox.
      for (const [code, r] of refused) {
        ctx.count('refused', r.count);
        ctx.emit({ type: 'refused', code, reason: r.reason, count: r.count });
      }
      refused.clear();
      if (duplicates.size > 0) {
        ctx.emit({ type: 'duplicates', round: state.round, names: [...duplicates].map(([name, count]) => ({ name, count })) });
        duplicates.clear();
      }
      if (outcome.changed) publishChange(outcome.joined, outcome.left, false);
      ctx.emit({
        type: 'round',
        round: state.round,
        answers,
        durationMs: performance.now() - started,
        sendMs: sentAt - started,
        lastAnswerMs: collectedMs(),
        members: state.members.size,
        ...(deadlines ? { localHealth: deadlines.localHealth, floorMs: Math.round(deadlines.floorMs) } : {}),
        trigger,
        ...(extra ? { unjudged, ...(askedMs !== undefined ? { askedMs, heldBy } : {}) } : {}),
        ...(announce ? { announced, hellos, byes, farewells: farewellDrops } : {}),
        ...(joinGate ? { joinSurveys, joinConnections: joinConnections() ?? -1 } : {}),
      });
      joinSurveys = 0;
      unjudged = 0;
      hellos = 0;
      byes = 0;
      farewellDrops = 0;
      gate?.roundEnded(performance.now(), extra ? changedThisRound : undefined, collectedMs());
      if (!extra) joinGate?.roundEnded();
      if (args.schedule === 'original') nextStart = performance.now() + args.pollTime;
    }
  } finally {
    join?.close();
    announce?.close();
    socket.close();
  }
}
