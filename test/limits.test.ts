/**
 * The server's caps and how refusals are reported: maxNameBytes, the SURVEYOR's
 * maximum answer size (maxNameBytes + 1024), maxMembers, exact refusal counts in
 * stats(), and 'refused:summary' at most once per reason per refusalLogIntervalMs.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { DEFAULT_MAX_MEMBERS, DEFAULT_MAX_NAME_BYTES, DEFAULT_REFUSAL_LOG_INTERVAL_MS, type RefusalSummary, type Server, type ServerStats } from '../src/index.js';
import { closeActorPool } from '../src/pool.js';
import { RefusalLog } from '../src/refusal-log.js';
import { surveyorRecvMaxSize } from '../src/actors/surveyor.js';
import { assertServedWell, DEADLINE, withDiscovery } from './helpers/discovery.js';
import { RogueRespondent } from './helpers/raw-sp.js';
import { eventually, within } from './helpers/wait.js';

after(() => closeActorPool());

test('the documented defaults: 1,024-byte names, 10,000 members, 2,048-byte answers, a summary a minute', () => {
  assert.equal(DEFAULT_MAX_NAME_BYTES, 1024);
  assert.equal(DEFAULT_MAX_MEMBERS, 10_000);
  assert.equal(surveyorRecvMaxSize(DEFAULT_MAX_NAME_BYTES), 2048);
  assert.equal(DEFAULT_REFUSAL_LOG_INTERVAL_MS, 60_000);
});

test('maxNameBytes: a name of exactly that many bytes is listed, one byte more is refused as too-long', async () => {
  await withDiscovery({ maxNameBytes: 16 }, async (d) => {
    const fits = 'é'.repeat(8); // 16 bytes in UTF-8, 8 characters: the limit counts bytes
    const rogue = await RogueRespondent.open(d.surveyPort, () => [{ body: fits }, { body: `${fits}x` }]);
    try {
      await eventually(() => d.server.members().includes(fits), DEADLINE, 'the 16-byte name listed');
      await eventually(() => d.server.stats().refused['too-long'] >= 1, DEADLINE, 'the 17-byte name refused');
    } finally {
      await rogue.stop();
    }
    assert.ok(!d.lists.some((l) => l.includes(`${fits}x`)));
    await assertServedWell(d, (name) => name === fits);
  });
});

test('answer size: up to maxNameBytes + 1024 bytes is read and refused; more closes the connection', async () => {
  await withDiscovery({ maxNameBytes: 16 }, async (d) => {
    assert.equal(surveyorRecvMaxSize(16), 1040);
    // 4-byte survey id + 1,000 bytes: under the socket's limit, so it reaches the round and is refused.
    const readable = await RogueRespondent.open(d.surveyPort, () => [{ body: Buffer.alloc(1000, 0x61) }]);
    await eventually(() => d.server.stats().refused['too-long'] >= 2, DEADLINE, 'the 1,000-byte answers refused');
    assert.equal(readable.peer.isClosed, false, 'a refused answer keeps the connection');
    await readable.stop();
    // 4 + 1,100 bytes: over the limit, nanomsg drops the message and the connection with it.
    const oversized = await RogueRespondent.open(d.surveyPort, () => [{ body: Buffer.alloc(1100, 0x61) }]);
    await within(DEADLINE, 'the oversized answer to close its connection', oversized.peer.closed);
    await assertServedWell(d);
  });
});

test('maxMembers: further names are refused and counted while the listed members stay', async () => {
  await withDiscovery({ maxMembers: 3 }, async (d) => {
    const rogue = await RogueRespondent.open(d.surveyPort, () => ['r1', 'r2', 'r3'].map((body) => ({ body })));
    try {
      await eventually(() => d.server.stats().refused['member-cap'] >= 4, DEADLINE, 'two rounds at the cap');
      assert.equal(d.server.members().length, 3);
      const rogues = d.server.members().filter((m) => m.startsWith('r'));
      assert.equal(rogues.length, 1, 'one free place, one rogue name');
    } finally {
      await rogue.stop();
    }
    await assertServedWell(d, (name) => /^r[123]$/.test(name));
  });
});

test('refusals: exact counts in stats(), summaries at most once per reason per interval', async () => {
  const intervalMs = 1000;
  const summaries: Array<RefusalSummary & { at: number }> = [];
  const perRound: Array<{ code: string; count: number }> = [];
  let server: Server | undefined;
  const started = performance.now();
  await withDiscovery({ refusalLogIntervalMs: intervalMs }, async (d) => {
    server = d.server;
    d.server.on('refused:summary', (s) => summaries.push({ ...s, at: performance.now() }));
    d.server.on('refused', (r) => perRound.push(r));
    // Two bad answers of one kind and one of another, every round.
    const rogue = await RogueRespondent.open(d.surveyPort, () => [{ body: 'a|b' }, { body: 'c|d' }, { body: '' }]);
    try {
      await eventually(() => d.server.stats().refused.separator >= 20, DEADLINE, 'ten rounds of refusals');
    } finally {
      await rogue.stop();
    }
  });
  // Read after close(): a round under way when the rogue stopped can still count a refusal,
  // and close() both drains the surveyor's last messages and flushes the pending summaries,
  // so only now do stats(), the events and the summaries describe the same, final set.
  const stats: ServerStats = server!.stats();
  const elapsed = performance.now() - started;
  for (const code of ['separator', 'empty'] as const) {
    const mine = summaries.filter((s) => s.code === code);
    const total = mine.reduce((a, s) => a + s.count, 0);
    assert.equal(total, stats.refused[code], `${code}: summaries add up to stats()`);
    assert.equal(total, perRound.filter((r) => r.code === code).reduce((a, r) => a + r.count, 0), `${code}: and to the 'refused' events`);
    // The first at once, then at most one per interval, and the last at close.
    assert.ok(mine.length <= Math.ceil(elapsed / intervalMs) + 2, `${mine.length} ${code} summaries in ${elapsed.toFixed(0)} ms`);
    assert.ok(mine.length < perRound.filter((r) => r.code === code).length, 'fewer summaries than rounds with refusals');
    for (let i = 1; i < mine.length - 1; i++) {
      assert.ok(mine[i]!.periodMs >= intervalMs, `summary ${i} covers ${mine[i]!.periodMs} ms`);
    }
  }
});

test('RefusalLog: the first refusal at once, then one summary per reason per interval, the rest at flush', () => {
  let now = 0;
  const out: RefusalSummary[] = [];
  const log = new RefusalLog(1000, (s) => out.push(s), () => now);
  log.add('separator', 1, 'answer contains "|"');
  log.add('empty', 2, 'empty answer');
  assert.deepEqual(
    out.map((s) => [s.code, s.count, s.periodMs]),
    [
      ['separator', 1, 0],
      ['empty', 2, 0],
    ],
  );
  for (now = 100; now < 1000; now += 100) log.add('separator', 3, 'answer contains "|"');
  assert.equal(out.length, 2, 'nothing more within the interval');
  assert.equal(log.pending, 27);
  now = 999;
  log.flush();
  assert.equal(out.length, 2, 'flush() waits for the interval too');
  now = 1000;
  log.flush();
  assert.deepEqual(out.at(-1), { code: 'separator', count: 27, reason: 'answer contains "|"', periodMs: 1000 });
  now = 1500;
  log.add('separator', 1, 'answer contains "|"');
  log.add('too-long', 1, 'answer of 2000 bytes exceeds 1024');
  assert.deepEqual(out.at(-1)!.code, 'too-long', 'another reason has its own interval');
  now = 5000;
  log.add('separator', 1, 'answer contains "|"');
  assert.deepEqual(out.at(-1), { code: 'separator', count: 2, reason: 'answer contains "|"', periodMs: 4000 });
  log.add('separator', 4, 'answer contains "|"');
  log.flush(true);
  assert.deepEqual(out.at(-1)!.count, 4, 'flush(true) empties everything');
  assert.equal(log.pending, 0);
});
