/**
 * The publisher actor: a PUB socket that listens on the server's pub/sub URL and
 * publishes the whole member list (`a|b|c`) whenever the surveyor hands it a set that
 * differs from the last one it published. It receives nothing from the network.
 */
import { encodeMembers } from '../protocol.js';
import { NnSocket } from '../transport.js';
import type { ActorContext } from './context.js';
import type { PublisherArgs, PublisherOut } from './messages.js';

// ------------------------------------------------------------------ logic (pure)

export interface PublisherState {
  readonly lastPublished: ReadonlySet<string>;
}

export const publisherLogic = {
  initial(lastPublished: Iterable<string>): PublisherState {
    return { lastPublished: new Set(lastPublished) };
  },

  /** What to publish for an incoming set: nothing when it equals the last publication (no duplicates after a restart). */
  receive(state: PublisherState, members: readonly string[]): { state: PublisherState; publish: Buffer | null } {
    const next = new Set(members);
    if (next.size === state.lastPublished.size && members.every((m) => state.lastPublished.has(m))) {
      return { state, publish: null };
    }
    return { state: { lastPublished: next }, publish: encodeMembers(next) };
  },
};

// ------------------------------------------------------------------ effects

export async function runPublisher(args: PublisherArgs, ctx: ActorContext<PublisherOut>): Promise<void> {
  const socket = NnSocket.open('pub', ctx.ledger);
  try {
    socket.bind(args.url);
    let state = publisherLogic.initial(args.lastPublished);
    ctx.onPipe((msg) => {
      if (msg.type !== 'members') return;
      const step = publisherLogic.receive(state, msg.members);
      if (!step.publish) return;
      // PUB never blocks: a slow subscriber loses messages, the publisher does not wait (SP semantics).
      socket.send(step.publish);
      state = step.state;
      ctx.count('published');
      ctx.emit({ type: 'published', members: [...state.lastPublished].sort(), bytes: step.publish.byteLength });
    });
    ctx.markReady();
    await ctx.untilStopped();
  } finally {
    socket.close();
  }
}
