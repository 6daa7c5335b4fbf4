/**
 * The publisher actor: a PUB socket that listens on the server's pub/sub URL and
 * publishes the whole member list (`a|b|c`) whenever the surveyor hands it a set that
 * differs from the last one it published. It receives nothing from the network.
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
    const sealing = listSealing(args);
    const seal = sealing.seal;
    ctx.inbox = (msg) => {
      if (msg.type === 'rekey') sealing.rekey(msg.keys);
    };
    ctx.onPipe((msg) => {
      if (msg.type !== 'members') return;
      const step = publisherLogic.receive(state, msg.members);
      if (!step.publish) return;
      // PUB never blocks: a slow subscriber loses messages, the publisher does not wait (SP semantics).
      const wire = seal(step.publish);
      socket.send(wire);
      state = step.state;
      ctx.count('published');
      ctx.emit({ type: 'published', heartbeat: false, members: [...state.lastPublished].sort(), bytes: wire.byteLength });
    });
    // The heartbeat: late subscribers get the list within one period, and a subscriber of
    // several servers can tell a silent server from a dead one. Same bytes as a change.
    if (args.republishMs > 0) {
      heartbeat = setInterval(() => {
        const wire = seal(state.encoded);
        if (!socket.send(wire)) return;
        ctx.count('republished');
        ctx.emit({ type: 'published', heartbeat: true, bytes: wire.byteLength });
      }, args.republishMs);
    }
    ctx.markReady();
    await ctx.untilStopped();
  } finally {
    clearInterval(heartbeat);
    socket.close();
  }
}
