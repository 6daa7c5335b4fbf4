/**
 * Two members claiming one name are reported, not merged silently: each round that hears a
 * name more than once counts it (stats().duplicates, a 'duplicates' event per round, a
 * Prometheus counter), a 'duplicate' event per name is rate-limited like the refusal
 * summaries, and the dashboard marks the name.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { surveyorLogic } from '../src/actors/surveyor.js';
import { createClient, createServer } from '../src/index.js';
import { closeActorPool } from '../src/pool.js';
import { RefusalLog, type RefusalSummary } from '../src/refusal-log.js';
import type { DuplicateSummary } from '../src/server.js';
import { launchBrowser } from './helpers/browser.js';
import { FAST, tcpPair } from './helpers/endpoints.js';
import { startMonitoredServer } from './helpers/monitored-server.js';
import { parsePrometheus, valueOf } from './helpers/prometheus.js';
import { openSse } from './helpers/sse.js';
import { eventually, sameMembers, until } from './helpers/wait.js';

after(() => closeActorPool());

const LIMITS = { maxNameBytes: 1024, maxMembers: 10, missedRounds: 1 };

test('surveyorLogic: the second answer of a name in a round is a duplicate naming it; the next round starts afresh', () => {
  let state = surveyorLogic.beginRound(surveyorLogic.initial([]));
  assert.deepEqual(surveyorLogic.answer(state, Buffer.from('same'), LIMITS), { kind: 'counted', name: 'same', newcomer: true });
  assert.deepEqual(surveyorLogic.answer(state, Buffer.from('same'), LIMITS), { kind: 'duplicate', name: 'same' });
  assert.deepEqual(surveyorLogic.answer(state, Buffer.from('same'), LIMITS), { kind: 'duplicate', name: 'same' });
  // Byte for byte: a BOM makes another name, not a duplicate.
  assert.equal(surveyorLogic.answer(state, Buffer.from('\uFEFFsame'), LIMITS).kind, 'counted');
  state = surveyorLogic.beginRound(surveyorLogic.endRound(state, LIMITS, 0).state);
  assert.equal(surveyorLogic.answer(state, Buffer.from('same'), LIMITS).kind, 'counted');
});

test('the duplicate log: the first report of a name at once, later ones summed per interval; names quiet for an interval are forgotten', () => {
  let now = 0;
  const out: RefusalSummary<string>[] = [];
  const log = new RefusalLog<string>(1000, (s) => out.push(s), () => now, true);
  log.add('a', 1, '');
  log.add('a', 1, '');
  log.add('b', 2, '');
  assert.deepEqual(out.map((s) => [s.code, s.count]), [['a', 1], ['b', 2]]);
  now = 1000;
  log.add('a', 1, '');
  assert.deepEqual(out.at(-1), { code: 'a', count: 2, reason: '', periodMs: 1000 });
  log.flush();
  assert.equal(log.size, 1, "'b' was quiet for an interval: forgotten; 'a' was just summarised");
  now = 2000;
  log.flush();
  assert.equal(log.size, 0);
});

test('two clients with one name: one member, counted as a duplicate every round, events exact and rate-limited, and a Prometheus counter', async () => {
  // Unhurried rounds: the dashboard shows the last round's marks, and a 10 ms survey under a
  // CPU hog often hears only one of the two claimants (no mark that round) while the page loads.
  const fixture = await startMonitoredServer({ surveyTime: 200, recvDeadline: 200, pollTime: 250, missedRounds: 3, refusalLogIntervalMs: 60_000 });
  const { server, urls } = fixture;
  const perRound: Array<{ round: number; names: Array<{ name: string; count: number }> }> = [];
  const summaries: DuplicateSummary[] = [];
  server.on('duplicates', (d) => perRound.push(d));
  server.on('duplicate', (d) => summaries.push(d));
  const a = await createClient({ surveyUrl: urls.surveyUrl, service: 'same' });
  const b = await createClient({ surveyUrl: urls.surveyUrl, service: 'same' });
  const c = await createClient({ surveyUrl: urls.surveyUrl, service: 'other' });
  const browser = await launchBrowser();
  let closed = false;
  try {
    await eventually(() => perRound.length >= 5, 20_000, 'five rounds with a duplicate');
    await eventually(() => sameMembers(server.members(), ['same', 'other']), 20_000, 'two members: "same" once, and "other"');
    for (const d of perRound) assert.deepEqual(d.names, [{ name: 'same', count: 1 }], 'one answer beyond the first, and only for "same"');
    assert.equal(summaries[0]?.name, 'same');
    assert.equal(summaries[0]?.periodMs, 0, 'the first report goes out at once');
    assert.equal(summaries.length, 1, 'later ones wait for the interval (60 s)');

    // The dashboard marks the name, and only that one.
    const page = await browser.context.newPage();
    await page.goto(fixture.http.url);
    await page.locator('#members li[data-name="same"].duplicate[data-duplicates="1"]').waitFor({ timeout: 20_000 });
    assert.equal(await page.locator('#members li[data-name="other"].duplicate').count(), 0);
    assert.match((await page.locator('#members li[data-name="same"] .dup').textContent()) ?? '', /answered 2× in the last round/);

    // One of the two leaves: the mark goes with the next round, the member stays.
    await b.close();
    await page.locator('#members li[data-name="same"]:not(.duplicate)').waitFor({ timeout: 20_000 });
    await eventually(() => server.members().includes('same'), 20_000, 'the other claimant still listed');

    await a.close();
    await c.close();
    await fixture.close();
    closed = true;
    // After close nothing more is counted: the counters, the events and the metric agree exactly.
    const total = server.stats().duplicates;
    assert.ok(total >= 5);
    assert.equal(perRound.reduce((n, d) => n + d.names[0]!.count, 0), total);
    assert.equal(summaries.reduce((n, d) => n + d.count, 0), total, 'close() flushes the pending summary');
    const metrics = parsePrometheus(await fixture.metrics.text());
    assert.equal(valueOf(metrics, 'gopherdiscovery_duplicate_answers_total'), total);
  } finally {
    await browser.close();
    await Promise.all([a.close(), b.close(), c.close()]);
    if (!closed) await fixture.close();
  }
});

test('the dashboard event stream sends the marks as a `members` event', async () => {
  const fixture = await startMonitoredServer({ ...FAST });
  const { urls } = fixture;
  const sse = await openSse(new URL('/events', fixture.http.url));
  const clients = [await createClient({ surveyUrl: urls.surveyUrl, service: 'twin' }), await createClient({ surveyUrl: urls.surveyUrl, service: 'twin' })];
  try {
    const { value } = await until(
      sse.events,
      (e) => e.event === 'members' && (JSON.parse(e.data) as { members: Array<{ name: string; duplicates?: number }> }).members.some((m) => m.name === 'twin' && m.duplicates === 1),
      20_000,
      'a members event marking twin',
    );
    assert.ok(value);
  } finally {
    sse.close();
    await Promise.all(clients.map((c) => c.close()));
    await fixture.close();
  }
});

test('distinct names in one round are not duplicates', async () => {
  const urls = await tcpPair();
  const server = await createServer({ ...urls, ...FAST });
  const clients = [];
  for (const service of ['x', 'y', 'z']) clients.push(await createClient({ surveyUrl: urls.surveyUrl, service }));
  let rounds = 0;
  server.on('round', (r) => r.members === 3 && rounds++);
  try {
    await eventually(() => rounds >= 10, 20_000, 'ten rounds with the three members');
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await server.close();
  }
  assert.equal(server.stats().duplicates, 0);
});
