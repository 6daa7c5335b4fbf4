/**
 * node-discover (devDependency) beside this library, in its own process, loopback only:
 * address and broadcast 127.255.255.255 (never its default, which broadcasts on the LAN).
 * An observer and `count` background members; join and leave probes are new instances in
 * this process (ignoreProcess: false, else node-discover ignores its own process's
 * instances), timed here on the monotonic clock.
 *
 * Requests: start {port, count}; join {name} → {ms} (new Discover() to the observer's
 * 'added'); leave {name} → {ms} (stop() to the observer's 'removed': node-discover has no
 * goodbye, a stopped node times out after nodeTimeout).
 */
import { createRequire } from 'node:module';
import { serve } from '../ipc.js';

type Node = { advertisement?: { probe?: string } };
type D = { on(ev: string, cb: (node: Node) => void): void; stop(): void };
const DiscoverCtor = createRequire(import.meta.url)('node-discover') as new (options: Record<string, unknown>) => D;

let port = 0;
let observer: D | undefined;
const background: D[] = [];
const probes = new Map<string, D>();
const waiters = new Map<string, () => void>();

const make = (advertisement: Record<string, unknown>) => new DiscoverCtor({ address: '127.255.255.255', broadcast: '127.255.255.255', port, advertisement, ignoreProcess: false });
const awaitEvent = (key: string, ms: number) =>
  new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => (waiters.delete(key), resolve(false)), ms);
    waiters.set(key, () => (clearTimeout(timer), waiters.delete(key), resolve(true)));
  });

serve(
  {
    start(req) {
      port = req.port as number;
      observer = make({ observer: true });
      observer.on('added', (n) => n.advertisement?.probe && waiters.get(`+${n.advertisement.probe}`)?.());
      observer.on('removed', (n) => n.advertisement?.probe && waiters.get(`-${n.advertisement.probe}`)?.());
      for (let i = 0; i < (req.count as number); i++) background.push(make({ background: i }));
      return {};
    },
    async join(req) {
      const name = req.name as string;
      const seen = awaitEvent(`+${name}`, 30_000);
      const t0 = performance.now();
      probes.set(name, make({ probe: name }));
      return { ms: (await seen) ? performance.now() - t0 : NaN };
    },
    async leave(req) {
      const name = req.name as string;
      const gone = awaitEvent(`-${name}`, 30_000);
      const t0 = performance.now();
      probes.get(name)?.stop();
      probes.delete(name);
      return { ms: (await gone) ? performance.now() - t0 : NaN };
    },
  },
  () => {
    for (const d of [observer, ...background, ...probes.values()]) d?.stop();
  },
);
