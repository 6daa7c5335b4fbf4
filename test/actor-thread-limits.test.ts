/**
 * The actor threads' V8 heaps are bounded (src/pool.ts, ACTOR_THREAD_LIMITS), the
 * surveyor's are not (it runs on a pool of its own), and a thread reused by actor after
 * actor keeps nothing of them: its ports, timers and handles come back to what they were.
 * A thread whose actor ended collects its garbage (src/actors/thread-collect.ts), silently,
 * and so does one whose old generation keeps growing while its actor runs on (the surveyor's).
 * Read inside the threads themselves (src/actors/thread-probe.ts). Real worker threads,
 * real sockets, a real child process.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createClient, createServer } from '../src/index.js';
import { probeActorThreads, THREAD_PROBE_ENV, type ThreadProbe } from '../src/actors/thread-probe.js';
import { ACTOR_THREAD_LIMITS, closeActorPool } from '../src/pool.js';
import { STEADY, tcpPair } from './helpers/endpoints.js';
import { eventually, within } from './helpers/wait.js';

// Before any pool thread starts: the threads read it from the environment they inherit.
process.env[THREAD_PROBE_ENV] = '1';
after(() => closeActorPool());

/** The probes of these threads, once every one of them has answered. */
async function probesOf(threadIds: number[]): Promise<Map<number, ThreadProbe>> {
  let probes = new Map<number, ThreadProbe>();
  await eventually(
    async () => {
      probes = new Map((await probeActorThreads(200)).map((p) => [p.threadId, p]));
      return threadIds.every((id) => probes.has(id));
    },
    30_000,
    `threads ${threadIds.join(', ')} to answer the probe`,
  );
  return probes;
}

for (const sharedThreads of [false, true]) {
  test(`${sharedThreads ? 'shared threads' : 'a thread per actor'}: respondents, subscribers and the publisher run with the actor threads' heap limits, the surveyor without`, async () => {
    const urls = await tcpPair();
    const supervision = { sharedThreads };
    const server = await createServer({ ...urls, ...STEADY, supervision });
    const client = await createClient({ ...urls, service: `limits-${sharedThreads}`, pubsubUrl: urls.pubsubUrl, supervision });
    try {
      const surveyor = server.supervisor.actor('surveyor')!.threadId!;
      const others = [server.supervisor.actor('publisher')!, client.supervisor.actor('respondent')!, client.supervisor.actor('subscriber')!].map((a) => a.threadId!);
      assert.ok(!others.includes(surveyor), 'the surveyor shares its thread with no other actor');
      const probes = await probesOf([surveyor, ...others]);
      for (const id of others) {
        const limits = probes.get(id)!.resourceLimits;
        assert.equal(limits.maxYoungGenerationSizeMb, ACTOR_THREAD_LIMITS.maxYoungGenerationSizeMb, `thread ${id}'s young generation`);
        assert.equal(limits.maxOldGenerationSizeMb, ACTOR_THREAD_LIMITS.maxOldGenerationSizeMb, `thread ${id}'s old generation`);
      }
      const own = probes.get(surveyor)!.resourceLimits;
      assert.ok(own.maxYoungGenerationSizeMb! > ACTOR_THREAD_LIMITS.maxYoungGenerationSizeMb!, `the surveyor's young generation is V8's default (${own.maxYoungGenerationSizeMb} MiB)`);
      assert.ok(own.maxOldGenerationSizeMb! > ACTOR_THREAD_LIMITS.maxOldGenerationSizeMb!, `the surveyor's old generation is V8's default (${own.maxOldGenerationSizeMb} MiB)`);
    } finally {
      await client.close();
      await server.close();
    }
  });
}

test('a thread reused by 30 clients in turn keeps none of their ports, timers or handles', async () => {
  const urls = await tcpPair();
  // Shared threads: every client's actors join the publisher's thread, the one watched.
  const supervision = { sharedThreads: true };
  const server = await createServer({ ...urls, ...STEADY, supervision });
  try {
    const thread = server.supervisor.actor('publisher')!.threadId!;
    const resources = async () => JSON.stringify(Object.entries((await probesOf([thread])).get(thread)!.resources).sort());
    const cycle = async (i: number) => {
      const client = await createClient({ ...urls, service: `reuse-${i}`, pubsubUrl: urls.pubsubUrl, supervision });
      assert.equal(client.supervisor.actor('respondent')!.threadId, thread, `client ${i} runs on the watched thread`);
      await client.close();
    };
    const before = await resources();
    const tasksBefore = (await probesOf([thread])).get(thread)!.tasksStarted;
    for (let i = 1; i <= 30; i++) await cycle(i);
    const tasksAfter = (await probesOf([thread])).get(thread)!.tasksStarted;
    assert.ok(tasksAfter - tasksBefore >= 60, `the thread ran the 30 clients' actors (${tasksAfter - tasksBefore} tasks)`);
    // A closed actor's ports close on both sides asynchronously: wait for them, with a deadline.
    let now = '';
    await eventually(async () => (now = await resources()) === before, 30_000, 'the thread to hold what it held before the clients').catch((e) => {
      throw new Error(`${(e as Error).message}: before ${before}, now ${now}`);
    });
  } finally {
    await server.close();
  }
});

test('a thread whose actor ended collects its garbage, and the host hears no warning of it', async () => {
  const urls = await tcpPair();
  const src = (f: string) => JSON.stringify(new URL(`../src/${f}`, import.meta.url).href);
  // A process of its own: its stderr must carry no ExperimentalWarning from the collection.
  const script = `
    import { createClient, createServer } from ${src('index.ts')};
    import { probeActorThreads, THREAD_PROBE_ENV } from ${src('actors/thread-probe.ts')};
    process.env[THREAD_PROBE_ENV] = '1';
    const urls = { surveyUrl: ${JSON.stringify(urls.surveyUrl)}, pubsubUrl: ${JSON.stringify(urls.pubsubUrl)} };
    const server = await createServer(urls);
    const client = await createClient({ ...urls, service: 'collected' });
    const thread = client.supervisor.actor('respondent').threadId;
    await client.close();
    const end = performance.now() + 20000;
    let probe;
    while (!(probe = (await probeActorThreads(200)).find((p) => p.threadId === thread && p.collections > 0)) && performance.now() < end);
    console.log('collections ' + (probe?.collections ?? 0));
    await server.close();
  `;
  const dir = await mkdtemp(join(tmpdir(), 'thread-collect-'));
  const file = join(dir, 'collect.mts');
  await writeFile(file, script);
  const child = spawn(process.execPath, ['--import', 'tsx', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  try {
    const [code] = (await within(60_000, 'the process to exit', once(child, 'exit')).catch((e) => {
      child.kill('SIGKILL');
      throw new Error(`${(e as Error).message}; output: ${out} ${err}`);
    })) as [number | null];
    assert.equal(code, 0, out + err);
    const collections = Number(/collections (\d+)/.exec(out)?.[1] ?? NaN);
    assert.equal(collections, 1, `the respondent's thread collected once after it ended: ${out}`);
    assert.doesNotMatch(err, /ExperimentalWarning|measureMemory/, 'the host hears nothing of the collection');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a thread whose actor runs on asks for a collection once its old generation has grown by OLD_GROWTH_TO_COLLECT', async () => {
  // A real worker thread running thread-collect.ts, its old generation growing with no actor
  // ending (as a surveyor's does). What it grows by is held, so that V8's own collections
  // cannot take the growth away: the check must see it and ask.
  const module = JSON.stringify(new URL('../src/actors/thread-collect.ts', import.meta.url).href);
  const body = `
    const { parentPort } = require('node:worker_threads');
    const { getHeapSpaceStatistics } = require('node:v8');
    const oldUsed = () => getHeapSpaceStatistics().find((s) => s.space_name === 'old_space').space_used_size;
    import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${module}); }).then((tc) => {
      tc.watchHeapGrowth();
      const start = oldUsed();
      const held = [];
      const grow = () => {
        // ~70 KiB a turn, held: it outlives scavenges into the old generation. Up to 2.5 × the threshold.
        if (oldUsed() - start < 2.5 * tc.OLD_GROWTH_TO_COLLECT) held.push(Array.from({ length: 1024 }, (_, i) => ({ i, s: 'x'.repeat(16) + i })));
        parentPort.postMessage({ collections: tc.collectionsAsked(), start, oldUsed: oldUsed(), growth: tc.OLD_GROWTH_TO_COLLECT });
        setTimeout(grow, 5);
      };
      grow();
    });
  `;
  const worker = new Worker(body, { eval: true });
  let last: { collections: number; start: number; oldUsed: number; growth: number } | undefined;
  let grewBy = 0;
  worker.on('message', (m: NonNullable<typeof last>) => {
    if (m.collections === 0) grewBy = Math.max(grewBy, m.oldUsed - m.start);
    last = m;
  });
  try {
    await eventually(() => (last?.collections ?? 0) >= 1, 90_000, 'the thread to ask for a collection on its own');
    assert.ok(grewBy >= last!.growth, `its old generation had grown by ${grewBy} bytes before it asked (threshold ${last!.growth})`);
  } finally {
    await worker.terminate();
  }
});
