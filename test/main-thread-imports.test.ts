/**
 * What `import 'gopherdiscovery'` loads into the host's main thread (README "At rest"):
 * the user API, the supervisors and the pool, but none of the actors' code and not
 * nanomsg — those load in the worker threads that host actors, and into the main thread
 * only when it runs actors itself (sharedThreads 'main') or closes a dead actor's sockets.
 * Read from the built dist/ (what a user's process runs; `npm test` builds it first): esbuild
 * bundles (scripts/bundle.ts), whose entries and chunks are followed through their static
 * imports from dist/index.js; the source modules each file holds are named by the
 * `// dist/<module>.js` line esbuild writes above each module's code. Dynamic `import()`
 * and createRequire are the lazy paths and are not followed.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const DIST = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');

/**
 * What a static import of `entry` evaluates: the source modules (dist-relative paths, as
 * esbuild names them) in the files it loads, and bare package specifiers as they are written.
 */
function staticGraph(entry: string): Set<string> {
  const files = new Set<string>();
  const loaded = new Set<string>();
  const visit = (file: string): void => {
    if (files.has(file)) return;
    files.add(file);
    const source = readFileSync(file, 'utf8');
    for (const m of source.matchAll(/^\/\/ dist\/(\S+\.js)$/gm)) loaded.add(m[1]!);
    const specifiers = [
      ...[...source.matchAll(/^(?:import|export)\s[^;]*?\sfrom\s+["']([^"']+)["'];/gms)].map((m) => m[1]!),
      ...[...source.matchAll(/^import\s+["']([^"']+)["'];/gm)].map((m) => m[1]!),
    ];
    for (const specifier of specifiers) {
      if (specifier.startsWith('.')) visit(resolve(dirname(file), specifier));
      else loaded.add(specifier);
    }
  };
  visit(join(DIST, entry));
  return loaded;
}

test("the main thread's import holds no actor code and no nanomsg: actors and sockets load where they run", () => {
  const graph = staticGraph('index.js');
  // The graph is read at all (a broken walk would pass the checks below vacuously).
  for (const expected of ['client.js', 'server.js', 'supervisor.js', 'actor-run.js', 'pool.js', 'socket-ledger.js']) {
    assert.ok(graph.has(expected), `${expected} is imported by index.js`);
  }
  const loaded = [...graph];
  assert.deepEqual(
    loaded.filter((m) => m.startsWith('actors/') || m === 'transport.js' || m.startsWith('nanomsg') || m.startsWith('piscina')),
    [],
    'modules that only actor threads need, loaded by the main thread',
  );
  // The worker entry does load them (the walk sees through to the actors).
  const worker = staticGraph('actors/worker.js');
  for (const expected of ['actors/respondent.js', 'actors/subscriber.js', 'transport.js']) assert.ok(worker.has(expected), `${expected} in a worker`);
});
