/**
 * Library clients as join / leave probes (bench/announce.ts), in their own process: each
 * answers every server given, and with `announceUrl` says hello and bye to that one. Also a
 * forger: a raw PUSH socket that floods an announce URL with hellos (distinct names no
 * respondent answers to).
 *
 * Requests: open {name, surveyUrls, announceUrl?, joinUrl?} → {at, readyAt} (wall ms before / after
 * createClient); close {name} → {at, doneAt, hellos} (hellos: wall ms of the client's hellos, from its
 * 'announced' events, listened to once createClient resolved); flood {url, perSecond, seconds, tag} → {sent}.
 */
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { createClient, type Client } from '../../src/index.js';
import { answerFields, HELLO, JOIN_DROP_AFTER_MS } from '../../src/actors/respondent.js';
import { encodeAnnouncement, encodeExtendedAnswer, FieldTag } from '../../src/extensions.js';
import { NnSocket } from '../../src/transport.js';
import { serve, wallNow } from '../ipc.js';

const bindings = (createRequire(import.meta.url)('nanomsg') as { _bindings: { PollSocket(s: number, sender: boolean, cb: () => void): Buffer; PollStop(h: Buffer): void } })._bindings;

/**
 * A churning member without a worker thread (a library client per join, 10 a second, is
 * more thread starts than a loaded 2-core machine keeps up with): a raw RESPONDENT that
 * answers as a library client does (its farewell token to surveys that advertise an
 * announce URL) and a PUSH that says hello once connected and bye right after the
 * respondent closes, with the token. Its hello waits for its respondent's pipes, as a
 * library client's does. With a join URL it dials that too, and drops it
 * (nn_shutdown) 50 ms after its first answer, as the library's respondent does.
 */
class RawMember {
  private readonly respondent = NnSocket.open('respondent');
  private readonly push = NnSocket.open('push');
  private readonly token = randomBytes(8);
  private readonly poll: Buffer;
  private helloTimer: NodeJS.Timeout | undefined;

  private joinDrop: NodeJS.Timeout | undefined;

  constructor(readonly name: string, surveyUrls: string[], announceUrl: string, joinUrl?: string) {
    const answer = Buffer.from(name);
    this.respondent.setOption('rcvmaxsize', 64 * 1024);
    for (const u of surveyUrls) this.respondent.connect(u);
    let joinEndpoint = joinUrl ? this.respondent.connect(joinUrl) : undefined;
    this.poll = bindings.PollSocket(this.respondent.id, false, () => {
      for (let s = this.respondent.recvNow(); s; s = this.respondent.recvNow()) {
        const fields = answerFields(s, false, this.token);
        this.respondent.send(fields.length > 0 ? encodeExtendedAnswer(answer, fields) : answer);
        if (joinEndpoint !== undefined && !this.joinDrop) {
          const ep = joinEndpoint;
          this.joinDrop = setTimeout(() => this.respondent.shutdown(ep), JOIN_DROP_AFTER_MS);
          joinEndpoint = undefined;
        }
      }
    });
    this.push.connect(announceUrl);
    const hello = encodeAnnouncement('hello', name);
    // As the library's respondent (HelloPlan): the hello waits until the respondent's pipes
    // are up (its CURRENT counter: one per survey URL and join URL), HELLO.connectWaitMs at most.
    const pipes = surveyUrls.length + (joinUrl ? 1 : 0);
    const from = performance.now();
    let tries = 0;
    this.helloTimer = setInterval(() => {
      if (this.respondent.statistic('current') < pipes && performance.now() - from < HELLO.connectWaitMs) return;
      if (this.push.send(hello) || ++tries > 500) clearInterval(this.helloTimer);
    }, HELLO.retryMs);
  }

  close(): void {
    clearInterval(this.helloTimer);
    clearTimeout(this.joinDrop);
    bindings.PollStop(this.poll);
    this.respondent.close();
    this.push.send(encodeAnnouncement('bye', this.name, [[FieldTag.farewellToken, this.token]]));
    this.push.close();
  }
}

const clients = new Map<string, Client>();
/** Wall times of each probe's hellos (the client's 'announced' events), reported with its close. */
const hellos = new Map<string, number[]>();
const forgers = new Map<string, NnSocket>();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

serve(
  {
    async open(req) {
      const name = req.name as string;
      const at = wallNow();
      const said: number[] = [];
      hellos.set(name, said);
      const client = await createClient({
        surveyUrl: req.surveyUrls as string[],
        service: name,
        ...(req.announceUrl ? { announceUrl: req.announceUrl as string } : {}),
        ...(req.joinUrl ? { joinUrl: req.joinUrl as string } : {}),
      });
      const readyAt = wallNow();
      client.on('announced', (a) => void (a.kind === 'hello' && said.push(wallNow())));
      clients.set(name, client);
      return { at, readyAt };
    },
    async close(req) {
      const name = req.name as string;
      const client = clients.get(name);
      if (!client) throw new Error(`${name} is not open`);
      clients.delete(name);
      const at = wallNow();
      await client.close();
      const said = hellos.get(name) ?? [];
      hellos.delete(name);
      return { at, doneAt: wallNow(), hellos: said };
    },
    /** Raw members joining and leaving: `perSecond` of each for `seconds`, each staying `stayMs`. */
    async churn(req) {
      const perSecond = req.perSecond as number;
      const alive: RawMember[] = [];
      const t0 = performance.now();
      let joined = 0;
      for (let t = 0; t < (req.seconds as number) * perSecond; t++) {
        alive.push(new RawMember(`http://10.240.${t >> 8}.${t & 255}:8080`, req.surveyUrls as string[], req.announceUrl as string, req.joinUrl as string | undefined));
        joined++;
        if (alive.length > perSecond * ((req.stayMs as number) / 1000)) alive.shift()!.close();
        await sleep(Math.max(0, t0 + ((t + 1) * 1000) / perSecond - performance.now()));
      }
      for (const m of alive.splice(0)) m.close();
      return { joined };
    },
    async flood(req) {
      const url = req.url as string;
      let push = forgers.get(url);
      if (!push) {
        push = NnSocket.open('push');
        push.setOption('sndbuf', 4 * 1024 * 1024);
        push.connect(url);
        forgers.set(url, push);
        for (let i = 0; i < 1000 && !push.send(encodeAnnouncement('hello', 'forged-probe')); i++) await sleep(2);
      }
      const perTick = Math.max(1, Math.round((req.perSecond as number) / 100));
      const ticks = Math.round((req.seconds as number) * 100);
      let sent = 0;
      const t0 = performance.now();
      for (let t = 0; t < ticks; t++) {
        for (let i = 0; i < perTick; i++) if (push.send(encodeAnnouncement('hello', `forged-${String(req.tag)}-${t}-${i}`))) sent++;
        await sleep(Math.max(0, t0 + (t + 1) * 10 - performance.now()));
      }
      return { sent };
    },
  },
  async () => {
    await Promise.all([...clients.values()].map((c) => c.close()));
    for (const f of forgers.values()) f.close();
  },
);
