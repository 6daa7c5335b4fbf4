/** The built package, imported by name (self-reference through package.json "exports"), runs discovery from dist/. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tcpPair, FAST } from './helpers/endpoints.js';
import { until } from './helpers/wait.js';

test("import { createServer, createClient, subscribe } from 'gopherdiscovery' works after npm run build", async () => {
  const pkg = await import('gopherdiscovery');
  assert.equal(typeof pkg.createServer, 'function');
  assert.equal(typeof pkg.createClient, 'function');
  assert.equal(typeof pkg.subscribe, 'function');
  const urls = await tcpPair();
  const server = await pkg.createServer({ ...urls, ...FAST });
  const sub = await pkg.subscribe({ pubsubUrl: urls.pubsubUrl });
  const client = await pkg.createClient({ surveyUrl: urls.surveyUrl, service: 'from-dist' });
  try {
    const { value } = await until(sub.changes()[Symbol.asyncIterator](), (l) => l.length > 0, 10_000, 'a list');
    assert.deepEqual(value, ['from-dist']);
  } finally {
    await Promise.all([client.close(), sub.close()]);
    await server.close();
    await pkg.closeActorPool();
  }
});
