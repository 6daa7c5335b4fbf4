/**
 * Supervisors nest: an application supervisor (createSupervisor) hosts servers, clients
 * and subscribers, each a supervision tree of its own. Trees that give up escalate to it;
 * it restarts them whole, or gives up itself; shutdown() leaves no thread and no port.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createSupervisor, SupervisorGiveUpError, type ActorRestartEvent, type TreeRestartEvent } from '../src/index.js';
import { closeActorPool } from '../src/pool.js';
import { assertPortFree, STEADY, tcpPair } from './helpers/endpoints.js';
import { sameMembers, until, within } from './helpers/wait.js';

after(() => closeActorPool());


test('an application supervisor hosts servers, clients and subscribers; their actor events bubble up', async () => {
  const urls = await tcpPair();
  const app = createSupervisor({ name: 'app' });
  try {
    const server = await app.createServer({ ...urls, ...STEADY });
    // Subscribed before any change: lists are published only on change.
    const sub = await app.subscribe({ pubsubUrl: urls.pubsubUrl });
    const a = await app.createClient({ ...urls, service: 'a' });
    await app.createClient({ surveyUrl: urls.surveyUrl, service: 'b' });
    await until(sub.changes()[Symbol.asyncIterator](), (l) => sameMembers(l, ['a', 'b']), 10_000, 'a and b');
    assert.deepEqual(app.health().map((t) => [t.kind, t.actors.map((x) => x.id)]), [
      ['server', ['publisher', 'surveyor']],
      ['subscriber', ['subscriber']],
      ['client', ['subscriber', 'respondent']],
      ['client', ['respondent']],
    ]);
    assert.ok(app.healthy());
    // An uncaught throw ends the thread a shares with b (sharedThreads 'clients', the
    // default): b's actors are restarted too, so wait for a's respondent's event.
    const bubbled = within(10_000, 'actor:restart at the app', new Promise<ActorRestartEvent>((r) => {
      const on = (e: ActorRestartEvent) => e.supervisor === a.name && e.id === 'respondent' && (app.off('actor:restart', on), r(e));
      app.on('actor:restart', on);
    }));
    await a.supervisor.injectFault('respondent', 'throw');
    const e = await bubbled;
    assert.equal(e.supervisor, a.name);
    assert.equal(e.id, 'respondent');
    assert.ok(server.members().length > 0);
  } finally {
    await app.shutdown();
  }
});

test('a tree that gives up is restarted whole by its parent; the same client object carries on', async () => {
  const urls = await tcpPair();
  const app = createSupervisor({ name: 'app', minBackoffMs: 10 });
  try {
    await app.createServer({ ...urls, ...STEADY });
    const watcher = await app.createClient({ ...urls, service: 'watcher' });
    // maxRestarts 0: the first actor failure makes this client's own supervisor give up.
    const fragile = await app.createClient({ ...urls, service: 'fragile', supervision: { maxRestarts: 0, livenessIntervalMs: 0 } });
    const watched = watcher.peers()[Symbol.asyncIterator]();
    const own = fragile.peers()[Symbol.asyncIterator]();
    await until(watched, (l) => l.includes('fragile'), 10_000, 'fragile listed');
    await until(own, (l) => l.includes('fragile'), 10_000, 'fragile sees itself');

    const treeRestart = within(10_000, 'tree:restart', new Promise<TreeRestartEvent>((r) => app.once('tree:restart', r)));
    const firstTree = fragile.supervisor;
    await fragile.supervisor.injectFault('respondent', 'exit');
    const ev = await treeRestart;
    assert.equal(ev.tree, fragile.name);
    assert.match(ev.error.message, /gave up/);
    // The tree is back under a new supervisor, and the client is discovered again.
    await within(10_000, 'tree restarted', new Promise<void>((r) => fragile.on('actor:start', (e) => e.id === 'respondent' && r())));
    assert.notEqual(fragile.supervisor, firstTree);
    assert.ok(!fragile.closed);
    await app.createClient({ surveyUrl: urls.surveyUrl, service: 'late' });
    // The iterator taken before the tree restart keeps delivering lists.
    await until(own, (l) => l.includes('late') && l.includes('fragile'), 10_000, 'late, seen by the restarted tree');
    assert.equal(app.health().find((t) => t.tree === fragile.name)!.restarts, 1);
  } finally {
    await app.shutdown();
  }
});

test('beyond its own intensity the parent gives up: every tree closes, iterators end with its error, ports are free', async () => {
  const urls = await tcpPair();
  const app = createSupervisor({ name: 'app', maxRestarts: 1, periodMs: 60_000, minBackoffMs: 10 });
  const server = await app.createServer({ ...urls, ...STEADY });
  const fragile = await app.createClient({ ...urls, service: 'fragile', supervision: { maxRestarts: 0, livenessIntervalMs: 0 } });
  const own = fragile.peers()[Symbol.asyncIterator]();
  await until(own, (l) => l.includes('fragile'), 10_000, 'fragile listed');
  const gaveUp = within(15_000, 'app giveup', new Promise<Error>((r) => app.once('giveup', ({ error }) => r(error))));
  // Fail the tree again each time it is restarted.
  fragile.on('actor:start', (e) => {
    if (e.id === 'respondent') void fragile.supervisor.injectFault('respondent', 'exit').catch(() => {});
  });
  await fragile.supervisor.injectFault('respondent', 'exit');
  const error = await gaveUp;
  assert.ok(error instanceof SupervisorGiveUpError);
  assert.match(error.message, /supervisor app gave up: more than 1 tree restarts within 60000 ms/);
  await assert.rejects(until(own, () => false, 10_000, 'the end'), (e) => e === error);
  assert.ok(server.closed && fragile.closed);
  assert.equal(app.failure, error);
  await app.shutdown();
  await assertPortFree(urls.surveyUrl);
  await assertPortFree(urls.pubsubUrl);
  await assert.rejects(app.createClient({ surveyUrl: urls.surveyUrl, service: 'x' }), (e) => e === error);
});

// 'none': every actor on a thread of its own, so only the hung respondent is killed and
// the others stop. 'clients' (the default): the client's and the subscriber's
// subscribers share the hung respondent's thread, so they end with it ('crashed').
for (const { sharing, neighbours } of [
  { sharing: 'none', neighbours: 'stopped' },
  { sharing: 'clients', neighbours: 'crashed' },
] as const) {
test(`shutdown({ timeoutMs }) stops everything in reverse order, even a hung actor: no thread, no socket, no port left (sharedThreads: '${sharing}')`, async () => {
  const urls = await tcpPair();
  const app = createSupervisor({ name: 'app', supervision: { livenessIntervalMs: 0, sharedThreads: sharing } });
  const server = await app.createServer({ ...urls, ...STEADY });
  const sub = await app.subscribe({ pubsubUrl: urls.pubsubUrl });
  const c = await app.createClient({ ...urls, service: 'c' });
  await until(sub.changes()[Symbol.asyncIterator](), (l) => l.includes('c'), 10_000, 'c listed');
  await c.supervisor.injectFault('respondent', 'hang');
  // The fault strikes on the worker's next turn: wait until it no longer answers a ping.
  const respondent = c.supervisor.actor('respondent')!;
  await within(10_000, 'the respondent hung', (async () => {
    for (;;) {
      try {
        await respondent.ping(300);
      } catch (e) {
        if ((e as { code?: string }).code === 'ERR_ACTOR_TIMEOUT') return;
        throw e;
      }
    }
  })());
  const stopped: string[] = [];
  app.on('actor:exit', (e) => stopped.push(`${e.supervisor}/${e.id}:${e.reason}`));
  const t0 = performance.now();
  await app.shutdown({ timeoutMs: 300 });
  const took = performance.now() - t0;
  // Reverse start order: the client (its hung respondent terminated), the subscriber, then
  // the server. Actors that end with the hung respondent's thread end together, in no order.
  const order = stopped.map((s) => s.replace(/#\d+(\([^)]*\))?/, ''));
  const first = ['client/respondent:killed', `client/subscriber:${neighbours}`, `subscriber/subscriber:${neighbours}`];
  assert.deepEqual(sharing === 'none' ? order.slice(0, 3) : order.slice(0, 3).sort(), sharing === 'none' ? first : [...first].sort(), JSON.stringify(order));
  assert.deepEqual(order.slice(3), ['server/surveyor:stopped', 'server/publisher:stopped'], JSON.stringify(order));
  assert.ok(took < 5000, `shutdown took ${took} ms`);
  for (const h of [server, c, sub]) {
    assert.ok(h.closed);
    assert.equal(h.supervisor.threadCount(), 0, `${h.name} has threads left`);
    assert.ok(h.health().every((a) => a.state === 'stopped' && a.sockets.length === 0), JSON.stringify(h.health()));
  }
  await assertPortFree(urls.surveyUrl);
  await assertPortFree(urls.pubsubUrl);
});
}
