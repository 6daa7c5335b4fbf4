/**
 * The join survey on the server's side, free of sockets and clocks (README "Join survey").
 *
 * A server with a join URL binds a second SURVEYOR socket there, to which only newcomers
 * are connected: a client given the join URL dials it beside the survey URL before its
 * hello, and drops it (nn_shutdown) once it has answered a survey. A hello from a name that
 * is not listed then makes the surveyor send a survey on the join socket at once, and the
 * newcomer's answer comes back over its own quiet pipe instead of waiting in nanomsg's fair
 * queue behind the answers of every listed member to a main round (at 1,000 co-located
 * members, ~30 ms on 2 cores). Its answer is checked as a main answer is (name, `accept`,
 * the keyring's MAC) and admits the member at once; membership is still decided by survey
 * answers alone (announcements stay hints, never membership).
 *
 * This gate decides when a join survey may go out, and when one is over:
 * - the hellos' names wait for the next join survey (at most MAX_JOIN_HELLOS at once);
 * - one join survey at a time (a SURVEYOR has one survey outstanding: a new one would drop
 *   the answers still on their way to the old one). It is over when every name that asked
 *   for it is listed (answered it, or a main round listed it), when every connection the
 *   join socket had as it went out has answered, or at its deadline (`collectMs`, the
 *   server's surveyTime) — so a respondent parked on the join socket that never answers
 *   holds back only hellos that no genuine newcomer follows;
 * - join surveys are spaced at least JOIN_MIN_INTERVAL_MS apart, times a backoff factor:
 *   one that admits nobody (what forged hellos get) doubles it, up to `maxSpacingMs` (the
 *   server's pollTime); one that admits someone resets it to 1; a scheduled round halves
 *   it (the penalty fades, as AnnounceGate's). So a flood of forged hellos costs at most
 *   one join survey per max(surveyTime, spacing), to the newcomers' pipes only, after a
 *   few doublings one per pollTime;
 * - a name whose join survey went out while the join socket had no connection at all (the
 *   newcomer's join pipe counted on its side, not yet on the server's: nanomsg counts a pipe
 *   once each side has read the other's SP header) gets one more join survey, once;
 * - names still not listed when their join survey is over (a client without the join URL,
 *   or whose pipe was not up yet) are handed back: the surveyor asks AnnounceGate for an
 *   extra main round for them, rate-limited as today.
 * Times are the caller's monotonic clock (performance.now()), in ms.
 */

/** The least spacing of two join surveys, ms (backoff 1): a join survey reaches only newcomers' pipes, so it costs little. */
export const JOIN_MIN_INTERVAL_MS = 2;
/** Names of hellos waiting for the next join survey, at most (a flood of distinct forged names is not queued without bound). */
export const MAX_JOIN_HELLOS = 1024;

/**
 * Whether the pipes that joined the survey socket between two readings of the connection
 * counters (`surveyRise`: the rise of its ACCEPTED counter) are newcomers that dialled the
 * join socket too (`joinRise`, the join socket's): then their hellos ask for join surveys,
 * and the connection hint 'joined' (src/connection-hints.ts) asks for no main round of
 * 1,000 answers while their join surveys run. A pipe without its join pipe (a Go, nanocat
 * or nng respondent, or a client without `joinUrl`) keeps the hint.
 */
export function joinsCoveredByJoinSocket(surveyRise: number, joinRise: number): boolean {
  return surveyRise > 0 && joinRise >= surveyRise;
}

/** One join survey under way. */
interface OpenJoinSurvey {
  sentAt: number;
  until: number;
  /** The join socket's connections as it went out (Infinity when the counter cannot be read). */
  expected: number;
  answers: number;
  /** The names whose hellos asked for it. */
  names: Set<string>;
  /** Whether it admitted anyone. */
  admitted: boolean;
}

/** What one finished join survey did (JoinGate.ended). */
export interface JoinSurveyOutcome {
  /** ms from its send to its end. */
  durationMs: number;
  answers: number;
  /** The join socket's connections as it went out (undefined when unknown). */
  connections: number | undefined;
  admitted: boolean;
  /** Names whose hellos asked for it and are still not listed: they need a main round. */
  unlisted: string[];
}

export class JoinGate {
  private waiting = new Set<string>();
  /** Names given their one more join survey (see the module comment), until it is over. */
  private retrying = new Set<string>();
  private open: OpenJoinSurvey | undefined;
  private lastSentAt = -Infinity;
  private backoff = 1;

  /** `collectMs`: a join survey's deadline (the server's surveyTime); `maxSpacingMs`: the longest spacing the backoff reaches (its pollTime). */
  constructor(
    private readonly collectMs: number,
    private readonly maxSpacingMs: number,
  ) {}

  /** A hello from `name`, not listed: it waits for the next join survey. */
  hello(name: string): void {
    if (this.waiting.size < MAX_JOIN_HELLOS) this.waiting.add(name);
  }

  /** The join survey under way went out to no connection: its names not listed wait for one more, once each. */
  private retry(o: OpenJoinSurvey, members: ReadonlySet<string>): string[] {
    const retried = this.retrying;
    this.retrying = new Set();
    const unlisted = [...o.names].filter((n) => !members.has(n));
    if (o.expected !== 0) return unlisted;
    const handedBack: string[] = [];
    for (const n of unlisted) {
      if (retried.has(n) || this.waiting.size >= MAX_JOIN_HELLOS) handedBack.push(n);
      else {
        this.waiting.add(n);
        this.retrying.add(n);
      }
    }
    return handedBack;
  }

  /** The spacing of join surveys now, ms. */
  spacingMs(): number {
    return Math.min(this.maxSpacingMs, JOIN_MIN_INTERVAL_MS * this.backoff);
  }

  /** Whether a join survey is under way. */
  get surveying(): boolean {
    return this.open !== undefined;
  }

  /**
   * When (ms) the next join survey may go out: Infinity when no hello waits for one; not
   * before the spacing after the last one went out, nor before the one under way is over.
   */
  dueAt(): number {
    if (this.waiting.size === 0) return Infinity;
    const spaced = this.lastSentAt + this.spacingMs();
    return this.open ? Math.max(spaced, this.open.until) : spaced;
  }

  /** The deadline of the join survey under way (Infinity when none). */
  get deadline(): number {
    return this.open?.until ?? Infinity;
  }

  /** A join survey went out at `now`, with `connections` connections on the join socket (undefined: unknown). */
  sent(now: number, connections: number | undefined): void {
    this.open = { sentAt: now, until: now + this.collectMs, expected: connections ?? Infinity, answers: 0, names: this.waiting, admitted: false };
    this.waiting = new Set();
    this.lastSentAt = now;
  }

  /** An answer to the join survey under way: `admitted` when it made a newcomer a member. */
  answered(admitted: boolean): void {
    if (!this.open) return;
    this.open.answers++;
    if (admitted) this.open.admitted = true;
  }

  /** Whether the join survey under way is over at `now` (see the module comment); false when none is. */
  isOver(now: number, members: ReadonlySet<string>): boolean {
    const o = this.open;
    if (!o) return false;
    if (now >= o.until || o.answers >= o.expected) return true;
    for (const n of o.names) if (!members.has(n)) return false;
    return true;
  }

  /** Ends the join survey under way at `now` (see isOver): what it did, and the backoff's step. Undefined when none was under way. */
  ended(now: number, members: ReadonlySet<string>): JoinSurveyOutcome | undefined {
    const o = this.open;
    if (!o) return undefined;
    this.open = undefined;
    if (o.admitted) this.backoff = 1;
    else if (JOIN_MIN_INTERVAL_MS * this.backoff < this.maxSpacingMs) this.backoff *= 2;
    return {
      durationMs: now - o.sentAt,
      answers: o.answers,
      connections: o.expected === Infinity ? undefined : o.expected,
      admitted: o.admitted,
      unlisted: this.retry(o, members),
    };
  }

  /** A scheduled round ended: the backoff halves (see the module comment). */
  roundEnded(): void {
    this.backoff = Math.max(1, this.backoff / 2);
  }
}
