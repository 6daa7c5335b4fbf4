/**
 * gopherdiscovery/http for embedders: the server's endpoints on a Server of one's own (its
 * metrics made, or not, by startHttpServer), and /healthz for a Client and a Subscriber.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { createClient, createServer, subscribe } from 'gopherdiscovery';
import { healthHandler, startHttpServer } from 'gopherdiscovery/http';
import { tcpPair, STEADY } from './helpers/endpoints.js';
import { eventually } from './helpers/wait.js';

test('startHttpServer on an embedded Server: /members and /healthz, /metrics by its own metrics, none with metrics: false', async () => {
  const urls = await tcpPair();
  const server = await createServer({ ...urls, ...STEADY });
  const client = await createClient({ surveyUrl: urls.surveyUrl, service: 'embedded' });
  const withMetrics = await startHttpServer({ server, port: 0 });
  const without = await startHttpServer({ server, port: 0, metrics: false });
  try {
    const members = async () => JSON.stringify(await (await fetch(new URL('members', withMetrics.url))).json());
    await eventually(async () => (await members()) === '["embedded"]', 15_000, 'embedded listed on /members', 50);
    assert.equal((await fetch(new URL('healthz', withMetrics.url))).status, 200);
    const metrics = await fetch(new URL('metrics', withMetrics.url));
    assert.equal(metrics.status, 200);
    assert.match(await metrics.text(), /^gopherdiscovery_members 1$/m);
    assert.equal((await fetch(new URL('metrics', without.url))).status, 404);
    assert.deepEqual(await (await fetch(new URL('members', without.url))).json(), ['embedded']);
  } finally {
    await Promise.all([withMetrics.close(), without.close()]);
    await client.close();
    await server.close();
  }
});

test('healthHandler answers /healthz for a Client and a Subscriber: 200 with their actors while running, 503 once closed', async () => {
  const urls = await tcpPair();
  const client = await createClient({ ...urls, service: 'c' });
  const subscriber = await subscribe({ pubsubUrl: urls.pubsubUrl });
  const http = createHttpServer((req, res) => (req.url === '/client' ? healthHandler(client) : healthHandler(subscriber))(req, res));
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  const get = async (path: string) => {
    const r = await fetch(base + path);
    return { status: r.status, body: (await r.json()) as { status: string; actors: Array<{ kind: string; state: string }> } };
  };
  try {
    const c = await get('/client');
    assert.equal(c.status, 200);
    assert.equal(c.body.status, 'ok');
    assert.deepEqual(c.body.actors.map((a) => [a.kind, a.state]).sort(), [['respondent', 'running'], ['subscriber', 'running']]);
    const s = await get('/subscriber');
    assert.equal(s.status, 200);
    assert.deepEqual(s.body.actors.map((a) => [a.kind, a.state]), [['subscriber', 'running']]);
    await client.close();
    const closed = await get('/client');
    assert.equal(closed.status, 503);
    assert.equal(closed.body.status, 'unavailable');
  } finally {
    http.close();
    await client.close();
    await subscriber.close();
  }
});
