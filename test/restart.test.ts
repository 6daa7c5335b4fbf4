/** A crashed actor is restarted by its supervisor, its leaked sockets closed, and discovery carries on. */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createClient, createServer, type ActorRestartEvent } from '../src/index.js';
import { closeActorPool } from '../src/pool.js';
import { STEADY, tcpPair } from './helpers/endpoints.js';
import { sameMembers, until, within } from './helpers/wait.js';

after(() => closeActorPool());

const restartOf = (emitter: { once(e: 'actor:restart', l: (e: ActorRestartEvent) => void): unknown }) =>
  within(10_000, 'actor:restart', new Promise<ActorRestartEvent>((r) => emitter.once('actor:restart', r)));

test('a crashed surveyor is restarted on the same port and the list stays correct', async () => {
  const urls = await tcpPair();
  const server = await createServer({ ...urls, ...STEADY });
  const c1 = await createClient({ ...urls, service: 'client1' });
  const c2 = await createClient({ ...urls, service: 'client2' });
  const clients = [c1, c2];
  try {
    const peers = c1.peers()[Symbol.asyncIterator]();
    await until(peers, (l) => l.length === 2, 10_000, 'both');
    const restarted = restartOf(server.supervisor);
    const started = within(10_000, 'surveyor back', new Promise((r) => server.supervisor.on('actor:start', (e) => e.id === 'surveyor' && r(e))));
    await server.supervisor.injectFault('surveyor', 'throw');
    const ev = await restarted;
    assert.equal(ev.id, 'surveyor');
    assert.equal(ev.reason, 'crashed');
    await started;
    // Discovery carries on through the restarted surveyor: a new client is seen...
    const c3 = await createClient({ ...urls, service: 'client3' });
    clients.push(c3);
    const { seen } = await until(peers, (l) => l.length === 3, 10_000, 'client3 after the restart');
    // ...and no spurious list (empty, or without client1/2) was published on the way.
    assert.ok(seen.every((l) => l.includes('client1') && l.includes('client2')), JSON.stringify(seen));
    await c3.close();
    await until(peers, (l) => sameMembers(l, ['client1', 'client2']), 20_000, 'client3 gone');
    const h = server.health().find((x) => x.id === 'surveyor')!;
    assert.equal(h.restarts, 1);
    assert.equal(h.state, 'running');
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await server.close();
  }
});

test('a client whose respondent exits is restarted and listed again', async () => {
  const urls = await tcpPair();
  const server = await createServer({ ...urls, ...STEADY });
  const watcher = await createClient({ ...urls, service: 'watcher' });
  const c1 = await createClient({ surveyUrl: urls.surveyUrl, service: 'client1' });
  try {
    const peers = watcher.peers()[Symbol.asyncIterator]();
    await until(peers, (l) => l.includes('client1'), 10_000, 'client1');
    const restarted = restartOf(c1.supervisor);
    await c1.supervisor.injectFault('respondent', 'exit');
    assert.equal((await restarted).reason, 'crashed');
    // It may drop out for a round while its worker restarts; it must be listed again.
    await within(10_000, 'client1 listed after restart', new Promise<void>((r) => {
      const check = () => server.members().includes('client1') && c1.health()[0]!.restarts === 1 && r();
      server.on('round', check);
    }));
  } finally {
    await Promise.all([watcher.close(), c1.close()]);
    await server.close();
  }
});
