/**
 * Connection hints, free of sockets and clocks: what a change in the SURVEYOR socket's
 * connection counters (nanomsg's nn_get_statistic, NnSocket.statistic) asks of the surveyor.
 *
 * When a member process dies, its kernel closes the TCP connection and nanomsg tears the
 * pipe down at once: the socket's BROKEN counter rises and CURRENT falls, long before the
 * next survey would miss the member's answer. When a respondent connects, CURRENT rises once
 * its pipe has joined the socket (nanomsg's nn_sock_add, after the SP header exchange), so a
 * survey sent from then on reaches it. Either asks for a round now, through the same
 * rate-limited path as announcements (src/announcements.ts, AnnounceGate: a spacing that
 * grows with the member count and doubles whenever such a round changes nothing, up to
 * pollTime).
 *
 * Hints, never membership: a hint only makes a survey run sooner. It names nobody — a
 * counter says that SOME connection opened or closed, not whose — so it adds nobody and
 * removes nobody; the survey's answers (and each member's answer deadline) decide as always.
 * A peer that connects and disconnects in a loop costs surveys, at most what the gate allows.
 */

/** How often the surveyor reads the counters while it waits for the next round, ms (three lock-protected reads, no system call). */
export const CONNECTION_HINT_POLL_MS = 20;

/** The counters a hint is read from (NnSocket.statistic: `current`, `broken`, `dropped`). */
export interface ConnectionCounts {
  /** Pipes in the socket now (NN_STAT_CURRENT_CONNECTIONS). */
  current: number;
  /** Established connections that failed, e.g. the peer closed or died (NN_STAT_BROKEN_CONNECTIONS), since the socket opened. */
  broken: number;
  /** Connections dropped before or while being set up (NN_STAT_DROPPED_CONNECTIONS), since the socket opened. */
  dropped: number;
}

/** 'left': some connection closed (a member may be gone); 'joined': a pipe joined (a newcomer may answer). */
export type ConnectionHint = 'left' | 'joined';

/**
 * The hint between two readings of the counters, or undefined: 'left' when a connection broke
 * or was dropped, or fewer pipes are in the socket (a close wins over an open seen in the same
 * reading: both ask for the same round); 'joined' when more pipes are. A 'left' asks for a
 * round only when there are members (`members` > 0): with none, nobody can have left.
 */
export function connectionHint(before: ConnectionCounts, after: ConnectionCounts, members: number): ConnectionHint | undefined {
  const closed = after.broken > before.broken || after.dropped > before.dropped || after.current < before.current;
  if (closed && members > 0) return 'left';
  if (after.current > before.current) return 'joined';
  return undefined;
}

/**
 * How many established connections closed between two readings: the BROKEN counter's rise,
 * or the fall of CURRENT if that is larger (a pipe removed without counting as broken).
 * Connections dropped while being set up are not counted: no member answered through them.
 */
export function closedConnections(before: ConnectionCounts, after: ConnectionCounts): number {
  return Math.max(0, after.broken - before.broken, before.current - after.current);
}

/** The last reading, so that each new one is compared with it (the first reading is only a baseline). */
export class ConnectionWatch {
  private last: ConnectionCounts | undefined;
  /** Hints taken so far, by kind. */
  readonly hints = { left: 0, joined: 0 };
  /** Established connections that closed between the last two readings (closedConnections). */
  closed = 0;

  /** Takes a reading; the hint since the previous one (none for the first). */
  observe(counts: ConnectionCounts, members: number): ConnectionHint | undefined {
    const before = this.last;
    this.last = { ...counts };
    this.closed = before ? closedConnections(before, counts) : 0;
    if (!before) return undefined;
    const hint = connectionHint(before, counts, members);
    if (hint) this.hints[hint]++;
    return hint;
  }
}

/**
 * What an EXTRA round (one asked for by an announcement or a connection hint, before the
 * schedule's time) may conclude from silence. Such a round is asked for because somebody is
 * thought to have left; it comes sooner and more often than the schedule's, so under load
 * it is also where a live member that is merely slow would be accused. So an extra round
 * drops silent members only as many as departures account for: the established
 * connections seen to close (closedConnections) that no drop has matched yet, each counted
 * for `ttlMs` (the server's pollTime + surveyTime: a round after that is a scheduled one,
 * judged as always). If more members are silent than that, the silence is not explained by
 * departures and the round drops none of them for it; they are judged by the next scheduled
 * round, which is exactly the adaptive rule without hints. Every drop (a farewell, an early
 * one, at a round's end, in any round) spends one departure, so the close of a member that
 * was dropped another way does not license a second drop. A member named in a proven bye
 * (announcements: a farewell) is accounted for by its bye and needs no departure.
 *
 * A peer that opens and closes SP connections in a loop raises the count; it cannot drop a
 * live member that answers, only let an extra round judge a silent one as the schedule would.
 * Pure: `now` is the caller's monotonic clock (ms).
 */
export class DepartureBudget {
  /** When each unmatched departure was seen, oldest first. */
  private readonly seen: number[] = [];

  constructor(private readonly ttlMs: number) {}

  /** `count` established connections closed, seen at `now`. */
  add(count: number, now: number): void {
    for (let i = 0; i < count; i++) this.seen.push(now);
  }

  /** Departures seen within the last ttlMs and not yet matched by a drop. */
  available(now: number): number {
    while (this.seen.length > 0 && this.seen[0]! < now - this.ttlMs) this.seen.shift();
    return this.seen.length;
  }

  /** Whether an extra round may drop `silent` members for their silence. */
  covers(silent: number, now: number): boolean {
    return silent <= this.available(now);
  }

  /** `count` members were dropped: their departures are matched (oldest first). */
  spend(count: number): void {
    this.seen.splice(0, count);
  }
}
