/**
 * Announcements on the server's side, free of sockets and clocks: what a hello or bye
 * (src/extensions.ts, `decodeAnnouncement`) asks of the surveyor, and when it may have it.
 *
 * Hints, never membership. An announcement can only make the surveyor run a survey
 * sooner, and (a bye) give one listed member a shorter answer deadline in that survey
 * (AnswerDeadlines.farewell); membership is still decided by survey answers alone. So:
 * - a hello from a name that is not listed asks for a round now; from a listed name it
 *   asks for nothing (it is there already);
 * - a bye from a listed name asks for a round now; it also marks the name for a short
 *   deadline in it when it carries the farewell token of the member's latest answer
 *   (FieldTag.farewellToken: 8 random bytes only the member, and whoever reads its
 *   connection, knows), so a forged bye costs one survey and removes nobody early. From a
 *   name that is not listed it asks for nothing;
 * - anything else (not an announcement, or a name decodeAnswer refuses) is dropped and
 *   counted as 'bad-announcement'.
 *
 * The rate limit grows with the member count N as the eager publications' spacing does,
 * and backs off when announcements lead nowhere. The spacing is
 * announceIntervalMs(N) = 10 ms + 1 ms per 100 members, times a backoff factor; the gap is
 * the spacing, or the previous round's collection time (its start to its last answer) when
 * longer. An asked-for round starts no sooner than 2 × the gap after the previous round
 * started, and not before that round ended; a round under way is cut short for one (once
 * every listed member has answered) when 2 × the gap has passed since its survey went
 * out, and the asked-for round then starts at once. (Measured from the previous start, not
 * its end: a bound of the same rate, without a second wait after a cut — a hello that
 * came during a round waited one spacing for the cut and one more after it, 11 ms at 100
 * members and 30–100 ms at 1,000, where the gap is the collection time.) An announced
 * round that changes nothing (what forged hellos and unproven byes get) doubles the
 * factor, up to a spacing of `pollTime`; one that lists or drops someone resets it to 1.
 * So genuine churn is surveyed at once (at most one survey per 2 × announceIntervalMs(N):
 * 45 a second at 100 members, 25 at 1,000, under 5 at 10,000), extra rounds keep the
 * surveyor and the members busy collecting at most half the time, and a flood of forged
 * announcements, after a few doublings, costs at most one extra survey per 2 × `pollTime`.
 *
 * A proven bye (one with the member's farewell token) is a departure foretold, and is
 * surveyed sooner: its gap is one interval announceIntervalMs(N), without the backoff and
 * the collection time. Proven byes are as many as departures:
 * a token earns this once (a spent one, up to MAX_SPENT_TOKENS remembered, makes an unproven
 * bye), so replaying a member's bye buys neither rounds nor a second short deadline.
 */
import { decodeAnnouncement, FieldTag, type AnnouncementKindName } from './extensions.js';
import { decodeAnswer } from './protocol.js';

/** Announce sockets per client at most (given and learnt): one per server. */
export const MAX_ANNOUNCE_URLS = 4;

/** The least spacing of announced rounds, ms... */
export const ANNOUNCE_MIN_INTERVAL_MS = 10;
/** ...plus 1 ms per this many members (a survey's cost grows with the members who answer it). */
export const ANNOUNCE_MEMBERS_PER_MS = 100;

/** The rate limit's spacing with `members` members, ms (see the module comment). */
export function announceIntervalMs(members: number): number {
  return ANNOUNCE_MIN_INTERVAL_MS + members / ANNOUNCE_MEMBERS_PER_MS;
}

/** Farewell tokens remembered as spent at most (the oldest forgotten first): far more than the byes of one rate-limited round. */
export const MAX_SPENT_TOKENS = 4096;

/** What one received message did. */
export type AnnouncementOutcome =
  /** `farewell`: a bye with the member's token (its short deadline applies). */
  | { kind: AnnouncementKindName; name: string; asksForRound: boolean; farewell: boolean }
  | { kind: 'refused'; reason: string };

/**
 * The surveyor's announcement state: whether a round is asked for, and which members said
 * bye. Times are the caller's monotonic clock (performance.now()), in ms.
 */
export class AnnounceGate {
  private wanted = false;
  private readonly farewells = new Set<string>();
  private lastRoundEnd = -Infinity;
  private lastRoundStart = -Infinity;
  /** How long the last round took to collect its answers, ms: part of the gap (see gapMs). */
  private lastCollectMs = 0;
  private backoff = 1;
  /** Farewell tokens already honoured (hex), oldest first. */
  private readonly spent = new Set<string>();
  /** Members whose farewell was carried over once because they answered after it was taken (oldest first). */
  private readonly carried = new Set<string>();

  /** `maxSpacingMs`: the longest spacing the backoff reaches (the server's pollTime), ms. */
  constructor(
    private readonly maxNameBytes: number,
    private readonly maxSpacingMs = Infinity,
  ) {}

  /** The spacing of announced rounds now, with `members` members, ms (see the module comment). */
  spacingMs(members: number): number {
    return Math.min(this.maxSpacingMs, announceIntervalMs(members) * this.backoff);
  }

  /** Whether an announcement asks for a round that has not started yet. */
  get asksForRound(): boolean {
    return this.wanted;
  }

  /**
   * Takes one message off the announce socket; `members` is the current member set, and
   * `tokenOf` gives the farewell token of a member's latest answer (undefined: none seen).
   * `joinSurvey`: the server has a join socket (src/join-survey.ts), so a hello asks for a
   * join survey, not for a round here (`asksForRound` still says it asks for a survey; the
   * caller hands its name to JoinGate, which hands it back if the join survey lists nobody).
   */
  take(data: Uint8Array, members: ReadonlySet<string>, tokenOf: (name: string) => Uint8Array | undefined, joinSurvey = false): AnnouncementOutcome {
    const announcement = decodeAnnouncement(data);
    if (!announcement) return { kind: 'refused', reason: `not an announcement (${data.byteLength} bytes without the GDA1 magic and a known kind)` };
    const decoded = decodeAnswer(announcement.name, this.maxNameBytes);
    if (!decoded.ok) return { kind: 'refused', reason: `${announcement.kind} with a bad name: ${decoded.reason}` };
    const listed = members.has(decoded.name);
    const asksForRound = announcement.kind === 'hello' ? !listed : listed;
    if (asksForRound && !(joinSurvey && announcement.kind === 'hello')) this.wanted = true;
    let farewell = false;
    if (announcement.kind === 'bye' && listed) {
      const known = tokenOf(decoded.name);
      const given = announcement.fields.get(FieldTag.farewellToken);
      farewell = known !== undefined && given !== undefined && Buffer.compare(known, given) === 0 && !this.spent.has(Buffer.from(given).toString('hex'));
      if (farewell) {
        this.farewells.add(decoded.name);
        this.spend(given!);
      }
    }
    return { kind: announcement.kind, name: decoded.name, asksForRound, farewell };
  }

  /** Asks for a round, rate-limited as an announcement's: a connection hint (src/connection-hints.ts). */
  ask(): void {
    this.wanted = true;
  }

  /**
   * The least time from one round's start (or survey's send) to an asked-for round's start,
   * halved, ms: for a proven bye one interval (no backoff); otherwise the spacing (with the
   * backoff), or `collectMs` (the round's collection time) when longer. See the module comment.
   */
  private gapMs(members: number, collectMs: number): number {
    return this.farewells.size > 0 ? announceIntervalMs(members) : Math.max(this.spacingMs(members), collectMs);
  }

  /**
   * When (ms) an asked-for round may start with `members` members: Infinity when none is
   * asked for. 2 × the gap after the last round started (the gap: see gapMs, with the last
   * round's collection time), and not before it ended.
   */
  dueAt(members: number): number {
    if (!this.wanted) return Infinity;
    return Math.max(this.lastRoundEnd, this.lastRoundStart + 2 * this.gapMs(members, this.lastCollectMs));
  }

  /**
   * What holds an asked-for round back at `now` (see dueAt): 'spacing' (the rate limit's
   * spacing), 'collect' (the last round's collection time, when longer), or undefined when
   * it may start now (or none is asked for).
   */
  heldBy(now: number, members: number): 'spacing' | 'collect' | undefined {
    if (!this.wanted || now >= this.dueAt(members)) return undefined;
    return this.farewells.size === 0 && this.lastCollectMs > this.spacingMs(members) ? 'collect' : 'spacing';
  }

  /** Whether a proven bye waits for the next round (its gap is one interval: see the module comment). */
  get farewellWaiting(): boolean {
    return this.farewells.size > 0;
  }

  /**
   * Whether the round under way, whose survey went out at `sentAt`, may end now so that the
   * asked-for round starts at once: only once every listed member has answered it
   * (`allAnswered`; nothing is left to learn from it but newcomers, who answer the next
   * survey) and 2 × the gap after its send (see gapMs; `collectMs`: this round's collection
   * time so far, from its start to its last answer).
   */
  mayCut(allAnswered: boolean, sentAt: number, now: number, members: number, collectMs = 0): boolean {
    return allAnswered && now >= this.cutAt(sentAt, members, collectMs);
  }

  /** From when (ms) the round under way, sent at `sentAt`, may be cut once all have answered (see mayCut); Infinity when nothing is asked for. */
  cutAt(sentAt: number, members: number, collectMs = 0): number {
    return this.wanted ? sentAt + 2 * this.gapMs(members, collectMs) : Infinity;
  }

  /** A round starts at `now`: the request is served. Returns the members that said bye, for their short deadlines in it. */
  roundStarted(now: number): string[] {
    this.wanted = false;
    this.lastRoundStart = now;
    const names = [...this.farewells];
    this.farewells.clear();
    return names;
  }

  /**
   * Members that said bye since the round under way started and have not answered it
   * (`answered`): they get their short deadline in it. Those that answered it before their
   * bye are kept for the next round.
   */
  takeFarewells(answered: (name: string) => boolean): string[] {
    const names: string[] = [];
    for (const n of this.farewells) {
      if (answered(n)) continue;
      names.push(n);
      this.farewells.delete(n);
    }
    return names;
  }

  /**
   * A member taken into the round under way by takeFarewells answered it after all: its answer
   * was read after its bye (they travel on two connections), so that survey proves nothing.
   * It keeps its farewell for the next round — once per name (a live member named in a bye
   * that carries its token answers every round, and must not be surveyed again and again).
   */
  answeredAfterFarewell(name: string): void {
    if (this.carried.has(name)) return;
    this.carried.add(name);
    if (this.carried.size > MAX_SPENT_TOKENS) this.carried.delete(this.carried.values().next().value!);
    this.farewells.add(name);
    this.wanted = true;
  }

  /**
   * A round ended at `now`. For an announced one, `changed` says whether it listed or dropped
   * anyone: if not, the spacing doubles (up to maxSpacingMs); if so, it is back to one interval.
   * `collectMs`: how long the round took to collect its answers (from its start to its last
   * answer, ms): the next asked-for round starts no sooner than 2 × that after this one
   * started (see gapMs), so that extra rounds keep the surveyor and the members busy at most
   * about half the time (at 10,000 members, answers take ~0.5–1 s to arrive: surveying back
   * to back saturates a small machine, and answers then come after the deadline).
   * A scheduled round (`changed` undefined) halves the backoff: the penalty fades. Without
   * that, a spacing grown to pollTime would never let an asked-for round come before the
   * schedule's (a fixed-rate round starts pollTime after the previous one started), no
   * asked-for round would ever run again to reset it, and announcements and connection
   * hints would stay off for good after one burst of useless rounds. So a flood still costs
   * at most about one extra survey per 2 × pollTime, and ~8 scheduled rounds after it ends
   * the spacing is back to one interval.
   */
  roundEnded(now: number, changed?: boolean, collectMs = 0): void {
    this.lastRoundEnd = now;
    this.lastCollectMs = collectMs;
    if (changed === true) this.backoff = 1;
    else if (changed === false && announceIntervalMs(0) * this.backoff < this.maxSpacingMs) this.backoff *= 2;
    else if (changed === undefined) this.backoff = Math.max(1, this.backoff / 2);
  }

  private spend(token: Uint8Array): void {
    this.spent.add(Buffer.from(token).toString('hex'));
    if (this.spent.size > MAX_SPENT_TOKENS) this.spent.delete(this.spent.values().next().value!);
  }
}
