/**
 * Endpoints for tests that cannot collide, even between test files running in parallel
 * processes (or test runs of several checkouts on one machine): a TCP port is claimed by
 * creating a lock file exclusively (stale claims of dead processes are taken over), then checked to be bindable on 127.0.0.1. Claims are
 * released when the process exits.
 */
import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CLAIMS = join(tmpdir(), 'gopherdiscovery-test-ports');
const FIRST = 41000;
const SPAN = 8000;
const claimed = new Set<number>();
let next = FIRST + ((process.pid * 37) % SPAN);

let registered = false;
function releaseAtExit(): void {
  if (registered) return;
  registered = true;
  mkdirSync(CLAIMS, { recursive: true });
  process.on('exit', () => {
  for (const p of claimed) {
    try {
      unlinkSync(join(CLAIMS, String(p)));
    } catch {}
  }
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function claim(port: number): boolean {
  const file = join(CLAIMS, String(port));
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      claimed.add(port);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      let owner = NaN;
      try {
        owner = Number(readFileSync(file, 'utf8'));
      } catch {}
      if (Number.isInteger(owner) && owner > 0 && alive(owner)) return false;
      try {
        unlinkSync(file);
      } catch {}
    }
  }
  return false;
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** A loopback TCP port no other test (in this or another process) will use. */
export async function freePort(): Promise<number> {
  releaseAtExit();
  for (let i = 0; i < SPAN; i++) {
    const port = next;
    next = next + 1 >= FIRST + SPAN ? FIRST : next + 1;
    if (claimed.has(port) || !claim(port)) continue;
    if (await bindable(port)) return port;
  }
  throw new Error('no free test port');
}

export interface EndpointPair {
  surveyUrl: string;
  pubsubUrl: string;
}

export async function tcpPair(): Promise<EndpointPair> {
  return { surveyUrl: `tcp://127.0.0.1:${await freePort()}`, pubsubUrl: `tcp://127.0.0.1:${await freePort()}` };
}

let seq = 0;
export function ipcPair(): EndpointPair {
  const base = join(tmpdir(), `gd-${process.pid}-${++seq}`);
  return { surveyUrl: `ipc://${base}-survey.ipc`, pubsubUrl: `ipc://${base}-pubsub.ipc` };
}

export function inprocPair(): EndpointPair {
  const base = `gd-${process.pid}-${++seq}`;
  return { surveyUrl: `inproc://${base}-survey`, pubsubUrl: `inproc://${base}-pubsub` };
}

/**
 * Resolves once `port` (or the port of a tcp:// URL) can be bound on 127.0.0.1; rejects
 * with EADDRINUSE if something still holds it. How tests prove nothing was left bound.
 */
export function assertPortFree(portOrUrl: number | string): Promise<void> {
  const port = typeof portOrUrl === 'number' ? portOrUrl : Number(portOrUrl.split(':').pop());
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => s.close(() => resolve()));
  });
}
