/**
 * Endpoints for tests that cannot collide, even between test files running in parallel
 * processes (or test runs of several checkouts on one machine): a TCP port is claimed by
 * creating a lock file exclusively (stale claims of dead processes are taken over), then
 * checked to be bindable on 127.0.0.1. Claims are released when the process exits.
 *
 * Ports come from outside the kernel's ephemeral range (Linux:
 * /proc/sys/net/ipv4/ip_local_port_range, 32768–60999 by default). Inside it the kernel
 * hands out the local port of every outgoing connection, so a port found free could be
 * taken by some connect() before the test binds it.
 */
import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CLAIMS = join(tmpdir(), 'gopherdiscovery-test-ports');
/** Below this are the registered ports of well-known services (and < 1024 needs privileges). */
const LOWEST = 10_000;
const HIGHEST = 65_535;

/** The kernel's ephemeral (local port) range; IANA's 49152–65535 where it cannot be read. */
export function ephemeralPortRange(): { low: number; high: number } {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (Number.isInteger(low) && Number.isInteger(high) && low! <= high!) return { low: low!, high: high! };
  } catch {}
  return { low: 49_152, high: 65_535 };
}

/** The test ports, in order: LOWEST..65535 less the ephemeral range. */
function testPorts(): number[] {
  const { low, high } = ephemeralPortRange();
  const ports: number[] = [];
  for (let p = LOWEST; p <= HIGHEST; p++) if (p < low || p > high) ports.push(p);
  if (ports.length < 100) throw new Error(`the ephemeral port range ${low}-${high} leaves fewer than 100 test ports above ${LOWEST}`);
  return ports;
}

const PORTS = testPorts();
const claimed = new Set<number>();
let next = (process.pid * 37) % PORTS.length;

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

/** A loopback TCP port outside the ephemeral range that no other test (in this or another process) will use. */
export async function freePort(): Promise<number> {
  releaseAtExit();
  for (let i = 0; i < PORTS.length; i++) {
    const port = PORTS[next]!;
    next = (next + 1) % PORTS.length;
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
