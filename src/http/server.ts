/**
 * The server process's HTTP endpoints, on Node's http module:
 *   GET /          the dashboard page (with /dashboard.css and /dashboard.js)
 *   GET /members   the member list as a JSON array
 *   GET /events    server-sent events: `snapshot` on connect, then `change`, `rounds`, `health`
 *   GET /healthz   200 when every actor runs, else 503; the body lists each actor's state
 *   GET /metrics   Prometheus text exposition
 * It uses only the discovery server's public API.
 */
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InvalidOptionError, MissingPeerError, missingPeer } from '../errors.js';
import type { Server } from '../server.js';
import type { ServerMetrics, ServerMetricsOptions } from '../metrics.js';
import { DASHBOARD_CSS, DASHBOARD_HTML, DASHBOARD_JS, FAVICON_SVG } from './dashboard.js';
import { checkOptionNames, optionNames } from '../options.js';
import { healthzBody, ServerMonitor, type LiveEvent, type MonitorOptions } from './monitor.js';
import { escapeUnprintable, quoted } from '../printable.js';

/** Where request failures are logged: a pino Logger fits. */
export interface HttpLog {
  error(fields: object, message: string): void;
}

export interface HttpServerOptions {
  /** Default 127.0.0.1: the dashboard is not for the network unless asked. */
  host?: string;
  /** 0 picks a free port. */
  port: number;
  server: Server;
  /**
   * What /metrics serves: options (`{}`, `{ processMetrics: true }`) for metrics made for
   * this server and detached by close() (prom-client, an optional peer dependency, is
   * imported only then: a MissingPeerError if it is not installed); a ServerMetrics of your
   * own; or `false`: no /metrics. Default (undefined): `{}` when prom-client is installed,
   * else no /metrics (GET /metrics answers 404 naming prom-client), so that the endpoint
   * starts either way and asking for metrics explicitly is what requires prom-client.
   */
  metrics?: ServerMetricsOptions | ServerMetrics | false;
  log?: HttpLog;
  monitor?: MonitorOptions;
  /** Interval of SSE keep-alive comments. Default 15 s. */
  heartbeatMs?: number;
}

export const HTTP_SERVER_OPTION_NAMES = optionNames<HttpServerOptions>()(['host', 'port', 'server', 'metrics', 'log', 'monitor', 'heartbeatMs']);

export interface HttpEndpoint {
  /** e.g. http://127.0.0.1:8080/ */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly monitor: ServerMonitor;
  /** Ends every event stream and stops listening. Idempotent. */
  close(): Promise<void>;
}

/** The HTTP port could not be listened on; `code` is the system's (EADDRINUSE, EACCES...). */
export class HttpListenError extends Error {
  readonly code: string;
  readonly url: string;
  constructor(url: string, cause: NodeJS.ErrnoException) {
    const what = cause.code === 'EADDRINUSE' ? 'address already in use' : cause.code === 'EACCES' ? 'permission denied' : cause.message;
    // The host is the caller's text: escaped as every library error message is (src/errors.ts).
    super(escapeUnprintable(`cannot serve HTTP on ${url}: ${what}${cause.code ? ` (${cause.code})` : ''}`), { cause });
    this.name = 'HttpListenError';
    this.code = cause.code ?? 'ERR_HTTP_LISTEN';
    this.url = url;
  }
}

const urlOf = (host: string, port: number): string => `http://${host.includes(':') ? `[${host}]` : host}:${port}/`;

/** Bytes an event stream may have queued for a slow reader before it is closed. */
const MAX_STREAM_BACKLOG = 1 << 20;

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

export async function startHttpServer(options: HttpServerOptions): Promise<HttpEndpoint> {
  checkOptionNames('startHttpServer', options, HTTP_SERVER_OPTION_NAMES);
  // Refused before anything starts, as every other option value is (InvalidOptionError naming
  // it), rather than by listen() as a failure to serve.
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65_535) {
    throw new InvalidOptionError(`startHttpServer: port must be a whole number from 0 (a free port) to 65535, got ${quoted(options.port)}`, { option: 'port' });
  }
  const host = options.host ?? '127.0.0.1';
  const { server, log } = options;
  const given = options.metrics;
  let ownMetrics: ServerMetrics | undefined;
  /** Why there is no /metrics when the default found no prom-client: GET /metrics says so. */
  let metricsMissing: MissingPeerError | undefined;
  if (given === undefined) {
    try {
      ownMetrics = (await loadMetrics()).createServerMetrics(server);
    } catch (e) {
      if (!(e instanceof MissingPeerError)) throw e;
      metricsMissing = e;
    }
  } else if (given !== false && !('registry' in given)) {
    ownMetrics = (await loadMetrics()).createServerMetrics(server, given);
  }
  const metrics = ownMetrics ?? (given !== undefined && given !== false && 'registry' in given ? given : undefined);
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  const monitor = new ServerMonitor(server, options.monitor);
  // One listener per open event stream: as many as there are dashboards open.
  monitor.setMaxListeners(0);
  const streams = new Set<ServerResponse>();

  const send = (res: ServerResponse, status: number, type: string, body: string, head: boolean, extra: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store', ...SECURITY_HEADERS, ...extra });
    res.end(head ? undefined : body);
  };
  const json = (res: ServerResponse, status: number, value: unknown, head: boolean) => send(res, status, 'application/json; charset=utf-8', JSON.stringify(value) + '\n', head);

  const events = (req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      // Proxies that buffer (nginx) would hold events back.
      'x-accel-buffering': 'no',
      ...SECURITY_HEADERS,
    });
    const write = (event: string, data: unknown) => {
      // A reader that stopped reading is dropped rather than buffered for without bound.
      if (res.writableLength > MAX_STREAM_BACKLOG) res.destroy();
      else res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    res.write('retry: 2000\n\n');
    write('snapshot', monitor.snapshot());
    const onLive = (e: LiveEvent) => write(e.type, e.data);
    monitor.on('live', onLive);
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), heartbeatMs);
    heartbeat.unref();
    streams.add(res);
    const done = () => {
      clearInterval(heartbeat);
      monitor.off('live', onLive);
      streams.delete(res);
    };
    req.once('close', done);
    res.once('close', done);
  };

  const routes: Record<string, (req: IncomingMessage, res: ServerResponse, head: boolean) => void | Promise<void>> = {
    '/': (_req, res, head) =>
      send(res, 200, 'text/html; charset=utf-8', DASHBOARD_HTML, head, {
        'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
      }),
    '/dashboard.css': (_req, res, head) => send(res, 200, 'text/css; charset=utf-8', DASHBOARD_CSS, head),
    '/dashboard.js': (_req, res, head) => send(res, 200, 'text/javascript; charset=utf-8', DASHBOARD_JS, head),
    '/favicon.svg': (_req, res, head) => send(res, 200, 'image/svg+xml', FAVICON_SVG, head),
    // Browsers ask for it whatever the page says.
    '/favicon.ico': (_req, res, head) => send(res, 200, 'image/svg+xml', FAVICON_SVG, head),
    '/members': (_req, res, head) => json(res, 200, server.members(), head),
    '/healthz': (_req, res, head) => json(res, ...healthzBody(server), head),
    ...(metrics ? { '/metrics': async (_req: IncomingMessage, res: ServerResponse, head: boolean) => send(res, 200, metrics.contentType, await metrics.text(), head) } : {}),
    '/events': (req, res, head) => (head ? send(res, 200, 'text/event-stream; charset=utf-8', '', true) : events(req, res)),
  };

  const http = createHttpServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const route = routes[path];
    if (!route) {
      const error = path === '/metrics' && metricsMissing ? metricsMissing.message : `no such page: ${path}`;
      return json(res, 404, { error, pages: Object.keys(routes) }, req.method === 'HEAD');
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return json(res, 405, { error: `${req.method} is not allowed; use GET` }, false);
    }
    Promise.resolve(route(req, res, req.method === 'HEAD')).catch((e: Error) => {
      log?.error({ path, error: e.message }, `HTTP ${path} failed: ${e.message}`);
      if (!res.headersSent) json(res, 500, { error: e.message }, false);
      else res.destroy();
    });
  });
  // An idle keep-alive socket must not hold up close().
  http.keepAliveTimeout = 5_000;

  const requested = urlOf(host, options.port);
  try {
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(options.port, host, () => {
        http.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    monitor.close();
    ownMetrics?.detach();
    throw new HttpListenError(requested, e as NodeJS.ErrnoException);
  }
  http.on('error', (e) => log?.error({ error: e.message }, `HTTP server error: ${e.message}`));
  const port = (http.address() as AddressInfo).port;

  let closing: Promise<void> | undefined;
  return {
    url: urlOf(host, port),
    host,
    port,
    monitor,
    close() {
      closing ??= (async () => {
        monitor.close();
        for (const res of streams) res.end();
        streams.clear();
        const closed = new Promise<void>((resolve) => http.close(() => resolve()));
        http.closeAllConnections();
        await closed;
        ownMetrics?.detach();
      })();
      return closing;
    },
  };
}

/**
 * The module making the server's own metrics, from prom-client, imported here rather than
 * at load so that users who serve no /metrics need not install it (an optional peer
 * dependency). Throws MissingPeerError naming prom-client when it is not installed.
 */
async function loadMetrics(): Promise<typeof import('../metrics.js')> {
  try {
    return await import('../metrics.js');
  } catch (e) {
    throw missingPeer(e, '/metrics', ['prom-client']) ?? e;
  }
}
