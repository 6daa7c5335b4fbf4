/**
 * Dead servers forgotten without configuration: a subscriber of several servers, with
 * default options (no staleAfterMs), learns each server's heartbeat period and stops
 * counting a server that misses it (phi accrual, src/merge.ts); a live but quiet server
 * keeps counting; and a wall-clock step changes nothing, because every duration is
 * measured on the monotonic clock.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { performance } from 'node:perf_hooks';
import { createClient, createServer, subscribe, type Client, type Server, type Subscriber } from '../src/index.js';
import { closeActorPool } from '../src/pool.js';
import { tcpPair, type EndpointPair } from './helpers/endpoints.js';
import type { ChildLines } from './helpers/processes.js';
import { registerWithAll, startServerProcess } from './helpers/server-pair.js';
import { eventually, nothingWithin, sameMembers, until } from './helpers/wait.js';

after(() => closeActorPool());

/** Heartbeats every 500 ms in the child processes (scaled down from the default 2 s; a loaded machine stalls for hundreds of ms). */
const timing = { SURVEY_MS: '50', POLL_MS: '150', REPUBLISH_MS: '500', MISSED_ROUNDS: '2' };
const NAMES = ['client1', 'client2', 'client3'];

test('two servers, one SIGKILLed, default subscriber options: a client leaving afterwards disappears within the learned bound', async (t) => {
  const [a, b] = [await tcpPair(), await tcpPair()];
  const serverA: ChildLines = startServerProcess(a, timing);
  const serverB: ChildLines = startServerProcess(b, timing);
  const clients: Client[] = [];
  const sub = await subscribe({ pubsubUrl: [a.pubsubUrl, b.pubsubUrl] });
  try {
    const changes = await registerWithAll([serverA, serverB], [a, b], sub, NAMES, clients);
    // Both servers' periods learned from their heartbeats (a few of them).
    await eventually(() => sub.sources().every((s) => s.heartbeatMs !== undefined), 10_000, 'heartbeat periods learned');

    serverA.kill('SIGKILL');
    await serverA.exited;
    const killed = performance.now();
    // Nothing more comes from A: when it stops counting is fixed now.
    const { lastHeard: lastHeardA, expiresAt: expiryA } = sub.sources()[0]!;
    assert.ok(expiryA !== undefined && lastHeardA !== undefined, 'a server with a learned heartbeat has an expiry');
    await clients[2]!.close();
    const { seen } = await until(changes, (l) => sameMembers(l, ['client1', 'client2']), 15_000, 'client3 gone from the merge');
    const gone = performance.now();
    assert.ok(seen.every((l) => l.includes('client1') && l.includes('client2')), `a live client vanished: ${JSON.stringify(seen)}`);
    const [stateA, stateB] = sub.sources();
    assert.equal(stateA!.live, false, 'dead server A no longer counts');
    assert.equal(stateB!.live, true, 'server B, alive, still counts');
    // The bound: A's last message + its learned period + z·σ (the merge re-evaluates at that
    // moment), or B dropping client3 (2 missed rounds of 150 ms), whichever is later.
    const bound = Math.max(expiryA, killed + 2 * 150 + 50);
    t.diagnostic(
      `client3 left the merge ${(gone - killed).toFixed(0)} ms after A was killed; A's learned period ${stateA!.heartbeatMs?.toFixed(0)} ms, ` +
        `its bound ${(expiryA - lastHeardA).toFixed(0)} ms after its last message`,
    );
    assert.ok(gone <= bound + 1000, `gone ${(gone - bound).toFixed(0)} ms past the bound (1,000 ms of scheduling slack allowed)`);
    assert.equal(stateA!.expiresAt, undefined, 'an expired server has no expiry ahead');
  } finally {
    await Promise.all([...clients.map((c) => c.close()), sub.close()]);
    serverA.kill();
    serverB.kill();
  }
});

/** Two in-process servers, each with a client of its own, so losing either server changes the merged list. */
async function twoServers(republishMs: number): Promise<{ servers: Server[]; clients: Client[]; sub: Subscriber; urls: EndpointPair[] }> {
  const urls = [await tcpPair(), await tcpPair()];
  const servers = await Promise.all(urls.map((u) => createServer({ ...u, surveyTime: 50, recvDeadline: 50, pollTime: 150, missedRounds: 3, republishMs })));
  const sub = await subscribe({ pubsubUrl: urls.map((u) => u.pubsubUrl) });
  const clients = await Promise.all(urls.map((u, i) => createClient({ surveyUrl: u.surveyUrl, service: `only-on-${i}` })));
  const changes = sub.changes()[Symbol.asyncIterator]();
  await until(changes, (l) => sameMembers(l, ['only-on-0', 'only-on-1']), 15_000, 'both merged');
  await eventually(() => sub.sources().every((s) => (s.heartbeatMs ?? 0) > 0), 10_000, 'heartbeat periods learned');
  return { servers, clients, sub, urls };
}

test('live but quiet servers are not expired: no change for many heartbeat periods', async () => {
  const republishMs = 500;
  const { servers, clients, sub } = await twoServers(republishMs);
  try {
    const it = sub.changes()[Symbol.asyncIterator]();
    await it.next(); // the current list, replayed
    // Fifteen periods without a change: the heartbeats alone keep both servers counting.
    const quiet = await nothingWithin(it, 15 * republishMs);
    assert.equal(quiet.value, undefined, `the merged list changed: ${JSON.stringify(quiet.value)}; sources ${JSON.stringify(sub.sources())}`);
    assert.deepEqual(sub.sources().map((s) => s.live), [true, true]);
    for (const s of sub.sources()) assert.ok(Math.abs(s.heartbeatMs! - republishMs) < republishMs, `learned ${s.heartbeatMs} ms for ${republishMs} ms heartbeats`);
  } finally {
    await Promise.all([...clients.map((c) => c.close()), sub.close()]);
    await Promise.all(servers.map((s) => s.close()));
  }
});

test('Date.now stepped an hour forward and back changes nothing; a dead server is still forgotten within its bound', async (t) => {
  const republishMs = 500;
  const { servers, clients, sub } = await twoServers(republishMs);
  const realNow = Date.now;
  try {
    const it = sub.changes()[Symbol.asyncIterator]();
    await it.next(); // the current list, replayed
    const hour = 3_600_000;
    Date.now = () => realNow.call(Date) + hour;
    let step = await nothingWithin(it, 5 * republishMs);
    assert.equal(step.value, undefined, `a forward step changed the list: ${JSON.stringify(step.value)}`);
    Date.now = () => realNow.call(Date) - hour;
    step = await nothingWithin(it, 5 * republishMs, step.pending);
    assert.equal(step.value, undefined, `a backward step changed the list: ${JSON.stringify(step.value)}`);
    assert.deepEqual(sub.sources().map((s) => s.live), [true, true]);

    // With the clock still an hour behind, server 0 dies: its client must go within its bound.
    await servers[0]!.close();
    const closed = performance.now();
    const expiry = sub.sources()[0]!.expiresAt!;
    const next = await step.pending;
    const gone = performance.now();
    assert.ok(!next.done && sameMembers(next.value, ['only-on-1']), `expected only-on-1, got ${JSON.stringify(next)}`);
    t.diagnostic(`dead server forgotten ${(gone - closed).toFixed(0)} ms after it closed (heartbeat ${republishMs} ms), wall clock an hour behind`);
    assert.ok(gone <= expiry + 1000, `gone ${(gone - expiry).toFixed(0)} ms past the bound (1,000 ms of scheduling slack allowed)`);
    assert.equal(sub.sources()[0]!.expiresAt, undefined);
    assert.deepEqual(sub.sources().map((s) => s.live), [false, true]);
  } finally {
    Date.now = realNow;
    await Promise.all([...clients.map((c) => c.close()), sub.close()]);
    await Promise.all(servers.map((s) => s.close()));
  }
});
