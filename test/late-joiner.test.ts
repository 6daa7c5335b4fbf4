/**
 * Heartbeat republish: a subscriber that connects after the last change gets the current
 * list within one republish period (the default, 'auto', is in state-on-connect.test.ts);
 * in the original mode (republish off, no list digest) it hears nothing until the next
 * change, exactly as the original.
 * Every wait is for an event (a list, a round, a republication), so a loaded machine makes
 * the tests slower, never red.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { performance } from 'node:perf_hooks';
import { closeActorPool, createClient, createServer, subscribe } from '../src/index.js';
import { STEADY, tcpPair } from './helpers/endpoints.js';
import { eventually, sameMembers, until, within } from './helpers/wait.js';

after(() => closeActorPool());

test('with republishMs a late subscriber receives the current list by a republication', async (t) => {
  const urls = await tcpPair();
  const republishMs = 200;
  const server = await createServer({ ...urls, ...STEADY, republishMs });
  const c1 = await createClient({ surveyUrl: urls.surveyUrl, service: 'client1' });
  const c2 = await createClient({ surveyUrl: urls.surveyUrl, service: 'client2' });
  try {
    // The members, not a 'change' event: the join may come before a listener could be added.
    await eventually(() => sameMembers(server.members(), ['client1', 'client2']), 20_000, 'both clients listed');
    const t0 = performance.now();
    const late = await subscribe({ pubsubUrl: urls.pubsubUrl });
    const { value } = await until(late.changes()[Symbol.asyncIterator](), () => true, 20_000, 'the list at the late subscriber');
    assert.ok(sameMembers(value, ['client1', 'client2']));
    t.diagnostic(`late subscriber had the list ${(performance.now() - t0).toFixed(0)} ms after subscribing (republishMs ${republishMs})`);
    // Heartbeats of an unchanged list are not yielded again: three more reach the subscriber, nothing is yielded.
    const it = late.changes()[Symbol.asyncIterator]();
    await it.next(); // the latest list, replayed to a new iterator
    let yielded = false;
    void it.next().then((r) => (yielded = !r.done));
    // A member missing rounds on a starved machine is a real change, and is yielded: count them.
    let changes = 0;
    server.on('change', () => changes++);
    const heard = () => late.sources()[0]!.lastHeard;
    for (let i = 0; i < 3; i++) {
      const before = heard();
      await eventually(() => heard() !== before, 20_000, `republication ${i + 1} heard by the subscriber`);
    }
    assert.ok(!yielded || changes > 0, 'an unchanged republished list was yielded again');
    await late.close();
  } finally {
    await Promise.all([c1.close(), c2.close()]);
    await server.close();
  }
});

test('in the original mode (republishMs: 0) a late subscriber hears nothing until the next change, as the original', async () => {
  const urls = await tcpPair();
  const server = await createServer({ ...urls, ...STEADY, republishMs: 0, listDigest: false });
  const c1 = await createClient({ surveyUrl: urls.surveyUrl, service: 'client1' });
  try {
    await eventually(() => sameMembers(server.members(), ['client1']), 20_000, 'client1 listed');
    const late = await subscribe({ pubsubUrl: urls.pubsubUrl });
    const it = late.changes()[Symbol.asyncIterator]();
    let yielded = false;
    const pending = it.next();
    void pending.then(() => (yielded = true));
    let rounds = 0;
    let changes = 0;
    server.on('round', () => rounds++);
    server.on('change', () => changes++);
    await eventually(() => rounds >= 3, 20_000, 'three rounds');
    assert.ok(!yielded || changes > 0, 'a list arrived without a change');
    const c2 = await createClient({ surveyUrl: urls.surveyUrl, service: 'client2' });
    const next = await within(20_000, 'the change to reach the late subscriber', pending);
    assert.equal(next.done, false);
    // Normally this first list; after a starved member's drop and return, a later one.
    if (!sameMembers(next.value, ['client1', 'client2'])) await until(it, (l) => sameMembers(l, ['client1', 'client2']), 20_000, 'client2 joined');
    await Promise.all([c2.close(), late.close()]);
  } finally {
    await c1.close();
    await server.close();
  }
});
