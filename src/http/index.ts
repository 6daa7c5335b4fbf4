/**
 * gopherdiscovery/http — the HTTP side of `gopherdiscovery server`, for a Server you
 * created yourself: the dashboard (GET /), /members, /events (server-sent events),
 * /healthz and /metrics (Prometheus), and a /healthz handler for any Client or Subscriber.
 *
 *   const server = await createServer({ surveyUrl, pubsubUrl });
 *   const http = await startHttpServer({ server, port: 8080 });   // http.url
 *   ...
 *   await http.close();
 *   await server.close();
 *
 * /metrics needs prom-client, an optional peer dependency (`npm install prom-client`),
 * loaded only when metrics are served: by default /metrics is served when prom-client is
 * installed and left out otherwise; `metrics: {}` asks for it (MissingPeerError without
 * prom-client); `metrics: false` serves none.
 */
/// <reference types="node" preserve="true" />
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ChildHealth } from '../supervisor.js';
import { healthzBody } from './monitor.js';

export { startHttpServer, HttpListenError, type HttpServerOptions, type HttpEndpoint, type HttpLog } from './server.js';
export {
  ServerMonitor,
  healthReport,
  type HealthReport,
  type MonitorOptions,
  type Snapshot,
  type LiveEvent,
  type MemberEntry,
  type TimelineEntry,
  type RoundEntry,
} from './monitor.js';
export type { ServerMetrics, ServerMetricsOptions, MetricsRegistry } from '../metrics.js';

/**
 * A request listener answering /healthz for a Server, Client or Subscriber (anything with
 * `health()`): 200 `{ status: 'ok', actors }` while every actor runs, else 503
 * `{ status: 'unavailable', actors }` — e.g. mount it on your own `node:http` server.
 */
export function healthHandler(handle: { health(): ChildHealth[] }): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const [status, body] = healthzBody(handle);
    const text = JSON.stringify(body) + '\n';
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : text);
  };
}
