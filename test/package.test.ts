/** The built package, imported by name (self-reference through package.json "exports"), runs discovery from dist/. */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
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
  }
});

/**
 * Each root export is a promise to keep: the root is exactly the user API (no actor runs,
 * pools, codecs or error serialization), and the test kit's machinery is under /testing.
 */
test("the root exports the user API and no internals; gopherdiscovery/testing has the test kit's", async () => {
  const root = await import('gopherdiscovery');
  const exported = new Set(Object.keys(root));
  for (const name of ['createServer', 'createClient', 'subscribe', 'createSupervisor', 'Server', 'Client', 'Subscriber', 'AppSupervisor', 'GopherDiscoveryError', 'NativeBuildMissingError', 'SUPERVISOR_DEFAULTS', 'DEFAULT_TIMING']) {
    assert.ok(exported.has(name), `${name} is exported`);
  }
  const internals = ['ActorRun', 'serializeError', 'deserializeError', 'closeActorPool', 'actorThreadCount', 'encodeMembers', 'decodeMembers', 'diffLists', 'parseEndpoint', 'validateServiceName', 'validateTiming', 'RefusalLog', 'Supervisor', 'SocketLedger', 'NnSocket'];
  assert.deepEqual(internals.filter((name) => exported.has(name)), [], 'internals exported from the root');
  const testing = await import('gopherdiscovery/testing');
  for (const name of ['startActor', 'PeerSocket', 'freePort', 'tcpPair', 'closeActorPool', 'actorThreadCount', 'encodeMembers', 'decodeMembers']) {
    assert.equal(typeof (testing as Record<string, unknown>)[name], 'function', name);
  }
});

/**
 * dist/ is an esbuild bundle with code splitting (scripts/bundle.ts): each source module's
 * code is in exactly one output file, shared by the entries that need it, so a class has
 * one identity whichever entry a user imports it through.
 */
test("one instance of each module across the entries: an error from 'gopherdiscovery/http' is an instance of the class 'gopherdiscovery' exports", async () => {
  const root = await import('gopherdiscovery');
  const http = await import('gopherdiscovery/http');
  await assert.rejects(
    http.startHttpServer({ noSuchOption: true } as never),
    (e: unknown) => e instanceof root.InvalidOptionError && e instanceof root.GopherDiscoveryError && /noSuchOption/.test((e as Error).message),
  );
  // Each module's code in one output file: esbuild writes `// dist/<module>.js` above it.
  const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
  const homes = new Map<string, Set<string>>();
  for (const file of readdirSync(dist, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.js'))) {
    for (const m of readFileSync(join(dist, file), 'utf8').matchAll(/^\/\/ (dist\/\S+\.js)$/gm)) {
      homes.set(m[1]!, (homes.get(m[1]!) ?? new Set()).add(file));
    }
  }
  assert.ok(homes.has('dist/errors.js') && homes.has('dist/actors/respondent.js'), 'the bundle names the modules it holds');
  assert.deepEqual(
    [...homes].filter(([, files]) => files.size > 1).map(([module, files]) => `${module} in ${[...files].join(', ')}`),
    [],
    'modules whose code is in more than one output file',
  );
});
