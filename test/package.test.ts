/** The built package, imported by name (self-reference through package.json "exports"), runs discovery from dist/. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
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
 * dist/ holds esbuild bundles (scripts/bundle.ts); the library's entries (root, /http,
 * /testing) are one build with code splitting: each source module's code is in exactly one
 * of the files they load, statically or on first use, so a class has one identity whichever
 * entry a user imports it through. (The worker threads' entry and the command are builds of
 * their own: a thread or a process of their own, which shares no module instance anyway.)
 */
test("one instance of each module across the library's entries: an error from 'gopherdiscovery/http' is an instance of the class 'gopherdiscovery' exports", async () => {
  const root = await import('gopherdiscovery');
  const http = await import('gopherdiscovery/http');
  await assert.rejects(
    http.startHttpServer({ noSuchOption: true } as never),
    (e: unknown) => e instanceof root.InvalidOptionError && e instanceof root.GopherDiscoveryError && /noSuchOption/.test((e as Error).message),
  );
  // The files the entries load (static and dynamic imports of relative paths), and in each
  // the modules it holds: esbuild writes `// dist/<module>.js` above each module's code.
  const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
  const homes = new Map<string, Set<string>>();
  const files = new Set<string>();
  const visit = (file: string): void => {
    if (files.has(file)) return;
    files.add(file);
    const source = readFileSync(file, 'utf8');
    for (const m of source.matchAll(/^\/\/ (dist\/\S+\.js)$/gm)) homes.set(m[1]!, (homes.get(m[1]!) ?? new Set()).add(relative(dist, file)));
    for (const m of source.matchAll(/(?:\sfrom\s+|^import\s+|\bimport\()"(\.[^"]+)"/gm)) visit(resolve(dirname(file), m[1]!));
  };
  for (const entry of ['index.js', 'http/index.js', 'testing/index.js']) visit(join(dist, entry));
  for (const module of ['dist/errors.js', 'dist/supervisor.js', 'dist/pool.js', 'dist/http/server.js', 'dist/metrics.js', 'dist/actors/respondent.js', 'dist/transport.js']) {
    assert.ok(homes.has(module), `${module} is in a file the entries load`);
  }
  assert.deepEqual(
    [...homes].filter(([, where]) => where.size > 1).map(([module, where]) => `${module} in ${[...where].join(', ')}`),
    [],
    'modules whose code is in more than one of those files',
  );
});

/**
 * The built pool starts actor threads with the bundle's single-file piscina (dist/piscina/,
 * scripts/bundle.ts), not piscina's ~14 modules from node_modules, whose loading alone
 * wakes V8's optimizing compiler (README "At rest").
 */
test("the built package's actor threads come from its bundled piscina, not node_modules/piscina's modules", async () => {
  const pkg = await import('gopherdiscovery');
  const urls = await tcpPair();
  const client = await pkg.createClient({ surveyUrl: urls.surveyUrl, service: 'bundled-pool' });
  try {
    const loaded = Object.keys(createRequire(import.meta.url).cache);
    assert.ok(loaded.some((file) => file.endsWith('/dist/piscina/main.js')), 'dist/piscina/main.js loaded');
    assert.deepEqual(loaded.filter((file) => file.includes('/node_modules/piscina/')), [], 'modules of node_modules/piscina loaded');
  } finally {
    await client.close();
  }
});
