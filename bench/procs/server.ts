/**
 * One discovery server (the library's createServer) in its own process, measured from
 * inside: its main thread's event-loop delay (perf_hooks.monitorEventLoopDelay), its RSS
 * and CPU time. Its rounds, changes and publications are forwarded to the parent as events,
 * stamped with wall time.
 *
 * Requests: start {options} → {}; eld-reset; eld → {p50, p99, max, mean, count} (ms);
 * mem → {rss, heapUsed, cpuMs}; close.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createServer, type Server, type ServerOptions } from '../../src/index.js';
import { emitEvent, serve, wallNow } from '../ipc.js';
import { threadTimes } from './proc-stats.js';

let server: Server | undefined;
/** Sampling every 2 ms: delays are recorded as how late each sample fired. */
const eld = monitorEventLoopDelay({ resolution: 2 });
eld.enable();

/** Names in change events are forwarded only for small changes (a probe), not for a ramp of hundreds. */
const MAX_NAMES = 16;

serve(
  {
    async start(req) {
      const options = req.options as ServerOptions;
      server = await createServer(options);
      server.on('round', (r) => emitEvent({ ev: 'round', at: wallNow(), ...r }));
      server.on('change', (c) =>
        emitEvent({
          ev: 'change',
          at: wallNow(),
          round: c.round,
          eager: c.eager,
          members: c.members.length,
          joinedCount: c.joined.length,
          leftCount: c.left.length,
          joined: c.joined.length <= MAX_NAMES ? c.joined : [],
          left: c.left.length <= MAX_NAMES ? c.left : [],
          ...(c.viaJoin ? { viaJoin: true } : {}),
        }),
      );
      server.on('joinSurvey', (j) => emitEvent({ ev: 'join-survey', at: wallNow(), ...j }));
      server.on('published', (p) => emitEvent({ ev: 'published', at: wallNow(), bytes: p.bytes, members: p.members.length, heartbeat: p.heartbeat }));
      server.on('refused', (r) => emitEvent({ ev: 'refused', at: wallNow(), ...r }));
      server.on('actor:restart', (e) => emitEvent({ ev: 'restart', at: wallNow(), id: e.id, reason: e.reason }));
      server.on('failure', (e) => emitEvent({ ev: 'failure', at: wallNow(), error: e.message }));
      return {};
    },
    'eld-reset'() {
      eld.reset();
      return {};
    },
    eld() {
      return {
        p50: eld.percentile(50) / 1e6,
        p99: eld.percentile(99) / 1e6,
        max: eld.max / 1e6,
        mean: eld.mean / 1e6,
        count: eld.count,
      };
    },
    mem() {
      const cpu = process.cpuUsage();
      const m = process.memoryUsage();
      // The main thread's own CPU (its tid is the pid): what the server asks of the host's event loop.
      const main = threadTimes().find((t) => t.tid === process.pid);
      return { rss: m.rss, heapUsed: m.heapUsed, cpuMs: (cpu.user + cpu.system) / 1000, mainThreadCpuMs: main?.cpuMs ?? NaN };
    },
    /** CPU time of each thread of this process (ms), from /proc: which thread does the work. */
    threads() {
      return { threads: threadTimes() };
    },
    async close() {
      await server?.close();
      server = undefined;
      return {};
    },
  },
  async () => {
    await server?.close();
  },
);

