/**
 * Heartbeat republish: a subscriber that connects after the last change gets the current
 * list within one republish period; with republish off it hears nothing until the next
 * change, exactly as the original.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { performance } from 'node:perf_hooks';
import { createClient, createServer, subscribe } from '../src/index.js';
import { closeActorPool } from '../src/pool.js';
import { STEADY, tcpPair } from './helpers/endpoints.js';
import { nothingWithin, sameMembers, until } from './helpers/wait.js';

after(() => closeActorPool());

test('with republishMs a late subscriber receives the current list within one period', async (t) => {
  const urls = await tcpPair();
  const republishMs = 200;
  const server = await createServer({ ...urls, ...STEADY, republishMs });
  const c1 = await createClient({ surveyUrl: urls.surveyUrl, service: 'client1' });
  const c2 = await createClient({ surveyUrl: urls.surveyUrl, service: 'client2' });
  try {
    await new Promise<void>((r) => server.on('change', (c) => c.members.length === 2 && r()));
    const t0 = performance.now();
    const late = await subscribe({ pubsubUrl: urls.pubsubUrl });
    const { value } = await until(late.changes()[Symbol.asyncIterator](), () => true, 10_000, 'the list at the late subscriber');
    const delay = performance.now() - t0;
    assert.ok(sameMembers(value, ['client1', 'client2']));
    t.diagnostic(`late subscriber had the list ${delay.toFixed(0)} ms after subscribing (republishMs ${republishMs})`);
    // One period, plus the subscriber's own start (a worker thread) and connect.
    assert.ok(delay < republishMs + 2000, `took ${delay.toFixed(0)} ms`);
    // Heartbeats of an unchanged list are not yielded again.
    const it = late.changes()[Symbol.asyncIterator]();
    await it.next(); // the latest list, replayed to a new iterator
    assert.equal((await nothingWithin(it, republishMs * 3)).value, undefined);
    await late.close();
  } finally {
    await Promise.all([c1.close(), c2.close()]);
    await server.close();
  }
});

test('without republish a late subscriber hears nothing until the next change, as the original', async () => {
  const urls = await tcpPair();
  const server = await createServer({ ...urls, ...STEADY });
  const c1 = await createClient({ surveyUrl: urls.surveyUrl, service: 'client1' });
  try {
    await new Promise<void>((r) => server.on('change', () => r()));
    const late = await subscribe({ pubsubUrl: urls.pubsubUrl });
    const it = late.changes()[Symbol.asyncIterator]();
    let rounds = 0;
    server.on('round', () => rounds++);
    const silent = await nothingWithin(it, 500);
    assert.equal(silent.value, undefined, 'a list arrived without a change');
    assert.ok(rounds >= 3, `only ${rounds} rounds ran`);
    const c2 = await createClient({ surveyUrl: urls.surveyUrl, service: 'client2' });
    const next = await silent.pending;
    assert.ok(!next.done && sameMembers(next.value, ['client1', 'client2']));
    await Promise.all([c2.close(), late.close()]);
  } finally {
    await c1.close();
    await server.close();
  }
});
