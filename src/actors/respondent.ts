/**
 * The respondent actor, a client's presence: a RESPONDENT socket dialled to one or more
 * surveyors that answers every survey with the client's service string — and, to a survey
 * of this library's servers naming a list the client does not hold, asks for that list.
 * Between surveys it does not run at all (waiting on readiness, the default), or receives
 * in slices (ActorContext.receive).
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { answerTo, keyringOf, type Field } from '../admission.js';
import { MAX_ANNOUNCE_URLS } from '../announcements.js';
import { decodeSurveyBody, encodeAnnouncement, FAREWELL_TOKEN_BYTES, encodeExtendedAnswer, FieldTag } from '../extensions.js';
import { encodeAnswer, parseEndpoint } from '../protocol.js';
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

/**
 * The announce URL a survey body advertises (FieldTag.announceUrl), usable from this
 * client: a URL with a wildcard host (`*`, 0.0.0.0) gets the host of the client's only
 * survey URL (with several, which server sent the survey is unknown: undefined). Undefined
 * for a plain body, a body without the field, or a URL that does not parse.
 */
export function advertisedAnnounceUrl(body: Uint8Array, surveyUrls: readonly string[]): string | undefined {
  const value = advertisedField(body);
  if (!value) return undefined;
  let url = value.toString('utf8');
  const wildcard = /^tcp:\/\/(\*|0\.0\.0\.0):/.exec(url);
  if (wildcard) {
    const only = surveyUrls.length === 1 ? /^tcp:\/\/(.+):\d+$/.exec(surveyUrls[0]!) : null;
    if (!only) return undefined;
    url = `tcp://${only[1]}:${url.slice(wildcard[0].length)}`;
  }
  try {
    parseEndpoint(url, 'connect');
  } catch {
    return undefined;
  }
  return url;
}

/**
 * Whether a survey came from the server at announce URL `url`, so that its hello is done: a
 * survey that advertises an announce URL (`advertised`, advertisedAnnounceUrl) came from the
 * server that binds it; one that advertises none can be told apart only when the client has
 * one survey URL. Else another server's survey would end the hello to one that has not
 * surveyed this client yet (its hello may have come before the respondent's connection),
 * and the client would wait for that server's next scheduled round.
 */
export function surveyedBy(advertised: string | undefined, url: string, surveyUrls: readonly string[]): boolean {
  return advertised !== undefined ? advertised === url : surveyUrls.length === 1;
}

/** Whether a survey body marks a join survey (FieldTag.joinSurvey). */
export function isJoinSurvey(body: Uint8Array): boolean {
  try {
    return decodeSurveyBody(body)?.has(FieldTag.joinSurvey) === true;
  } catch {
    return false;
  }
}

/** The raw FieldTag.announceUrl value of a survey body, if it has one. */
function advertisedField(body: Uint8Array): Buffer | undefined {
  try {
    return decodeSurveyBody(body)?.get(FieldTag.announceUrl);
  } catch {
    return undefined;
  }
}

/**
 * The answer's extra fields for a survey body: FieldTag.needList when the client lacks the
 * list it names (`asks`), and FieldTag.farewellToken when it advertises an announce URL
 * (the server then takes this client's bye: src/announcements.ts).
 */
export function answerFields(body: Uint8Array, asks: boolean, farewellToken: Uint8Array): Field[] {
  const fields: Field[] = asks ? [...NEED_LIST_FIELDS] : [];
  if (advertisedField(body) !== undefined) fields.push([FieldTag.farewellToken, farewellToken]);
  return fields;
}

/** When a client says hello, and how often it says it again (ms). */
export const HELLO = {
  /**
   * A hello not sent yet is tried again after this long: the announce socket cannot take it
   * yet (not connected: nanomsg gives no connect event), or the respondent's own survey
   * connections are not all up yet (see connectWaitMs).
   */
  retryMs: 2,
  /**
   * The first hello waits at most this long from the start for the respondent's survey
   * connections to be up (its CURRENT counter, NnSocket.statistic: a pipe is counted once
   * the SP header exchange is done, nanomsg's nn_sock_add), so that the survey it asks for
   * reaches this client; past it (a server down), it goes out anyway.
   */
  connectWaitMs: 50,
  /**
   * After a hello went out before the respondent's survey connections were up, and no survey
   * from that server came (surveyedBy): said again after these waits (its survey may have
   * missed this client). A listed name's hello costs the server nothing.
   */
  againMs: [25, 50, 100, 200],
  /**
   * After a hello went out with them up: said again only after these longer waits (its survey
   * reaches this client; a slow round is no reason to ask again, and a hello read before this
   * client's answer asks for one more round, which lists nobody and backs the server's rate
   * limit off).
   */
  againConnectedMs: [250, 500, 1000],
  /** No hello after this long from the start: the scheduled rounds list the client anyway. */
  giveUpMs: 2_000,
} as const;

/**
 * The join endpoints (RespondentArgs.joinUrls) are dropped this long after the first
 * answered survey, ms: its answer, on the join pipe perhaps, has left by then (nn_shutdown
 * closes the pipe with whatever it still holds).
 */
export const JOIN_DROP_AFTER_MS = 50;

/** A bye that cannot go out at once (the announce socket not connected) is tried for this long at most, ms: close() stays fast. */
export const BYE_WAIT_MS = 20;

/**
 * One announce URL's hello, pure: when to try to send it, until a survey has been answered
 * or HELLO's bounds are reached. Times are the caller's monotonic clock, in ms.
 */
export class HelloPlan {
  private sent = 0;
  private nextAt: number;
  private readonly giveUpAt: number;
  private finished = false;

  constructor(now: number) {
    this.nextAt = now;
    this.giveUpAt = now + HELLO.giveUpMs;
  }

  /** No more hellos: answered, or its bounds reached. */
  get done(): boolean {
    return this.finished;
  }

  /** When the next attempt is due (Infinity once done). */
  dueAt(): number {
    return this.finished ? Infinity : this.nextAt;
  }

  /**
   * An attempt at `now`: `went` when the socket took the hello; `connected` when the
   * respondent's survey connections were all up as it went (the longer re-say waits apply).
   */
  attempted(now: number, went: boolean, connected = false): void {
    if (went) this.sent++;
    const again = connected ? HELLO.againConnectedMs : HELLO.againMs;
    if (now >= this.giveUpAt || this.sent > again.length) this.finished = true;
    else this.nextAt = now + (went ? again[this.sent - 1]! : HELLO.retryMs);
  }

  /** A survey was answered: the server knows this client; no more hellos. */
  answered(): void {
    this.finished = true;
  }
}

/** The answer field that asks for the list (state on connect). */
const NEED_LIST_FIELDS: readonly Field[] = [[FieldTag.needList, new Uint8Array(0)]];

// ------------------------------------------------------------------ effects

/** A PUSH socket to one server's announce URL; `hello` is undefined for a learnt URL (no hello: the client is answering already). */
interface Announcer {
  url: string;
  socket: NnSocket;
  hello: HelloPlan | undefined;
}

export async function runRespondent(args: RespondentArgs, ctx: ActorContext<RespondentOut>): Promise<void> {
  const socket = NnSocket.open('respondent', ctx.ledger);
  const announcers: Announcer[] = [];
  // The token that makes this client's bye count (FieldTag.farewellToken); a restart makes a new one.
  const farewellToken = randomBytes(FAREWELL_TOKEN_BYTES);
  const openAnnouncer = (url: string, hello: boolean) => {
    const push = NnSocket.open('push', ctx.ledger);
    try {
      push.setOption('reconnectIvl', RECONNECT_IVL_MS);
      push.connect(url);
    } catch (e) {
      push.close();
      throw e;
    }
    announcers.push({ url, socket: push, hello: hello ? new HelloPlan(performance.now()) : undefined });
  };
  try {
    socket.setOption('rcvmaxsize', RESPONDENT_RECV_MAX_SIZE);
    // Redial a server that went away every 100 ms (nanomsg's default, made explicit): a
    // restarted server has its clients back within a round or two.
    socket.setOption('reconnectIvl', RECONNECT_IVL_MS);
    let held = new Set(args.heldDigests ?? []);
    let keyring = keyringOf(args.keys);
    let reportAll = args.reportAnswers !== 'first';
    ctx.onInbox((msg) => {
      if (msg.type === 'held-lists') held = new Set(msg.digests);
      else if (msg.type === 'report-answers') reportAll = msg.all;
      // Rotation: sign with the new keyring's first key from the next survey on.
      else if (msg.type === 'rekey' && keyring) keyring = keyringOf(msg.keys) ?? keyring;
    });
    for (const url of args.urls) socket.connect(url);
    // The join survey (src/join-survey.ts): the servers' join sockets, dialled before the
    // hello so that its join survey reaches this client; dropped once it is listed.
    let joinEndpoints = (args.joinUrls ?? []).slice(0, MAX_ANNOUNCE_URLS).map((url) => socket.connect(url));
    let joinDropAt = performance.now() + HELLO.giveUpMs;
    const dropJoin = (answered: boolean) => {
      for (const ep of joinEndpoints) {
        try {
          socket.shutdown(ep);
        } catch {
          // Gone already: nothing to drop.
        }
      }
      joinEndpoints = [];
      ctx.emit({ type: 'join-dropped', answered });
    };
    const answer = encodeAnswer(args.service);
    const needList = encodeExtendedAnswer(answer, NEED_LIST_FIELDS);
    // Announcements: the respondent connects first, so a hello rarely beats it to the server.
    for (const url of (args.announceUrls ?? []).slice(0, MAX_ANNOUNCE_URLS)) openAnnouncer(url, true);
    const hello = encodeAnnouncement('hello', answer);
    const helloFrom = performance.now();
    /**
     * Whether the respondent's survey connections are all up (its CURRENT counter). Without
     * the counters (nn_get_statistic not found) it cannot tell: true, the hello goes at once.
     */
    const surveyPipesUp = (): boolean => {
      try {
        return socket.statistic('current') >= args.urls.length + joinEndpoints.length;
      } catch {
        return true;
      }
    };
    /** Sends the hellos that are due; the time until the next one (ms), or Infinity. */
    const sayHello = (): number => {
      let next = Infinity;
      for (const a of announcers) {
        if (!a.hello || a.hello.done) continue;
        const now = performance.now();
        if (now >= a.hello.dueAt()) {
          const connected = surveyPipesUp();
          const went = (connected || now - helloFrom >= HELLO.connectWaitMs) && a.socket.send(hello);
          a.hello.attempted(now, went, connected);
          if (went) ctx.emit({ type: 'announced', kind: 'hello', url: a.url });
        }
        next = Math.min(next, a.hello.dueAt() - now);
      }
      return next;
    };
    ctx.markReady();
    let surveys = 0;
    let misdialled = false;
    while (!ctx.stopping) {
      // While hellos are due, the wait for a survey ends in time for the next one; it never
      // blocks the thread (which it may share with other actors) unless in slices.
      const untilHello = announcers.length > 0 ? sayHello() : Infinity;
      if (joinEndpoints.length > 0 && performance.now() >= joinDropAt) dropJoin(surveys > 0);
      const untilJoinDrop = joinEndpoints.length > 0 ? Math.max(0, joinDropAt - performance.now()) : Infinity;
      const survey = await ctx.receive(socket, Math.min(untilHello, untilJoinDrop));
      if (survey) {
        const learnt = advertisedAnnounceUrl(survey, args.urls);
        for (const a of announcers) if (surveyedBy(learnt, a.url, args.urls)) a.hello?.answered();
        if (announcers.length < MAX_ANNOUNCE_URLS) {
          if (learnt !== undefined && !announcers.some((a) => a.url === learnt)) {
            try {
              openAnnouncer(learnt, false);
            } catch {
              // A URL this side cannot dial: no bye there, the server notices the silence as a crash.
            }
          }
        }
        if (!misdialled && (args.joinUrls ?? []).length === 0 && isJoinSurvey(survey)) {
          misdialled = true;
          ctx.emit({ type: 'misdialled', surveyUrls: args.urls });
        }
        const asks = lacksList(survey, args.asksForLists ?? false, held);
        const fields = answerFields(survey, asks, farewellToken);
        // Plain mode answers every survey (Go, nanocat, nng servers send empty ones);
        // secret mode answers only surveys with a nonce, MAC after any other field.
        const reply = keyring ? answerTo(answer, keyring, survey, fields) : fields.length === 0 ? answer : fields.length === 1 && asks ? needList : encodeExtendedAnswer(answer, fields);
        if (!reply) ctx.count('unanswered');
        else if (socket.send(reply)) {
          surveys++;
          if (surveys === 1 && joinEndpoints.length > 0) joinDropAt = Math.min(joinDropAt, performance.now() + JOIN_DROP_AFTER_MS);
          ctx.count('surveys');
          if (asks) ctx.count('neededList');
          if (reportAll || surveys === 1) ctx.emit({ type: 'answered', surveys });
        }
        await ctx.maybeYield();
      }
    }
  } finally {
    socket.close();
    // A graceful close: bye right after the respondent is gone, so the survey it asks for
    // finds this client silent. Bounded (BYE_WAIT_MS): an unreachable server costs no more.
    // Not on a crash: the supervisor restarts this actor, and the member should stay listed.
    const bye = ctx.stopping ? encodeAnnouncement('bye', encodeAnswer(args.service), [[FieldTag.farewellToken, farewellToken]]) : undefined;
    await sayBye(announcers, bye, (url) => ctx.emit({ type: 'announced', kind: 'bye', url }));
  }
}

/** Sends `bye` (if any) on every announce socket (retrying one not connected yet for BYE_WAIT_MS at most), then closes them. */
async function sayBye(announcers: readonly Announcer[], bye: Buffer | undefined, sent: (url: string) => void): Promise<void> {
  const until = performance.now() + BYE_WAIT_MS;
  let pending = bye ? [...announcers] : [];
  try {
    while (pending.length > 0) {
      pending = pending.filter((a) => {
        const went = a.socket.send(bye!);
        if (went) sent(a.url);
        return !went;
      });
      if (pending.length === 0 || performance.now() >= until) break;
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  } finally {
    for (const a of announcers) a.socket.close();
  }
}
