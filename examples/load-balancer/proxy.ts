/**
 * The load balancer: an HTTP reverse proxy whose upstream set is the live member list of
 * a gopherdiscovery server. Node's http server takes requests; undici (Node's own HTTP
 * client, one keep-alive connection pool per backend) forwards them round-robin.
 *
 * - Upstreams: every member whose service string is an http(s) base URL. The set is
 *   replaced from each published list, so a backend that stops is out of rotation as soon
 *   as the server's round that missed it publishes the new list.
 * - Retry: a request that fails before any response byte (connection refused or reset —
 *   a backend that died before the list said so) is retried once on another backend if its
 *   method is idempotent (GET, HEAD, OPTIONS, PUT, DELETE, TRACE) and it has no body (a
 *   streamed body cannot be replayed). Otherwise the client gets 502.
 * - Panic mode: a list that names no backend at all does not empty the rotation; the
 *   last one is kept (a dead backend in it costs a retry, not a refusal).
 * - The proxy joins discovery itself (as `lb-proxy/PID@127.0.0.1:PORT`, not a URL, so never
 *   an upstream): lists are published only when membership changes, and its own arrival is
 *   such a change, so it receives the full list at once instead of waiting for the next one.
 *
 * stdout, one JSON object per line:
 *   {"event":"listening","url":…,"service":…}
 *   {"event":"upstreams","upstreams":[…],"added":[…],"removed":[…]}
 *   {"event":"retry","method":"GET","path":"/","from":…,"to":…,"error":"ECONNREFUSED"}
 *   {"event":"failed","method":…,"path":…,"upstream":…,"status":502,"error":…}
 *   {"event":"panic","upstreams":[…],"members":[…]}   a list without any backend: the last rotation is kept
 *
 * Usage: node --import tsx examples/load-balancer/proxy.ts --port PORT [--survey-url URL] [--pubsub-url URL]
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { createClient } from 'gopherdiscovery';
import { backendsOf, Upstreams } from './upstreams.js';

const { values: v } = parseArgs({
  options: {
    port: { type: 'string' },
    'survey-url': { type: 'string', default: 'tcp://127.0.0.1:29400' },
    'pubsub-url': { type: 'string', default: 'tcp://127.0.0.1:29401' },
  },
});
const port = Number(v.port);
if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new Error('--port: a TCP port (1-65535) is required');

const print = (o: object): void => void process.stdout.write(JSON.stringify(o) + '\n');
const upstreams = new Upstreams();

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);
// Hop-by-hop headers (RFC 9110 §7.6.1) belong to one connection and are not forwarded.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-authorization', 'proxy-authenticate']);

function endToEnd(headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const listed = new Set(
    String(headers['connection'] ?? '')
      .split(',')
      .map((h) => h.trim().toLowerCase())
      .filter(Boolean),
  );
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || listed.has(name)) continue;
    out[name] = value;
  }
  return out;
}

const hasBody = (req: IncomingMessage): boolean =>
  req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');

/** Error name for the log: the system code when there is one (ECONNREFUSED, ECONNRESET…). */
const describe = (e: unknown): string => {
  const err = e as { code?: string; cause?: { code?: string }; message?: string };
  return err.cause?.code ?? err.code ?? err.message ?? String(e);
};

async function forward(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const method = req.method ?? 'GET';
  const path = req.url ?? '/';
  const first = upstreams.pick();
  if (first === undefined) {
    res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'no live backend' }));
    return;
  }
  // The client hanging up aborts the upstream request too.
  const ac = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) ac.abort();
  });
  const headers = {
    ...endToEnd(req.headers),
    'x-forwarded-for': req.socket.remoteAddress ?? '',
    'x-forwarded-host': req.headers.host ?? '',
    'x-forwarded-proto': 'http',
  };
  delete (headers as Record<string, unknown>)['host'];
  const body = hasBody(req) ? req : undefined;
  const send = (upstream: string) => {
    const pool = upstreams.pool(upstream);
    if (!pool) return Promise.reject(Object.assign(new Error('upstream left the rotation'), { code: 'EUPSTREAMGONE' }));
    return pool.request({ method: method as 'GET', path, headers, body, signal: ac.signal });
  };

  let upstream = first;
  let answer: Awaited<ReturnType<typeof send>>;
  try {
    answer = await send(upstream);
  } catch (e) {
    const other = !ac.signal.aborted && IDEMPOTENT.has(method) && body === undefined ? upstreams.pickOther(upstream) : undefined;
    if (other === undefined) return fail(res, method, path, upstream, e);
    print({ event: 'retry', method, path, from: upstream, to: other, error: describe(e) });
    upstream = other;
    try {
      answer = await send(upstream);
    } catch (e2) {
      return fail(res, method, path, upstream, e2);
    }
  }
  // From here the response has begun: a failure can only cut it short, never be retried.
  res.writeHead(answer.statusCode, { ...endToEnd(answer.headers), 'x-upstream': upstream });
  try {
    await pipeline(answer.body, res);
  } catch (e) {
    if (!ac.signal.aborted) print({ event: 'failed', method, path, upstream, status: answer.statusCode, error: `response cut short: ${describe(e)}` });
    res.destroy();
  }
}

function fail(res: ServerResponse, method: string, path: string, upstream: string, e: unknown): void {
  if (res.destroyed) return; // the client went away first
  print({ event: 'failed', method, path, upstream, status: 502, error: describe(e) });
  res.writeHead(502, { 'content-type': 'application/json' }).end(JSON.stringify({ error: `bad gateway: ${describe(e)}`, upstream }));
}

const http = createServer((req, res) => {
  forward(req, res).catch((e: Error) => {
    if (!res.headersSent) res.writeHead(500).end(e.message);
    else res.destroy();
  });
});
http.listen(port, '127.0.0.1');
await once(http, 'listening');

const service = `lb-proxy/${process.pid}@127.0.0.1:${port}`;
const client = await createClient({ surveyUrl: v['survey-url'], pubsubUrl: v['pubsub-url'], service });
print({ event: 'listening', url: `http://127.0.0.1:${port}`, service });

let stopping = false;
const stop = async (): Promise<void> => {
  if (stopping) return;
  stopping = true;
  await client.close();
  http.close();
  http.closeIdleConnections();
  await upstreams.close();
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
client.once('failure', (e) => {
  process.stderr.write(`proxy: discovery failed: ${e.message}\n`);
  process.exitCode = 1;
  void stop();
});

for await (const members of client.peers()) {
  const backends = backendsOf(members);
  if (backends.length === 0 && upstreams.list.length > 0) {
    // Panic mode (as Envoy's panic threshold): a list with no backend at all more likely
    // means a survey the server lost on a starved machine than every backend dying at
    // once. Routing to the last known set, with the retry, beats refusing every request.
    print({ event: 'panic', upstreams: upstreams.list, members });
    continue;
  }
  const { added, removed } = upstreams.set(backends);
  if (added.length || removed.length) print({ event: 'upstreams', upstreams: upstreams.list, added, removed });
}
