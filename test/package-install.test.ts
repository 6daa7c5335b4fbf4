/**
 * The package as a user gets it: `npm pack`, the tarball installed into a fresh app with
 * `npm ci --offline` (from the npm cache that this project's own `npm ci` filled, every
 * version pinned by this project's lockfile: nothing outside it is fetched), then an ES
 * module consumer and the CLI run from that app. `npm run build` must have run (npm test's
 * pretest does it); the pack skips the prepack build so it ships exactly that dist/.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { REPO } from './helpers/child.js';
import { tcpPair } from './helpers/endpoints.js';

const exec = promisify(execFile);

/** npm's own lifecycle variables from an enclosing `npm test` would describe this project, not the app. */
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(npm_(lifecycle|package)_|INIT_CWD$|GOPHERDISCOVERY_)/.test(k)));

const STEP_MS = 60_000;

interface LockEntry {
  dev?: boolean;
  devOptional?: boolean;
  version?: string;
  license?: string;
  dependencies?: Record<string, string>;
  bin?: Record<string, string>;
  engines?: Record<string, string>;
}

/**
 * The app's package-lock.json: the tarball as its one dependency, and exactly the
 * production entries of this project's lockfile (same paths, versions and integrity), so
 * `npm ci --offline` installs what a user's `npm install gopherdiscovery` would resolve
 * today, without asking the registry.
 */
async function appLockfile(tarball: string): Promise<object> {
  const lock = JSON.parse(await readFile(join(REPO, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const root = lock.packages['']!;
  const spec = `file:${tarball}`;
  const packages: Record<string, unknown> = {
    '': { name: 'app', version: '1.0.0', dependencies: { gopherdiscovery: spec } },
    'node_modules/gopherdiscovery': {
      version: root.version,
      resolved: spec,
      license: root.license,
      dependencies: root.dependencies,
      bin: root.bin,
      engines: root.engines,
    },
  };
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path !== '' && !entry.dev && !entry.devOptional) packages[path] = entry;
  }
  return { name: 'app', version: '1.0.0', lockfileVersion: 3, requires: true, packages };
}

describe('the packed tarball, installed into a fresh app', { timeout: 4 * STEP_MS }, () => {
  let dir = '';
  let app = '';
  const inApp = (file: string, args: string[], ms = STEP_MS) => exec(file, args, { cwd: app, env, timeout: ms });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gopherdiscovery-pack-'));
    app = join(dir, 'app');
    const packed = await exec('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: REPO, env, timeout: STEP_MS });
    const [{ filename }] = JSON.parse(packed.stdout) as [{ filename: string }];
    const tarball = join(dir, filename);
    await exec('mkdir', [app]);
    await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true, dependencies: { gopherdiscovery: `file:${tarball}` } }, null, 2));
    await writeFile(join(app, 'package-lock.json'), JSON.stringify(await appLockfile(tarball), null, 2));
    // Scripts skipped here, as pnpm 10 does by default; nanomsg's build is the rebuild below.
    await inApp('npm', ['ci', '--offline', '--ignore-scripts', '--no-audit', '--no-fund']);
    await inApp('npm', ['rebuild', 'nanomsg', '--offline']);
  });

  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('an ES module consumer imports gopherdiscovery and gopherdiscovery/testing and discovers a member', async () => {
    const urls = await tcpPair();
    await writeFile(
      join(app, 'consumer.mjs'),
      `import { createServer, createClient } from 'gopherdiscovery';
import { PeerSocket } from 'gopherdiscovery/testing';
const [surveyUrl, pubsubUrl] = process.argv.slice(2);
const server = await createServer({ surveyUrl, pubsubUrl, surveyTime: 50, recvDeadline: 50, pollTime: 60 });
const client = await createClient({ surveyUrl, pubsubUrl, service: 'esm-consumer' });
for await (const peers of client.peers()) {
  if (peers.length > 0) { console.log(JSON.stringify({ peers, peerSocket: typeof PeerSocket.bind })); break; }
}
await client.close();
await server.close();
`,
    );
    const { stdout } = await inApp('node', ['consumer.mjs', urls.surveyUrl, urls.pubsubUrl]);
    assert.deepEqual(JSON.parse(stdout), { peers: ['esm-consumer'], peerSocket: 'function' });
  });

  test('npx gopherdiscovery --version prints the packed version', async () => {
    const { version } = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as { version: string };
    const { stdout } = await inApp('npx', ['--offline', 'gopherdiscovery', '--version']);
    assert.equal(stdout.trim(), version);
  });
});
