/**
 * A server with its metrics and HTTP endpoints on a free loopback port, as `gopherdiscovery
 * server --http` runs them: the fixture of the /healthz, /metrics and endpoint tests.
 */
import { createServer, type ServerOptions } from '../../src/index.js';
import { startHttpServer, type HttpServerOptions } from '../../src/http/server.js';
import { createServerMetrics, type ServerMetricsOptions } from '../../src/metrics.js';
import { freePort, tcpPair } from './endpoints.js';

export async function startMonitoredServer(
  options: Omit<ServerOptions, 'surveyUrl' | 'pubsubUrl'>,
  extra: { metrics?: ServerMetricsOptions; monitor?: HttpServerOptions['monitor'] } = {},
) {
  const urls = await tcpPair();
  const server = await createServer({ ...urls, ...options });
  const metrics = createServerMetrics(server, extra.metrics);
  const http = await startHttpServer({ port: await freePort(), server, metrics, monitor: extra.monitor });
  return {
    urls,
    server,
    metrics,
    http,
    /** Closes the HTTP endpoint, detaches the metrics, closes the server: the CLI's order. */
    async close() {
      await http.close();
      metrics.detach();
      await server.close();
    },
  };
}
