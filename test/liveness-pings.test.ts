/**
 * Liveness pings at rest, on real worker threads (src/liveness.ts): a thread whose actors
 * speak on their own (a respondent answering every survey, a subscriber receiving lists)
 * gets no ping at all; a thread whose actors are silent gets one ping per thread, and its
 * pongs keep it alive (nothing is restarted). Counted, not timed: pings sent to the
 * client's actors against surveys answered.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { performance } from 'node:perf_hooks';
import { createClient, createServer, type Client } from '../src/index.js';
import type { ActorRun } from '../src/actor-run.js';
import { closeActorPool } from '../src/pool.js';
import { tcpPair } from './helpers/endpoints.js';
import { eventually, within } from './helpers/wait.js';

after(() => closeActorPool());

/** Counts the liveness pings sent to a run (ActorRun.sendPing), from now on; `onPing` sees each before it goes. */
function countPings(run: ActorRun, onPing?: () => void): { readonly count: number } {
  const counter = { count: 0 };
  const send = run.sendPing.bind(run);
  run.sendPing = () => {
    counter.count++;
    onPing?.();
    send();
  };
  return counter;
}

function clientRuns(client: Client): ActorRun[] {
  return ['respondent', 'subscriber'].map((id) => {
    const run = client.supervisor.actor(id);
    assert.ok(run, `${id} running`);
    return run;
  });
}

test('a thread whose respondent answers every survey gets no liveness ping: 40 surveys answered, 0 pings', async () => {
  const urls = await tcpPair();
  // Rounds every 100 ms; the client's thread is pinged only after 2 s of silence (20 missed
  // rounds), which no live client has; its check still runs (pings would be counted).
  const server = await createServer({ ...urls, surveyTime: 80, recvDeadline: 80, pollTime: 100, missedRounds: 20 });
  const client = await createClient({ ...urls, service: 'chatty', supervision: { livenessIntervalMs: 2000, livenessTimeoutMs: 3000 } });
  try {
    await within(20_000, 'listed', client.listed());
    const runs = clientRuns(client);
    assert.equal(runs[0]!.threadId, runs[1]!.threadId, 'both actors on one thread');
    const pings = runs.map((r) => countPings(r));
    let answered = 0;
    await within(60_000, '40 surveys answered', new Promise<void>((resolve) => {
      client.on('answered', () => ++answered === 40 && resolve());
    }));
    assert.deepEqual(pings.map((p) => p.count), [0, 0], 'no ping to a thread heard from every round');
    assert.deepEqual(client.health().map((h) => h.restarts), [0, 0]);
  } finally {
    await client.close();
    await server.close();
  }
});

test('a silent thread (no server: no survey, no list) is pinged, one ping per thread for its actors, and its pongs keep them running', async () => {
  const urls = await tcpPair();
  const supervision = { livenessIntervalMs: 50, livenessTimeoutMs: 10_000 };
  const clients = [
    await createClient({ ...urls, service: 'alone-1', supervision }),
    await createClient({ ...urls, service: 'alone-2', supervision }),
  ];
  try {
    const runs = clients.flatMap(clientRuns);
    assert.equal(new Set(runs.map((r) => r.threadId)).size, 1, 'four actors on one thread');
    // A ping goes to the thread only once the previous one was answered (the thread heard
    // from since): per-actor pings would send four in a row, none answered in between.
    let lastPingAt: number | undefined;
    const unanswered: number[] = [];
    const heardAt = () => Math.max(...runs.map((r) => r.heardAt));
    const onPing = () => {
      if (lastPingAt !== undefined && heardAt() < lastPingAt) unanswered.push(lastPingAt);
      lastPingAt = performance.now();
    };
    const pings = runs.map((r) => countPings(r, onPing));
    const total = () => pings.reduce((n, p) => n + p.count, 0);
    await eventually(() => total() >= 6, 30_000, 'six pings to the silent thread');
    assert.deepEqual(unanswered, [], 'no ping while one to the same thread was out');
    // Answered: the thread was heard from after the last ping, and nobody was found hung or restarted.
    const last = lastPingAt!;
    await eventually(() => heardAt() >= last, 30_000, 'the pong to the last ping');
    for (const c of clients) assert.deepEqual(c.health().map((h) => [h.state, h.restarts]), [['running', 0], ['running', 0]]);
  } finally {
    for (const c of clients) await c.close();
  }
});
