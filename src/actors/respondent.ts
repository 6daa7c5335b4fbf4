/**
 * The respondent actor, a client's presence: a RESPONDENT socket dialled to one or more
 * surveyors that answers every survey with the client's service string.
 */
import { answerTo, keyringOf } from '../admission.js';
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
    const name = encodeAnswer(args.service);
    let keyring = keyringOf(args.keys);
    ctx.inbox = (msg) => {
      // Rotation: sign with the new keyring's first key from the next survey on.
      if (msg.type === 'rekey' && keyring) keyring = keyringOf(msg.keys) ?? keyring;
    };
    ctx.markReady();
    let surveys = 0;
    while (!ctx.stopping) {
      // Plain mode ignores the body: every survey is answered with the service string.
      const survey = socket.recv(ctx.sliceMs);
      if (survey) {
        const answer = answerTo(name, keyring, survey);
        // Secret mode leaves a survey without a nonce (a plain or foreign server) unanswered.
        if (!answer) ctx.count('unanswered');
        else if (socket.send(answer)) {
          surveys++;
          ctx.count('surveys');
          ctx.emit({ type: 'answered', surveys });
        }
        await ctx.maybeYield();
      } else {
        await ctx.yield();
      }
    }
  } finally {
    socket.close();
  }
}
