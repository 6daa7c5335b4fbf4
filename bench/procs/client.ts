/**
 * One library client (createClient with a subscription: a respondent actor and a
 * subscriber actor per server) in its own process, so its RSS can be measured at each N.
 * It answers every server, so it is one of the N members.
 *
 * Requests: start {surveyUrls, pubsubUrls, service, secretServer?: {surveyUrl, pubsubUrl, secret}}
 * (a second client, in secret mode, for that server); mem → {rss, heapUsed, peers}.
 */
import { createClient, type Client } from '../../src/index.js';
import { maxListBytes } from '../../src/protocol.js';
import { serve } from '../ipc.js';

let client: Client | undefined;
/** In the secret-mode comparison, the same service registered with the secret server. */
let secretClient: Client | undefined;
let peers = 0;

serve(
  {
    async start(req) {
      client = await createClient({
        surveyUrl: req.surveyUrls as string[],
        pubsubUrl: req.pubsubUrls as string[],
        service: req.service as string,
        maxListBytes: maxListBytes(20_000, 64),
      });
      client.on('peers', (p) => {
        peers = p.length;
      });
      const s = req.secretServer as { surveyUrl: string; pubsubUrl: string; secret: string } | undefined;
      if (s) {
        secretClient = await createClient({ ...s, service: req.service as string, maxListBytes: maxListBytes(20_000, 64) });
      }
      return {};
    },
    mem() {
      const m = process.memoryUsage();
      return { rss: m.rss, heapUsed: m.heapUsed, peers };
    },
  },
  async () => {
    await Promise.all([client?.close(), secretClient?.close()]);
  },
);
