/**
 * A backend of the load-balancer example: a small HTTP server that registers its own
 * base URL, `http://127.0.0.1:PORT`, as its gopherdiscovery service string. It needs no
 * subscription: it only answers surveys.
 *
 *   GET  /anything  → 200 {"backend":"http://127.0.0.1:PORT","served":N,"path":"/anything"}
 *   POST /anything  → 200 {"backend":…,"served":N,"bytes":LENGTH_OF_BODY}
 *
 * stdout, one JSON object per line: {"event":"listening","url":…} then {"event":"registered","url":…}.
 *
 * Stopping: SIGKILL (a crash) drops it from the member list at the end of the first survey
 * it misses. SIGTERM or SIGINT (Ctrl-C) leaves gracefully: it stops answering surveys
 * first, keeps serving for --drain-ms (default 1000; make it at least one discovery period)
 * while the proxies drop it, then closes. A second signal exits at once.
 *
 * Usage: node --import tsx examples/load-balancer/backend.ts --port PORT [--survey-url URL] [--drain-ms MS]
 */
import { createServer } from 'node:http';
import { once } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { createClient } from 'gopherdiscovery';

const { values: v } = parseArgs({
  options: {
    port: { type: 'string' },
    'survey-url': { type: 'string', default: 'tcp://127.0.0.1:29400' },
    'drain-ms': { type: 'string', default: '1000' },
  },
});
const port = Number(v.port);
if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new Error('--port: a TCP port (1-65535) is required');
const drainMs = Number(v['drain-ms']);
if (!Number.isFinite(drainMs) || drainMs < 0) throw new Error('--drain-ms: a number of milliseconds is required');

const self = `http://127.0.0.1:${port}`;
const print = (o: object): void => void process.stdout.write(JSON.stringify(o) + '\n');
let served = 0;

const http = createServer((req, res) => {
  let bytes = 0;
  req.on('data', (chunk: Buffer) => (bytes += chunk.length));
  req.on('end', () => {
    served++;
    const body = JSON.stringify({ backend: self, served, path: req.url, ...(req.method === 'GET' || req.method === 'HEAD' ? {} : { bytes }) });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
  });
});
http.listen(port, '127.0.0.1');
await once(http, 'listening');
print({ event: 'listening', url: self });

// Registered only once it can serve: a proxy never learns of a backend that would refuse it.
const client = await createClient({ surveyUrl: v['survey-url'], service: self });
print({ event: 'registered', url: self });

let stopping = false;
// The first SIGTERM or SIGINT (Ctrl-C) leaves gracefully; a second one exits at once.
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(130);
    void stop(true);
  });
}
client.once('failure', (e) => {
  process.stderr.write(`backend ${self}: discovery failed: ${e.message}\n`);
  process.exitCode = 1;
  void stop(false);
});

async function stop(drain: boolean): Promise<void> {
  if (stopping) return;
  stopping = true;
  await client.close(); // no longer answers surveys: gone from the list at the end of the next round
  if (drain) {
    print({ event: 'draining', url: self, ms: drainMs });
    await delay(drainMs); // the proxies drop it meanwhile; requests still routed here are served
  }
  http.close();
  http.closeIdleConnections();
}
