/**
 * Per-member events, as node-discover's added / removed: 'joined' and 'left' once per
 * name per change of the merged list (never again for a heartbeat); and client.listed(),
 * which resolves once the client sees itself listed and rejects if the client closes first.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { ClosedError, createClient, createServer, NoPubSubError, subscribe, type Client } from '../src/index.js';
import { closeActorPool } from '../src/pool.js';
import { freePort, tcpPair } from './helpers/endpoints.js';
import { eventually, within } from './helpers/wait.js';

after(() => closeActorPool());

const TIMING = { surveyTime: 100, recvDeadline: 100, pollTime: 200, missedRounds: 2, republishMs: 150 } as const;
const DEADLINE = 15_000;

test("'joined' and 'left' fire once per name per change, on a subscriber and on a client; heartbeats fire nothing", async () => {
  const urls = await tcpPair();
  const server = await createServer({ ...urls, ...TIMING });
  const sub = await subscribe({ pubsubUrl: urls.pubsubUrl });
  const events: string[] = [];
  sub.on('joined', (name) => events.push(`+${name}`));
  sub.on('left', (name) => events.push(`-${name}`));
  const lists: string[][] = [];
  sub.on('change', (l) => lists.push(l));
  const watcher = await createClient({ ...urls, service: 'watcher' });
  const clientEvents: string[] = [];
  watcher.on('joined', (name) => clientEvents.push(`+${name}`));
  watcher.on('left', (name) => clientEvents.push(`-${name}`));
  const others: Client[] = [];
  try {
    await within(DEADLINE, 'the watcher listed', watcher.listed());
    others.push(await createClient({ surveyUrl: urls.surveyUrl, service: 'a' }));
    others.push(await createClient({ surveyUrl: urls.surveyUrl, service: 'b' }));
    await eventually(() => events.includes('+a') && events.includes('+b'), DEADLINE, 'a and b joined');
    await others[0]!.close();
    await eventually(() => events.includes('-a'), DEADLINE, 'a left');
    // Several heartbeats of the unchanged list [b, watcher]: no event.
    const published = server.stats().published;
    await eventually(() => server.stats().published >= published + 3, DEADLINE, 'three more publications (heartbeats)');
    await eventually(() => clientEvents.includes('-a'), DEADLINE, 'the client saw a leave too');

    for (const [who, seen] of [['subscriber', events], ['client', clientEvents]] as const) {
      for (const name of ['a', 'b']) assert.equal(seen.filter((e) => e === `+${name}`).length, 1, `${who}: ${name} joined once: ${seen}`);
      assert.equal(seen.filter((e) => e === '-a').length, 1, `${who}: a left once: ${seen}`);
      assert.ok(!seen.includes('-b') && !seen.includes('-watcher'), `${who}: nobody else left: ${seen}`);
    }
    // Every event matches a change of the list: replaying the lists gives the same events.
    const replayed: string[] = [];
    let previous: string[] = [];
    for (const l of lists) {
      for (const n of l) if (!previous.includes(n)) replayed.push(`+${n}`);
      for (const n of previous) if (!l.includes(n)) replayed.push(`-${n}`);
      previous = l;
    }
    assert.deepEqual(events, replayed);
  } finally {
    await Promise.all([...others.map((c) => c.close()), watcher.close(), sub.close()]);
    await server.close();
  }
});

test('listed() resolves once the client sees a list that contains itself', async () => {
  const urls = await tcpPair();
  const server = await createServer({ ...urls, ...TIMING });
  const client = await createClient({ ...urls, service: 'me' });
  try {
    await within(DEADLINE, 'listed()', client.listed());
    assert.ok(client.latestPeers()!.includes('me'));
    await client.listed(); // and stays resolved
  } finally {
    await client.close();
    await server.close();
  }
});

test('listed() rejects with ClosedError when the client closes first, with the abort reason when aborted, and NoPubSubError without pubsubUrl', async () => {
  // Nothing listens on these ports: the client is never listed.
  const nowhere = async () => `tcp://127.0.0.1:${await freePort()}`;
  const closed = await createClient({ surveyUrl: await nowhere(), pubsubUrl: await nowhere(), service: 'lonely' });
  const pending = closed.listed();
  await closed.close();
  await assert.rejects(pending, ClosedError);
  await assert.rejects(closed.listed(), ClosedError, 'and asking again after close');

  const ac = new AbortController();
  const aborted = await createClient({ surveyUrl: await nowhere(), pubsubUrl: await nowhere(), service: 'lonely', signal: ac.signal });
  const reason = new Error('deploy cancelled');
  const waiting = aborted.listed();
  ac.abort(reason);
  await assert.rejects(waiting, (e) => e === reason);
  await eventually(() => aborted.closed, DEADLINE, 'the aborted client closed');

  const plain = await createClient({ surveyUrl: await nowhere(), service: 'plain' });
  try {
    await assert.rejects(plain.listed(), NoPubSubError);
  } finally {
    await plain.close();
  }
});
