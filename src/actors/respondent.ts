/**
 * The respondent actor, a client's presence: a RESPONDENT socket dialled to one or more
 * surveyors that answers every survey with the client's service string. Between surveys
 * it receives in slices, or with waitOnReadiness does not run at all (ActorContext.receive).
 */
import { encodeAnswer } from '../protocol.js';
import { NnSocket } from '../transport.js';
import type { ActorContext } from './context.js';
import type { RespondentArgs, RespondentOut } from './messages.js';

/** Survey bodies are empty in this protocol; anything far larger is not a survey worth reading. */
export const RESPONDENT_RECV_MAX_SIZE = 64 * 1024;
export const RECONNECT_IVL_MS = 100;

export async function runRespondent(args: RespondentArgs, ctx: ActorContext<RespondentOut>): Promise<void> {
  const socket = NnSocket.open('respondent', ctx.ledger);
  try {
    socket.setOption('rcvmaxsize', RESPONDENT_RECV_MAX_SIZE);
    // Redial a server that went away every 100 ms (nanomsg's default, made explicit): a
    // restarted server has its clients back within a round or two.
    socket.setOption('reconnectIvl', RECONNECT_IVL_MS);
    for (const url of args.urls) socket.connect(url);
    const answer = encodeAnswer(args.service);
    ctx.markReady();
    let surveys = 0;
    while (!ctx.stopping) {
      // The body is ignored: every survey is answered with the service string.
      const survey = await ctx.receive(socket);
      if (survey) {
        if (socket.send(answer)) {
          surveys++;
          ctx.count('surveys');
          ctx.emit({ type: 'answered', surveys });
        }
        await ctx.maybeYield();
      }
    }
  } finally {
    await ctx.unwatch(socket);
    socket.close();
  }
}
