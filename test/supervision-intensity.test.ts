/**
 * Restart intensity and escalation: a restart storm beyond maxRestarts within periodMs
 * gives up exactly once, with a clear error; the owner ends its iterators with it, and
 * nothing is left behind — no worker thread, no open socket, no bound port.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createClient, createServer, SupervisorGiveUpError, type GiveUpEvent } from '../src/index.js';
import { closeActorPool } from '../src/pool.js';
import { PeerSocket } from '../src/testing/index.js';
import { assertPortFree, STEADY, tcpPair } from './helpers/endpoints.js';
import { until, within } from './helpers/wait.js';

after(() => closeActorPool());


// 'none': the respondent alone on its thread, so the storm is its restarts only and the
// give-up names it. 'clients' (the default): its exit ends the subscriber on the same
// thread too, so either may be the restart that tips the intensity over.
for (const { sharing, last } of [
  { sharing: 'none', last: /more than 2 restarts within 30000 ms; last: respondent crashed/ },
  { sharing: 'clients', last: /more than 2 restarts within 30000 ms; last: (respondent|subscriber) crashed/ },
] as const) {
test(`a restart storm escalates exactly once; iterators end with the error; nothing is left behind (sharedThreads: '${sharing}')`, async () => {
  const urls = await tcpPair();
  const server = await createServer({ ...urls, ...STEADY });
  const client = await createClient({ ...urls, service: 'stormy', supervision: { maxRestarts: 2, periodMs: 30_000, minBackoffMs: 5, livenessIntervalMs: 0, sharedThreads: sharing } });
  try {
    const peers = client.peers()[Symbol.asyncIterator]();
    await until(peers, (l) => l.includes('stormy'), 10_000, 'stormy listed');
    const giveups: GiveUpEvent[] = [];
    client.supervisor.on('giveup', (e) => giveups.push(e));
    const failure = within(15_000, 'failure', new Promise<Error>((r) => client.once('failure', r)));
    // Crash the respondent again every time it comes back.
    client.on('actor:start', (e) => {
      if (e.id === 'respondent') void client.supervisor.injectFault('respondent', 'exit').catch(() => {});
    });
    await client.supervisor.injectFault('respondent', 'exit');
    const error = await failure;
    assert.ok(error instanceof SupervisorGiveUpError);
    assert.equal((error as SupervisorGiveUpError).code, 'ERR_SUPERVISOR_GIVEUP');
    assert.match(error.message, last);
    // The pending iterator ends with that error (after any lists still queued).
    await assert.rejects(until(peers, () => false, 10_000, 'the end'), (e) => e === error);
    await client.close();
    assert.equal(giveups.length, 1, 'gave up exactly once');
    assert.ok(client.closed);
    assert.equal(client.supervisor.threadCount(), 0, 'no worker thread left');
    assert.ok(client.health().every((h) => h.state === 'failed' && h.sockets.length === 0), JSON.stringify(client.health()));
    assert.throws(() => client.peers(), { code: 'ERR_CLOSED' });
  } finally {
    await client.close();
    await server.close();
  }
});
}

test('a surveyor whose port is taken while it restarts gives up instead of retrying forever, and frees the pub/sub port', async () => {
  const urls = await tcpPair();
  const server = await createServer({ ...urls, ...STEADY, supervision: { maxRestarts: 3, periodMs: 30_000, minBackoffMs: 200, maxBackoffMs: 400, livenessIntervalMs: 0 } });
  let squatter: PeerSocket | undefined;
  try {
    const gaveUp = within(20_000, 'giveup', new Promise<GiveUpEvent>((r) => server.supervisor.once('giveup', r)));
    // As soon as the surveyor is dead, somebody else binds its port.
    server.supervisor.once('actor:exit', () => {
      squatter = PeerSocket.bind('surveyor', urls.surveyUrl);
    });
    await server.supervisor.injectFault('surveyor', 'throw');
    const { error } = await gaveUp;
    assert.match(error.message, /surveyor start-failed \(bind .* failed: EADDRINUSE/);
    await server.close();
    assert.equal(server.supervisor.threadCount(), 0);
    await assertPortFree(urls.pubsubUrl);
  } finally {
    squatter?.close();
    await server.close();
  }
});

test('backoff grows between consecutive restarts of a failing actor', async () => {
  const urls = await tcpPair();
  const client = await createClient({ surveyUrl: urls.surveyUrl, service: 'b', supervision: { maxRestarts: 10, periodMs: 60_000, minBackoffMs: 20, maxBackoffMs: 1000, randomFactor: 0, livenessIntervalMs: 0 } });
  try {
    const delays: number[] = [];
    const three = within(20_000, 'three restarts', new Promise<void>((resolve) => {
      client.on('actor:restart', (e) => {
        delays.push(e.delayMs);
        if (delays.length === 3) resolve();
      });
    }));
    client.on('actor:start', (e) => {
      if (e.restarts > 0 && e.restarts < 3) void client.supervisor.injectFault('respondent', 'reject').catch(() => {});
    });
    await client.supervisor.injectFault('respondent', 'reject');
    await three;
    assert.deepEqual(delays, [20, 40, 80]);
  } finally {
    await client.close();
  }
});
