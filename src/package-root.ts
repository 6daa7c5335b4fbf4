/**
 * Files of the package found from its root (the directory holding its package.json), not
 * from the calling module's own path: the sources run from src/ under tsx (tests), but the
 * built dist/ is an esbuild bundle (scripts/bundle.ts), where a module's code lands in an
 * entry file or in a shared chunk (dist/chunks/) at another depth, so `../x` relative to
 * import.meta.url would name a different file in each layout. Every module of the package
 * lies below the root and nothing between them holds a package.json, so the first
 * package.json found walking up from this module's file is the package's own. Paths, not
 * URLs, while walking: every file: URL turned into a path is work for the same function of
 * Node's module loader that, once hot, wakes V8's optimizing compiler (README "At rest").
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

let root: string | undefined;

/** The package's root directory (an absolute path); throws Error when no package.json lies above this module. */
export function packageRoot(): string {
  if (root !== undefined) return root;
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return (root = dir);
    if (dir === dirname(dir)) throw new Error(`no package.json above ${import.meta.url}`);
  }
}

/** A file of the package (an absolute path), by its path from the package root (e.g. 'build/Release/readiness.node'). */
export function packagePath(path: string): string {
  return join(packageRoot(), path);
}

/**
 * The worker threads' entry (the module piscina loads, src/actors/worker.ts): the source
 * under tsx (`.ts` modules; workers inherit its loader), else the bundle's entry in dist/.
 */
export function workerEntry(): string {
  return pathToFileURL(packagePath(import.meta.url.endsWith('.ts') ? 'src/actors/worker.ts' : 'dist/actors/worker.js')).href;
}

/**
 * piscina for the main thread: the package under tsx, else the single-file copy of it that
 * the build ships in dist/piscina/ (scripts/bundle.ts). Its ~14 CommonJS modules, loaded
 * one by one from node_modules, are enough on their own for Node's module loader to wake
 * V8's optimizing compiler (~3.7 MiB of RSS, README "At rest"); one file is not.
 */
export function piscinaModule(): string {
  return import.meta.url.endsWith('.ts') ? 'piscina' : packagePath('dist/piscina/main.js');
}
