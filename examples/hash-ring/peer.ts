/**
 * One peer of the hash-ring example: a small HTTP cache node, in the manner of
 * groupcache. It registers its own base URL (`http://127.0.0.1:PORT`) as its service
 * string with a gopherdiscovery client *with subscription*, rebuilds its consistent-hash
 * ring from every member list the server publishes, and routes each key to its owner:
 * `GET /owner/KEY` on any peer is answered by the peer that owns KEY (forwarded one hop
 * if needed).
 *
 * stdout, one JSON object per line (for tests and `jq`):
 *   {"event":"ready","self":…}
 *   {"event":"ring","self":…,"members":[…],"keys":1000,"moved":250,"movedFrom":{…},"movedTo":{…},"owners":[0,2,1,…]}
 *     owners[i] is the index in `members` of the owner of key-i (-1 on an empty ring);
 *     moved/movedFrom/movedTo compare with this peer's previous ring.
 * stderr: a one-line human summary of each ring.
 *
 * Usage: node --import tsx examples/hash-ring/peer.ts --port PORT [--survey-url URL] [--pubsub-url URL] [--keys N]
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { createClient } from 'gopherdiscovery';
import { demoKeys, movedKeys, PeerRing } from './ring.js';

const { values: v } = parseArgs({
  options: {
    port: { type: 'string' },
    'survey-url': { type: 'string', default: 'tcp://127.0.0.1:29400' },
    'pubsub-url': { type: 'string', default: 'tcp://127.0.0.1:29401' },
    keys: { type: 'string', default: '1000' },
  },
});
const port = Number(v.port);
if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new Error('--port: a TCP port (1-65535) is required');
const keyCount = Number(v.keys);
if (!Number.isInteger(keyCount) || keyCount <= 0) throw new Error('--keys: a positive integer is required');

const self = `http://127.0.0.1:${port}`;
/** A request forwarded by another peer carries this header, so a key is never forwarded twice. */
const HOP = 'x-ring-forwarded-by';
const keys = demoKeys(keyCount);
let ring = new PeerRing([]);
let owners: (string | undefined)[] = keys.map(() => undefined);

const print = (o: object): void => void process.stdout.write(JSON.stringify(o) + '\n');
const reply = (res: ServerResponse, status: number, body: object): void => {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
};

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', self);
  if (req.method === 'GET' && url.pathname === '/ring') return reply(res, 200, { self, members: ring.members });
  const m = /^\/owner\/(.+)$/.exec(url.pathname);
  if (req.method !== 'GET' || !m) return reply(res, 404, { error: 'try GET /owner/KEY or GET /ring' });
  const key = decodeURIComponent(m[1]!);
  const owner = ring.owner(key);
  if (owner === undefined) return reply(res, 503, { error: 'no peers known yet', key });
  if (owner === self) {
    // The owner "computes" the value; in a real cache this is where the expensive load happens once.
    const value = createHash('sha256').update(key).digest('hex').slice(0, 16);
    return reply(res, 200, { key, owner: self, value, servedBy: self });
  }
  const forwardedBy = req.headers[HOP];
  if (forwardedBy !== undefined) {
    // Our ring and the forwarder's disagree (a list is in flight): say so instead of bouncing the key around.
    return reply(res, 421, { error: 'misdirected: this peer does not own the key', key, owner, forwardedBy });
  }
  try {
    const r = await fetch(`${owner}/owner/${encodeURIComponent(key)}`, { headers: { [HOP]: self }, signal: AbortSignal.timeout(5000) });
    return reply(res, r.status, { ...((await r.json()) as object), via: self });
  } catch (e) {
    return reply(res, 502, { error: `owner ${owner} unreachable: ${(e as Error).message}`, key, owner });
  }
}

const http = createServer((req, res) => {
  handle(req, res).catch((e: Error) => reply(res, 500, { error: e.message }));
});
http.listen(port, '127.0.0.1');
await once(http, 'listening');

// With a subscription: the server publishes the full list whenever it changes, and this
// peer's own arrival is such a change, so the first list comes without any extra request.
const client = await createClient({ surveyUrl: v['survey-url'], pubsubUrl: v['pubsub-url'], service: self });
print({ event: 'ready', self });

let stopping = false;
const stop = async (): Promise<void> => {
  if (stopping) return;
  stopping = true;
  await client.close();
  http.closeAllConnections();
  http.close();
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
client.once('failure', (e) => {
  process.stderr.write(`peer ${self}: discovery failed: ${e.message}\n`);
  process.exitCode = 1;
  void stop();
});

for await (const members of client.peers()) {
  ring = new PeerRing(members);
  const next = keys.map((k) => ring.owner(k));
  const first = owners.every((o) => o === undefined);
  const { moved, from, to } = movedKeys(owners, next);
  owners = next;
  const index = new Map(ring.members.map((m, i) => [m, i]));
  print({
    event: 'ring',
    self,
    members: ring.members,
    keys: keyCount,
    moved,
    movedFrom: from,
    movedTo: to,
    owners: next.map((o) => (o === undefined ? -1 : index.get(o)!)),
  });
  const shares = (counts: Record<string, number>) => Object.entries(counts).map(([p, n]) => `${p} ×${n}`).join(', ');
  process.stderr.write(
    first
      ? `[${self}] first ring, of ${ring.members.length}: ${shares(to)}\n`
      : `[${self}] ring of ${ring.members.length}: ${moved}/${keyCount} keys moved (${((100 * moved) / keyCount).toFixed(1)}%)` +
          `${moved ? `, from ${shares(from)} to ${shares(to)}` : ''}\n`,
  );
}
