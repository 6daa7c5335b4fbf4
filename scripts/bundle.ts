/**
 * `npm run build`'s second step, after `tsc -p tsconfig.json`: replaces the JavaScript that
 * tsc wrote in dist/ (one file per module, ~30 for `import 'gopherdiscovery'`) with an
 * esbuild bundle of the package's entry points at the same paths (package.json "exports"
 * and "bin" unchanged), their shared code in dist/chunks/. tsc's declarations (.d.ts) stay.
 *
 * Why: Node's loader resolving and compiling ~30 modules wakes V8's optimizing compiler,
 * whose code pages (~3.7 MiB of the node binary) then count in the host's RSS; a bundle
 * does not (README "At rest"). Code splitting keeps ONE instance of each module across the
 * entries, so an error class from 'gopherdiscovery/http' is the one 'gopherdiscovery'
 * exports (`instanceof` holds), and the worker threads' entry shares nothing it need not.
 * Packages stay external (nanomsg, piscina, comlink and the optional peers load from
 * node_modules as before). Paths that a module used to find relative to its own file are
 * found from the package root instead (src/package-root.ts).
 */
import { build } from 'esbuild';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const DIST = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');

/** The modules a user (exports, bin) or piscina (the worker threads) loads by path. */
const ENTRY_POINTS = ['index.js', 'http/index.js', 'testing/index.js', 'main.js', 'actors/worker.js'];

const result = await build({
  entryPoints: ENTRY_POINTS.map((entry) => join(DIST, entry)),
  outbase: DIST,
  outdir: DIST,
  bundle: true,
  splitting: true,
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
});

// tsc's JavaScript goes (every module is in the bundle now); its declarations stay.
const stale = (readdirSync(DIST, { recursive: true, encoding: 'utf8' }) as string[]).filter((f) => /\.js(\.map)?$/.test(f));
for (const file of stale) rmSync(join(DIST, file));
for (const out of result.outputFiles) {
  mkdirSync(dirname(out.path), { recursive: true });
  writeFileSync(out.path, out.contents);
}
