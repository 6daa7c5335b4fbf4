/**
 * GET /metrics: well-formed Prometheus text whose counters move as rounds run, lists are
 * published, answers are refused and actors restart.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createClient, type Server } from '../src/index.js';
import { closeActorPool } from '../src/pool.js';
import { FAST } from './helpers/endpoints.js';
import { startMonitoredServer } from './helpers/monitored-server.js';
import { Peer } from './helpers/peer.js';
import { parsePrometheus, valueOf } from './helpers/prometheus.js';
import { within } from './helpers/wait.js';

after(() => closeActorPool());

const rounds = (server: Server, n: number) =>
  within(10_000, `${n} rounds`, new Promise<void>((resolve) => {
    let seen = 0;
    const on = () => {
      if (++seen < n) return;
      server.off('round', on);
      resolve();
    };
    server.on('round', on);
  }));

async function scrape(url: string) {
  const res = await fetch(new URL('/metrics', url));
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return parsePrometheus(await res.text());
}

test('/metrics parses as Prometheus text and its counters move as rounds run', async () => {
  // Rounds of about 100 ms that give the client time to answer, so the member gauge cannot flap to 0.
  const { urls, server, http, close } = await startMonitoredServer({ pollTime: 100, surveyTime: 80, recvDeadline: 80 }, { metrics: { processMetrics: true } });
  try {
    const first = await scrape(http.url);
    for (const [name, type] of [
      ['gopherdiscovery_members', 'gauge'],
      ['gopherdiscovery_rounds_total', 'counter'],
      ['gopherdiscovery_round_duration_seconds', 'histogram'],
      ['gopherdiscovery_round_answers', 'histogram'],
      ['gopherdiscovery_publications_total', 'counter'],
      ['gopherdiscovery_refused_answers_total', 'counter'],
      ['gopherdiscovery_actor_restarts_total', 'counter'],
      ['gopherdiscovery_actor_up', 'gauge'],
      ['process_cpu_seconds_total', 'counter'],
    ] as const) {
      assert.equal(first.get(name)?.type, type, name);
      assert.ok(first.get(name)!.help.length > 0, `${name} has help`);
    }
    assert.equal(valueOf(first, 'gopherdiscovery_actor_up', { actor: 'surveyor' }), 1);
    assert.equal(valueOf(first, 'gopherdiscovery_actor_restarts_total', { actor: 'surveyor' }), 0);

    await rounds(server, 3);
    const published = within(10_000, 'a publication', new Promise((r) => server.once('published', r)));
    const client = await createClient({ ...urls, service: 'metered' });
    await published;
    await rounds(server, 2);
    const second = await scrape(http.url);
    const grew = (name: string) => valueOf(second, name) - valueOf(first, name);
    assert.ok(grew('gopherdiscovery_rounds_total') >= 5, `rounds grew by ${grew('gopherdiscovery_rounds_total')}`);
    assert.equal(grew('gopherdiscovery_round_duration_seconds_count'), grew('gopherdiscovery_rounds_total'));
    assert.ok(valueOf(second, 'gopherdiscovery_round_duration_seconds_sum') > 0);
    assert.ok(grew('gopherdiscovery_round_answers_sum') >= 1, 'the client answered');
    assert.ok(grew('gopherdiscovery_publications_total') >= 1);
    assert.equal(valueOf(second, 'gopherdiscovery_members'), 1);
    await client.close();
  } finally {
    await close();
  }
});

test('refused answers and actor restarts are counted', async () => {
  const { urls, server, http, close } = await startMonitoredServer(FAST);
  // A raw SP respondent answering with a name that would split every list.
  const rogue = Peer.connect('respondent', urls.surveyUrl);
  let answering = true;
  const answer = (async () => {
    while (answering) if (await rogue.recv(20)) rogue.send('a|b');
  })();
  try {
    await within(10_000, 'a refused answer', new Promise((r) => server.once('refused', r)));
    answering = false;
    await answer;
    const afterRefusal = await scrape(http.url);
    assert.ok(valueOf(afterRefusal, 'gopherdiscovery_refused_answers_total') >= 1);
    assert.equal(valueOf(afterRefusal, 'gopherdiscovery_members'), 0);

    const back = within(10_000, 'the surveyor back', new Promise<void>((r) => server.supervisor.on('actor:start', (e) => e.id === 'surveyor' && r())));
    await server.supervisor.injectFault('surveyor', 'throw');
    await back;
    const afterRestart = await scrape(http.url);
    assert.equal(valueOf(afterRestart, 'gopherdiscovery_actor_restarts_total', { actor: 'surveyor' }), 1);
    assert.equal(valueOf(afterRestart, 'gopherdiscovery_actor_restarts_total', { actor: 'publisher' }), 0);
    assert.equal(valueOf(afterRestart, 'gopherdiscovery_actor_up', { actor: 'surveyor' }), 1);
  } finally {
    answering = false;
    await answer;
    rogue.close();
    await close();
  }
});

test('the exposition reader rejects malformed text', () => {
  // The checks above mean something only if the reader can fail.
  assert.throws(() => parsePrometheus('x 1\n'), /no # TYPE/);
  assert.throws(() => parsePrometheus('# TYPE x counter\nx one\n'), /bad value/);
  assert.throws(() => parsePrometheus('# TYPE x counter\nx{a=b} 1\n'), /unquoted/);
  assert.throws(() => parsePrometheus('# TYPE x counter\nx -1\n'), /counter x is -1/);
  assert.throws(() => parsePrometheus('# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_count 1\n'), /not cumulative/);
  assert.throws(() => parsePrometheus('# TYPE h histogram\nh_bucket{le="1"} 1\nh_count 1\n'), /no \+Inf/);
  assert.throws(() => parsePrometheus('# TYPE x gauge\nx 1'), /end with a newline/);
  assert.equal(parsePrometheus('# HELP x a gauge\n# TYPE x gauge\nx{a="q\\"uote"} 2.5e3\n').get('x')!.samples[0]!.labels.a, 'q"uote');
});
