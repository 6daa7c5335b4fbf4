/**
 * Interoperability with `nanocat` (Debian's nanomsg-utils): an SP peer this project did
 * not write, run as a child process. Our server lists a nanocat respondent and a nanocat
 * subscriber receives our lists byte for byte; our client answers a nanocat surveyor and
 * our subscriber decodes what a nanocat publisher sends.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, test } from 'node:test';
import { createClient, createServer, subscribe, type Client, type MembershipChange, type Server } from '../src/index.js';
import { closeActorPool } from '../src/pool.js';
import { encodeMembers } from '../src/protocol.js';
import { freePort, tcpPair } from './helpers/endpoints.js';
import { Nanocat, requireNanocat } from './helpers/nanocat.js';
import { establishedOn, portOf } from './helpers/tcp-state.js';
import { eventually, sameMembers, until, within } from './helpers/wait.js';

/** Slower than the original's 10 ms rounds: nanocat is another process on a busy machine and must never miss a survey by accident. */
const TIMING = { surveyTime: 300, recvDeadline: 300, pollTime: 350 } as const;
const DEADLINE = 10_000;

const nanocats: Nanocat[] = [];
const started = (nc: Nanocat) => (nanocats.push(nc), nc);
after(async () => {
  await Promise.all(nanocats.map((nc) => nc.kill()));
  await closeActorPool();
});

test('nanocat is installed (apt-get install nanomsg-utils)', () => {
  requireNanocat();
});

/** Resolves with the next 'change' whose members satisfy `predicate`. */
function changeTo(server: Server, predicate: (members: string[]) => boolean, what: string): Promise<MembershipChange> {
  const ac = new AbortController();
  return (async () => {
    const deadline = setTimeout(() => ac.abort(), DEADLINE);
    try {
      for (;;) {
        const [c] = (await once(server, 'change', { signal: ac.signal })) as [MembershipChange];
        if (predicate(c.members)) return c;
      }
    } catch (e) {
      if (ac.signal.aborted) throw new Error(`timed out waiting for ${what}; members ${JSON.stringify(server.members())}`);
      throw e;
    } finally {
      clearTimeout(deadline);
    }
  })();
}

test('a nanocat --respondent is listed next to our client, and dropped once it is killed', async () => {
  const urls = await tcpPair();
  const server = await createServer({ ...urls, ...TIMING });
  const watcher = await subscribe({ pubsubUrl: urls.pubsubUrl });
  const lists = watcher.changes()[Symbol.asyncIterator]();
  let client: Client | undefined;
  try {
    client = await createClient({ ...urls, service: 'ts-1' });
    const both = changeTo(server, (m) => sameMembers(m, ['nc-1', 'ts-1']), 'nc-1 and ts-1 listed');
    const nc = started(Nanocat.start('--respondent', '--connect', urls.surveyUrl, '--data', 'nc-1'));
    await both;
    await until(lists, (l) => sameMembers(l, ['nc-1', 'ts-1']), DEADLINE, 'the list with nc-1 at our subscriber');

    const gone = changeTo(server, (m) => !m.includes('nc-1'), 'nc-1 dropped');
    await nc.kill();
    const change = await gone;
    assert.deepEqual(change.left, ['nc-1']);
    assert.deepEqual(change.members, ['ts-1']);
    assert.deepEqual((await until(lists, (l) => !l.includes('nc-1'), DEADLINE, 'the list without nc-1')).value, ['ts-1']);
  } finally {
    await Promise.all([client?.close(), watcher.close()]);
    await server.close();
  }
});

test('a nanocat --sub receives our lists byte for byte: a|b|c joined by |, the empty set as an empty message', async () => {
  const urls = await tcpPair();
  // The original mode: lists only on change (no heartbeat, no list requests), so the sequence is exact.
  const server = await createServer({ ...urls, ...TIMING, republishMs: 0, listDigest: false });
  const published: Buffer[] = [];
  server.on('published', (p) => published.push(encodeMembers(p.members)));
  const clients = new Map<string, Client>();
  try {
    const nc = started(Nanocat.start('--sub', '--connect', urls.pubsubUrl, '--msgpack'));
    // PUB/SUB drops what is published before the subscriber is connected: wait for nanocat's connection.
    await eventually(() => establishedOn(portOf(urls.pubsubUrl)) >= 1, DEADLINE, "nanocat's connection to the PUB socket");

    // One change at a time, so the sequence of lists is known exactly.
    for (const name of ['a', 'b', 'c']) {
      const listed = changeTo(server, (m) => m.includes(name), `${name} listed`);
      clients.set(name, await createClient({ ...urls, service: name }));
      await listed;
    }
    for (const name of ['c', 'b', 'a']) {
      const dropped = changeTo(server, (m) => !m.includes(name), `${name} dropped`);
      await clients.get(name)!.close();
      clients.delete(name);
      await dropped;
    }

    const expected = ['a', 'a|b', 'a|b|c', 'a|b', 'a', ''].map((s) => Buffer.from(s, 'latin1'));
    await nc.waitFor((_, i) => i === expected.length - 1, DEADLINE, 'six lists');
    // The publisher's report reaches the main thread on its own path, maybe after nanocat printed.
    await eventually(() => published.length >= expected.length, DEADLINE, "the publisher's six reports");
    assert.deepEqual(published, expected, 'what our server says it published');
    assert.deepEqual(nc.messages, expected, 'what nanocat received, exactly');
    assert.equal(nc.messages.at(-1)!.byteLength, 0, 'the empty set is the empty message');
  } finally {
    await Promise.all([...clients.values()].map((c) => c.close()));
    await server.close();
  }
});

test('our client answers a nanocat --surveyor with exactly its service string, whatever the survey body', async () => {
  const url = `tcp://127.0.0.1:${await freePort()}`;
  // nanocat surveys every 0.2 s with a non-empty body: respondents ignore the body.
  const nc = started(Nanocat.start('--surveyor', '--bind', url, '--data', 'anyone there?', '--interval', '0.2', '--msgpack'));
  const client = await createClient({ surveyUrl: url, service: 'ts-client' });
  try {
    await nc.waitFor((_, i) => i >= 2, DEADLINE, 'three answers');
    for (const m of nc.messages) assert.deepEqual(m, Buffer.from('ts-client'));
  } finally {
    await client.close();
  }
});

test('our subscriber decodes the lists a nanocat --pub sends, including the empty list', async () => {
  const url = `tcp://127.0.0.1:${await freePort()}`;
  const sub = await subscribe({ pubsubUrl: url });
  const lists = sub.changes()[Symbol.asyncIterator]();
  try {
    let nc = started(Nanocat.start('--pub', '--bind', url, '--data', 'x|y|é', '--interval', '0.1'));
    assert.deepEqual((await until(lists, () => true, DEADLINE, 'a list from nanocat')).value, ['x', 'y', 'é']);
    await nc.kill();
    // The same port, now publishing the empty message every 0.1 s: our subscriber redials.
    nc = started(Nanocat.start('--pub', '--bind', url, '--data', '', '--interval', '0.1'));
    await until(lists, (l) => l.length === 0, DEADLINE, 'the empty list from nanocat');
  } finally {
    await sub.close();
  }
});

test('a malformed list from a nanocat --pub is refused and the subscriber keeps serving', async () => {
  const url = `tcp://127.0.0.1:${await freePort()}`;
  const sub = await subscribe({ pubsubUrl: url });
  const lists = sub.changes()[Symbol.asyncIterator]();
  try {
    const refused = within(DEADLINE, "the subscriber's refusal", once(sub, 'refused') as Promise<[{ reason: string }]>);
    let nc = started(Nanocat.start('--pub', '--bind', url, '--data', 'a||b', '--interval', '0.1'));
    const [{ reason }] = await refused;
    assert.match(reason, /empty member/);
    assert.equal(sub.latest(), undefined, 'nothing was yielded for it');
    await nc.kill();
    nc = started(Nanocat.start('--pub', '--bind', url, '--data', 'a|b', '--interval', '0.1'));
    assert.deepEqual((await until(lists, () => true, DEADLINE, 'a good list after the bad one')).value, ['a', 'b']);
    assert.ok(sub.health().every((h) => h.state === 'running' && h.restarts === 0));
  } finally {
    await sub.close();
  }
});
