/**
 * The subscriber actor: a SUB socket dialled to a publisher, subscribed to everything,
 * that decodes each published list and forwards it to its owner. Between lists it
 * receives in slices, or with waitOnReadiness does not run at all (ActorContext.receive).
 */
import { decodeMembers } from '../protocol.js';
import { NnSocket } from '../transport.js';
import type { ActorContext } from './context.js';
import { RECONNECT_IVL_MS } from './respondent.js';
import type { SubscriberArgs, SubscriberOut } from './messages.js';

export async function runSubscriber(args: SubscriberArgs, ctx: ActorContext<SubscriberOut>): Promise<void> {
  const socket = NnSocket.open('sub', ctx.ledger);
  try {
    // Lists can be large (10,000 members); nanomsg's 1 MiB default would drop them and the connection with them.
    socket.setOption('rcvmaxsize', args.maxListBytes);
    socket.setOption('reconnectIvl', RECONNECT_IVL_MS);
    socket.connect(args.url);
    ctx.markReady();
    while (!ctx.stopping) {
      const data = await ctx.receive(socket);
      if (data) {
        let members: string[];
        try {
          members = decodeMembers(data);
        } catch (e) {
          ctx.count('refused');
          ctx.emit({ type: 'refused', reason: (e as Error).message, count: 1 });
          await ctx.maybeYield();
          continue;
        }
        ctx.count('lists');
        ctx.emit({ type: 'list', members });
        await ctx.maybeYield();
      }
    }
  } finally {
    await ctx.unwatch(socket);
    socket.close();
  }
}
