/**
 * `npm run build`'s second step, after `tsc -p tsconfig.json`: replaces the JavaScript that
 * tsc wrote in dist/ (one file per module: ~25 for `import 'gopherdiscovery'`, ~20 more in
 * each worker thread) with esbuild bundles of the package's entry points at the same paths
 * (package.json "exports" and "bin" unchanged), their shared code in dist/chunks/. tsc's
 * declarations (.d.ts) stay. Packages stay external (nanomsg, piscina, comlink and the
 * optional peers load from node_modules as before). Paths that a module used to find
 * relative to its own file are found from the package root instead (src/package-root.ts).
 *
 * Why: Node's module loader, resolving and reading every file (more work the longer the
 * path the package is installed at), gets hot enough to wake V8's optimizing compiler,
 * whose code pages (~3.7 MiB of the node binary) then count in the host's RSS; with fewer
 * files it does not (README "At rest"). Hence three builds, each as few files as it can be:
 * - the library (index, http, testing): one build with code splitting, so that each module
 *   has ONE instance in a process that imports several of them (an error class from
 *   'gopherdiscovery/http' is the one 'gopherdiscovery' exports, and 'gopherdiscovery/testing'
 *   closes the same actor pool). Its lazy imports (the actors' code for sharedThreads 'main',
 *   the socket ledger's closing, prom-client's metrics) are chunks loaded on first use;
 * - the worker threads' entry (actors/worker.js, loaded by piscina in threads of its own,
 *   which share no module instance with the main thread anyway): one self-contained file;
 * - the command (main.js, a process of its own): code splitting among its own lazy parts
 *   only (logs and metrics load when asked for, so their optional peers may be missing);
 * - piscina (dist/piscina/): its main side and its worker side each one CommonJS file,
 *   built from the installed package (both sides from the same version; its LICENSE
 *   beside them). Its ~14 modules loaded one by one from node_modules wake the optimizing
 *   compiler on their own, in any process that creates an actor thread.
 */
import { build, type BuildOptions } from 'esbuild';
import { copyFileSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const DIST = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');

const common: BuildOptions = {
  outbase: DIST,
  outdir: DIST,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  chunkNames: 'chunks/[name]-[hash]',
  // src/errors.ts names each error by its class (new.target.name): keep names esbuild would rename.
  keepNames: true,
  // tsc's maps are read as input, so the bundle's maps lead back to src/*.ts.
  sourcemap: 'linked',
  write: false,
  logLevel: 'warning',
};
const entries = (...paths: string[]): string[] => paths.map((path) => join(DIST, path));

// piscina's main module (its package.json "main"; its worker.js beside it, which the main
// side starts by that name from its own directory: resolve(__dirname, 'worker.js')).
const PISCINA = dirname(createRequire(import.meta.url).resolve('piscina'));

const builds = await Promise.all([
  build({ ...common, entryPoints: entries('index.js', 'http/index.js', 'testing/index.js'), splitting: true }),
  build({ ...common, entryPoints: entries('actors/worker.js'), splitting: false }),
  build({ ...common, entryPoints: entries('main.js'), splitting: true }),
  build({
    ...common,
    entryPoints: { 'piscina/main': join(PISCINA, 'main.js'), 'piscina/worker': join(PISCINA, 'worker.js') },
    outbase: undefined,
    format: 'cjs',
    keepNames: false,
  }),
]);

// tsc's JavaScript goes (every module is in the bundles now); its declarations stay.
const stale = readdirSync(DIST, { recursive: true, encoding: 'utf8' }).filter((f) => /\.js(\.map)?$/.test(f));
for (const file of stale) rmSync(join(DIST, file));
for (const out of builds.flatMap((b) => b.outputFiles!)) {
  mkdirSync(dirname(out.path), { recursive: true });
  writeFileSync(out.path, out.contents);
}
// dist/ is "type": "module" through the package's package.json; piscina's files are CommonJS.
writeFileSync(join(DIST, 'piscina', 'package.json'), '{ "type": "commonjs" }\n');
copyFileSync(join(PISCINA, '..', 'LICENSE'), join(DIST, 'piscina', 'LICENSE'));
