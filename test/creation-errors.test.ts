/** Bad input gets a clear error and nothing starts half-way: no actor left running, no port left bound. */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { closeActorPool, createClient, createServer, subscribe } from '../src/index.js';
import { createServer as netServer } from 'node:net';
import { assertPortFree, FAST, tcpPair } from './helpers/endpoints.js';

after(() => closeActorPool());


test('a survey port in use fails creation with EADDRINUSE naming the URL, and frees the pub/sub port', async () => {
  const urls = await tcpPair();
  const holder = await createServer({ ...urls, ...FAST });
  const other = await tcpPair();
  try {
    await assert.rejects(createServer({ surveyUrl: urls.surveyUrl, pubsubUrl: other.pubsubUrl, ...FAST }), (e: Error & { code: string }) => {
      assert.equal(e.code, 'EADDRINUSE');
      assert.ok(e.message.includes(urls.surveyUrl), e.message);
      return true;
    });
    // The publisher had bound other.pubsubUrl before the surveyor failed: it must be free again.
    await assertPortFree(other.pubsubUrl);
  } finally {
    await holder.close();
  }
  await assertPortFree(urls.surveyUrl);
  await assertPortFree(urls.pubsubUrl);
});

test('a pub/sub port in use fails creation before anything surveys', async () => {
  const urls = await tcpPair();
  const blocker = netServer();
  const port = Number(urls.pubsubUrl.split(':').pop());
  await new Promise<void>((r) => blocker.listen(port, '127.0.0.1', r));
  try {
    await assert.rejects(createServer({ ...urls, ...FAST }), { code: 'EADDRINUSE' });
    await assertPortFree(urls.surveyUrl);
  } finally {
    blocker.close();
  }
});

test('invalid service names are refused before any socket is opened', async () => {
  const urls = await tcpPair();
  await assert.rejects(createClient({ ...urls, service: 'a|b' }), { code: 'ERR_INVALID_SERVICE_NAME', rule: 'separator' });
  await assert.rejects(createClient({ ...urls, service: '' }), { rule: 'empty' });
  await assert.rejects(createClient({ ...urls, service: 'x'.repeat(2000) }), { rule: 'too-long' });
});

test('bad options are clear errors', async () => {
  const urls = await tcpPair();
  await assert.rejects(createServer({ ...urls, surveyTime: 0 }), { code: 'ERR_INVALID_OPTION', message: /surveyTime/ });
  await assert.rejects(createServer({ ...urls, pollTime: -5 }), { code: 'ERR_INVALID_OPTION' });
  await assert.rejects(createServer({ surveyUrl: urls.surveyUrl, pubsubUrl: urls.surveyUrl }), { message: /must differ/ });
  await assert.rejects(createServer({ ...urls, pubsubUrl: 'ws://127.0.0.1:1' }), { code: 'ERR_INVALID_URL', message: /unsupported scheme "ws"/ });
  await assert.rejects(createClient({ surveyUrl: [], service: 'a' }), { code: 'ERR_INVALID_OPTION' });
  await assert.rejects(subscribe({ pubsubUrl: 'tcp://xxx' }), { code: 'ERR_INVALID_URL' });
  await assert.rejects(createServer({ ...urls, maxMembers: 0 }), { message: /maxMembers/ });
  await assert.rejects(createServer({ ...urls, supervision: { strategy: 'one_for_none' as never } }), { message: /strategy/ });
  // None of it bound anything.
  await assertPortFree(urls.surveyUrl);
  await assertPortFree(urls.pubsubUrl);
});

test('an aborted signal refuses to start; aborting later closes', async () => {
  const urls = await tcpPair();
  await assert.rejects(createServer({ ...urls, signal: AbortSignal.abort() }), { name: 'AbortError' });
  const ac = new AbortController();
  const server = await createServer({ ...urls, ...FAST, signal: ac.signal });
  ac.abort();
  await server.close(); // idempotent: resolves once the abort-triggered close finished
  assert.ok(server.health().every((h) => h.state === 'stopped'));
  await assertPortFree(urls.surveyUrl);
});
