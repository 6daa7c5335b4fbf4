/**
 * What `import 'gopherdiscovery'` loads into the host's main thread (README "At rest"):
 * the user API, the supervisors and the pool, but none of the actors' code and not
 * nanomsg — those load in the worker threads that host actors, and into the main thread
 * only when it runs actors itself (sharedThreads 'main') or closes a dead actor's sockets.
 * Read from the built dist/ (what a user's process runs; `npm test` builds it first): its
 * static imports, followed from dist/index.js. Dynamic `import()` and createRequire are the
 * lazy paths and are not followed.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const DIST = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');

/** The modules a static import of `entry` evaluates: dist-relative paths, and bare package specifiers as they are written. */
function staticGraph(entry: string): Set<string> {
  const seen = new Set<string>();
  const visit = (file: string): void => {
    const key = relative(DIST, file);
    if (seen.has(key)) return;
    seen.add(key);
    const source = readFileSync(file, 'utf8');
    const specifiers = [
      ...[...source.matchAll(/^(?:import|export)\s[^;]*?\sfrom\s+'([^']+)';/gms)].map((m) => m[1]!),
      ...[...source.matchAll(/^import\s+'([^']+)';/gm)].map((m) => m[1]!),
    ];
    for (const specifier of specifiers) {
      if (specifier.startsWith('.')) visit(resolve(dirname(file), specifier));
      else seen.add(specifier);
    }
  };
  visit(join(DIST, entry));
  return seen;
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
