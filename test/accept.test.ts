/**
 * The server's admission rule, `accept`, with real sockets: a list of names, a RegExp
 * (against a Go-compatible peer, nanocat, too) and a predicate run in the main thread. A
 * refused name is never listed, is counted as 'not-accepted' in stats(), in /metrics and
 * in the rate-limited summaries, and the accepted members are served as before.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createClient, createServer, type Client, type RefusalSummary } from '../src/index.js';
import { closeActorPool } from '../src/pool.js';
import { acceptRule, compileAccept, judge } from '../src/admission.js';
import { surveyorLogic, type SurveyorLimits } from '../src/actors/surveyor.js';
import { InvalidOptionError } from '../src/errors.js';
import { createServerMetrics } from '../src/metrics.js';
import { assertServedWell, DEADLINE, withDiscovery } from './helpers/discovery.js';
import { tcpPair } from './helpers/endpoints.js';
import { Nanocat, requireNanocat } from './helpers/nanocat.js';
import { parsePrometheus, valueOf } from './helpers/prometheus.js';
import { eventually } from './helpers/wait.js';

const nanocats: Nanocat[] = [];
after(async () => {
  await Promise.all(nanocats.map((nc) => nc.kill()));
  await closeActorPool();
});

test('accept as a list of names: another client is refused as not-accepted, in stats(), /metrics and the summaries, and never listed', async () => {
  await withDiscovery({ accept: ['good-1', 'good-2'], refusalLogIntervalMs: 60_000 }, async (d) => {
    const metrics = createServerMetrics(d.server);
    const summaries: RefusalSummary[] = [];
    d.server.on('refused:summary', (s) => summaries.push(s));
    let intruder: Client | undefined;
    try {
      intruder = await createClient({ surveyUrl: d.urls.surveyUrl, service: 'intruder' });
      await eventually(() => d.server.stats().refused['not-accepted'] >= 3, DEADLINE, 'three refusals of the intruder');
      const families = parsePrometheus(await metrics.text());
      const byReason = valueOf(families, 'gopherdiscovery_refused_answers_by_reason_total', { reason: 'not-accepted' });
      assert.ok(byReason >= 3, `/metrics counts ${byReason} not-accepted answers`);
      assert.equal(valueOf(families, 'gopherdiscovery_refused_answers_by_reason_total', { reason: 'bad-mac' }), 0);
      assert.ok(valueOf(families, 'gopherdiscovery_refused_answers_total') >= byReason);
      // Rate-limited: the first refusal is summarised at once, the later ones wait for the interval.
      assert.equal(summaries.length, 1, JSON.stringify(summaries));
      assert.equal(summaries[0]!.code, 'not-accepted');
      assert.match(summaries[0]!.reason, /intruder/);
    } finally {
      await intruder?.close();
      metrics.detach();
    }
    for (const c of d.changes) assert.ok(!c.members.includes('intruder'), `a change listed the intruder: ${JSON.stringify(c.members)}`);
    await assertServedWell(d);
    const stats = d.server.stats();
    for (const [code, n] of Object.entries(stats.refused)) if (code !== 'not-accepted') assert.equal(n, 0, `${code} refusals`);
  });
});

test('accept as a RegExp: a nanocat respondent whose name does not match is refused and counted, never listed', async () => {
  requireNanocat();
  await withDiscovery({ accept: /^good-\d+$/ }, async (d) => {
    const nc = Nanocat.start('--respondent', '--connect', d.urls.surveyUrl, '--data', 'nc-rogue');
    nanocats.push(nc);
    const matching = Nanocat.start('--respondent', '--connect', d.urls.surveyUrl, '--data', 'good-3');
    nanocats.push(matching);
    try {
      await eventually(() => d.server.members().includes('good-3'), DEADLINE, 'the matching nanocat (good-3) to be listed');
      await eventually(() => d.server.stats().refused['not-accepted'] >= 3, DEADLINE, 'three refusals of nc-rogue');
    } finally {
      await nc.kill();
      await matching.kill();
    }
    for (const l of d.lists) assert.ok(!l.includes('nc-rogue'), `a list held nc-rogue: ${JSON.stringify(l)}`);
    assert.ok(d.lists.some((l) => l.includes('good-3')), 'the watcher saw good-3 listed');
    await assertServedWell(d, (name) => name === 'good-3');
  });
});

test('accept as a function: judged once per newcomer in the main thread, its verdict cached; a throwing predicate refuses', async () => {
  const calls = new Map<string, number>();
  const accept = (name: string) => {
    calls.set(name, (calls.get(name) ?? 0) + 1);
    if (name === 'throws') throw new Error('a buggy rule');
    return name.startsWith('good-');
  };
  await withDiscovery({ accept }, async (d) => {
    const clients: Client[] = [];
    try {
      for (const service of ['bad-1', 'throws']) clients.push(await createClient({ surveyUrl: d.urls.surveyUrl, service }));
      const late = await createClient({ surveyUrl: d.urls.surveyUrl, service: 'good-3' });
      clients.push(late);
      await eventually(() => d.server.members().includes('good-3'), DEADLINE, 'good-3, a newcomer the function accepts, to be listed');
      const refusedBefore = d.server.stats().refused['not-accepted'];
      const roundsBefore = d.server.stats().rounds;
      await eventually(() => d.server.stats().rounds >= roundsBefore + 4, DEADLINE, 'four more rounds');
      assert.ok(d.server.stats().refused['not-accepted'] >= refusedBefore + 4, 'bad-1 and throws are refused in every round');
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
    // Each name was judged once; the surveyor's cache answered every later round.
    for (const name of ['bad-1', 'throws', 'good-3']) assert.equal(calls.get(name), 1, `${name} was judged ${calls.get(name)} times`);
    // The members of the start were judged once, when they joined, and never again.
    for (const name of d.good) assert.equal(calls.get(name), 1, `${name} was judged ${calls.get(name)} times`);
    for (const l of d.lists) for (const m of l) assert.ok(m.startsWith('good-'), `a list held ${m}`);
    await assertServedWell(d, (name) => name === 'good-3');
  });
});

test('accept of the wrong type is refused when the server is created', async () => {
  const urls = await tcpPair();
  await assert.rejects(createServer({ ...urls, accept: 'good-.*' as never }), { code: 'ERR_INVALID_OPTION', message: /accept must be/ });
  await assert.rejects(createServer({ ...urls, accept: [1] as never }), { code: 'ERR_INVALID_OPTION', message: /accept\[0\]/ });
});

test('accept: a list, a RegExp (g and y flags dropped) and a predicate (asked in the main thread); anything else refused', () => {
  const names = compileAccept(acceptRule(['a', 'b']));
  assert.deepEqual([names('a'), names('c')], [true, false]);
  const pattern = compileAccept(acceptRule(/^web-\d+$/g));
  assert.deepEqual([pattern('web-1'), pattern('web-1'), pattern('db-1')], [true, true, false], 'no lastIndex state');
  assert.equal(compileAccept(acceptRule(() => true))('x'), undefined, 'a predicate is decided elsewhere');
  assert.deepEqual(
    judge((n) => {
      if (n === 'boom') throw new Error('boom');
      return n.startsWith('ok');
    }, ['ok-1', 'no-1', 'boom']),
    { accepted: ['ok-1'], refused: ['no-1', 'boom'] },
  );
  assert.throws(() => acceptRule('web-.*'), InvalidOptionError);
  assert.throws(() => acceptRule([1]), /accept\[0\]/);
  assert.throws(() => acceptRule(null), InvalidOptionError);
});

test("the surveyor's logic asks the rule about newcomers only: refused, pending (a predicate not yet judged), or counted", () => {
  const verdicts = new Map<string, boolean>([['in', true], ['out', false]]);
  const limits: SurveyorLimits = { maxNameBytes: 64, maxMembers: 10, missedRounds: 1, accept: (n) => verdicts.get(n) };
  const s = surveyorLogic.beginRound(surveyorLogic.initial(['member']));
  assert.deepEqual(surveyorLogic.answer(s, Buffer.from('in'), limits), { kind: 'counted', name: 'in', newcomer: true });
  assert.equal((surveyorLogic.answer(s, Buffer.from('out'), limits) as { code: string }).code, 'not-accepted');
  assert.deepEqual(surveyorLogic.answer(s, Buffer.from('unknown'), limits), { kind: 'pending', name: 'unknown' });
  // A listed member is not asked again, whatever the rule says now.
  assert.deepEqual(surveyorLogic.answer(s, Buffer.from('member'), limits), { kind: 'counted', name: 'member', newcomer: false });
  assert.deepEqual([...s.fresh].sort(), ['in', 'member'], 'only counted names are in the round');
});
