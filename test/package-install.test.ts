/**
 * The package as a user gets it: `npm pack`, the tarball installed into a fresh app with
 * `npm ci --offline` (from the npm cache that this project's own `npm ci` filled, every
 * version pinned by this project's lockfile: nothing outside it is fetched), then an ES
 * module consumer and the CLI run from that app. `npm run build` must have run (npm test's
 * pretest does it); the pack skips the prepack build so it ships exactly that dist/.
 * CommonJS works through require(esm) (Node >= 20.19), and the types hold for TypeScript
 * consumers of both module systems (`module: nodenext`, strict). The install skips scripts
 * (pnpm 10's default) to check the error without nanomsg's build; then the addon that the
 * error's fix (`npm rebuild nanomsg gopherdiscovery`; nanomsg's install script) builds is put in place,
 * the error names this package's own addon (the readiness watcher), and its fix, `npm
 * rebuild gopherdiscovery`, really builds it from the sources the tarball ships.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { REPO } from './helpers/child.js';
import { freePort, tcpPair } from './helpers/endpoints.js';

const exec = promisify(execFile);

/** npm's own lifecycle variables from an enclosing `npm test` would describe this project, not the app. */
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(npm_(lifecycle|package)_|INIT_CWD$|GOPHERDISCOVERY_)/.test(k)));

const STEP_MS = 60_000;
/** nanomsg's compiled addon, where its `bindings` loader looks first for a Release build. */
const ADDON = join('node_modules', 'nanomsg', 'build', 'Release', 'node_nanomsg.node');
const TSC = join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
const ATTW = join(REPO, 'node_modules', '@arethetypeswrong', 'cli', 'dist', 'index.js');

/** Starts a server and a client with subscription, prints the first non-empty list, closes both: the same in every consumer. */
const DISCOVER_ONCE = `const server = await createServer({ surveyUrl, pubsubUrl, surveyTime: 50, recvDeadline: 50, pollTime: 60 });
  const client = await createClient({ surveyUrl, pubsubUrl, service: SERVICE });
  for await (const peers of client.peers()) {
    if (peers.length > 0) {
      console.log(JSON.stringify({ peers, peerSocket: typeof PeerSocket.bind }));
      break;
    }
  }
  await client.close();
  await server.close();`;

/** The same consumer in TypeScript: compiled under strict nodenext as an ES module and as CommonJS. */
const TS_CONSUMER = `import { createServer, createClient, type Server, type Client } from 'gopherdiscovery';
import { PeerSocket } from 'gopherdiscovery/testing';

const SERVICE: string = process.env.SERVICE ?? 'ts';
async function main(surveyUrl: string, pubsubUrl: string): Promise<void> {
  ${DISCOVER_ONCE.replace('const server =', 'const server: Server =').replace('const client =', 'const client: Client =')}
}
const [surveyUrl, pubsubUrl] = process.argv.slice(2);
main(surveyUrl!, pubsubUrl!).catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
`;

/** Both TypeScript consumers in one program: each file's module system comes from its folder's package.json. */
const TSCONFIG = {
  compilerOptions: {
    module: 'nodenext',
    moduleResolution: 'nodenext',
    target: 'es2022',
    strict: true,
    skipLibCheck: false,
    types: ['node'],
    typeRoots: [join(REPO, 'node_modules', '@types')],
  },
  files: ['esm/consumer.ts', 'cjs/consumer.ts'],
};

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

describe('the packed tarball, installed into a fresh app', { timeout: 10 * STEP_MS }, () => {
  let dir = '';
  let app = '';
  let tarball = '';
  let withoutBuild: Awaited<ReturnType<typeof probeWithoutBuild>> | undefined;
  let withoutReadiness: Awaited<ReturnType<typeof probeWithoutBuild>> | undefined;
  const inApp = (file: string, args: string[], ms = STEP_MS) => exec(file, args, { cwd: app, env, timeout: ms });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gopherdiscovery-pack-'));
    app = join(dir, 'app');
    const packed = await exec('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: REPO, env, timeout: STEP_MS });
    const [{ filename }] = JSON.parse(packed.stdout) as [{ filename: string }];
    tarball = join(dir, filename);
    await exec('mkdir', [app]);
    await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true, dependencies: { gopherdiscovery: `file:${tarball}` } }, null, 2));
    await writeFile(join(app, 'package-lock.json'), JSON.stringify(await appLockfile(tarball), null, 2));
    // Scripts skipped here, as pnpm 10 does by default.
    await inApp('npm', ['ci', '--offline', '--ignore-scripts', '--no-audit', '--no-fund']);
    withoutBuild = await probeWithoutBuild();
    // What the error's fix, `npm rebuild nanomsg`, produces: nanomsg's install script
    // (node-gyp rebuild) builds build/Release/node_nanomsg.node. This project's own install
    // ran that very script for the same nanomsg version and Node, so its addon is copied
    // rather than compiled again (~8 s of CPU; minutes on a loaded machine).
    await mkdir(join(app, 'node_modules', 'nanomsg', 'build', 'Release'), { recursive: true });
    await copyFile(join(REPO, ADDON), join(app, ADDON));
    withoutReadiness = await probeWithoutBuild();
    // This package's install script (node-gyp rebuild of native/readiness.c): small, built here.
    await inApp('npm', ['rebuild', 'gopherdiscovery', '--offline', '--no-audit', '--no-fund'], 4 * STEP_MS);
  });

  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** What createServer / createClient / subscribe and the CLI do while a native addon is not built. */
  async function probeWithoutBuild(): Promise<{ calls: unknown }> {
    const urls = await tcpPair();
    await writeFile(
      join(app, 'without-build.mjs'),
      `import { createServer, createClient, subscribe, NativeBuildMissingError } from 'gopherdiscovery';
const [surveyUrl, pubsubUrl] = process.argv.slice(2);
const calls = {};
for (const [name, start] of [
  ['createServer', () => createServer({ surveyUrl, pubsubUrl })],
  ['createClient', () => createClient({ surveyUrl, service: 'x' })],
  ['subscribe', () => subscribe({ pubsubUrl })],
]) {
  try {
    await start();
    calls[name] = 'started';
  } catch (e) {
    calls[name] = { isNativeBuildMissingError: e instanceof NativeBuildMissingError, code: e.code, message: e.message };
  }
}
console.log(JSON.stringify(calls));
`,
    );
    const { stdout } = await inApp('node', ['without-build.mjs', urls.surveyUrl, urls.pubsubUrl]);
    return { calls: JSON.parse(stdout) };
  }

  /** Every entry point rejected alike, with this message. */
  const everyCallRefused = (message: string) => {
    const expected = { isNativeBuildMissingError: true, code: 'ERR_NATIVE_BUILD_MISSING', message };
    return { createServer: expected, createClient: expected, subscribe: expected };
  };

  test('without the native builds (--ignore-scripts) the import works and the first call names both fixes: npm rebuild nanomsg gopherdiscovery', () => {
    assert.deepEqual(
      withoutBuild?.calls,
      everyCallRefused("nanomsg's native addon and gopherdiscovery's (the readiness watcher) are not built (their install scripts were skipped, or they were built for another Node.js version); run: npm rebuild nanomsg gopherdiscovery"),
    );
  });

  test('with nanomsg built but not the readiness watcher, the first call names the fix: npm rebuild gopherdiscovery', () => {
    assert.deepEqual(
      withoutReadiness?.calls,
      everyCallRefused("gopherdiscovery's native addon (the readiness watcher) is not built (its install script was skipped, or it was built for another Node.js version); run: npm rebuild gopherdiscovery"),
    );
  });

  test('a core-API user installs none of the command line / HTTP-only packages (optional peer dependencies)', async () => {
    const { stdout } = await inApp('npm', ['ls', '--all', '--parseable', '--offline']);
    const installed = stdout.trim().split('\n').slice(1).map((path) => path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length));
    for (const peer of ['pino', 'pino-pretty', 'prom-client']) assert.ok(!installed.includes(peer), `${peer} is not installed`);
    assert.ok(installed.includes('nanomsg') && installed.includes('piscina') && installed.includes('comlink'), installed.join(', '));
  });

  test('without the optional peers --help works for every command (it loads none of them)', async () => {
    const top = await inApp('npx', ['--offline', 'gopherdiscovery', '--help']);
    assert.match(top.stdout, /^usage: gopherdiscovery <command>/);
    for (const command of ['server', 'client', 'watch']) {
      const r = await inApp('npx', ['--offline', 'gopherdiscovery', command, '--help']);
      assert.match(r.stdout, new RegExp(`^usage: gopherdiscovery ${command}`), command);
      assert.equal(r.stderr, '', command);
    }
  });

  test('without the optional peers the command says what to install, and --version works', async () => {
    const urls = await tcpPair();
    const r = await inApp('npx', ['--offline', 'gopherdiscovery', 'server', '--survey-url', urls.surveyUrl, '--pubsub-url', urls.pubsubUrl, '--http', 'off']).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: unknown; stderr: string }) => e,
    );
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr.trim(),
      'gopherdiscovery: the gopherdiscovery command needs pino, pino-pretty, prom-client (optional peer dependencies); install: npm install pino pino-pretty prom-client',
    );
  });

  test('gopherdiscovery/http without prom-client: the default serves no /metrics (its 404 names prom-client), metrics asked for explicitly is a MissingPeerError', async () => {
    const urls = await tcpPair();
    await writeFile(
      join(app, 'http-consumer.mjs'),
      `import { createServer, MissingPeerError } from 'gopherdiscovery';
import { startHttpServer } from 'gopherdiscovery/http';
const [surveyUrl, pubsubUrl, port, otherPort] = process.argv.slice(2);
const server = await createServer({ surveyUrl, pubsubUrl, surveyTime: 50, recvDeadline: 50, pollTime: 60 });
const refusals = {};
for (const [name, metrics] of [['{}', {}], ['processMetrics', { processMetrics: true }]]) {
  try {
    await startHttpServer({ server, port: Number(port), metrics });
    refusals[name] = 'started';
  } catch (e) {
    refusals[name] = { isMissingPeerError: e instanceof MissingPeerError, packages: e.packages, message: e.message };
  }
}
const served = {};
// A port each: fetch would reuse a kept-alive connection to the first, which its close() ended.
for (const [name, options] of [['default', { port: Number(port) }], ['false', { port: Number(otherPort), metrics: false }]]) {
  const http = await startHttpServer({ server, ...options });
  const members = await (await fetch(new URL('members', http.url))).json();
  const metrics = await fetch(new URL('metrics', http.url));
  served[name] = { members, metrics: metrics.status, error: (await metrics.json()).error };
  await http.close();
}
await server.close();
console.log(JSON.stringify({ refusals, served }));
`,
    );
    const { stdout } = await inApp('node', ['http-consumer.mjs', urls.surveyUrl, urls.pubsubUrl, String(await freePort()), String(await freePort())]);
    const missing = { isMissingPeerError: true, packages: ['prom-client'], message: '/metrics needs prom-client (optional peer dependency); install: npm install prom-client' };
    assert.deepEqual(JSON.parse(stdout), {
      refusals: { '{}': missing, processMetrics: missing },
      served: {
        default: { members: [], metrics: 404, error: missing.message },
        false: { members: [], metrics: 404, error: 'no such page: /metrics' },
      },
    });
  });

  /** Runs a consumer with a fresh pair of ports and returns what it printed. */
  async function discover(file: string, service: string): Promise<unknown> {
    const urls = await tcpPair();
    const { stdout } = await exec('node', [file, urls.surveyUrl, urls.pubsubUrl], { cwd: app, env: { ...env, SERVICE: service }, timeout: STEP_MS });
    return JSON.parse(stdout);
  }

  test('an ES module consumer imports gopherdiscovery and gopherdiscovery/testing and discovers a member', async () => {
    await writeFile(
      join(app, 'consumer.mjs'),
      `import { createServer, createClient } from 'gopherdiscovery';
import { PeerSocket } from 'gopherdiscovery/testing';
const SERVICE = process.env.SERVICE;
const [surveyUrl, pubsubUrl] = process.argv.slice(2);
${DISCOVER_ONCE}
`,
    );
    assert.deepEqual(await discover('consumer.mjs', 'esm-consumer'), { peers: ['esm-consumer'], peerSocket: 'function' });
  });

  test("a CommonJS consumer require()s gopherdiscovery and gopherdiscovery/testing and discovers a member", async () => {
    await writeFile(
      join(app, 'consumer.cjs'),
      `const { createServer, createClient } = require('gopherdiscovery');
const { PeerSocket } = require('gopherdiscovery/testing');
const SERVICE = process.env.SERVICE;
const [surveyUrl, pubsubUrl] = process.argv.slice(2);
(async () => {
  ${DISCOVER_ONCE}
})();
`,
    );
    assert.deepEqual(await discover('consumer.cjs', 'cjs-consumer'), { peers: ['cjs-consumer'], peerSocket: 'function' });
  });

  test('TypeScript consumers with "type": "module" and "commonjs" compile under strict nodenext (skipLibCheck false) and run', async () => {
    const project = join(app, 'ts');
    for (const [folder, type] of [['esm', 'module'], ['cjs', 'commonjs']] as const) {
      await mkdir(join(project, folder), { recursive: true });
      await writeFile(join(project, folder, 'package.json'), JSON.stringify({ type }));
      await writeFile(join(project, folder, 'consumer.ts'), TS_CONSUMER);
    }
    await writeFile(join(project, 'tsconfig.json'), JSON.stringify(TSCONFIG, null, 2));
    await exec('node', [TSC, '-p', project], { cwd: project, env, timeout: STEP_MS }).catch((e: { stdout?: string }) => {
      assert.fail(`tsc failed:\n${e.stdout}`);
    });
    assert.match(await readFile(join(project, 'esm', 'consumer.js'), 'utf8'), /^import \{ createServer, createClient \} from 'gopherdiscovery';$/m, 'emitted as an ES module');
    assert.match(await readFile(join(project, 'cjs', 'consumer.js'), 'utf8'), /require\("gopherdiscovery"\)/, 'emitted as CommonJS');
    for (const folder of ['esm', 'cjs']) {
      assert.deepEqual(await discover(join(project, folder, 'consumer.js'), `ts-${folder}`), { peers: [`ts-${folder}`], peerSocket: 'function' }, folder);
    }
  });

  /** Type-checks `consumer` as an ES module project `name` in the app (no emit); tsc's error lines, '' when none. */
  async function typeErrors(name: string, consumer: string, compilerOptions: object = {}): Promise<string> {
    const project = join(app, name);
    await mkdir(project, { recursive: true });
    await writeFile(join(project, 'package.json'), JSON.stringify({ type: 'module' }));
    await writeFile(join(project, 'consumer.ts'), consumer);
    const options = { ...TSCONFIG.compilerOptions, noEmit: true, ...compilerOptions };
    await writeFile(join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions: options, files: ['consumer.ts'] }, null, 2));
    return exec('node', [TSC, '-p', project], { cwd: project, env, timeout: STEP_MS }).then(
      () => '',
      (e: { stdout?: string }) => e.stdout ?? String(e),
    );
  }

  test('a TypeScript consumer of gopherdiscovery/http type-checks without prom-client installed (strict nodenext, skipLibCheck false)', async () => {
    const errors = await typeErrors(
      'ts-http',
      `import { createServer } from 'gopherdiscovery';
import { startHttpServer, healthHandler, type HttpEndpoint, type ServerMetrics, type MetricsRegistry } from 'gopherdiscovery/http';

const server = await createServer({ surveyUrl: 'tcp://127.0.0.1:1', pubsubUrl: 'tcp://127.0.0.1:2' });
const registry: MetricsRegistry = { contentType: 'text/plain', metrics: async () => '' };
const own: ServerMetrics = { registry, contentType: registry.contentType, text: () => registry.metrics(), detach() {} };
const http: HttpEndpoint = await startHttpServer({ server, port: 0, metrics: own });
export const handler = healthHandler(server);
await http.close();
`,
    );
    assert.equal(errors, '', 'tsc reports no error');
  });

  test('a TypeScript consumer whose "types" is [] (the default of TypeScript >= 6) type-checks every entry: our declarations reference node\'s types themselves', async () => {
    const errors = await typeErrors(
      'ts-no-types',
      `import { createClient, type Client } from 'gopherdiscovery';
import { PeerSocket } from 'gopherdiscovery/testing';
import { startHttpServer } from 'gopherdiscovery/http';

export const start: (surveyUrl: string) => Promise<Client> = (surveyUrl) => createClient({ surveyUrl, service: 'x' });
export const entries = [PeerSocket, startHttpServer];
`,
      { types: [] },
    );
    assert.equal(errors, '', 'tsc reports no error (without the reference: "Cannot find name \'Buffer\'")');
  });

  test('@arethetypeswrong/cli finds no problem in the tarball but require(esm), which Node >= 20.19 supports', async () => {
    const r = await exec('node', [ATTW, tarball, '--format', 'json', '--ignore-rules', 'cjs-resolves-to-esm'], { cwd: dir, env, timeout: STEP_MS }).catch(
      (e: { stdout: string }) => e,
    );
    const report = JSON.parse(r.stdout) as { analysis: { problems: Array<{ kind: string; entrypoint?: string; resolutionKind?: string }> } };
    const problems = report.analysis.problems.filter((p) => p.kind !== 'CJSResolvesToESM');
    assert.deepEqual(problems, []);
  });

  test('npx gopherdiscovery --version prints the packed version', async () => {
    const { version } = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as { version: string };
    const { stdout } = await inApp('npx', ['--offline', 'gopherdiscovery', '--version']);
    assert.equal(stdout.trim(), version);
  });
});
