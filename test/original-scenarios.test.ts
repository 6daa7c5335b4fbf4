/**
 * The Go original's test suite (PROTOCOL.md, scenarios 1–10), ported: each test uses its
 * own pair of loopback ports and the original's options (10 ms / 10 ms / 20 ms).
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createClient, createServer, subscribe, type Client } from '../src/index.js';
import { closeActorPool } from '../src/pool.js';
import { FAST, tcpPair } from './helpers/endpoints.js';
import { eventually, sameMembers, until } from './helpers/wait.js';

const LIST_DEADLINE = 20_000;
after(() => closeActorPool());

async function withClients<T>(fn: (track: (c: Client) => Client) => Promise<T>): Promise<T> {
  const clients: Client[] = [];
  try {
    return await fn((c) => (clients.push(c), c));
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
}

test('1. a server can be started and cancelled', async () => {
  const server = await createServer({ ...(await tcpPair()), ...FAST });
  assert.deepEqual(server.members(), []);
  assert.ok(server.health().every((h) => h.state === 'running'));
  await server.close();
  assert.ok(server.health().every((h) => h.state === 'stopped' && h.sockets.length === 0));
});

test('2. a server and a client with subscription can be started and cancelled', async () => {
  const urls = await tcpPair();
  const server = await createServer({ ...urls, ...FAST });
  const client = await createClient({ ...urls, service: 'client1' });
  assert.ok(client.health().every((h) => h.state === 'running'));
  await client.close();
  await server.close();
  assert.ok([...client.health(), ...server.health()].every((h) => h.state === 'stopped'));
});

test('3. one client with subscription receives [client1]', async () => {
  const urls = await tcpPair();
  const server = await createServer({ ...urls, ...FAST });
  try {
    await withClients(async (track) => {
      const client = track(await createClient({ ...urls, service: 'client1' }));
      const { value } = await until(client.peers()[Symbol.asyncIterator](), (l) => l.length > 0, LIST_DEADLINE, '[client1]');
      assert.deepEqual(value, ['client1']);
    });
  } finally {
    await server.close();
  }
});

test('4. three clients with subscription each receive a list containing all three', async () => {
  const urls = await tcpPair();
  const server = await createServer({ ...urls, ...FAST });
  try {
    await withClients(async (track) => {
      const names = ['client1', 'client2', 'client3'];
      const clients = await Promise.all(names.map((service) => createClient({ ...urls, service }).then(track)));
      await Promise.all(
        clients.map(async (c) => {
          const { value } = await until(c.peers()[Symbol.asyncIterator](), (l) => l.length === 3, LIST_DEADLINE, `all three at ${c.service}`);
          assert.ok(sameMembers(value, names), `${c.service} got ${value}`);
        }),
      );
    });
  } finally {
    await server.close();
  }
});

test('5. adding clients one by one: the first client sees [client1], then 1+2, then all three', async () => {
  const urls = await tcpPair();
  const server = await createServer({ ...urls, ...FAST });
  try {
    await withClients(async (track) => {
      const first = track(await createClient({ ...urls, service: 'client1' }));
      const peers = first.peers()[Symbol.asyncIterator]();
      assert.deepEqual((await until(peers, (l) => l.length > 0, LIST_DEADLINE, '[client1]')).value, ['client1']);
      track(await createClient({ ...urls, service: 'client2' }));
      // The expected lists, not "the next list": on a starved machine a member can miss its rounds and come back in between.
      await until(peers, (l) => sameMembers(l, ['client1', 'client2']), LIST_DEADLINE, 'client1+2');
      track(await createClient({ ...urls, service: 'client3' }));
      await until(peers, (l) => sameMembers(l, ['client1', 'client2', 'client3']), LIST_DEADLINE, 'all three');
    });
  } finally {
    await server.close();
  }
});

test('6. removing clients: cancelling client3 gives 1+2, then cancelling client2 gives [client1]', async () => {
  const urls = await tcpPair();
  const server = await createServer({ ...urls, ...FAST });
  try {
    await withClients(async (track) => {
      const [c1, c2, c3] = await Promise.all(['client1', 'client2', 'client3'].map((service) => createClient({ ...urls, service }).then(track)));
      const peers = c1!.peers()[Symbol.asyncIterator]();
      await until(peers, (l) => l.length === 3, LIST_DEADLINE, 'all three');
      await c3!.close();
      await until(peers, (l) => sameMembers(l, ['client1', 'client2']), LIST_DEADLINE, 'client3 gone');
      await c2!.close();
      await until(peers, (l) => sameMembers(l, ['client1']), LIST_DEADLINE, 'client2 gone');
    });
  } finally {
    await server.close();
  }
});

test('7. publication only on change: after the list of three, no list within 100 ms (five rounds)', async () => {
  const urls = await tcpPair();
  const server = await createServer({ ...urls, ...FAST });
  // Every change from the start: one that came after the list of three but before the
  // rounds below are counted (a drop right after it, its list already queued) still counts.
  const changed: string[][] = [];
  const recordChange = (c: { members: string[] }) => changed.push(c.members);
  server.on('change', recordChange);
  try {
    await withClients(async (track) => {
      const clients = await Promise.all(['client1', 'client2', 'client3'].map((service) => createClient({ ...urls, service }).then(track)));
      const peers = clients[0]!.peers()[Symbol.asyncIterator]();
      await until(peers, (l) => l.length === 3, LIST_DEADLINE, 'all three');
      // Five rounds (100 ms on an idle machine): a list may arrive only if the membership
      // changed after it became the three — a starved machine can make a client miss three
      // 10 ms surveys, and then the server rightly publishes; the heartbeat repeats an
      // unchanged list, which peers() does not yield again.
      let rounds = 0;
      const countRounds = () => rounds++;
      server.on('round', countRounds);
      let arrived: string[] | undefined;
      void peers.next().then((r) => (arrived = r.done ? undefined : r.value));
      await eventually(() => rounds >= 5, LIST_DEADLINE, 'five rounds');
      server.off('round', countRounds);
      server.off('change', recordChange);
      const changesSinceThree = changed.length - 1 - changed.findIndex((m) => m.length === 3);
      assert.ok(arrived === undefined || changesSinceThree > 0, `a list arrived although nothing changed: ${JSON.stringify(arrived)}; changes ${JSON.stringify(changed)}`);
    });
  } finally {
    await server.close();
  }
});

test('8. a client made without a pub/sub URL gets an error from peers()', async () => {
  const urls = await tcpPair();
  const client = await createClient({ surveyUrl: urls.surveyUrl, service: 'client1' });
  try {
    assert.throws(() => client.peers(), { name: 'NoPubSubError', code: 'ERR_NO_PUBSUB' });
  } finally {
    await client.close();
  }
});

test('9. a standalone subscriber sees client1 once a plain client joins', async () => {
  const urls = await tcpPair();
  const server = await createServer({ ...urls, ...FAST });
  const ac = new AbortController();
  try {
    const sub = await subscribe({ pubsubUrl: urls.pubsubUrl, signal: ac.signal });
    const changes = sub.changes()[Symbol.asyncIterator]();
    await withClients(async (track) => {
      track(await createClient({ surveyUrl: urls.surveyUrl, service: 'client1' }));
      assert.deepEqual((await until(changes, (l) => l.length > 0, LIST_DEADLINE, '[client1]')).value, ['client1']);
    });
    ac.abort(); // as cancelling the original's context
    assert.deepEqual(await until(changes, () => false, LIST_DEADLINE, 'the end').catch((e: Error) => e.message.includes('iterator ended')), true);
    await sub.close();
  } finally {
    await server.close();
  }
});

test('10. malformed URLs make server, client and client-with-subscription creation fail', async () => {
  const good = await tcpPair();
  const invalid = { name: 'InvalidUrlError', code: 'ERR_INVALID_URL' };
  await assert.rejects(createServer({ ...good, surveyUrl: 'tcp://xxx', ...FAST }), invalid);
  await assert.rejects(createClient({ surveyUrl: 'tcp://xxx', service: 'client1' }), invalid);
  await assert.rejects(createServer({ ...good, pubsubUrl: 'tcp://xxx', ...FAST }), invalid);
  await assert.rejects(createClient({ surveyUrl: good.surveyUrl, pubsubUrl: 'tcp://xxx', service: 'client1' }), invalid);
  // Nothing was left bound: the good ports still serve a server.
  const server = await createServer({ ...good, ...FAST });
  await server.close();
});
