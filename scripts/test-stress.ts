/**
 * `npm run test:stress [-- --runs N] [-- --hog stress-ng|busy|none]`: the whole suite N
 * times back to back (default 5) while a CPU hog keeps every core busy, to prove the suite
 * does not flake on a loaded machine. The hog is stress-ng (`--cpu <cores>`) when
 * installed, else one busy-looping node child per core; it is ended whatever happens.
 * Builds once, then runs package.json's own `test` command each time (so it is the suite
 * CI runs), each run's output in test-artifacts/stress-run-<n>.log. Prints pass/fail,
 * the failing tests and the time of each run, and the total; exits 1 if any run failed.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ARTIFACTS = `${ROOT}test-artifacts/`;

const { values } = parseArgs({
  options: { runs: { type: 'string', default: process.env.STRESS_RUNS ?? '5' }, hog: { type: 'string', default: 'auto' } },
  strict: true,
});
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a whole number >= 1, got ${values.runs}`);
const hogKind = values.hog;
if (!['auto', 'stress-ng', 'busy', 'none'].includes(hogKind!)) throw new Error(`--hog must be auto, stress-ng, busy or none, got ${hogKind}`);

const cores = availableParallelism();
const hasStressNg = spawnSync('stress-ng', ['--version'], { stdio: 'ignore' }).status === 0;

/** Starts the CPU hog: one busy process per core. Returns a function that ends it. */
function startHog(): { describe: string; stop: () => void } {
  const kind = hogKind === 'auto' ? (hasStressNg ? 'stress-ng' : 'busy') : hogKind;
  if (kind === 'none') return { describe: 'no CPU hog', stop: () => {} };
  let children: ChildProcess[];
  if (kind === 'stress-ng') {
    if (!hasStressNg) throw new Error('stress-ng is not installed (apt-get install stress-ng), use --hog busy');
    // In a process group of its own (detached), so its workers end with it.
    children = [spawn('stress-ng', ['--cpu', String(cores), '--quiet'], { stdio: 'ignore', detached: true })];
  } else {
    children = Array.from({ length: cores }, () => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore', detached: true }));
  }
  const stop = () => {
    for (const c of children) {
      try {
        process.kill(-c.pid!, 'SIGKILL'); // the group this script started, by its id
      } catch {
        // already gone
      }
    }
  };
  return { describe: `${kind} on ${cores} core${cores === 1 ? '' : 's'}`, stop };
}

/** One run of the suite: its exit code, duration and the top-level tests that failed. */
function runSuite(n: number, command: string): Promise<{ ok: boolean; ms: number; failed: string[] }> {
  const log = createWriteStream(`${ARTIFACTS}stress-run-${n}.log`);
  const started = performance.now();
  const failed: string[] = [];
  let pending = '';
  return new Promise((resolve) => {
    const child = spawn('sh', ['-c', command], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const onData = (chunk: Buffer) => {
      log.write(chunk);
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop()!;
      // node --test's TAP: a failing file or test at any depth is "not ok N - name".
      for (const line of lines) {
        const m = /^\s*not ok \d+ - (.*)$/.exec(line);
        if (m) failed.push(m[1]!);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('close', (code) => {
      log.end();
      resolve({ ok: code === 0, ms: performance.now() - started, failed });
    });
  });
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(0)} s`;

async function stress(): Promise<number> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { scripts: Record<string, string> };
  const command = pkg.scripts.test!;
  console.log('building once: npm run build && tsc -p tsconfig.test.json');
  const build = spawnSync('sh', ['-c', 'npm run build && npx tsc -p tsconfig.test.json'], { cwd: ROOT, stdio: 'inherit' });
  if (build.status !== 0) return 1;
  const hog = startHog();
  const end = () => hog.stop();
  process.once('SIGINT', () => {
    end();
    process.exit(130);
  });
  process.once('exit', end);
  console.log(`CPU hog: ${hog.describe}; ${runs} run${runs === 1 ? '' : 's'} of: ${command}`);
  const started = performance.now();
  const results: Array<{ ok: boolean; ms: number; failed: string[] }> = [];
  try {
    for (let n = 1; n <= runs; n++) {
      const r = await runSuite(n, command);
      results.push(r);
      console.log(`run ${n}/${runs}: ${r.ok ? 'pass' : 'FAIL'} in ${seconds(r.ms)}${r.failed.length ? ` — failed: ${r.failed.join('; ')}` : ''} (log: test-artifacts/stress-run-${n}.log)`);
    }
  } finally {
    end();
  }
  const passed = results.filter((r) => r.ok).length;
  console.log(`${passed} of ${runs} runs passed under load; total ${seconds(performance.now() - started)}`);
  return passed === runs ? 0 : 1;
}

process.exitCode = await stress();
