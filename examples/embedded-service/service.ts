/**
 * A service that embeds gopherdiscovery's supervisor beside its own HTTP server:
 * one application supervisor hosts a discovery server and this service's own client,
 * /health reports every actor, /peers the live member list, and SIGTERM / SIGINT shut
 * everything down cleanly (HTTP closed, actors stopped, sockets closed, threads exited).
 *
 *   npm run build
 *   node --import tsx examples/embedded-service/service.ts
 *
 * Environment: SURVEY_URL, PUBSUB_URL (defaults tcp://127.0.0.1:29400 / :29401),
 * HTTP_PORT (default 8081), POLL_MS (default 2000).
 */
import http from 'node:http';
import { createSupervisor } from 'gopherdiscovery';

const surveyUrl = process.env.SURVEY_URL ?? 'tcp://127.0.0.1:29400';
const pubsubUrl = process.env.PUBSUB_URL ?? 'tcp://127.0.0.1:29401';
const httpPort = Number(process.env.HTTP_PORT ?? 8081);
const pollTime = Number(process.env.POLL_MS ?? 2000);
const self = `http://127.0.0.1:${httpPort}`;

const log = (event: string, fields: Record<string, unknown> = {}) => console.log(JSON.stringify({ event, ...fields }));

const app = createSupervisor({ name: 'example-service' });
app.on('actor:restart', (e) => log('actor-restart', { actor: e.name, reason: e.reason, delayMs: e.delayMs }));
app.on('tree:restart', (e) => log('tree-restart', { tree: e.tree, error: e.error.message }));
app.on('giveup', ({ error }) => {
  log('giveup', { error: error.message });
  void shutdown(1);
});

const server = await app.createServer({ surveyUrl, pubsubUrl, pollTime, surveyTime: pollTime / 2, recvDeadline: pollTime / 2 });
const me = await app.createClient({ surveyUrl, pubsubUrl, service: self });

const httpServer = http.createServer((req, res) => {
  const json = (status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  if (req.url === '/health') return json(app.healthy() ? 200 : 503, app.health());
  if (req.url === '/peers') return json(200, me.latestPeers() ?? []);
  if (req.url === '/members') return json(200, server.members());
  json(404, { error: 'not found' });
});
await new Promise<void>((resolve) => httpServer.listen(httpPort, '127.0.0.1', resolve));
log('ready', { http: self, surveyUrl, pubsubUrl });

let stopping: Promise<void> | undefined;
function shutdown(code: number): Promise<void> {
  stopping ??= (async () => {
    log('stopping');
    httpServer.close();
    httpServer.closeAllConnections();
    await app.shutdown({ timeoutMs: 2000 });
    log('stopped');
    process.exitCode = code;
  })();
  return stopping;
}
process.once('SIGTERM', () => void shutdown(0));
process.once('SIGINT', () => void shutdown(0));
