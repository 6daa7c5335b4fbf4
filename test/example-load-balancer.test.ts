/**
 * examples/load-balancer, run as real processes: a discovery server, HTTP backends that
 * register their own URL, and the reverse proxy whose upstreams are the live member list.
 *
 * Rounds, not milliseconds, bound the reaction times (see example-hash-ring.test.ts): a
 * change is published in the round that first sees it — at most the round under way plus
 * the next one after the event — and the proxy's rotation follows before the next round
 * ends (lag 0), with ROUND_TOLERANCE extra rounds allowed for a loaded machine.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { freePort } from './helpers/endpoints.js';
import { EVENT_MS, EXAMPLE_TIMING, ExampleProcess, lastRoundAt, ROUND_TOLERANCE, START_MS, stopAll } from './helpers/child.js';
import { eventually, sameMembers } from './helpers/wait.js';

const TIMING = EXAMPLE_TIMING;

interface Outcome {
  start: number;
  end: number;
  status: number;
  backend?: string;
  error?: string;
}

describe('load-balancer example: a reverse proxy whose upstreams are the live members', { timeout: 180_000 }, () => {
  let server: ExampleProcess;
  let proxy: ExampleProcess;
  let proxyUrl: string;
  let surveyUrl: string;
  let pubsubUrl: string;
  const backends = new Map<string, ExampleProcess>();
  const others: ExampleProcess[] = [];

  const startBackend = async (): Promise<string> => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const b = new ExampleProcess(`backend ${port}`, 'examples/load-balancer/backend.ts', ['--port', String(port), '--survey-url', surveyUrl]);
    backends.set(url, b);
    await b.waitFor((v) => v.event === 'registered', START_MS, 'registered');
    return url;
  };

  /** The first upstreams line of the proxy (at or after line `from`) listing exactly `urls`. */
  const rotationIs = (urls: string[], from: number) =>
    proxy.waitFor((v) => v.event === 'upstreams' && sameMembers(v.upstreams as string[], urls), EVENT_MS, `upstreams ${JSON.stringify(urls)}`, from);

  const changeTo = (urls: string[], from: number) =>
    server.waitFor(
      (v) => v.event === 'change' && sameMembers((v.members as string[]).filter((m) => m.startsWith('http://')), urls),
      EVENT_MS,
      `a change to ${JSON.stringify(urls)}`,
      from,
    );

  const roundAt = (at: number): number => lastRoundAt(server, at);

  const get = async (path = '/'): Promise<Outcome> => {
    const start = performance.now();
    try {
      const r = await fetch(proxyUrl + path, { signal: AbortSignal.timeout(10_000) });
      const body = (await r.json()) as { backend?: string };
      return { start, end: performance.now(), status: r.status, backend: body.backend };
    } catch (e) {
      return { start, end: performance.now(), status: 0, error: (e as Error).message };
    }
  };

  const tally = (outcomes: Outcome[]): Map<string, number> => {
    const m = new Map<string, number>();
    for (const o of outcomes) if (o.backend) m.set(o.backend, (m.get(o.backend) ?? 0) + 1);
    return m;
  };

  /** Load generator: 4 workers, each starting a request every 20 ms at most (≈ 200 requests/s). The pause paces the load; it synchronises nothing. */
  const steadyLoad = () => {
    const outcomes: Outcome[] = [];
    let running = true;
    const worker = async (w: number) => {
      for (let i = 0; running; i++) {
        const o = await get(`/load/${w}/${i}`);
        outcomes.push(o);
        const wait = o.start + 20 - performance.now();
        if (wait > 0) await delay(wait);
      }
    };
    const workers = [0, 1, 2, 3].map(worker);
    return {
      outcomes,
      stop: async () => {
        running = false;
        await Promise.all(workers);
      },
    };
  };

  before(async () => {
    [surveyUrl, pubsubUrl] = [`tcp://127.0.0.1:${await freePort()}`, `tcp://127.0.0.1:${await freePort()}`];
    server = new ExampleProcess('discovery server', 'examples/discovery-server.ts', ['--survey-url', surveyUrl, '--pubsub-url', pubsubUrl, ...TIMING, '--rounds']);
    await server.waitFor((v) => v.event === 'ready', START_MS, 'ready');
    const port = await freePort();
    proxyUrl = `http://127.0.0.1:${port}`;
    proxy = new ExampleProcess('proxy', 'examples/load-balancer/proxy.ts', ['--port', String(port), '--survey-url', surveyUrl, '--pubsub-url', pubsubUrl]);
    await Promise.all([startBackend(), startBackend(), startBackend(), proxy.waitFor((v) => v.event === 'listening', START_MS, 'listening')]);
    await rotationIs([...backends.keys()], 0);
  });

  after(async () => {
    await stopAll([proxy, ...others, ...backends.values()]);
    await stopAll([server]);
  });

  test('requests are spread round-robin over every live backend', async () => {
    const outcomes: Outcome[] = [];
    for (let i = 0; i < 60; i++) outcomes.push(await get(`/spread/${i}`));
    assert.deepEqual(outcomes.filter((o) => o.status !== 200), []);
    const counts = tally(outcomes);
    assert.deepEqual([...counts.keys()].sort(), [...backends.keys()].sort());
    for (const [b, n] of counts) assert.ok(n >= 10, `${b} served ${n} of 60`);
  });

  test('a request sent to a dead upstream is retried once on another backend; a request with a body is not', async () => {
    // A "ghost": a real discovery client (the CLI) registering a URL where nothing listens,
    // so the proxy has a dead upstream in rotation for as long as we like.
    const ghostPort = await freePort();
    const ghostUrl = `http://127.0.0.1:${ghostPort}`;
    const ghost = new ExampleProcess('ghost', 'dist/main.js', ['client', '--name', ghostUrl, '--survey-url', surveyUrl]);
    others.push(ghost);
    const live = [...backends.keys()];
    await rotationIs([...live, ghostUrl], 0);
    const from = proxy.lines.length;

    const gets: Outcome[] = [];
    for (let i = 0; i < 12; i++) gets.push(await get(`/retry/${i}`));
    assert.deepEqual(gets.filter((o) => o.status !== 200), [], 'every GET succeeds');
    // Sequential requests in a rotation of four: every fourth (3 of 12) is first sent to the ghost.
    const retries = () => proxy.lines.slice(from).filter((l) => l.value.event === 'retry').map((l) => l.value);
    await eventually(() => retries().length >= 2, EVENT_MS, 'retry lines');
    for (const r of retries()) {
      assert.equal(r.from, ghostUrl);
      assert.ok(live.includes(r.to as string));
      assert.equal(r.error, 'ECONNREFUSED');
    }

    const posts: number[] = [];
    for (let i = 0; i < 8; i++) {
      const r = await fetch(`${proxyUrl}/post/${i}`, { method: 'POST', body: 'payload', signal: AbortSignal.timeout(10_000) });
      await r.arrayBuffer();
      posts.push(r.status);
    }
    // Two of eight go to the ghost first (one in four); they fail, the others succeed.
    assert.ok(posts.filter((s) => s === 502).length >= 1, `POST statuses ${posts}`);
    assert.deepEqual(posts.filter((s) => s !== 502 && s !== 200), [], `POST statuses ${posts}`);
    assert.equal(retries().filter((r) => r.method === 'POST').length, 0, 'no POST is retried');
    const failedPosts = () => proxy.lines.slice(from).filter((l) => l.value.event === 'failed' && l.value.method === 'POST').map((l) => l.value);
    await eventually(() => failedPosts().length === posts.filter((s) => s === 502).length, EVENT_MS, 'a failed line per 502');
    for (const f of failedPosts()) assert.equal(f.upstream, ghostUrl);

    await ghost.stop();
    await rotationIs(live, from);
  });

  test('a backend killed under steady load is out of rotation within one round, and no request fails', async (t) => {
    const victim = [...backends.keys()][1]!;
    const survivors = [...backends.keys()].filter((u) => u !== victim);
    const load = steadyLoad();
    const { outcomes } = load;
    try {
      await eventually(() => outcomes.filter((o) => o.backend === victim).length >= 5, EVENT_MS, 'load reaching the victim');
      const fromProxy = proxy.lines.length;
      const fromServer = server.lines.length;
      const killedAt = performance.now();
      backends.get(victim)!.proc.kill('SIGKILL');
      await backends.get(victim)!.exited;
      backends.delete(victim);
      // Measured from sending SIGKILL (the death follows within a moment): the test sees the
      // exit itself only when it gets round to it, which on a busy machine can be late.
      const roundAtDeath = roundAt(killedAt);

      const change = await changeTo(survivors, fromServer);
      const R = change.value.round as number;
      const removed = await rotationIs(survivors, fromProxy);
      // Keep the load on until 40 more requests have been answered after the removal.
      await eventually(() => outcomes.filter((o) => o.start > removed.at).length >= 40, EVENT_MS, 'load after the removal');
      await load.stop();

      const failed = outcomes.filter((o) => o.status !== 200);
      const window = outcomes.filter((o) => o.end >= killedAt && o.start <= removed.at);
      const retried = proxy.lines.slice(fromProxy).filter((l) => l.value.event === 'retry' && l.value.from === victim).length;
      t.diagnostic(
        `stop: ${(removed.at - killedAt).toFixed(0)} ms from SIGKILL to the backend's removal from rotation; ` +
          `dropped in round ${R}, ${R - roundAtDeath} round(s) after the kill; proxy lag ${roundAt(removed.at) - R} round(s); ` +
          `${window.length} requests in that window, ${retried} retried on another backend, ${failed.length} failed of ${outcomes.length}`,
      );
      assert.ok(R - roundAtDeath <= 2 + ROUND_TOLERANCE, `dropped in round ${R}, killed after round ${roundAtDeath}`);
      assert.ok(roundAt(removed.at) - R <= ROUND_TOLERANCE, `the proxy followed round ${R} only after round ${roundAt(removed.at)}`);
      assert.deepEqual(failed.filter((o) => o.start >= killedAt), [], 'no request sent after the kill fails');
      assert.ok(failed.length <= 4, `at most the 4 requests in flight at the kill may fail: ${JSON.stringify(failed)}`);
      assert.deepEqual(
        outcomes.filter((o) => o.start > removed.at && o.backend === victim),
        [],
        'nothing reaches the victim after its removal',
      );
    } finally {
      await load.stop();
    }
  });

  test('a new backend takes traffic within one round', async (t) => {
    const fromProxy = proxy.lines.length;
    const fromServer = server.lines.length;
    const newcomer = await startBackend();
    const registeredAt = backends.get(newcomer)!.lines.find((l) => l.value.event === 'registered')!.at;
    const all = [...backends.keys()];
    const change = await changeTo(all, fromServer);
    const R = change.value.round as number;
    const added = await rotationIs(all, fromProxy);
    t.diagnostic(
      `join: in rotation ${(added.at - registeredAt).toFixed(0)} ms after registering; published in round ${R}, ` +
        `${R - roundAt(registeredAt)} round(s) after; proxy lag ${roundAt(added.at) - R} round(s)`,
    );
    assert.ok(R - roundAt(registeredAt) <= 2 + ROUND_TOLERANCE);
    assert.ok(roundAt(added.at) - R <= ROUND_TOLERANCE);

    const outcomes: Outcome[] = [];
    for (let i = 0; i < 30; i++) outcomes.push(await get(`/join/${i}`));
    assert.deepEqual(outcomes.filter((o) => o.status !== 200), []);
    const counts = tally(outcomes);
    assert.ok((counts.get(newcomer) ?? 0) >= 5, `the newcomer served ${counts.get(newcomer) ?? 0} of 30`);
  });

  test('a backend stopped with SIGTERM leaves the rotation before it closes: no request fails or needs a retry', async (t) => {
    const leaver = [...backends.keys()][0]!;
    const survivors = [...backends.keys()].filter((u) => u !== leaver);
    const load = steadyLoad();
    const { outcomes } = load;
    try {
      await eventually(() => outcomes.filter((o) => o.backend === leaver).length >= 5, EVENT_MS, 'load reaching the leaver');
      const fromProxy = proxy.lines.length;
      const proc = backends.get(leaver)!;
      proc.proc.kill('SIGTERM');
      // It answers no more surveys, keeps serving for --drain-ms (default 1000), then closes.
      const removed = await rotationIs(survivors, fromProxy);
      const exit = await proc.exited;
      backends.delete(leaver);
      await eventually(() => outcomes.filter((o) => o.start > exit.at).length >= 20, EVENT_MS, 'load after the exit');
      await load.stop();

      const retried = proxy.lines.slice(fromProxy).filter((l) => l.value.event === 'retry').length;
      t.diagnostic(`graceful: removed ${(exit.at - removed.at).toFixed(0)} ms before the backend exited (code ${exit.code}); ${retried} retries, ${outcomes.length} requests`);
      assert.equal(exit.code, 0, proc.stderr);
      assert.ok(removed.at < exit.at, 'the rotation dropped it while it was still serving');
      assert.deepEqual(outcomes.filter((o) => o.status !== 200), [], 'no request fails');
      assert.equal(retried, 0, 'no request needed a retry');
    } finally {
      await load.stop();
    }
  });

  test('panic mode: a list with no backend at all keeps the last rotation, and the next backend replaces it', async () => {
    const last = [...backends.keys()];
    const fromProxy = proxy.lines.length;
    await Promise.all(last.map((u) => backends.get(u)!.stop('SIGKILL')));
    last.forEach((u) => backends.delete(u));
    const panic = await proxy.waitFor((v) => v.event === 'panic', EVENT_MS, 'a panic line', fromProxy);
    // The kills may straddle a survey (some dropped a round before the others), so the kept
    // rotation is whatever was left of the last one: not empty, and only dead backends.
    const kept = panic.value.upstreams as string[];
    assert.ok(kept.length > 0 && kept.every((u) => last.includes(u)), JSON.stringify(kept));
    // Every upstream is dead: the request and its one retry are refused, so 502 (not 503).
    assert.equal((await get('/panic')).status, 502);

    const next = await startBackend();
    await rotationIs([next], fromProxy);
    const o = await get('/after-panic');
    assert.equal(o.status, 200);
    assert.equal(o.backend, next);
  });
});
