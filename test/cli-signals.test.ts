/**
 * SIGTERM and SIGINT stop every command gracefully: exit 0, actors stopped, sockets closed,
 * so the ports can be bound again at once.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canBind, Cli, FAST_FLAGS, parseJson, serverPorts } from './helpers/cli.js';

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`${signal} stops the server with exit 0 and frees its three ports`, async () => {
    const ports = await serverPorts();
    const server = new Cli(['server', ...ports.flags, ...FAST_FLAGS]);
    try {
      await server.log(/^server running/, 'the server to start');
      // While it runs, the ports are taken (so the check after the exit means something).
      for (const which of ['survey', 'pubsub', 'http'] as const) assert.equal(await canBind(ports[which]), false, `${which} port bound while running`);
      // An open event stream must not hold the shutdown up.
      const events = await fetch(new URL('/events', ports.httpUrl));
      assert.equal(events.status, 200);
      const exit = await server.stop(signal);
      assert.deepEqual(exit, { code: 0, signal: null }, server.stderr.all.join('\n'));
      for (const which of ['survey', 'pubsub', 'http'] as const) assert.equal(await canBind(ports[which]), true, `${which} port ${ports[which]} free after exit`);
      const messages = server.stderr.all.map((l) => parseJson(l)?.msg);
      assert.ok(messages.includes(`${signal}: shutting down`), messages.join('\n'));
      assert.equal(messages.at(-1), 'server stopped');
      await events.body?.cancel().catch(() => {});
    } finally {
      await server.kill();
    }
  });
}

test('SIGTERM stops a client and a watcher with exit 0', async () => {
  const ports = await serverPorts();
  const server = new Cli(['server', ...ports.flags, ...FAST_FLAGS]);
  const procs = [server];
  try {
    await server.log(/^server running/, 'the server to start');
    const watch = new Cli(['watch', '--pubsub-url', ports.pubsubUrl, '--json']);
    const client = new Cli(['client', '--name', 'c', '--survey-url', ports.surveyUrl, '--pubsub-url', ports.pubsubUrl]);
    procs.push(watch, client);
    await client.line((l) => l === 'peers (1): c', 'the client to be listed');
    // Its signal handlers are in place once it runs: a SIGTERM while it still loads kills it.
    await watch.log(/^watching /, 'the watcher to start');
    assert.deepEqual(await client.stop('SIGTERM'), { code: 0, signal: null });
    assert.deepEqual(await watch.stop('SIGTERM'), { code: 0, signal: null });
    assert.deepEqual(await server.stop('SIGTERM'), { code: 0, signal: null });
  } finally {
    await Promise.all(procs.map((p) => p.kill()));
  }
});
