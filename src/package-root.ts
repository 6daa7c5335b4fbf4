/**
 * Files of the package found from its root (the directory holding its package.json), not
 * from the calling module's own path: the sources run from src/ under tsx (tests), but the
 * built dist/ is an esbuild bundle (scripts/bundle.ts), where a module's code lands in an
 * entry file or in a shared chunk (dist/chunks/) at another depth, so `../x` relative to
 * import.meta.url would name a different file in each layout. Every module of the package
 * lies below the root and nothing between them holds a package.json, so the first
 * package.json found walking up from this module's URL is the package's own.
 */
import { existsSync } from 'node:fs';

let root: URL | undefined;

/** The package's root directory as a file: URL ending in '/'; throws Error when no package.json lies above this module. */
export function packageRoot(): URL {
  if (root) return root;
  for (let dir = new URL('./', import.meta.url); ; dir = new URL('../', dir)) {
    if (existsSync(new URL('package.json', dir))) return (root = dir);
    if (dir.pathname === '/') throw new Error(`no package.json above ${import.meta.url}`);
  }
}

/** A file of the package, by its path from the package root (e.g. 'build/Release/readiness.node'). */
export function packageFile(path: string): URL {
  return new URL(path, packageRoot());
}

/**
 * The worker threads' entry (the module piscina loads, src/actors/worker.ts): the source
 * under tsx (`.ts` modules; workers inherit its loader), else the bundle's entry in dist/.
 */
export function workerEntry(): string {
  return packageFile(import.meta.url.endsWith('.ts') ? 'src/actors/worker.ts' : 'dist/actors/worker.js').href;
}
