/**
 * Connection hints (`connectionHints`, default true; src/connection-hints.ts): the surveyor
 * reads its socket's connection counters (nanomsg's nn_get_statistic) between rounds and
 * starts a round at once when a connection closes or a respondent's pipe joins. Real
 * sockets, a real server, and members that are real child processes (nanocat respondents,
 * killed with SIGKILL: no goodbye, only the kernel closing the connection).
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, test } from 'node:test';
import { createServer, InvalidOptionError, type MembershipChange, type RoundInfo, type Server } from '../src/index.js';
import { announceIntervalMs } from '../src/announcements.js';
import { closeActorPool } from '../src/pool.js';
import { NnSocket } from '../src/transport.js';
import { tcpPair } from './helpers/endpoints.js';
import { Nanocat } from './helpers/nanocat.js';
import { portOf } from './helpers/tcp-state.js';
import { recordServerEvents, type ServerEvent } from './helpers/server-events.js';
import { eventually, within } from './helpers/wait.js';

after(() => closeActorPool());

const DEADLINE = 30_000;

const rounds = (events: ServerEvent[]): RoundInfo[] => events.flatMap((e) => (e.kind === 'round' ? [e.round] : []));
const changes = (events: ServerEvent[]): MembershipChange[] => events.flatMap((e) => (e.kind === 'change' ? [e.change] : []));

/** The next change that satisfies `pred`. */
const nextChange = (server: Server, pred: (c: MembershipChange) => boolean, what: string) =>
  within(DEADLINE, what, new Promise<MembershipChange>((resolve) => server.on('change', (c) => pred(c) && resolve(c))));

/** The round event of round `n` (waits for it to end). */
async function roundOf(events: ServerEvent[], n: number): Promise<RoundInfo> {
  await eventually(() => rounds(events).some((r) => r.round === n), DEADLINE, `round ${n} to end`);
  return rounds(events).find((r) => r.round === n)!;
}

const respondent = (url: string, name: string) => Nanocat.start('--respondent', '--connect', url, '--data', name);

test('NnSocket.statistic reads nanomsg\'s connection counters: a pipe joins CURRENT, and its close counts as BROKEN', async () => {
  const { surveyUrl } = await tcpPair();
  const surveyor = NnSocket.open('surveyor');
  const peer = NnSocket.open('respondent');
  try {
    surveyor.bind(surveyUrl);
    assert.deepEqual([surveyor.statistic('current'), surveyor.statistic('broken')], [0, 0]);
    peer.connect(surveyUrl);
    await eventually(() => surveyor.statistic('current') === 1, DEADLINE, 'the pipe counted');
    assert.equal(surveyor.statistic('accepted'), 1);
    peer.close();
    await eventually(() => surveyor.statistic('current') === 0, DEADLINE, 'the pipe gone');
    assert.equal(surveyor.statistic('broken'), 1);
  } finally {
    peer.close();
    surveyor.close();
  }
  assert.throws(() => surveyor.statistic('current'), /EBADF/, 'a closed socket has no statistics');
});

test('connectionHints must be a boolean', async () => {
  const urls = await tcpPair();
  await assert.rejects(createServer({ ...urls, connectionHints: 'yes' as unknown as boolean }), (e: Error) => e instanceof InvalidOptionError && /connectionHints must be true or false/.test(e.message));
});

test('hints on: a respondent that connects joins in a round the connection started, and one SIGKILLed leaves in one, with pollTime 60 s', async () => {
  const urls = await tcpPair();
  // pollTime 60 s: after the first round at start, no scheduled round runs within the test.
  const server = await createServer({ ...urls, surveyTime: 1000, recvDeadline: 1000, pollTime: 60_000 });
  const events = recordServerEvents(server);
  const stays = respondent(urls.surveyUrl, 'nc-stays');
  let dies: Nanocat | undefined;
  try {
    await eventually(() => server.members().includes('nc-stays'), DEADLINE, 'nc-stays listed');
    dies = respondent(urls.surveyUrl, 'nc-dies');
    const joined = await nextChange(server, (c) => c.joined.includes('nc-dies'), 'nc-dies listed');
    assert.equal((await roundOf(events, joined.round)).trigger, 'connection', 'the join was surveyed because its pipe joined');
    const left = nextChange(server, (c) => c.left.includes('nc-dies'), 'nc-dies published as gone');
    await dies.kill();
    const drop = await left;
    assert.deepEqual(drop.members, ['nc-stays']);
    const dropRound = await roundOf(events, drop.round);
    assert.equal(dropRound.trigger, 'connection', 'the departure was surveyed because the connection closed');
    const all = rounds(events);
    assert.equal(all[0]!.trigger, 'schedule', 'the first round is the schedule\'s');
    assert.ok(all.slice(1).every((r) => r.trigger === 'connection'), `every later round was a hint's: ${JSON.stringify(all.map((r) => r.trigger))}`);
    assert.ok(!changes(events).some((c) => c.left.includes('nc-stays')), 'the live member never left');
  } finally {
    await dies?.kill();
    await stays.kill();
    await server.close();
  }
});

test('a hint round drops no more silent members than connections closed: a stopped (SIGSTOP) member stays listed beside a killed one, and the killed one goes once its silence is explained', async () => {
  const urls = await tcpPair();
  // pollTime 60 s: after the first round, every round in the test is an extra one.
  const server = await createServer({ ...urls, surveyTime: 1000, recvDeadline: 1000, pollTime: 60_000 });
  const events = recordServerEvents(server);
  const paused = respondent(urls.surveyUrl, 'nc-paused');
  const dies = respondent(urls.surveyUrl, 'nc-dies');
  let later: Nanocat | undefined;
  try {
    await eventually(() => ['nc-dies', 'nc-paused'].every((n) => server.members().includes(n)), DEADLINE, 'both listed');
    const listedRounds = rounds(events).length;
    // A stopped process keeps its connection open and answers nothing, like a member whose
    // event loop is blocked; the killed one's connection closes.
    process.kill(paused.pid, 'SIGSTOP');
    await dies.kill();
    await eventually(() => rounds(events).slice(listedRounds).some((r) => r.trigger === 'connection' && r.unjudged === 2), DEADLINE, 'a hint round that left two silences unjudged');
    assert.deepEqual(server.members(), ['nc-dies', 'nc-paused'], 'one connection closed, two members silent: neither dropped by an extra round');
    process.kill(paused.pid, 'SIGCONT');
    // A newcomer's pipe asks for another round: nc-paused answers again, nc-dies is the one
    // silence, and the closed connection accounts for it.
    const left = nextChange(server, (c) => c.left.includes('nc-dies'), 'nc-dies published as gone');
    later = respondent(urls.surveyUrl, 'nc-later');
    const drop = await left;
    assert.notEqual((await roundOf(events, drop.round)).trigger, 'schedule', 'dropped by an extra round');
    await eventually(() => server.members().includes('nc-later'), DEADLINE, 'nc-later listed');
    assert.ok(!changes(events).some((c) => c.left.includes('nc-paused')), 'the stopped member never left');
  } finally {
    try {
      process.kill(paused.pid, 'SIGCONT');
    } catch {
      // already gone
    }
    await later?.kill();
    await dies.kill();
    await paused.kill();
    await server.close();
  }
});

test('hints off: the same SIGKILL is noticed only by the next scheduled round (no extra round runs)', async () => {
  const urls = await tcpPair();
  const server = await createServer({ ...urls, surveyTime: 1000, recvDeadline: 1000, pollTime: 3000, connectionHints: false });
  const events = recordServerEvents(server);
  const dies = respondent(urls.surveyUrl, 'nc-dies');
  try {
    const joined = await nextChange(server, (c) => c.joined.includes('nc-dies'), 'nc-dies listed');
    const left = nextChange(server, (c) => c.left.includes('nc-dies'), 'nc-dies published as gone');
    await dies.kill();
    const drop = await left;
    await roundOf(events, drop.round);
    assert.equal(drop.round, joined.round + 1, 'dropped by the round right after its join: no round ran in between');
    const all = rounds(events);
    assert.ok(all.every((r) => r.trigger === 'schedule'), `every round was the schedule's: ${JSON.stringify(all.map((r) => r.trigger))}`);
  } finally {
    await dies.kill();
    await server.close();
  }
});

test('a flood of connects and closes adds nobody, removes nobody, and runs no more rounds than the rate limit allows', async () => {
  const urls = await tcpPair();
  // pollTime 60 s: no scheduled round during the flood (a scheduled round halves the backoff).
  const pollTime = 60_000;
  const server = await createServer({ ...urls, surveyTime: 200, recvDeadline: 200, pollTime });
  const events = recordServerEvents(server);
  const member = respondent(urls.surveyUrl, 'nc-member');
  const port = portOf(urls.surveyUrl);
  try {
    const joined = await nextChange(server, (c) => c.joined.includes('nc-member'), 'nc-member listed');
    // The flood starts with the gate at rest: the round that listed the member (which changed
    // the list, so the backoff is back to one interval) has ended, and no other is asked for.
    await roundOf(events, joined.round);
    const from = events.length;
    const start = performance.now();
    // Connections for 3 s, alternately a bare TCP connection (no SP header) and an SP
    // respondent that never answers, each closed as soon as it is up, one after another.
    let made = 0;
    for (let i = 0; performance.now() - start < 3000; i++, made++) {
      if (i % 2 === 0) {
        await within(DEADLINE, 'a TCP connection', new Promise<void>((resolve, reject) => {
          const s = connect(port, '127.0.0.1', () => {
            s.destroy();
            resolve();
          });
          s.on('error', reject);
        }));
      } else {
        const sp = NnSocket.open('respondent');
        sp.connect(urls.surveyUrl);
        await eventually(() => sp.statistic('current') === 1, DEADLINE, 'the SP connection up');
        sp.close();
      }
    }
    const elapsed = performance.now() - start;
    const flood = events.slice(from);
    const hinted = rounds(flood).filter((r) => r.trigger === 'connection');
    assert.ok(hinted.length >= 2, `the flood was seen as hints: ${hinted.length} hinted rounds`);
    // The gate's bound (src/announcements.ts): the first asked-for round may start at once;
    // the k-th after it at least announceIntervalMs(N) × 2^k after the round before it ended,
    // as long as none changes anything (round durations only lower this).
    let bound = 1;
    for (let spent = 0, k = 1; ; k++) {
      spent += announceIntervalMs(1) * 2 ** k;
      if (spent > elapsed) break;
      bound++;
    }
    assert.ok(hinted.length <= bound, `${hinted.length} hinted rounds in ${Math.round(elapsed)} ms (${made} connections); the rate limit allows ${bound}`);
    assert.deepEqual(changes(flood), [], 'no change: the flood added and removed nobody');
    assert.deepEqual(server.members(), ['nc-member']);
  } finally {
    await member.kill();
    await server.close();
  }
});
