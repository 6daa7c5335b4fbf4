/**
 * Error messages quote untrusted text escaped: a service name, URL, option name or value, or
 * bytes from the network holding a bidi override (U+202E), a C1 control or a line break is
 * shown as an escape (`\u202e`), never raw, so a message printed on a terminal or in a log
 * cannot reorder or hide what follows it.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createClient, createServer, createSupervisor, GopherDiscoveryError, InvalidOptionError, InvalidServiceNameError, InvalidUrlError } from '../src/index.js';
import { HttpListenError, startHttpServer } from '../src/http/index.js';
import { closeActorPool } from '../src/pool.js';
import { decodeMembers } from '../src/protocol.js';
import { FAST, freePort, tcpPair } from './helpers/endpoints.js';

after(() => closeActorPool());

/** What a terminal would act on (the set src/printable.ts escapes). */
const RAW = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]|\p{Cs}/u;
const RLO = '\u202e';

/** The error is of `type`, has no raw character a terminal acts on, and shows `shown` (the escaped form) instead. */
function escapedError(type: abstract new (...args: never[]) => Error, shown: string) {
  return (e: unknown) => {
    assert.ok(e instanceof type, `a ${type.name}: ${String(e)}`);
    assert.doesNotMatch(e.message, RAW, `raw control or bidi character in: ${JSON.stringify(e.message)}`);
    assert.ok(e.message.includes(shown), `${JSON.stringify(e.message)} shows ${shown}`);
    return true;
  };
}

test('a service name with U+202E is quoted escaped in InvalidServiceNameError', async () => {
  const { surveyUrl } = await tcpPair();
  await assert.rejects(createClient({ surveyUrl, service: `orders${RLO}fdp.exe` }), escapedError(InvalidServiceNameError, '"orders\\u202efdp.exe"'));
  await assert.rejects(createClient({ surveyUrl, service: `a\u0085b|c` }), escapedError(InvalidServiceNameError, '"a\\u0085b|c"'));
});

test('a URL with U+202E or a C1 control is quoted escaped in InvalidUrlError', async () => {
  const { pubsubUrl } = await tcpPair();
  await assert.rejects(createServer({ surveyUrl: `tcp://evil${RLO}.example:1`, pubsubUrl }), escapedError(InvalidUrlError, '"tcp://evil\\u202e.example:1"'));
  await assert.rejects(createServer({ surveyUrl: `tcp://127.0.0.1:1\u009b`, pubsubUrl }), escapedError(InvalidUrlError, '"tcp://127.0.0.1:1\\u009b"'));
  await assert.rejects(createServer({ surveyUrl: `ipc://tmp/${RLO}x`, pubsubUrl }), escapedError(InvalidUrlError, 'ipc path "tmp/\\u202ex" is relative'));
});

test("an option's value or an unknown option's name with U+202E is quoted escaped in InvalidOptionError", async () => {
  const urls = await tcpPair();
  await assert.rejects(createServer({ ...urls, schedule: `fixed${RLO}rate` as never }), escapedError(InvalidOptionError, 'got "fixed\\u202erate"'));
  await assert.rejects(createServer({ ...urls, pollTime: `1${RLO}0` as never }), escapedError(InvalidOptionError, 'got "1\\u202e0"'));
  await assert.rejects(createServer({ ...urls, [`poll${RLO}Time`]: 1 } as never), escapedError(InvalidOptionError, 'unknown option "poll\\u202eTime"'));
  await assert.rejects(createServer({ ...urls, supervision: { sharedThreads: `all${RLO}` as never } }), escapedError(InvalidOptionError, 'got "all\\u202e"'));
});

test('a member list from the network with U+202E is quoted escaped in MalformedMessageError', () => {
  assert.throws(() => decodeMembers(Buffer.from(`a${RLO}||b`)), escapedError(GopherDiscoveryError, '"a\\u202e||b"'));
});

test("text that no quoting covers is still escaped: a supervisor's name in ClosedError, an inproc URL in a SocketError", async () => {
  const app = createSupervisor({ name: `app${RLO}\n` });
  await app.shutdown();
  await assert.rejects(
    app.createServer({ surveyUrl: 'inproc://never-bound-a', pubsubUrl: 'inproc://never-bound-b', ...FAST }),
    escapedError(GopherDiscoveryError, 'supervisor app\\u{202E}\\u{000A}'),
  );
  const urls = { surveyUrl: `inproc://taken${RLO}`, pubsubUrl: `inproc://taken-pub${RLO}` };
  const holder = await createServer({ ...urls, ...FAST });
  try {
    await assert.rejects(createServer({ surveyUrl: urls.surveyUrl, pubsubUrl: 'inproc://free-pub', ...FAST }), escapedError(GopherDiscoveryError, 'bind inproc://taken\\u{202E} failed: EADDRINUSE'));
  } finally {
    await holder.close();
  }
});

test('an HTTP host with U+202E is escaped in HttpListenError', async () => {
  const urls = await tcpPair();
  const server = await createServer({ ...urls, ...FAST });
  try {
    await assert.rejects(startHttpServer({ server, host: `no${RLO}host.invalid`, port: await freePort(), metrics: false }), escapedError(HttpListenError, 'http://no\\u{202E}host.invalid:'));
  } finally {
    await server.close();
  }
});
