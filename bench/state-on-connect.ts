/**
 * `npm run bench:connect [-- --trials 20] [--members 1000]`: state on connect, measured.
 *
 * With default server, client and subscriber options and the default timing (surveys of
 * 1 s every 2 s), over `trials` trials each:
 *
 * 1. same-name restart: a client with a subscription closed and recreated at once under
 *    the same name; time from createClient() resolving (sockets dialled) to a list that
 *    contains itself (listed()). The membership does not change, so only state on connect
 *    (the survey's list digest, or the heartbeat) can bring it.
 * 2. late standalone subscriber: subscribe() long after the last change; time to the first list.
 * 3. dead server: two servers, a subscriber merging both with default options, a client on
 *    server A only; once the subscriber has learned A's heartbeat, A is closed; time until
 *    A's client leaves the merged list (how long a dead server's members stay listed).
 *    Trials run in batches side by side (each learns for four heartbeats first).
 * 4. heartbeat bytes: one server with `members` raw respondents (bench/procs/swarm.ts),
 *    the bytes of its heartbeat publications over 60 s without a change, per subscriber.
 *
 * Prints one JSON object and writes it to bench/results/state-on-connect.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { createClient, createServer, subscribe, type Server } from '../src/index.js';
import { closeActorPool } from '../src/pool.js';
import { encodeMembers } from '../src/protocol.js';
import { heartbeatPeriodMs } from '../src/actors/publisher.js';
import { freePort } from '../src/testing/endpoints.js';
import { BENCH_DIR } from './ipc.js';
import { machine } from './machine.js';
import { round, summarize, type Summary } from './stats.js';
import { Swarm } from './views.js';

const { values: argv } = parseArgs({
  options: {
    trials: { type: 'string', default: '20' },
    members: { type: 'string', default: '1000' },
    batch: { type: 'string', default: '5' },
    'heartbeat-window': { type: 'string', default: '60000' },
    /** Comma-separated phases to run: restart, late, dead, bytes. */
    only: { type: 'string', default: 'restart,late,dead,bytes' },
  },
});
const TRIALS = Number(argv.trials);
const MEMBERS = Number(argv.members);
const BATCH = Number(argv.batch);
const WINDOW_MS = Number(argv['heartbeat-window']);
const PHASES = new Set(argv.only.split(','));
const DEADLINE = 30_000;

const pair = async () => ({ surveyUrl: `tcp://127.0.0.1:${await freePort()}`, pubsubUrl: `tcp://127.0.0.1:${await freePort()}` });
const deadline = <T>(p: Promise<T>, what: string): Promise<T> =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`timed out: ${what}`)), DEADLINE).unref())]);
const ms = (s: Summary) => ({ n: s.n, p50: round(s.p50, 0), p99: round(s.p99, 0), min: round(s.min, 0), max: round(s.max, 0) });
const log = (msg: string) => process.stderr.write(`${msg}\n`);
/** A random pause of up to one round: trials start at random phases of the rounds and heartbeats, not right after one. */
const randomPhase = () => new Promise((r) => setTimeout(r, Math.random() * 2000));

async function untilEvent(server: Server, event: 'published', count: number): Promise<void> {
  await deadline(
    new Promise<void>((resolve) => {
      let n = 0;
      const on = (p: { heartbeat: boolean }) => {
        if (p.heartbeat && ++n >= count) {
          server.off(event, on);
          resolve();
        }
      };
      server.on(event, on);
    }),
    `${count} heartbeats`,
  );
}

async function sameNameRestart(): Promise<number[]> {
  const urls = await pair();
  const server = await createServer(urls);
  const other = await createClient({ surveyUrl: urls.surveyUrl, service: 'http://10.0.0.2:8080' });
  let client = await createClient({ ...urls, service: 'http://10.0.0.1:8080' });
  await deadline(client.listed(), 'first listing');
  const delays: number[] = [];
  for (let i = 0; i < TRIALS; i++) {
    await randomPhase();
    await client.close();
    client = await createClient({ ...urls, service: 'http://10.0.0.1:8080' });
    const t0 = performance.now();
    await deadline(client.listed(), 'listed after a same-name restart');
    delays.push(performance.now() - t0);
    log(`same-name restart ${i + 1}/${TRIALS}: ${delays.at(-1)!.toFixed(0)} ms`);
  }
  await Promise.all([client.close(), other.close()]);
  await server.close();
  return delays;
}

async function lateSubscriber(): Promise<{ fromCall: number[]; fromConnected: number[] }> {
  const urls = await pair();
  const server = await createServer(urls);
  const clients = await Promise.all(['http://10.0.0.1:8080', 'http://10.0.0.2:8080'].map((service) => createClient({ surveyUrl: urls.surveyUrl, service })));
  await deadline(
    new Promise<void>((r) => server.on('change', (c) => c.members.length === 2 && r())),
    'both listed',
  );
  const fromCall: number[] = [];
  const fromConnected: number[] = [];
  for (let i = 0; i < TRIALS; i++) {
    await randomPhase();
    const t0 = performance.now();
    const sub = await subscribe({ pubsubUrl: urls.pubsubUrl });
    const connected = performance.now(); // its actor started, its socket dialled
    await deadline(new Promise<void>((r) => sub.once('change', () => r())), 'a list at the late subscriber');
    fromCall.push(performance.now() - t0);
    fromConnected.push(performance.now() - connected);
    await sub.close();
    log(`late subscriber ${i + 1}/${TRIALS}: ${fromCall.at(-1)!.toFixed(0)} ms from subscribe(), ${fromConnected.at(-1)!.toFixed(0)} ms from its start`);
  }
  await Promise.all(clients.map((c) => c.close()));
  await server.close();
  return { fromCall, fromConnected };
}

async function deadServerTrial(): Promise<{ listedMs: number; learnedMs: number }> {
  const [a, b] = [await pair(), await pair()];
  const [serverA, serverB] = [await createServer(a), await createServer(b)];
  const sub = await subscribe({ pubsubUrl: [a.pubsubUrl, b.pubsubUrl] });
  const onlyA = await createClient({ surveyUrl: a.surveyUrl, service: 'http://10.0.0.1:8080' });
  const onB = await createClient({ surveyUrl: b.surveyUrl, service: 'http://10.0.0.2:8080' });
  try {
    await deadline(new Promise<void>((r) => { const on = (l: string[]) => l.length === 2 && (sub.off('change', on), r()); sub.on('change', on); }), 'both merged');
    await untilEvent(serverA, 'published', 4); // four heartbeats of A: its period learned
    await randomPhase();
    const learnedMs = sub.sources()[0]!.heartbeatMs ?? NaN;
    const gone = new Promise<void>((r) => sub.on('left', (name) => name === 'http://10.0.0.1:8080' && r()));
    const t0 = performance.now();
    await serverA.close();
    await deadline(gone, "A's client gone from the merge");
    return { listedMs: performance.now() - t0, learnedMs };
  } finally {
    await Promise.all([onlyA.close(), onB.close(), sub.close()]);
    await Promise.all([serverA.close(), serverB.close()]);
  }
}

async function deadServer(): Promise<{ listed: number[]; learned: number[] }> {
  const listed: number[] = [];
  const learned: number[] = [];
  for (let done = 0; done < TRIALS; done += BATCH) {
    const batch = await Promise.all(Array.from({ length: Math.min(BATCH, TRIALS - done) }, () => deadServerTrial()));
    for (const r of batch) {
      listed.push(r.listedMs);
      learned.push(r.learnedMs);
    }
    log(`dead server ${listed.length}/${TRIALS}: ${batch.map((r) => r.listedMs.toFixed(0)).join(', ')} ms`);
  }
  return { listed, learned };
}

async function heartbeatBytes(): Promise<Record<string, number>> {
  const urls = await pair();
  const server = await createServer(urls);
  const swarm = new Swarm([urls.surveyUrl], 400, { nofile: 4096 });
  try {
    await swarm.grow(MEMBERS);
    await deadline(new Promise<void>((r) => { const on = () => server.members().length >= MEMBERS && (server.off('round', on), r()); server.on('round', on); }), `${MEMBERS} members`);
    let bytes = 0;
    let messages = 0;
    let changes = 0;
    server.on('change', () => changes++);
    server.on('published', (p) => {
      if (!p.heartbeat) return;
      bytes += p.bytes + 8; // + SP's 64-bit length prefix on TCP
      messages++;
    });
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, WINDOW_MS));
    const seconds = (performance.now() - t0) / 1000;
    const listBytes = encodeMembers(server.members()).byteLength;
    return {
      members: server.members().length,
      listBytes,
      periodMs: heartbeatPeriodMs('auto', listBytes),
      heartbeats: messages,
      changesDuringWindow: changes,
      windowS: round(seconds, 1),
      bytesPerSecondPerSubscriber: round(bytes / seconds, 0),
    };
  } finally {
    await swarm.stop();
    await server.close();
  }
}

const started = new Date().toISOString();
const restart = PHASES.has('restart') ? await sameNameRestart() : [];
const late = PHASES.has('late') ? await lateSubscriber() : { fromCall: [], fromConnected: [] };
const dead = PHASES.has('dead') ? await deadServer() : { listed: [], learned: [] };
const heartbeat = PHASES.has('bytes') ? await heartbeatBytes() : {};
await closeActorPool();

const result = {
  benchmark: 'state-on-connect',
  date: started,
  machine: machine(),
  options: 'defaults: surveyTime 1000, recvDeadline 1000, pollTime 2000 ms, republishMs auto, listDigest true; subscriber without staleAfterMs',
  sameNameRestartMs: ms(summarize(restart)),
  lateSubscriberMs: ms(summarize(late.fromCall)),
  lateSubscriberFromStartedMs: ms(summarize(late.fromConnected)),
  deadServerListedMs: ms(summarize(dead.listed)),
  deadServerLearnedHeartbeatMs: ms(summarize(dead.learned)),
  heartbeat,
  // Computed from the encoded sizes: names like http://10.0.1.23:8080 (about 21 bytes) plus '|'.
  computedBytesPerSecondPerSubscriber: Object.fromEntries(
    [100, 1000, 10_000].map((n) => {
      const list = encodeMembers(Array.from({ length: n }, (_, k) => Swarm.nameOf(0, k))).byteLength;
      return [n, { listBytes: list, auto: round((list + 8) / (heartbeatPeriodMs('auto', list) / 1000), 0), every1s: list + 8, original: 0 }];
    }),
  ),
};
const out = JSON.stringify(result, null, 2);
process.stdout.write(out + '\n');
mkdirSync(join(BENCH_DIR, 'results'), { recursive: true });
writeFileSync(join(BENCH_DIR, 'results', `state-on-connect${PHASES.size < 4 ? `-${[...PHASES].join('-')}` : ''}.json`), out + '\n');
process.exit(0);
