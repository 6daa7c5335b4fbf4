/**
 * The URL grammar: every form is served as a user expects, or refused up front by
 * parseEndpoint with InvalidUrlError saying why, in every option that takes a URL, before
 * anything is bound. The accepted forms are proven to work with real sockets.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createClient, createServer, subscribe } from '../src/index.js';
import { closeActorPool } from '../src/pool.js';
import { MAX_URL_BYTES, parseEndpoint, type EndpointRole } from '../src/protocol.js';
import { NnSocket } from '../src/transport.js';
import { assertPortFree, FAST, freePort, ipcPair, tcpPair } from './helpers/endpoints.js';
import { eventually, sameMembers } from './helpers/wait.js';

after(() => closeActorPool());

type Case = [url: string, role: EndpointRole | undefined, why: RegExp];

const REFUSED: Case[] = [
  ['ipc://bh-s.ipc', undefined, /relative: it would resolve against each process's working directory; use an absolute path, e.g. ipc:\/\/\/tmp\/bh-s.ipc/],
  ['ipc://./x.ipc', 'connect', /relative/],
  ['ipc://', 'bind', /need a path/],
  [`ipc:///${'p'.repeat(107)}`, 'bind', /ipc path is 108 bytes, a Unix socket path holds at most 107/],
  ['tcp://localhost:29400', 'bind', /a listening URL needs an IPv4 address or \*, not a host or interface name/],
  ['tcp://lo:29400', 'bind', /not a host or interface name/],
  ['tcp://*:29400', 'connect', /\* \(every interface\) is for listening/],
  ['tcp://[::1]:29400', undefined, /IPv6 is not supported/],
  ['tcp://127.0.0.1:0', 'bind', /port 0 is outside 1..65535/],
  ['tcp://127.0.0.1:65536', 'connect', /outside 1..65535/],
  ['tcp://127.0.0.1:123456', 'connect', /host:port/],
  ['tcp://010.0.0.1:29400', 'connect', /not an IPv4 address \(four numbers 0-255, no leading zeros\)/],
  ['tcp://256.0.0.1:29400', 'connect', /not an IPv4 address/],
  ['tcp://eth0;10.0.0.1:29400', 'connect', /local-interface form/],
  ['tcp://127.0.0.1:29400/path', 'connect', /host:port and nothing else/],
  ['tcp://host name:29400', 'connect', /spaces or control characters/],
  ['tcp://127.0.0.1:4000\u0000', 'connect', /spaces or control characters/],
  ['TCP://127.0.0.1:29400', 'connect', /unsupported scheme "TCP": use tcp, ipc or inproc \(lowercase\)/],
  ['ws://127.0.0.1:29400', 'connect', /unsupported scheme "ws"/],
  [`inproc://${'n'.repeat(MAX_URL_BYTES - 'inproc://'.length + 1)}`, 'bind', /128 bytes, nanomsg takes at most 127/],
  ['inproc://', 'connect', /need a name/],
];

const ACCEPTED: Array<[string, EndpointRole | undefined]> = [
  ['tcp://127.0.0.1:29400', 'bind'],
  ['tcp://127.0.0.1:29400', 'connect'],
  ['tcp://*:29400', 'bind'],
  ['tcp://0.0.0.0:1', 'bind'],
  ['tcp://localhost:65535', 'connect'],
  ['tcp://discovery.internal:29400', 'connect'],
  ['ipc:///tmp/discovery.ipc', 'bind'],
  [`ipc:///${'p'.repeat(106)}`, 'connect'],
  ['inproc://discovery', 'bind'],
  [`inproc://${'n'.repeat(MAX_URL_BYTES - 'inproc://'.length)}`, 'bind'],
];

test('parseEndpoint: each refused form says why; each accepted form parses', () => {
  for (const [url, role, why] of REFUSED) {
    assert.throws(() => parseEndpoint(url, role), (e: Error & { code: string; url: string }) => {
      assert.equal(e.code, 'ERR_INVALID_URL', `${url}: ${e.message}`);
      assert.equal(e.url, url);
      assert.match(e.message, why);
      return true;
    });
  }
  for (const [url, role] of ACCEPTED) assert.equal(parseEndpoint(url, role).url, url);
  assert.deepEqual(parseEndpoint('tcp://*:29400', 'bind'), { scheme: 'tcp', url: 'tcp://*:29400', host: '*', port: 29400 });
  assert.deepEqual(parseEndpoint('ipc:///tmp/a.ipc'), { scheme: 'ipc', url: 'ipc:///tmp/a.ipc', path: '/tmp/a.ipc' });
});

test("the issue's example: ipc://bh-s.ipc is refused by the server, the client and the subscriber, nothing bound", async () => {
  const urls = await tcpPair();
  const relative = 'ipc://bh-s.ipc';
  await assert.rejects(createServer({ surveyUrl: relative, pubsubUrl: urls.pubsubUrl }), { code: 'ERR_INVALID_URL', message: /relative/ });
  await assert.rejects(createServer({ surveyUrl: urls.surveyUrl, pubsubUrl: relative }), { code: 'ERR_INVALID_URL', message: /relative/ });
  await assert.rejects(createClient({ surveyUrl: relative, service: 'a' }), { code: 'ERR_INVALID_URL', message: /relative/ });
  await assert.rejects(createClient({ surveyUrl: urls.surveyUrl, pubsubUrl: relative, service: 'a' }), { code: 'ERR_INVALID_URL', message: /relative/ });
  await assert.rejects(subscribe({ pubsubUrl: relative }), { code: 'ERR_INVALID_URL', message: /relative/ });
  await assert.rejects(createServer({ ...urls, surveyUrl: urls.surveyUrl.replace('127.0.0.1', 'localhost') }), { code: 'ERR_INVALID_URL', message: /listening URL/ });
  await assert.rejects(createClient({ surveyUrl: urls.surveyUrl.replace('127.0.0.1', '*'), service: 'a' }), { code: 'ERR_INVALID_URL', message: /for listening/ });
  await assertPortFree(urls.surveyUrl);
  await assertPortFree(urls.pubsubUrl);
});

test('what the grammar refuses, nanomsg cannot serve: bind to a name or port 0, connect to *, IPv6, a 128-byte URL', () => {
  const socket = NnSocket.open('pub');
  try {
    for (const url of ['tcp://localhost:1', 'tcp://lo:1', 'tcp://127.0.0.1:0', 'tcp://[::1]:1', `inproc://${'n'.repeat(119)}`]) {
      assert.throws(() => socket.bind(url), { name: 'SocketError' }, url);
    }
    for (const url of ['tcp://*:1', 'tcp://[::1]:1']) assert.throws(() => socket.connect(url), { name: 'SocketError' }, url);
  } finally {
    socket.close();
  }
});

test('what the grammar accepts is served: a server on tcp://*, a client dialling a DNS name, a 127-byte inproc name', async () => {
  const surveyPort = await freePort();
  const pubsubPort = await freePort();
  const server = await createServer({ surveyUrl: `tcp://*:${surveyPort}`, pubsubUrl: `tcp://*:${pubsubPort}`, ...FAST });
  const client = await createClient({ surveyUrl: `tcp://localhost:${surveyPort}`, pubsubUrl: `tcp://localhost:${pubsubPort}`, service: 'by-name' });
  try {
    await eventually(() => sameMembers(server.members(), ['by-name']), 15_000, 'the client dialling localhost listed');
    await eventually(() => sameMembers(client.latestPeers() ?? [], ['by-name']), 15_000, 'the list over localhost');
  } finally {
    await client.close();
    await server.close();
  }
  const long = `inproc://${'n'.repeat(MAX_URL_BYTES - 'inproc://'.length - 1)}`;
  const inproc = await createServer({ surveyUrl: `${long}s`, pubsubUrl: `${long}p`, ...FAST });
  const near = await createClient({ surveyUrl: `${long}s`, service: 'inproc' });
  try {
    await eventually(() => sameMembers(inproc.members(), ['inproc']), 15_000, 'the inproc client listed');
  } finally {
    await near.close();
    await inproc.close();
  }
  const ipc = ipcPair();
  assert.ok(ipc.surveyUrl.startsWith('ipc:///'), 'the test kit makes absolute ipc paths');
});

test('messages call things by the names the user gave: the CLI says --survey-time, not surveyTime; bind failures do not offer interface names', async () => {
  const { main } = await import('../src/cli/main.js');
  const run = async (argv: string[]) => {
    const err: string[] = [];
    const code = await main(argv, { out: () => {}, err: (l) => err.push(l), env: {}, stop: new AbortController().signal });
    return { code, err: err.join('\n') };
  };
  const port = await freePort();
  const long = await run(['server', '--survey-time', '2m', '--http', 'off']);
  assert.equal(long.code, 2);
  assert.match(long.err, /^gopherdiscovery: --survey-time must be at most 60000 ms, got 120000$/);
  const order = await run(['server', '--survey-time', '1s', '--poll-time', '500ms', '--http', 'off']);
  assert.match(order.err, /--survey-time \(1000 ms\) must be shorter than --poll-time \(500 ms\)/);
  assert.doesNotMatch(order.err, /surveyTime|pollTime/);
  const same = await run(['server', '--survey-url', `tcp://127.0.0.1:${port}`, '--pubsub-url', `tcp://127.0.0.1:${port}`, '--http', 'off']);
  assert.match(same.err, /--survey-url and --pubsub-url must differ/);
  const relative = await run(['client', '--name', 'a', '--survey-url', 'ipc://rel.ipc']);
  assert.equal(relative.code, 2);
  assert.match(relative.err, /invalid URL "ipc:\/\/rel.ipc": ipc path "rel.ipc" is relative/);
  // nanomsg's own ENODEV, should a name reach a bind anyway: the hint names what works.
  const socket = NnSocket.open('pub');
  try {
    assert.throws(() => socket.bind(`tcp://localhost:${port}`), (e: Error) => {
      assert.match(e.message, /ENODEV.*a listening URL needs an IPv4 address or \*, not a host or interface name/);
      return true;
    });
  } finally {
    socket.close();
  }
});
