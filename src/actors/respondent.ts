/**
 * The respondent actor, a client's presence: a RESPONDENT socket dialled to one or more
 * surveyors that answers every survey with the client's service string — and, to a survey
 * of this library's servers naming a list the client does not hold, asks for that list.
 * Between surveys it receives in slices, or with waitOnReadiness does not run at all
 * (ActorContext.receive).
 */
import { answerTo, keyringOf, type Field } from '../admission.js';
import { decodeSurveyBody, encodeExtendedAnswer, FieldTag } from '../extensions.js';
import { encodeAnswer } from '../protocol.js';
import { NnSocket } from '../transport.js';
import type { ActorContext } from './context.js';
import type { RespondentArgs, RespondentOut } from './messages.js';

/** Survey bodies are empty in this protocol (a few dozen bytes extended); anything far larger is not a survey worth reading. */
export const RESPONDENT_RECV_MAX_SIZE = 64 * 1024;
export const RECONNECT_IVL_MS = 100;

// ------------------------------------------------------------------ logic (pure)

/**
 * The answer to one survey body: the plain name, unless the body is an extended survey
 * (GDX1) naming a list digest that `held` lacks and the client asks for lists — then the
 * name with FieldTag.needList. A body that is not ours, or does not parse, gets the plain
 * name: the original ignores the body, and so do we whenever it means nothing to us.
 */
export function answerFor(body: Uint8Array, plain: Buffer, needList: Buffer, asksForLists: boolean, held: ReadonlySet<string>): Buffer {
  return lacksList(body, asksForLists, held) ? needList : plain;
}

/** Whether `body` names a list digest that `held` lacks (and the client asks for lists at all). */
export function lacksList(body: Uint8Array, asksForLists: boolean, held: ReadonlySet<string>): boolean {
  if (!asksForLists) return false;
  let fields;
  try {
    fields = decodeSurveyBody(body);
  } catch {
    return false;
  }
  const digest = fields?.get(FieldTag.listDigest);
  return digest !== undefined && !held.has(digest.toString('hex'));
}

/** The answer field that asks for the list (state on connect). */
const NEED_LIST_FIELDS: readonly Field[] = [[FieldTag.needList, new Uint8Array(0)]];

// ------------------------------------------------------------------ effects

export async function runRespondent(args: RespondentArgs, ctx: ActorContext<RespondentOut>): Promise<void> {
  const socket = NnSocket.open('respondent', ctx.ledger);
  try {
    socket.setOption('rcvmaxsize', RESPONDENT_RECV_MAX_SIZE);
    // Redial a server that went away every 100 ms (nanomsg's default, made explicit): a
    // restarted server has its clients back within a round or two.
    socket.setOption('reconnectIvl', RECONNECT_IVL_MS);
    let held = new Set(args.heldDigests ?? []);
    let keyring = keyringOf(args.keys);
    ctx.onInbox((msg) => {
      if (msg.type === 'held-lists') held = new Set(msg.digests);
      // Rotation: sign with the new keyring's first key from the next survey on.
      else if (msg.type === 'rekey' && keyring) keyring = keyringOf(msg.keys) ?? keyring;
    });
    for (const url of args.urls) socket.connect(url);
    const answer = encodeAnswer(args.service);
    const needList = encodeExtendedAnswer(answer, NEED_LIST_FIELDS);
    ctx.markReady();
    let surveys = 0;
    while (!ctx.stopping) {
      const survey = await ctx.receive(socket);
      if (survey) {
        const asks = lacksList(survey, args.asksForLists ?? false, held);
        // Plain mode answers every survey (Go, nanocat, nng servers send empty ones);
        // secret mode answers only surveys with a nonce, MAC after any needList field.
        const reply = keyring ? answerTo(answer, keyring, survey, asks ? NEED_LIST_FIELDS : []) : asks ? needList : answer;
        if (!reply) ctx.count('unanswered');
        else if (socket.send(reply)) {
          surveys++;
          ctx.count('surveys');
          if (asks) ctx.count('neededList');
          ctx.emit({ type: 'answered', surveys });
        }
        await ctx.maybeYield();
      }
    }
  } finally {
    socket.close();
  }
}
