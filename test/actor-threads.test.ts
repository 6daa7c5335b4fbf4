/**
 * How actors map to threads (src/pool.ts): actors that wait on readiness share a worker
 * thread of the process-wide pool, each still an actor of its own — stopped alone,
 * restarted by its own supervisor when the thread they share dies — while an actor that
 * blocks keeps a thread to itself; threads are reused across client lifecycles, and the
 * process exits once everything is closed. Real worker threads, real sockets.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createClient, createServer, SUPERVISOR_DEFAULTS, type Client, type Supervisor, type ThreadSharing } from '../src/index.js';
import { sharesThread, threadSharing } from '../src/actor-run.js';
import type { ActorArgs } from '../src/actors/messages.js';
import { ACTORS_PER_THREAD, actorThreadCount, actorThreadsStarted, closeActorPool, packActors } from '../src/pool.js';
import { PeerSocket, startActor } from '../src/testing/index.js';
import type { ActorStartEvent } from '../src/supervisor.js';
import { STEADY, freePort, tcpPair } from './helpers/endpoints.js';
import { eventually, sameMembers, until, within } from './helpers/wait.js';

after(() => closeActorPool());

/** Surveys until one is answered (the respondent is still dialling at first). */
async function answerOne(surveyor: PeerSocket): Promise<string> {
  for (let i = 0; i < 200; i++) {
    surveyor.send('');
    const answer = await surveyor.recv(100);
    if (answer) return answer.toString();
  }
  throw new Error('no answer to 200 surveys');
}

test('pure: the balancer gives a lone actor an empty thread, and packs a co-hosted one onto the busiest thread with room and no lone actor', () => {
  type Task = Parameters<typeof packActors>[0];
  type Worker = Parameters<typeof packActors>[1][number];
  const worker = (id: number, currentUsage: number, more: Partial<Worker> = {}) =>
    ({ id, currentUsage, isRunningAbortableTask: false, terminating: false, destroyed: false, histogram: null, ...more }) as Worker;
  const lone = { isAbortable: true } as Task;
  const cohosted = { isAbortable: false } as Task;
  const alone = worker(1, Infinity, { isRunningAbortableTask: true });
  const idle = worker(2, 0);
  const busy = worker(3, 5);
  const full = worker(4, ACTORS_PER_THREAD);
  const dying = worker(5, 7, { terminating: true });
  assert.equal(packActors(lone, [alone, busy, idle])?.id, 2, 'a lone actor takes an empty thread');
  assert.equal(packActors(lone, [alone, busy, full]), null, 'or a new one');
  assert.equal(packActors(cohosted, [alone, idle, busy, full, dying])?.id, 3, 'the busiest with room, never beside a lone actor, never a dying thread');
  assert.equal(packActors(cohosted, [alone, idle, full])?.id, 2, 'an idle thread before a new one');
  assert.equal(packActors(cohosted, [alone, full]), null, `at most ${ACTORS_PER_THREAD} a thread`);
});

test('two respondents waiting on readiness share a thread and stop independently; one receiving in slices has its own', async () => {
  const u = `tcp://127.0.0.1:${await freePort()}`;
  const surveyor = PeerSocket.bind('surveyor', u).surveyDeadline(200);
  const a = await startActor('respondent', { urls: [u], service: 'svc' }, { name: 'test/a', sharedThreads: true });
  const b = await startActor('respondent', { urls: [u], service: 'svc' }, { name: 'test/b', sharedThreads: true });
  const alone = await startActor('respondent', { urls: [u], service: 'svc' }, { name: 'test/alone', sharedThreads: true, waitOnReadiness: false });
  try {
    assert.equal(a.run.cohosted, true);
    assert.equal(alone.run.cohosted, false);
    const shared = a.run.threadId;
    assert.equal(typeof shared, 'number');
    assert.equal(b.run.threadId, shared, 'the second co-hosted actor joins the first one\'s thread');
    assert.notEqual(alone.run.threadId, shared, 'an actor receiving in slices keeps a thread to itself');
    const threads = actorThreadCount();

    const exit = await a.stop(5000);
    assert.equal(exit.reason, 'stopped');
    assert.deepEqual(exit.report?.sockets, [], 'the stopped actor closed its socket');
    // Its neighbour goes on, on the same thread, and still answers.
    assert.equal(b.run.hasExited, false);
    assert.equal(b.run.threadId, shared);
    assert.equal(typeof (await b.run.ping(5000)), 'number');
    assert.equal(await answerOne(surveyor), 'svc');
    assert.equal(actorThreadCount(), threads, 'stopping an actor ends no thread');

    assert.equal((await b.stop(5000)).reason, 'stopped');
    assert.equal(actorThreadCount(), threads, 'a thread left with no actor is kept for reuse');
  } finally {
    await Promise.all([a, b, alone].map((p) => p.stop(5000)));
    surveyor.close();
  }
});

test('pure: which actors share a thread under each sharedThreads value; true is \'all\', false \'none\'; an actor that blocks never shares', () => {
  const kinds = ['surveyor', 'publisher', 'respondent', 'subscriber'] as const;
  const sharing = (value: ThreadSharing | boolean, waitOnReadiness = true) =>
    kinds.filter((kind) => sharesThread({ kind } as ActorArgs, threadSharing(value), waitOnReadiness));
  assert.deepEqual(sharing('clients'), ['respondent', 'subscriber']);
  assert.deepEqual(sharing('main'), ['respondent', 'subscriber']);
  assert.deepEqual(sharing('all'), ['publisher', 'respondent', 'subscriber']);
  assert.deepEqual(sharing(true), sharing('all'));
  assert.deepEqual(sharing('none'), []);
  assert.deepEqual(sharing(false), []);
  assert.deepEqual(sharing('all', false), ['publisher'], 'receiving in slices, respondents and subscribers block their thread');
  assert.equal(SUPERVISOR_DEFAULTS.sharedThreads, 'clients');
});

const supervision = { sharedThreads: true, livenessIntervalMs: 100, livenessTimeoutMs: 1000, minBackoffMs: 10 };

/** The threads a client's respondent and subscriber run on. */
const threadsOf = (client: Client) => [client.supervisor.actor('respondent')!.threadId, client.supervisor.actor('subscriber')!.threadId];

/** Runs cycles 1..n after a first one, each on `expected` threads if given: none of them may start a thread. */
async function reusedOver(n: number, cycle: (i: number) => Promise<Array<number | undefined>>, expected?: Array<number | undefined>): Promise<void> {
  const started = actorThreadsStarted();
  for (let i = 1; i <= n; i++) {
    const threads = await cycle(i);
    if (expected) assert.deepEqual(threads, expected, `cycle ${i}`);
  }
  assert.equal(actorThreadsStarted(), started, 'no thread started after the first cycle');
}

test('threads are reused across client create/close cycles: none is started after the first cycle', async () => {
  const urls = await tcpPair();
  const server = await createServer({ ...urls, ...STEADY, supervision });
  try {
    const cycle = async (i: number) => {
      const client = await createClient({ ...urls, service: `cycle-${i}`, supervision });
      const threads = threadsOf(client);
      await client.close();
      assert.equal(client.supervisor.threadCount(), 0, 'a closed client runs on no thread');
      return threads;
    };
    const publisherThread = server.supervisor.actor('publisher')!.threadId;
    assert.deepEqual(await cycle(0), [publisherThread, publisherThread], 'the client\'s actors join the publisher\'s thread');
    await reusedOver(20, cycle, [publisherThread, publisherThread]);
  } finally {
    await server.close();
  }
});

test('with sharedThreads: \'none\' (a thread per actor) threads are reused too: client create/close cycles start no thread after the first', async () => {
  const urls = await tcpPair();
  const own = { sharedThreads: 'none' } as const;
  const server = await createServer({ ...urls, ...STEADY, supervision: own });
  try {
    const cycle = async (i: number) => {
      const client = await createClient({ ...urls, service: `own-${i}`, pubsubUrl: urls.pubsubUrl, supervision: own });
      const threads = threadsOf(client);
      assert.notEqual(threads[0], threads[1], 'each actor on a thread of its own');
      assert.ok(!threads.includes(server.supervisor.actor('publisher')!.threadId), 'not on the publisher\'s thread');
      await client.close();
      return threads;
    };
    await cycle(0);
    await reusedOver(10, cycle);
  } finally {
    await server.close();
  }
});

test('by default (\'clients\') the clients\' actors share a thread, the publisher and the surveyor have one each; cycles start no thread after the first', async () => {
  const urls = await tcpPair();
  const server = await createServer({ ...urls, ...STEADY });
  const resident = await createClient({ ...urls, service: 'resident' });
  try {
    const serverThreads = [server.supervisor.actor('publisher')!.threadId, server.supervisor.actor('surveyor')!.threadId];
    assert.notEqual(serverThreads[0], serverThreads[1], 'publisher and surveyor on threads of their own');
    const [clientThread, subscriberThread] = threadsOf(resident);
    assert.equal(subscriberThread, clientThread, 'a client\'s respondent and subscriber share a thread');
    assert.ok(!serverThreads.includes(clientThread), 'not a server actor\'s thread');
    const cycle = async (i: number) => {
      const client = await createClient({ ...urls, service: `shared-${i}` });
      const threads = threadsOf(client);
      await client.close();
      return threads;
    };
    assert.deepEqual(await cycle(0), [clientThread, clientThread], 'another client joins the same thread');
    await reusedOver(10, cycle, [clientThread, clientThread]);
  } finally {
    await resident.close();
    await server.close();
  }
});

test('sharedThreads \'main\': a client\'s actors run on the main thread (no worker thread started), are listed, restart alone; receiving in slices they get worker threads', async () => {
  const urls = await tcpPair();
  const server = await createServer({ ...urls, ...STEADY });
  const clients: Client[] = [];
  try {
    const started = actorThreadsStarted();
    const onMain = await createClient({ ...urls, service: 'on-main', supervision: { sharedThreads: 'main', minBackoffMs: 10 } });
    clients.push(onMain);
    for (const id of ['respondent', 'subscriber']) {
      const run = onMain.supervisor.actor(id)!;
      assert.equal(run.inline, true, `${id} runs on the main thread`);
      assert.equal(run.threadId, undefined, `${id} is on no worker thread`);
    }
    assert.equal(onMain.supervisor.threadCount(), 0);
    assert.equal(actorThreadsStarted(), started, 'no worker thread started for it');
    const peers = onMain.peers()[Symbol.asyncIterator]();
    await until(peers, (l) => l.includes('on-main'), 20_000, 'listed, and the list received on the main thread');
    // A throw in one actor's loop restarts that actor only; faults that would kill or
    // block a thread are refused: the thread is the host's.
    await assert.rejects(onMain.supervisor.injectFault('respondent', 'throw'), { code: 'ERR_INVALID_OPTION' });
    const again = restarted(onMain.supervisor, 'respondent');
    await onMain.supervisor.injectFault('respondent', 'reject');
    await again;
    assert.equal(onMain.supervisor.actor('respondent')!.inline, true, 'restarted on the main thread');
    assert.equal(onMain.health().find((h) => h.id === 'subscriber')?.restarts, 0, 'its neighbour untouched');
    // Still listed more than missedRounds (3) rounds after the restart: the restarted respondent answers.
    const roundsAfter = server.stats().rounds + STEADY.missedRounds + 2;
    await eventually(() => server.stats().rounds >= roundsAfter, 20_000, 'rounds after the restart');
    assert.ok(server.members().includes('on-main'), JSON.stringify(server.members()));
    // Receiving in slices blocks a thread: such actors never run on the main thread.
    const sliced = await createClient({ ...urls, service: 'sliced', supervision: { sharedThreads: 'main', waitOnReadiness: false } });
    clients.push(sliced);
    assert.equal(sliced.supervisor.actor('respondent')!.inline, false);
    assert.equal(sliced.supervisor.threadCount(), 2, 'a worker thread each');
    await onMain.close();
    assert.ok(onMain.health().every((h) => h.state === 'stopped' && h.sockets.length === 0), JSON.stringify(onMain.health()));
  } finally {
    for (const c of clients) await c.close();
    await server.close();
  }
});

test('clients created all at once pack onto one thread: a burst of starts does not start a thread per actor', async () => {
  // A pool with no thread yet, and no server in this process (a client connects to an
  // absent one all the same): every one of the 20 actors starts before any thread is up.
  await closeActorPool();
  const urls = await tcpPair();
  const started = actorThreadsStarted();
  const clients = await Promise.all(Array.from({ length: 10 }, (_, i) => createClient({ ...urls, service: `burst-${i}`, supervision })));
  try {
    const threads = new Set(clients.flatMap((c) => [c.supervisor.actor('respondent')!.threadId, c.supervisor.actor('subscriber')!.threadId]));
    assert.equal(threads.size, 1, `20 co-hosted actors on ${threads.size} threads`);
    assert.equal(actorThreadsStarted() - started, 1, 'one thread started for all of them');
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
});

test('a process whose clients and servers are all closed exits on its own: idle pool threads hold it to nothing', async () => {
  const urls = await tcpPair();
  const index = new URL('../src/index.ts', import.meta.url).href;
  const pool = new URL('../src/pool.ts', import.meta.url).href;
  const script = `
    import { createClient, createServer } from ${JSON.stringify(index)};
    import { actorThreadCount } from ${JSON.stringify(pool)};
    const supervision = { sharedThreads: true };
    const server = await createServer({ surveyUrl: ${JSON.stringify(urls.surveyUrl)}, pubsubUrl: ${JSON.stringify(urls.pubsubUrl)}, supervision });
    const client = await createClient({ surveyUrl: ${JSON.stringify(urls.surveyUrl)}, pubsubUrl: ${JSON.stringify(urls.pubsubUrl)}, service: 'exiting', supervision });
    await client.close();
    await server.close();
    console.log('closed; idle threads ' + actorThreadCount());
  `;
  const dir = await mkdtemp(join(tmpdir(), 'actor-threads-'));
  const file = join(dir, 'close-and-exit.mts');
  await writeFile(file, script);
  const child = spawn(process.execPath, ['--import', 'tsx', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  // Well under IDLE_THREAD_MS (30 s): it must not wait for the idle threads to time out.
  const [code] = (await within(25_000, 'the process to exit', once(child, 'exit')).catch((e) => {
    child.kill('SIGKILL');
    throw new Error(`${e.message}; output: ${out}`);
  })) as [number | null];
  assert.equal(code, 0, out);
  const idle = /closed; idle threads (\d+)/.exec(out);
  assert.ok(idle, out);
  assert.ok(Number(idle[1]) >= 1, `the pool still had idle threads when it closed: ${out}`);
  await rm(dir, { recursive: true, force: true });
});

/** Resolves when the actor `id` of `sup` has been restarted (its first restart). */
function restarted(sup: Supervisor, id: string): Promise<ActorStartEvent> {
  return within(20_000, `${sup.name}/${id} restarted`, new Promise<ActorStartEvent>((resolve) => {
    const on = (e: ActorStartEvent) => {
      if (e.id === id && e.restarts >= 1) {
        sup.off('actor:start', on);
        resolve(e);
      }
    };
    sup.on('actor:start', on);
  }));
}

/**
 * 'all' (sharedThreads: true): the publisher shares the clients' thread and ends with it.
 * 'clients' (the default): only the clients' actors share it; the server's keep their own.
 */
const sharingCases = [
  ...(['throw', 'exit', 'hang', 'kill'] as const).map((fault) => ({ sharing: 'all' as const, fault, options: supervision })),
  ...(['exit', 'hang'] as const).map((fault) => ({ sharing: 'clients' as const, fault, options: { livenessIntervalMs: 100, livenessTimeoutMs: 1000, minBackoffMs: 10 } })),
];

for (const { sharing, fault, options } of sharingCases) {
  test(`${fault} on a shared thread (${sharing}) ends every actor on it; each is restarted by its own supervisor and discovery recovers`, async () => {
    const urls = await tcpPair();
    const server = await createServer({ ...urls, ...STEADY, supervision: options });
    const clients: Client[] = [];
    try {
      for (const service of ['one', 'two']) clients.push(await createClient({ ...urls, service, supervision: options }));
      const [one, two] = clients as [Client, Client];
      const hosted = [
        [one.supervisor, 'respondent'],
        [one.supervisor, 'subscriber'],
        [two.supervisor, 'respondent'],
        [two.supervisor, 'subscriber'],
        ...(sharing === 'all' ? [[server.supervisor, 'publisher'] as const] : []),
      ] as const;
      const thread = one.supervisor.actor('respondent')!.threadId;
      for (const [sup, id] of hosted) assert.equal(sup.actor(id)!.threadId, thread, `${sup.name}/${id} shares the thread`);
      const own = sharing === 'all' ? (['surveyor'] as const) : (['surveyor', 'publisher'] as const);
      const ownThreads = own.map((id) => server.supervisor.actor(id)!.threadId);
      for (const [i, id] of own.entries()) assert.notEqual(ownThreads[i], thread, `the ${id} has a thread of its own`);
      const peers = two.peers()[Symbol.asyncIterator]();
      await until(peers, (l) => l.length === 2, 20_000, 'both clients listed');

      const exits = new Map<string, string>();
      for (const [sup, id] of hosted) sup.on('actor:exit', (e) => e.id === id && !exits.has(`${sup.name}/${id}`) && exits.set(`${sup.name}/${id}`, e.reason));
      const restarts = Promise.all(hosted.map(([sup, id]) => restarted(sup, id)));
      if (fault === 'kill') await one.supervisor.actor('respondent')!.kill('killed');
      else await one.supervisor.injectFault('respondent', fault);
      await restarts;

      // Every actor on the thread ended with it, however the fault reached each of them. A hang
      // is found per thread (src/liveness.ts): every watched actor on it is killed as 'hung'.
      const expected = fault === 'hang' ? ['hung'] : fault === 'kill' ? ['killed', 'crashed'] : ['crashed'];
      assert.equal(exits.size, hosted.length, JSON.stringify([...exits]));
      for (const [name, reason] of exits) assert.ok(expected.includes(reason), `${name} ended ${reason}, expected one of ${expected}`);
      // The server's actors on their own threads were not touched.
      for (const [i, id] of own.entries()) {
        assert.equal(server.supervisor.actor(id)!.threadId, ownThreads[i], `the ${id} runs on where it ran`);
        assert.equal(server.health().find((h) => h.id === id)?.restarts, 0, `the ${id} was not restarted`);
      }
      for (const [sup, id] of hosted) assert.notEqual(sup.actor(id)!.threadId, thread, `${sup.name}/${id} runs on a live thread`);
      // Restarted together, they join one thread again rather than each starting one.
      assert.equal(new Set(hosted.map(([sup, id]) => sup.actor(id)!.threadId)).size, 1, 'the restarted actors share a thread');
      // And discovery works again, through every restarted actor: a newcomer is surveyed,
      // published by the restarted publisher and received by the restarted subscriber,
      // beside the two clients whose restarted respondents still answer.
      clients.push(await createClient({ surveyUrl: urls.surveyUrl, service: 'three', supervision: options }));
      await until(peers, (l) => sameMembers(l, ['one', 'two', 'three']), 20_000, 'the newcomer listed beside both clients after the restarts');
      // Each restarted once: none was placed on the dying thread (it would have died again).
      for (const [sup, id] of hosted) assert.equal(sup.health().find((h) => h.id === id)?.restarts, 1, `${sup.name}/${id} restarts`);
    } finally {
      for (const c of clients) await c.close();
      await server.close();
    }
  });
}


test('by default a hung publisher stalls no client: the clients\' actors run on, untouched, and the server drops none of them', async () => {
  const urls = await tcpPair();
  const options = { livenessIntervalMs: 100, livenessTimeoutMs: 1000, minBackoffMs: 10 };
  const server = await createServer({ ...urls, ...STEADY, supervision: options });
  const clients: Client[] = [];
  try {
    for (const service of ['one', 'two']) clients.push(await createClient({ ...urls, service, supervision: options }));
    const peers = clients[1]!.peers()[Symbol.asyncIterator]();
    await until(peers, (l) => sameMembers(l, ['one', 'two']), 20_000, 'both clients listed');
    const clientActors = clients.flatMap((c) => (['respondent', 'subscriber'] as const).map((id) => [c.supervisor, id] as const));
    const before = clientActors.map(([sup, id]) => sup.actor(id)!.threadId);
    const left: string[] = [];
    server.on('change', (c) => left.push(...c.left));
    const exits: string[] = [];
    for (const c of clients) c.on('actor:exit', (e) => exits.push(`${e.supervisor}/${e.id}:${e.reason}`));
    const publisherRestarted = restarted(server.supervisor, 'publisher');
    await server.supervisor.injectFault('publisher', 'hang');
    await publisherRestarted;
    assert.equal(server.health().find((h) => h.id === 'publisher')?.lastExit?.reason, 'hung');
    // Two full survey rounds after the restart: the respondents answered every one of them.
    const roundsAfter = server.stats().rounds + 2;
    await eventually(() => server.stats().rounds >= roundsAfter, 20_000, 'two rounds after the restart');
    assert.deepEqual(exits, [], 'no client actor ended');
    assert.deepEqual(clientActors.map(([sup, id]) => sup.actor(id)!.threadId), before, 'each client actor on the thread it had');
    assert.deepEqual(left, [], 'no client dropped');
    assert.ok(sameMembers(server.members(), ['one', 'two']), JSON.stringify(server.members()));
    // The restarted publisher's lists still reach the clients' (untouched) subscribers.
    clients.push(await createClient({ surveyUrl: urls.surveyUrl, service: 'three', supervision: options }));
    await until(peers, (l) => sameMembers(l, ['one', 'two', 'three']), 20_000, 'a newcomer listed through the restarted publisher');
  } finally {
    for (const c of clients) await c.close();
    await server.close();
  }
});
