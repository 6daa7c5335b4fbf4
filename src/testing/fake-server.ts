/**
 * A discovery server for testing a service that uses this library: the service's real
 * `createClient` / `subscribe` connect to it, and the test decides what happens, when —
 * no rounds on a timer, so nothing to guess about timing.
 *
 *   const fake = await startFakeServer();
 *   const client = await createClient({ surveyUrl: fake.surveyUrl, pubsubUrl: fake.pubsubUrl, service: 'me' });
 *   await fake.waitForAnswers(['me']);          // surveys until 'me' answers: the client is connected
 *   fake.publish(['me', 'other']);               // the list every subscriber gets now
 *   ... assert on how the service reacts ...
 *   await fake.close();
 *
 * It speaks the wire format of a real server (SP SURVEYOR and PUB sockets; lists as names
 * joined by '|'), so it also drives any nanomsg / nng / mangos client.
 */
import { encodeMembers } from '../protocol.js';
import { freePort } from './endpoints.js';
import { PeerSocket } from './peer-socket.js';

export interface FakeServerOptions {
  /** Where its SURVEYOR listens. Default: tcp://127.0.0.1 on a free test port. */
  surveyUrl?: string;
  /** Where its PUB listens. Default: tcp://127.0.0.1 on a free test port. */
  pubsubUrl?: string;
  /**
   * How often the published list is sent again while it stands, in ms (default 20): a
   * subscriber still connecting gets it too. Subscribers yield a list only when it changes,
   * as with a real server's `republishMs` heartbeat.
   */
  republishMs?: number;
}

/** Answers to one survey. */
export interface SurveyResult {
  /** The names that answered, sorted, each once. */
  members: string[];
  /** Every answer as received (raw bytes), in arrival order. */
  answers: Buffer[];
}

export class FakeServer {
  readonly surveyUrl: string;
  readonly pubsubUrl: string;
  /** Every list published, in order. */
  readonly published: string[][] = [];
  private readonly surveyor: PeerSocket;
  private readonly pub: PeerSocket;
  private readonly republishMs: number;
  private republish: NodeJS.Timeout | undefined;
  private surveying: Promise<unknown> = Promise.resolve();
  private closed = false;

  /** Use startFakeServer(). */
  constructor(urls: { surveyUrl: string; pubsubUrl: string }, options: FakeServerOptions) {
    this.surveyUrl = urls.surveyUrl;
    this.pubsubUrl = urls.pubsubUrl;
    this.republishMs = options.republishMs ?? 20;
    this.surveyor = PeerSocket.bind('surveyor', urls.surveyUrl);
    try {
      this.pub = PeerSocket.bind('pub', urls.pubsubUrl);
    } catch (e) {
      this.surveyor.close();
      throw e;
    }
  }

  /**
   * Publishes `members` now, and again every `republishMs` until the next publish() or
   * close(), so that subscribers still connecting receive it as well.
   */
  publish(members: readonly string[]): void {
    this.assertOpen();
    const list = [...members];
    const bytes = encodeMembers(list);
    this.published.push(list);
    clearInterval(this.republish);
    this.pub.send(bytes);
    this.republish = setInterval(() => this.pub.send(bytes), this.republishMs);
    this.republish.unref();
  }

  /**
   * Sends one survey now and resolves, when its deadline passes (`deadlineMs`, default
   * 500 ms), with who answered. Surveys run one at a time, in call order.
   */
  survey(deadlineMs = 500): Promise<SurveyResult> {
    this.assertOpen();
    const run = this.surveying.then(async () => {
      this.surveyor.surveyDeadline(deadlineMs);
      this.surveyor.send(new Uint8Array(0));
      const answers: Buffer[] = [];
      const end = performance.now() + deadlineMs;
      for (;;) {
        const answer = await this.surveyor.recv(Math.max(0, end - performance.now()));
        if (!answer) break;
        answers.push(answer);
      }
      // An answer is the bare name, or the name, a NUL, then extension fields (src/extensions.ts).
      const names = answers.map((a) => a.toString('utf8', 0, a.indexOf(0) < 0 ? a.length : a.indexOf(0)));
      return { members: [...new Set(names)].sort(), answers };
    });
    this.surveying = run.catch(() => undefined);
    return run;
  }

  /**
   * Surveys again and again (each survey waits `deadlineMs`, default 200 ms) until one
   * survey is answered by every name in `names`; resolves with that survey's result.
   * This is how a test waits for its clients to be connected. Rejects after `timeoutMs`
   * (default 10,000 ms) naming who never answered.
   */
  async waitForAnswers(names: readonly string[], options: { deadlineMs?: number; timeoutMs?: number } = {}): Promise<SurveyResult> {
    const timeoutMs = options.timeoutMs ?? 10_000;
    const end = performance.now() + timeoutMs;
    let last: SurveyResult = { members: [], answers: [] };
    while (performance.now() < end) {
      last = await this.survey(options.deadlineMs ?? 200);
      if (names.every((n) => last.members.includes(n))) return last;
    }
    const missing = names.filter((n) => !last.members.includes(n));
    throw new Error(`${missing.join(', ')} did not answer a survey within ${timeoutMs} ms (the last survey's answers: ${last.members.join(', ') || 'none'})`);
  }

  /** Stops republishing and closes both sockets (after a survey in progress ends). Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.republish);
    await this.surveying;
    this.surveyor.close();
    this.pub.close();
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('the fake server is closed');
  }
}

/** Starts a FakeServer listening on `surveyUrl` / `pubsubUrl` (free loopback ports by default). */
export async function startFakeServer(options: FakeServerOptions = {}): Promise<FakeServer> {
  const surveyUrl = options.surveyUrl ?? `tcp://127.0.0.1:${await freePort()}`;
  const pubsubUrl = options.pubsubUrl ?? `tcp://127.0.0.1:${await freePort()}`;
  return new FakeServer({ surveyUrl, pubsubUrl }, options);
}
