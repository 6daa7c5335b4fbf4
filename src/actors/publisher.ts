/**
 * The publisher actor: a PUB socket that listens on the server's pub/sub URL and
 * publishes the whole member list (`a|b|c`) whenever the surveyor hands it a set that
 * differs from the last one it published; and, as a heartbeat, republishes the unchanged
 * list once a period has passed without a publication. It receives nothing from the network.
 */
import { keyringOf } from '../admission.js';
import { ListSealer, type KeyMaterial } from '../keyring.js';
import { encodeMembers } from '../protocol.js';
import { NnSocket } from '../transport.js';
import type { ActorContext } from './context.js';
import type { PublisherArgs, PublisherOut } from './messages.js';

// ------------------------------------------------------------------ logic (pure)

export interface PublisherState {
  readonly lastPublished: ReadonlySet<string>;
  /** The wire bytes of lastPublished, encoded once per change and reused by heartbeats. */
  readonly encoded: Buffer;
}

/** The automatic heartbeat's shortest period, in ms: small lists go out this often. */
export const HEARTBEAT_BASE_MS = 2_000;
/** The automatic heartbeat's longest period, in ms: the bound on a late subscriber's wait. */
export const HEARTBEAT_MAX_MS = 10_000;
/**
 * The automatic heartbeat's byte budget per subscriber, in bytes per second: a list is
 * republished no more often than its size allows within this budget (but at least every
 * HEARTBEAT_MAX_MS, so lists over 320 KiB exceed it).
 */
export const HEARTBEAT_BUDGET_BYTES_PER_S = 32 * 1024;

/**
 * The heartbeat period for a list of `bytes` bytes: `republishMs` itself when it is a number
 * (> 0), or with 'auto' max(2 s, bytes / 32 KiB/s) capped at 10 s — e.g. 2 s up to 64 KiB
 * (about 3,000 names of 20 bytes), 6.4 s at 10,000 such names, 10 s beyond 320 KiB.
 */
export function heartbeatPeriodMs(republishMs: number | 'auto', bytes: number): number {
  if (republishMs !== 'auto') return republishMs;
  return Math.min(HEARTBEAT_MAX_MS, Math.max(HEARTBEAT_BASE_MS, (bytes * 1000) / HEARTBEAT_BUDGET_BYTES_PER_S));
}

/**
 * A period grows by at most this factor from one heartbeat to the next: subscribers'
 * failure detectors allow a silence of at least 2.3 × the period they learned (src/merge.ts),
 * so a list that suddenly grows (a mass join) must not stretch the period past that at once.
 */
export const HEARTBEAT_MAX_GROWTH = 1.5;

/** The next period: `target`, but grown from `previous` by at most HEARTBEAT_MAX_GROWTH. */
export function nextHeartbeatMs(previous: number | undefined, target: number): number {
  return previous === undefined ? target : Math.min(target, previous * HEARTBEAT_MAX_GROWTH);
}

export const publisherLogic = {
  initial(lastPublished: Iterable<string>): PublisherState {
    const set = new Set(lastPublished);
    return { lastPublished: set, encoded: encodeMembers(set) };
  },

  /** What to publish for an incoming set: nothing when it equals the last publication (no duplicates after a restart). */
  receive(state: PublisherState, members: readonly string[]): { state: PublisherState; publish: Buffer | null } {
    const next = new Set(members);
    if (next.size === state.lastPublished.size && members.every((m) => state.lastPublished.has(m))) {
      return { state, publish: null };
    }
    const encoded = encodeMembers(next);
    return { state: { lastPublished: next, encoded }, publish: encoded };
  },
};

// ------------------------------------------------------------------ effects

/**
 * The last step before a list goes on the wire: in shared-secret mode it is sealed (a new
 * IV and sequence number each time, heartbeats included); in plain mode it goes as it is.
 */
export function listSealing(args: Pick<PublisherArgs, 'keys'>): { seal(list: Buffer): Buffer; rekey(keys: KeyMaterial[]): void } {
  const keyring = keyringOf(args.keys);
  if (!keyring) return { seal: (list) => list, rekey: () => {} };
  const sealer = new ListSealer(keyring);
  return { seal: (list) => sealer.seal(list), rekey: (keys) => sealer.use(keyringOf(keys) ?? keyring) };
}

export async function runPublisher(args: PublisherArgs, ctx: ActorContext<PublisherOut>): Promise<void> {
  const socket = NnSocket.open('pub', ctx.ledger);
  let heartbeat: NodeJS.Timeout | undefined;
  try {
    socket.bind(args.url);
    let state = publisherLogic.initial(args.lastPublished);
    // Secret mode seals every send (changes, heartbeats, republications on request), each
    // with its own sequence number; the survey's list digest names the unsealed list.
    const sealing = listSealing(args);
    const seal = sealing.seal;
    ctx.onInbox((msg) => {
      if (msg.type === 'rekey') sealing.rekey(msg.keys);
    });
    // The heartbeat: late subscribers get the list within one period, and a subscriber of
    // several servers can tell a silent server from a dead one. Same bytes as a change. It
    // runs a full period after the *last* publication of any kind, so the gaps between
    // publications never exceed a period and a heartbeat always comes exactly one period
    // after the publication before it — the interval a subscriber's failure detector learns.
    let period: number | undefined;
    const armHeartbeat = () => {
      clearTimeout(heartbeat);
      if (args.republishMs === 0 || ctx.stopping) return;
      period = nextHeartbeatMs(period, heartbeatPeriodMs(args.republishMs, state.encoded.byteLength));
      heartbeat = setTimeout(() => republish('heartbeat'), period);
    };
    const republish = (why: 'heartbeat' | 'asked') => {
      const wire = seal(state.encoded);
      if (socket.send(wire)) {
        ctx.count(why === 'heartbeat' ? 'republished' : 'republishedOnRequest');
        ctx.emit({ type: 'published', heartbeat: true, bytes: wire.byteLength });
      }
      armHeartbeat();
    };
    ctx.onPipe((msg) => {
      if (msg.type === 'republish') {
        // A client does not hold the current list (it just connected): send it now.
        republish('asked');
        return;
      }
      const step = publisherLogic.receive(state, msg.members);
      if (!step.publish) return;
      // PUB never blocks: a slow subscriber loses messages, the publisher does not wait (SP semantics).
      const wire = seal(step.publish);
      socket.send(wire);
      state = step.state;
      ctx.count('published');
      ctx.emit({ type: 'published', heartbeat: false, members: [...state.lastPublished].sort(), bytes: wire.byteLength });
      armHeartbeat();
    });
    armHeartbeat();
    ctx.markReady();
    await ctx.untilStopped();
  } finally {
    clearTimeout(heartbeat);
    socket.close();
  }
}
