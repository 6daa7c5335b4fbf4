/**
 * Readers that cannot leak: an iterator of peers() / changes() dropped unfinished costs
 * nothing (no list is queued for it, it is garbage-collected), close() ends and releases
 * every reader, and a reader waiting inside next() is kept until a list comes.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ListFeed } from '../src/feed.js';
import { createClient, createServer, subscribe } from '../src/index.js';
import { closeActorPool } from '../src/pool.js';
import { FAST, tcpPair } from './helpers/endpoints.js';
import { eventually, sameMembers, until, within } from './helpers/wait.js';

after(() => closeActorPool());

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Counts iterators collected by the garbage collector. */
function collectedCounter(): { track(o: object): void; readonly count: number } {
  let count = 0;
  const registry = new FinalizationRegistry<void>(() => count++);
  return {
    track: (o) => registry.register(o, undefined),
    get count() {
      return count;
    },
  };
}

/**
 * Opens `n` iterators, reads one list from each and drops it, in a frame of its own so no
 * local variable of the caller keeps the last one.
 */
async function readOnceAndDrop(open: () => AsyncIterable<string[]>, n: number, counter: { track(o: object): void }): Promise<void> {
  for (let i = 0; i < n; i++) {
    const it = open()[Symbol.asyncIterator]();
    counter.track(it);
    await it.next();
  }
}

/** Reads until the iterator ends (a list still in flight at close() may come first); the lists read. */
async function readToEnd(it: AsyncIterator<string[]>, first?: Promise<IteratorResult<string[]>>): Promise<number> {
  return within(20_000, 'the reader to end', (async () => {
    let n = 0;
    for (let r = await (first ?? it.next()); !r.done; r = await it.next()) n++;
    return n;
  })());
}

/** Collects until `counter` has seen `n` iterators go (finalizers run after the collection, on later turns). */
async function collected(counter: { count: number }, n: number, what: string): Promise<void> {
  await eventually(
    () => {
      gc();
      return counter.count >= n;
    },
    30_000,
    what,
    20,
  );
}

test('ListFeed: 2,000 readers dropped after one list are not kept: later lists cost them nothing and they are collected', async () => {
  const feed = new ListFeed();
  feed.push(['a']);
  const counter = collectedCounter();
  await readOnceAndDrop(() => feed.iterate(), 2000, counter);
  assert.equal(feed.waitingReaders, 0, 'a reader between two next() calls is not held by the feed');
  for (let i = 0; i < 6; i++) feed.push(['a', `b${i}`]);
  assert.equal(feed.waitingReaders, 0);
  await collected(counter, 2000, 'the 2,000 dropped readers to be collected');
  assert.equal(counter.count, 2000);
});

test('ListFeed: a reader waiting inside next() is kept, even when only its pending promise is held, and gets the next list', async () => {
  const feed = new ListFeed();
  const pending = (async () => {
    for await (const list of feed.iterate()) return list;
    return undefined;
  })();
  await eventually(() => feed.waitingReaders === 1, 5_000, 'the reader to wait');
  gc();
  await new Promise((r) => setImmediate(r));
  gc();
  feed.push(['x']);
  assert.deepEqual(await within(5_000, 'the waiting reader to get the list', pending), ['x']);
  assert.equal(feed.waitingReaders, 0);
});

test('ListFeed: a slow reader gets the newest bufferSize lists in order; a new reader starts at the latest', async () => {
  const feed = new ListFeed(4);
  const slow = feed.iterate()[Symbol.asyncIterator]();
  feed.push(['0']);
  assert.deepEqual((await slow.next()).value, ['0']);
  for (let i = 1; i <= 10; i++) feed.push([String(i)]);
  const got: string[] = [];
  for (let i = 0; i < 4; i++) got.push((await slow.next()).value![0]!);
  assert.deepEqual(got, ['7', '8', '9', '10']);
  const late = feed.iterate()[Symbol.asyncIterator]();
  assert.deepEqual((await late.next()).value, ['10']);
  // A reader's list is its own: changing it changes no other reader's.
  const a = feed.iterate()[Symbol.asyncIterator]();
  const b = feed.iterate()[Symbol.asyncIterator]();
  (await a.next()).value!.push('mutated');
  assert.deepEqual((await b.next()).value, ['10']);
  assert.deepEqual(feed.latest, ['10']);
});

test('ListFeed: end() ends waiting readers at once, parked readers after the lists they had not read, and with the error if any', async () => {
  const feed = new ListFeed();
  const waiting = feed.iterate()[Symbol.asyncIterator]();
  const waitingNext = waiting.next();
  await eventually(() => feed.waitingReaders === 1, 5_000, 'the reader to wait');
  feed.push(['a']);
  assert.deepEqual((await waitingNext).value, ['a']);
  const parked = feed.iterate()[Symbol.asyncIterator]();
  assert.deepEqual((await parked.next()).value, ['a']);
  const second = waiting.next();
  feed.push(['a', 'b']);
  assert.deepEqual((await second).value, ['a', 'b']);
  const third = waiting.next();
  feed.end();
  assert.equal((await third).done, true);
  assert.equal(feed.waitingReaders, 0);
  assert.deepEqual((await parked.next()).value, ['a', 'b'], 'the list it had not read yet');
  assert.equal((await parked.next()).done, true);

  const failing = new ListFeed();
  const r = failing.iterate()[Symbol.asyncIterator]();
  const n = r.next();
  failing.end(new Error('boom'));
  await assert.rejects(n, /boom/);
});

test("client.peers(): the issue's 2,000 dropped iterators are collected, and close() ends the readers still in use", async () => {
  const urls = await tcpPair();
  const server = await createServer({ ...urls, ...FAST });
  const client = await createClient({ ...urls, service: 'reader' });
  const others: Array<Awaited<ReturnType<typeof createClient>>> = [];
  try {
    const live = client.peers()[Symbol.asyncIterator]();
    await until(live, (l) => sameMembers(l, ['reader']), 20_000, 'the first list');
    const counter = collectedCounter();
    await readOnceAndDrop(() => client.peers(), 2000, counter);
    // Six changes: six more lists, none of them queued for the dropped iterators.
    for (let i = 0; i < 3; i++) others.push(await createClient({ surveyUrl: urls.surveyUrl, service: `other${i}` }));
    await until(live, (l) => l.length === 4, 20_000, 'three more members');
    for (const o of others.splice(0)) await o.close();
    await until(live, (l) => sameMembers(l, ['reader']), 20_000, 'the three gone');
    await collected(counter, 2000, 'the 2,000 dropped peers() iterators to be collected');

    const waiting = live.next();
    const parked = client.peers()[Symbol.asyncIterator]();
    assert.equal((await parked.next()).done, false);
    await client.close();
    await readToEnd(live, waiting);
    await readToEnd(parked);
    assert.throws(() => client.peers(), { code: 'ERR_CLOSED' });
  } finally {
    for (const o of others) await o.close();
    await client.close();
    await server.close();
  }
});

test('subscriber.changes(): dropped iterators are collected; close() ends every reader', async () => {
  const urls = await tcpPair();
  const server = await createServer({ ...urls, ...FAST });
  const sub = await subscribe({ pubsubUrl: urls.pubsubUrl });
  const client = await createClient({ surveyUrl: urls.surveyUrl, service: 'one' });
  try {
    const live = sub.changes()[Symbol.asyncIterator]();
    await until(live, (l) => sameMembers(l, ['one']), 20_000, 'the first list');
    const counter = collectedCounter();
    await readOnceAndDrop(() => sub.changes(), 500, counter);
    await collected(counter, 500, 'the dropped changes() iterators to be collected');
    const waiting = live.next();
    await sub.close();
    await readToEnd(live, waiting);
  } finally {
    await client.close();
    await sub.close();
    await server.close();
  }
});
