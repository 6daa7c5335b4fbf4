/** The embedding example, run as a real child process: it serves, discovers itself, and shuts down cleanly on SIGTERM. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { assertPortFree, freePort, tcpPair } from './helpers/endpoints.js';
import { eventually, within } from './helpers/wait.js';


test('examples/embedded-service: /health and /peers work, SIGTERM exits 0 and frees every port', async () => {
  const urls = await tcpPair();
  const httpPort = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'examples/embedded-service/service.ts'], {
    env: { ...process.env, SURVEY_URL: urls.surveyUrl, PUBSUB_URL: urls.pubsubUrl, HTTP_PORT: String(httpPort), POLL_MS: '100' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const events: Array<{ event: string }> = [];
  const waiters: Array<() => void> = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    events.push(JSON.parse(line));
    for (const w of waiters.splice(0)) w();
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const event = (name: string) =>
    within(20_000, `event ${name}`, new Promise<void>((resolve) => {
      const check = () => (events.some((e) => e.event === name) ? resolve() : waiters.push(check));
      check();
    }));
  try {
    await event('ready');
    const base = `http://127.0.0.1:${httpPort}`;
    const health = await fetch(`${base}/health`);
    assert.equal(health.status, 200);
    const trees = (await health.json()) as Array<{ kind: string; actors: Array<{ state: string }> }>;
    assert.deepEqual(trees.map((t) => t.kind), ['server', 'client']);
    assert.ok(trees.every((t) => t.actors.every((a) => a.state === 'running')));
    // The service discovers itself through its own server.
    await eventually(async () => ((await (await fetch(`${base}/peers`)).json()) as string[]).includes(base), 15_000, 'the service in its own peer list');
    child.kill('SIGTERM');
    assert.equal(await within(15_000, 'exit', exited), 0);
    assert.deepEqual(events.map((e) => e.event).slice(-2), ['stopping', 'stopped']);
    for (const port of [urls.surveyUrl, urls.pubsubUrl, httpPort]) await assertPortFree(port);
  } finally {
    child.kill('SIGKILL');
  }
});
