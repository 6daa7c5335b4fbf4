/**
 * Several servers for redundancy, proven by killing real server processes with SIGKILL:
 * clients register with every server, subscribers merge their lists, and a restarted
 * server has every client back without restarting any client.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { performance } from 'node:perf_hooks';
import { createClient, subscribe, type Client } from '../src/index.js';
import { closeActorPool } from '../src/pool.js';
import { tcpPair, type EndpointPair } from './helpers/endpoints.js';
import type { ChildLines } from './helpers/processes.js';
import { hasAll, registerWithAll, startServerProcess } from './helpers/server-pair.js';
import { eventually, sameMembers, until } from './helpers/wait.js';

after(() => closeActorPool());

const timing = { SURVEY_MS: '50', POLL_MS: '150', REPUBLISH_MS: '100' };
const startServer = (urls: EndpointPair, extra: Record<string, string> = {}) => startServerProcess(urls, { ...timing, ...extra });
const NAMES = ['client1', 'client2', 'client3'];

test('two servers, three clients on both, a merging subscriber: SIGKILL one, the list stays right; restart it, clients reappear', async (t) => {
  const [a, b] = [await tcpPair(), await tcpPair()];
  let serverA: ChildLines = startServer(a);
  const serverB = startServer(b);
  const clients: Client[] = [];
  // Generous: a loaded machine stalls the servers' heartbeats (every 100 ms here) for hundreds of ms.
  const staleAfterMs = 1000;
  const sub = await subscribe({ pubsubUrl: [a.pubsubUrl, b.pubsubUrl], staleAfterMs });
  try {
    const changes = await registerWithAll([serverA, serverB], [a, b], sub, NAMES, clients);

    serverA.kill('SIGKILL');
    await serverA.exited;
    // A client leaving now must disappear although dead server A's last list still names it.
    const tLeave = performance.now();
    await clients[2]!.close();
    const { seen } = await until(changes, (l) => sameMembers(l, ['client1', 'client2']), 10_000, 'client3 gone from the merge');
    const gone = performance.now() - tLeave;
    assert.ok(seen.every((l) => l.includes('client1') && l.includes('client2')), `a live client vanished: ${JSON.stringify(seen)}`);
    // Documented bound: staleAfterMs after A's last message (the merge sets a timer for that moment), plus a round of B.
    const bound = staleAfterMs + 150 + 50;
    t.diagnostic(`client3 left the merged list ${gone.toFixed(0)} ms after it closed (bound ${bound} ms + scheduling slack)`);
    assert.ok(gone < bound + 1000, `took ${gone.toFixed(0)} ms`);
    // Dead A stops counting, live B keeps counting. (Usually A is out already; on a starved
    // machine A may have dropped client3 itself just before it died, and then it expires a
    // moment later.)
    await eventually(() => {
      const [liveA, liveB] = sub.sources().map((s) => s.live);
      return liveA === false && liveB === true;
    }, 10_000, 'A expired, B live');

    // Server A comes back on the same ports: the remaining clients reappear on it, none restarted.
    serverA = startServer(a);
    await serverA.waitFor(hasAll(['client1', 'client2']), 20_000, 'clients back on the restarted server A');
    await eventually(() => sub.sources()[0]!.live, 10_000, 'server A live again in the merge (its heartbeat)');
    assert.ok(clients.slice(0, 2).every((c) => c.health().every((h) => h.restarts === 0)));
  } finally {
    await Promise.all([...clients.map((c) => c.close()), sub.close()]);
    serverA.kill();
    serverB.kill();
  }
});

test('a server killed with SIGKILL and restarted on the same ports has every client back within two rounds', async (t) => {
  const urls = await tcpPair();
  // Scheduled rounds a second apart: the restarted server's first round comes at once, before
  // the clients' next redial (every RECONNECT_IVL_MS = 100 ms) can reach it; the second leaves
  // them ~900 ms, which a loaded machine needs. Rounds that connection hints add in between
  // (a redialled pipe asks for one) are extra: the bound counts scheduled rounds.
  const slow = { POLL_MS: '1000' };
  let server = startServer(urls, slow);
  const clients: Client[] = [];
  try {
    await server.waitFor((l) => l.event === 'ready', 20_000, 'server ready');
    for (const service of NAMES) clients.push(await createClient({ surveyUrl: urls.surveyUrl, service }));
    await server.waitFor(hasAll(NAMES), 10_000, 'all three listed');
    server.kill('SIGKILL');
    await server.exited;
    server = startServer(urls, slow);
    const back = (await server.waitFor(hasAll(NAMES), 20_000, 'all three back')) as { round: number };
    // The change is published at its round's end, after that round's own line, or eagerly within it.
    await server.waitFor((l) => l.event === 'round' && l.round === back.round, 10_000, `round ${back.round} to end`);
    const rounds = server.lines.filter((l) => l.event === 'round' && (l.round as number) <= back.round);
    const scheduled = rounds.filter((l) => l.trigger === 'schedule').length;
    t.diagnostic(`all clients back in round ${back.round} of the restarted server, its scheduled round ${scheduled} (triggers: ${rounds.map((l) => l.trigger).join(', ')})`);
    assert.ok(scheduled <= 2, `back only in scheduled round ${scheduled}`);
    assert.ok(clients.every((c) => c.health().every((h) => h.restarts === 0)), 'no client was restarted');
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    server.kill();
  }
});
