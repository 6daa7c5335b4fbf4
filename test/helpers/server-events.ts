/** A server's change and round events, recorded in the order they were emitted (tests that reason about rounds). */
import type { MembershipChange, RoundInfo, Server } from '../../src/index.js';

export type ServerEvent = { kind: 'change'; change: MembershipChange } | { kind: 'round'; round: RoundInfo };

/** Every change and round event of `server` from now on, in the order they were emitted (the array grows). */
export function recordServerEvents(server: Server): ServerEvent[] {
  const events: ServerEvent[] = [];
  server.on('change', (change) => events.push({ kind: 'change', change }));
  server.on('round', (round) => events.push({ kind: 'round', round }));
  return events;
}
