/** The same discovery over ipc:// (Unix sockets) and inproc:// (between worker threads of this process). */
import { after, test } from 'node:test';
import { createClient, createServer, subscribe } from '../src/index.js';
import { closeActorPool } from '../src/pool.js';
import { FAST, inprocPair, ipcPair, type EndpointPair } from './helpers/endpoints.js';
import { eventually, sameMembers, until } from './helpers/wait.js';

after(() => closeActorPool());

async function discovery(urls: EndpointPair): Promise<void> {
  const server = await createServer({ ...urls, ...FAST });
  const sub = await subscribe({ pubsubUrl: urls.pubsubUrl });
  const changes = sub.changes()[Symbol.asyncIterator]();
  const c1 = await createClient({ ...urls, service: 'client1' });
  const c2 = await createClient({ surveyUrl: urls.surveyUrl, service: 'client2' });
  try {
    const peers = c1.peers()[Symbol.asyncIterator]();
    await until(peers, (l) => sameMembers(l, ['client1', 'client2']), 10_000, 'both clients at client1');
    await until(changes, (l) => sameMembers(l, ['client1', 'client2']), 10_000, 'both clients at the subscriber');
    await c2.close();
    await until(peers, (l) => sameMembers(l, ['client1']), 20_000, 'client2 gone');
    // The list reaches client1 over PUB/SUB and the server's mirror over the surveyor's mailbox: either may be first.
    await eventually(() => sameMembers(server.members(), ['client1']), 10_000, "the server's members without client2");
  } finally {
    await Promise.all([c1.close(), c2.close(), sub.close()]);
    await server.close();
  }
}

test('discovery over ipc://', () => discovery(ipcPair()));
test('discovery over inproc://', () => discovery(inprocPair()));
