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

/** The last reading, so that each new one is compared with it (the first reading is only a baseline). */
export class ConnectionWatch {
  private last: ConnectionCounts | undefined;
  /** Hints taken so far, by kind. */
  readonly hints = { left: 0, joined: 0 };

  /** Takes a reading; the hint since the previous one (none for the first). */
  observe(counts: ConnectionCounts, members: number): ConnectionHint | undefined {
    const before = this.last;
    this.last = { ...counts };
    if (!before) return undefined;
    const hint = connectionHint(before, counts, members);
    if (hint) this.hints[hint]++;
    return hint;
  }
}
