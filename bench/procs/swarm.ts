/**
 * A swarm of respondents in one process: raw RESPONDENT sockets (src/transport.ts), not
 * library clients — a client is a worker thread, and 10,000 threads are impossible — at
 * most ~400 per process (nanomsg allows 512 sockets per process).
 *
 * Every survey is answered at once, without blocking: in the default `ready` mode each
 * socket's NN_RCVFD is watched on this process's libuv loop (nanomsg's raw `PollSocket`
 * binding; this is a child process's main thread, where that is safe), and a readable
 * socket is drained with `recvNow()`. The `sweep` mode (SWARM_MODE=sweep) instead polls
 * `recvNow()` over every socket each millisecond, which costs CPU even when idle.
 *
 * SWARM_SOURCE_SPREAD=1: this process dials from a loopback source address of its own
 * (127.1.x.y, from its pid; nanomsg's `tcp://local;remote` form), so its connections draw on
 * an ephemeral port range of their own instead of the one 127.0.0.1 shares with every other
 * process (N = 10,000 beside other benches).
 *
 * Requests: open {names, urls} → {at}: sockets dialled (at = wall time before the first
 * connect); close {names} → {at}; stats → {sockets, answers, rss, cpuMs}.
 */
import { createRequire } from 'node:module';
import { emitEvent, serve, wallNow } from '../ipc.js';
import { answerTo } from '../../src/admission.js';
import { deriveKey, Keyring } from '../../src/keyring.js';
import { NnSocket } from '../../src/transport.js';
import { threadTimes } from './proc-stats.js';

const require = createRequire(import.meta.url);
const bindings = (require('nanomsg') as { _bindings: { PollSocket(s: number, sender: boolean, cb: () => void): Buffer; PollStop(h: Buffer): void } })._bindings;

const MODE = process.env.SWARM_MODE === 'sweep' ? 'sweep' : 'ready';
/** Redial a lost server this often, as the library's respondent does. */
const RECONNECT_IVL_MS = 100;
/** With a maximum, nanomsg doubles the interval after each failed dial, up to it (0: no backoff, as the library's respondent). */
const RECONNECT_IVL_MAX_MS = Number(process.env.SWARM_RECONNECT_MAX_MS ?? 0);
/** SWARM_SOURCE_SPREAD: this process's own loopback source address (see the module comment). */
const SOURCE = process.env.SWARM_SOURCE_SPREAD ? `127.1.${(process.pid >> 8) & 255}.${(process.pid % 254) + 1}` : undefined;
/** `url` dialled from SOURCE, if set (tcp only). */
const dialled = (url: string) => (SOURCE && url.startsWith('tcp://') ? `tcp://${SOURCE};${url.slice('tcp://'.length)}` : url);

interface Member {
  name: string;
  socket: NnSocket;
  answer: Buffer;
  poll?: Buffer;
  answers: number;
  /** `answers` at the last `silent` call. */
  seen: number;
}

/**
 * The secret-mode comparison (BENCH_SECRET): a survey with a nonce is answered with the
 * name and a MAC (src/admission.ts, as a library client does), computed per survey; an empty
 * survey (the plain server's) with the bare name. A library client in secret mode would
 * leave the plain server's surveys unanswered; these answer both, so both servers see N.
 */
const keyring = process.env.BENCH_SECRET ? new Keyring([deriveKey(process.env.BENCH_SECRET)]) : undefined;
const answerFor = (m: Member, survey: Buffer): Buffer => (keyring && survey.byteLength > 0 ? (answerTo(m.answer, keyring, survey) ?? m.answer) : m.answer);

const members = new Map<string, Member>();
let answers = 0;
let sendFailures = 0;

function drain(m: Member): void {
  // A survey still queued when a newer one arrives is dropped by nanomsg; answering every
  // queued survey at once keeps this respondent current.
  for (let survey = m.socket.recvNow(); survey; survey = m.socket.recvNow()) {
    if (m.socket.send(answerFor(m, survey))) {
      m.answers++;
      answers++;
    } else {
      sendFailures++;
    }
  }
}

function open(name: string, urls: string[]): Member {
  const socket = NnSocket.open('respondent');
  socket.setOption('reconnectIvl', RECONNECT_IVL_MS);
  if (RECONNECT_IVL_MAX_MS > 0) socket.setOption('reconnectIvlMax', RECONNECT_IVL_MAX_MS);
  socket.setOption('rcvmaxsize', 64 * 1024);
  const m: Member = { name, socket, answer: Buffer.from(name, 'utf8'), answers: 0, seen: 0 };
  for (const url of urls) socket.connect(dialled(url));
  if (MODE === 'ready') m.poll = bindings.PollSocket(socket.id, false, () => drain(m));
  return m;
}

function close(m: Member): void {
  if (m.poll) bindings.PollStop(m.poll);
  m.socket.close();
}

/**
 * Starvation runs: SWARM_BLOCK_MS=50-200 blocks this process's event loop (a busy loop) for
 * a random 50–200 ms at random moments, about every SWARM_BLOCK_EVERY_MS ms (default 2000,
 * exponentially distributed): its members answer late, as a GC or a blocked loop would make them.
 */
const BLOCK_MS = process.env.SWARM_BLOCK_MS?.split('-').map(Number);
let blocks = 0;
if (BLOCK_MS) {
  const [lo, hi] = BLOCK_MS as [number, number];
  const every = Number(process.env.SWARM_BLOCK_EVERY_MS ?? 2000);
  const schedule = () =>
    setTimeout(() => {
      const until = performance.now() + lo + Math.random() * (hi - lo);
      while (performance.now() < until);
      blocks++;
      schedule();
    }, -Math.log(1 - Math.random()) * every);
  schedule();
}

if (MODE === 'sweep') {
  const sweep = () => {
    for (const m of members.values()) drain(m);
    setTimeout(sweep, 1);
  };
  sweep();
}

serve(
  {
    open(req) {
      const names = req.names as string[];
      const urls = req.urls as string[];
      const at = wallNow();
      for (const name of names) {
        if (members.has(name)) throw new Error(`${name} is already open`);
        members.set(name, open(name, urls));
      }
      return { at, sockets: members.size };
    },
    close(req) {
      const names = req.names as string[];
      const found = names.map((n) => members.get(n)).filter((m): m is Member => m !== undefined);
      const at = wallNow();
      for (const m of found) {
        close(m);
        members.delete(m.name);
      }
      return { at, closed: found.length, sockets: members.size };
    },
    /** Sockets that answered no survey since the previous `silent` call (or since they opened). */
    silent() {
      const names: string[] = [];
      for (const m of members.values()) {
        if (m.answers === m.seen) names.push(m.name);
        m.seen = m.answers;
      }
      return { names };
    },
    stats() {
      const cpu = process.cpuUsage();
      return { sockets: members.size, answers, sendFailures, blocks, rss: process.memoryUsage().rss, cpuMs: (cpu.user + cpu.system) / 1000, threads: threadTimes().filter((t) => t.cpuMs > 0) };
    },
  },
  () => {
    for (const m of members.values()) close(m);
    members.clear();
  },
);

process.on('uncaughtException', (e) => {
  emitEvent({ ev: 'error', error: e.stack ?? String(e) });
  process.exit(1);
});
