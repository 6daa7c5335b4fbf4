/**
 * The surveyor actor: a SURVEYOR socket that listens on the server's survey URL and,
 * every round, sends an empty survey and collects the answers until the survey
 * deadline. A round whose set differs from the current one replaces it and hands the
 * new set to the publisher over the sibling pipe.
 */
import { performance } from 'node:perf_hooks';
import { decodeAnswer, diffMembers, SURVEY_BODY, type RefusalReason } from '../protocol.js';
import { NnSocket } from '../transport.js';
import type { ActorContext } from './context.js';
import type { SurveyorArgs, SurveyorOut } from './messages.js';

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
}

export interface SurveyorLimits {
  maxNameBytes: number;
  maxMembers: number;
  /** A member is dropped after missing this many consecutive rounds (1 = the original). */
  missedRounds: number;
}

export type AnswerOutcome = { kind: 'counted' } | { kind: 'duplicate' } | { kind: 'refused'; code: RefusalReason; reason: string };

export interface RoundOutcome {
  state: SurveyorState;
  joined: string[];
  left: string[];
  changed: boolean;
}

/** The surveyor's transitions, free of sockets and clocks so they can be tested alone. */
export const surveyorLogic = {
  initial(members: Iterable<string>, graceUntil = 0): SurveyorState {
    return { members: new Set(members), fresh: new Set(), tally: { incumbents: 0 }, misses: new Map(), round: 0, graceUntil };
  },

  beginRound(state: SurveyorState): SurveyorState {
    return { ...state, fresh: new Set(), tally: { incumbents: 0 }, round: state.round + 1 };
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
    if (state.fresh.has(name)) return { kind: 'duplicate' };
    const incumbent = state.members.has(name);
    const reserved = incumbent ? 0 : state.members.size - state.tally.incumbents;
    if (state.fresh.size + reserved >= limits.maxMembers) {
      return { kind: 'refused', code: 'member-cap', reason: `member cap of ${limits.maxMembers} reached` };
    }
    state.fresh.add(name);
    if (incumbent) state.tally.incumbents++;
    return { kind: 'counted' };
  },

  /**
   * Ends the round. Members that answered stay or join; a listed member that did not
   * answer is dropped once it has missed `missedRounds` rounds in a row (not counted
   * during the restart grace). The set changes only if someone joined or was dropped.
   */
  endRound(state: SurveyorState, limits: SurveyorLimits, now: number): RoundOutcome {
    const counting = now >= state.graceUntil;
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
      state: { members: changed ? next : state.members, fresh: new Set(), tally: { incumbents: 0 }, misses, round: state.round, graceUntil: state.graceUntil },
      joined,
      left,
      changed,
    };
  },
};

/**
 * After a restart the respondents need to notice the old connection died and dial
 * again (nanomsg redials every NN_RECONNECT_IVL, 100 ms by default): until then their
 * silence is not a departure.
 */
export const RESTART_GRACE_MS = 500;

// ------------------------------------------------------------------ effects

/** Answers above this many bytes close the sender's connection (nanomsg drops them); smaller ones are refused and counted. */
export function surveyorRecvMaxSize(maxNameBytes: number): number {
  return maxNameBytes + 1024;
}

export async function runSurveyor(args: SurveyorArgs, ctx: ActorContext<SurveyorOut>): Promise<void> {
  const socket = NnSocket.open('surveyor', ctx.ledger);
  try {
    socket.setOption('rcvmaxsize', surveyorRecvMaxSize(args.maxNameBytes));
    socket.setSurveyDeadline(args.surveyTime);
    socket.bind(args.url);
    const limits: SurveyorLimits = { maxNameBytes: args.maxNameBytes, maxMembers: args.maxMembers, missedRounds: args.missedRounds };
    let state = surveyorLogic.initial(args.initialMembers, args.initialMembers.length > 0 ? performance.now() + RESTART_GRACE_MS : 0);
    // A new pipe means a (re)started publisher: tell it the current set; it publishes only if that differs.
    const sendMembers = () => ctx.sendPipe({ type: 'members', members: [...state.members] });
    ctx.onPipeAttached = sendMembers;
    if (ctx.hasPipe) sendMembers();
    ctx.markReady();

    // Refusals of the round under way, by reason (the latest detail of each).
    const refused = new Map<RefusalReason, { count: number; reason: string }>();
    // The original waits PollTime before each survey; a period is PollTime + the survey.
    while (await ctx.sleep(args.pollTime)) {
      state = surveyorLogic.beginRound(state);
      const started = performance.now();
      if (!socket.send(SURVEY_BODY)) continue;
      const surveyEnd = started + args.surveyTime;
      let lastAnswer = started;
      let answers = 0;
      for (;;) {
        // Like the original's per-receive deadline: stop after recvDeadline without an answer, or when the survey expires.
        const now = performance.now();
        const remaining = Math.min(surveyEnd, lastAnswer + args.recvDeadline) - now;
        if (remaining <= 0 || ctx.stopping) break;
        let data: Buffer | null;
        try {
          data = socket.recv(Math.min(remaining, ctx.sliceMs));
        } catch (e) {
          if ((e as { code?: string }).code === 'EFSM') break; // the survey expired
          throw e;
        }
        if (data) {
          answers++;
          lastAnswer = performance.now();
          const outcome = surveyorLogic.answer(state, data, limits);
          if (outcome.kind === 'refused') {
            const r = refused.get(outcome.code);
            if (r) {
              r.count++;
              r.reason = outcome.reason;
            } else refused.set(outcome.code, { count: 1, reason: outcome.reason });
          }
          await ctx.maybeYield();
        } else {
          await ctx.yield();
        }
      }
      if (ctx.stopping) break;
      const outcome = surveyorLogic.endRound(state, limits, performance.now());
      state = outcome.state;
      ctx.count('rounds');
      ctx.count('answers', answers);
      if (outcome.changed) {
        ctx.count('changes');
        sendMembers();
      }
      // Refusals are reported once per round and reason, not per message: a hostile peer cannot flood the mailbox.
      for (const [code, r] of refused) {
        ctx.count('refused', r.count);
        ctx.emit({ type: 'refused', code, reason: r.reason, count: r.count });
      }
      refused.clear();
      ctx.emit({
        type: 'round',
        round: state.round,
        answers,
        durationMs: performance.now() - started,
        joined: outcome.joined,
        left: outcome.left,
        ...(outcome.changed ? { members: [...state.members].sort() } : {}),
      });
    }
  } finally {
    socket.close();
  }
}
