/** Bad input gets a clear error and nothing starts half-way: no actor left running, no port left bound. */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createClient, createServer, subscribe } from '../src/index.js';
import { closeActorPool } from '../src/pool.js';
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
  await assert.rejects(createClient({ surveyUrl: urls.surveyUrl, service: 'a', supervision: { sharedThreads: 'clients-only' as never } }), {
    code: 'ERR_INVALID_OPTION',
    message: /sharedThreads must be one of 'none', 'clients', 'main', 'all', true \(= 'all'\) or false \(= 'none'\), got "clients-only"/,
  });
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

const BAD_URLS: Array<[string, RegExp]> = [
  ['', /scheme:\/\//],
  ['127.0.0.1:29400', /scheme:\/\//],
  ['tcp//127.0.0.1:29400', /scheme:\/\//],
  ['tcp://127.0.0.1', /host:port/],
  ['tcp://:29400', /host:port/],
  ['tcp://127.0.0.1:abc', /host:port/],
  ['tcp://127.0.0.1:99999', /outside 1..65535/],
  ['tcp://under_score:29400', /not an IPv4 address or DNS name/],
  ['ipc://', /need a path/],
  ['inproc://', /need a name/],
  ['udp://127.0.0.1:29400', /unsupported scheme "udp"/],
  ['http://127.0.0.1:29400', /unsupported scheme "http"/],
  ['wss://127.0.0.1:29400', /unsupported scheme "wss"/],
  ['tls+tcp://127.0.0.1:29400', /unsupported scheme "tls\+tcp"/],
];

test('malformed URLs and unsupported schemes, in every URL option: ERR_INVALID_URL naming the URL, nothing bound', async () => {
  const urls = await tcpPair();
  const makers: Array<[string, (bad: string) => Promise<unknown>]> = [
    ['server surveyUrl', (bad) => createServer({ ...urls, surveyUrl: bad })],
    ['server pubsubUrl', (bad) => createServer({ ...urls, pubsubUrl: bad })],
    ['client surveyUrl', (bad) => createClient({ surveyUrl: bad, service: 'a' })],
    ['client surveyUrl list', (bad) => createClient({ surveyUrl: [urls.surveyUrl, bad], service: 'a' })],
    ['client pubsubUrl', (bad) => createClient({ surveyUrl: urls.surveyUrl, pubsubUrl: bad, service: 'a' })],
    ['subscribe pubsubUrl', (bad) => subscribe({ pubsubUrl: bad })],
  ];
  for (const [where, make] of makers) {
    for (const [bad, why] of BAD_URLS) {
      await assert.rejects(make(bad), (e: Error & { code: string; url: string }) => {
        assert.equal(e.code, 'ERR_INVALID_URL', `${where} ${JSON.stringify(bad)}: ${e.message}`);
        assert.equal(e.url, bad);
        assert.match(e.message, why);
        return true;
      });
    }
  }
  await assert.rejects(createServer({ ...urls, surveyUrl: 42 as never }), { code: 'ERR_INVALID_URL', message: /expected a string/ });
  await assertPortFree(urls.surveyUrl);
  await assertPortFree(urls.pubsubUrl);
});

test('a host name where a listening address is needed: refused up front, saying what a listening URL needs, nothing bound', async () => {
  const urls = await tcpPair();
  const port = urls.surveyUrl.split(':').pop();
  await assert.rejects(createServer({ ...urls, surveyUrl: `tcp://localhost:${port}` }), (e: Error & { code: string }) => {
    assert.equal(e.code, 'ERR_INVALID_URL');
    assert.match(e.message, /tcp:\/\/localhost:\d+.*a listening URL needs an IPv4 address or \*/);
    return true;
  });
  await assertPortFree(urls.pubsubUrl);
});

test('durations: zero, negative, sub-millisecond, not a number, or a survey over a minute — each a clear error naming the option', async () => {
  const urls = await tcpPair();
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ recvDeadline: 0 }, /recvDeadline must be a positive number/],
    [{ pollTime: 0 }, /pollTime must be a positive number/],
    [{ surveyTime: -1 }, /surveyTime must be a positive number/],
    [{ recvDeadline: -1000 }, /recvDeadline must be a positive number/],
    [{ surveyTime: Number.NaN }, /surveyTime must be a positive number/],
    [{ pollTime: Infinity }, /pollTime must be a positive number/],
    [{ surveyTime: '1000' }, /surveyTime must be a positive number/],
    [{ pollTime: 0.25 }, /pollTime must be at least 1 ms/],
    [{ surveyTime: 90_000 }, /surveyTime must be at most 60000 ms/],
    [{ recvDeadline: 61_000 }, /recvDeadline must be at most 60000 ms/],
    [{ pollTime: 2 ** 31 }, /pollTime must be at most 2147483647 ms/],
    [{ maxNameBytes: 0 }, /maxNameBytes must be a whole number >= 1/],
    [{ maxMembers: 1.5 }, /maxMembers must be a whole number >= 1/],
    [{ missedRounds: 0 }, /missedRounds must be a whole number >= 1/],
    [{ refusalLogIntervalMs: -1 }, /refusalLogIntervalMs must be a whole number >= 1/],
    [{ detection: 'fast' }, /detection must be 'adaptive' or 'deadline', got "fast"/],
  ];
  for (const [bad, why] of cases) {
    await assert.rejects(createServer({ ...urls, ...bad }), (e: Error & { code: string }) => {
      assert.equal(e.code, 'ERR_INVALID_OPTION', JSON.stringify(bad));
      assert.match(e.message, why);
      return true;
    });
  }
  await assertPortFree(urls.surveyUrl);
  await assertPortFree(urls.pubsubUrl);
  // A receive deadline longer than the survey is harmless (the survey ends the round first): accepted.
  const server = await createServer({ ...urls, surveyTime: 20, recvDeadline: 5000, pollTime: 40 });
  assert.deepEqual(server.timing, { surveyTime: 20, recvDeadline: 5000, pollTime: 40 });
  await server.close();
  // With fixed-rate rounds a survey must end before the next round starts; the original's schedule has no such bound.
  await assert.rejects(createServer({ ...urls, surveyTime: 40, pollTime: 40 }), { code: 'ERR_INVALID_OPTION', message: /surveyTime \(40 ms\) must be shorter than pollTime \(40 ms\)/ });
  const original = await createServer({ ...urls, surveyTime: 40, recvDeadline: 40, pollTime: 20, schedule: 'original' });
  await original.close();
});
