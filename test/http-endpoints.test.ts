/**
 * The server's HTTP endpoints other than /metrics and /healthz: /members, the /events
 * stream, the dashboard's files, and answers to wrong paths and methods.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createClient } from '../src/index.js';
import { closeActorPool } from '../src/pool.js';
import { startHttpServer, HttpListenError } from '../src/http/server.js';
import type { Snapshot } from '../src/http/monitor.js';
import { createServerMetrics } from '../src/metrics.js';
import { startMonitoredServer } from './helpers/monitored-server.js';
import { openSse, type SseEvent } from './helpers/sse.js';
import { within } from './helpers/wait.js';

after(() => closeActorPool());

/** Quick rounds that still give a client 400 ms to answer, so a busy machine cannot make a member flap. */
const STEADY = { pollTime: 450, surveyTime: 400, recvDeadline: 400 };

const setup = () => startMonitoredServer(STEADY, { monitor: { roundFlushMs: 50 } });

/** Reads events until one satisfies `test`. */
async function until(events: AsyncIterator<SseEvent>, test: (e: SseEvent) => boolean, what: string): Promise<SseEvent> {
  return within(10_000, what, (async () => {
    for (;;) {
      const r = await events.next();
      if (r.done) throw new Error(`stream ended before ${what}`);
      if (test(r.value)) return r.value;
    }
  })());
}

test('/events streams a snapshot, then joins, leaves and rounds as they happen', async () => {
  const s = await setup();
  const sse = await openSse(new URL('/events', s.http.url));
  try {
    assert.equal(sse.status, 200);
    assert.match(sse.headers.get('content-type')!, /^text\/event-stream/);
    const first = await until(sse.events, () => true, 'the first event');
    assert.equal(first.event, 'snapshot');
    const snapshot = JSON.parse(first.data) as Snapshot;
    assert.deepEqual(snapshot.members, []);
    assert.equal(snapshot.server.surveyUrl, s.urls.surveyUrl);
    assert.deepEqual(snapshot.server.timing, { surveyTime: 400, recvDeadline: 400, pollTime: 450 });
    assert.deepEqual(snapshot.health.actors.map((a) => [a.id, a.state]), [['publisher', 'running'], ['surveyor', 'running']]);

    const rounds = JSON.parse((await until(sse.events, (e) => e.event === 'rounds', 'a rounds event')).data) as { rounds: Array<{ round: number; durationMs: number }> };
    assert.ok(rounds.rounds.length >= 1 && rounds.rounds.every((r) => r.round > 0 && r.durationMs >= 0));

    const client = await createClient({ ...s.urls, service: 'streamed' });
    const joined = JSON.parse((await until(sse.events, (e) => e.event === 'change', 'the join')).data);
    assert.deepEqual(joined.entry.joined, ['streamed']);
    assert.deepEqual(joined.members.map((m: { name: string }) => m.name), ['streamed']);
    assert.equal(typeof joined.members[0].since, 'number');

    // /members agrees with the stream.
    const members = await fetch(new URL('/members', s.http.url));
    assert.match(members.headers.get('content-type')!, /^application\/json/);
    assert.deepEqual(await members.json(), ['streamed']);

    await client.close();
    const left = JSON.parse((await until(sse.events, (e) => e.event === 'change', 'the leave')).data);
    assert.deepEqual(left.entry.left, ['streamed']);
    assert.deepEqual(left.members, []);

    // A new stream's snapshot carries the timeline so far.
    const late = await openSse(new URL('/events', s.http.url));
    const lateSnapshot = JSON.parse((await until(late.events, () => true, 'the late snapshot')).data) as Snapshot;
    late.close();
    assert.deepEqual(
      lateSnapshot.timeline.filter((t) => t.kind === 'change').map((t) => t.kind === 'change' && [t.joined, t.left]),
      [[['streamed'], []], [[], ['streamed']]],
    );
  } finally {
    sse.close();
    await s.close();
  }
});

test('many open streams all get every change, without a listener-leak warning', async () => {
  const s = await setup();
  const warnings: Error[] = [];
  const onWarning = (w: Error) => warnings.push(w);
  process.on('warning', onWarning);
  const streams = await Promise.all(Array.from({ length: 15 }, () => openSse(new URL('/events', s.http.url))));
  try {
    await Promise.all(streams.map((st) => until(st.events, (e) => e.event === 'snapshot', 'a snapshot')));
    const client = await createClient({ ...s.urls, service: 'seen-by-all' });
    const joins = await Promise.all(streams.map((st) => until(st.events, (e) => e.event === 'change', 'the join on every stream')));
    assert.ok(joins.every((e) => JSON.parse(e.data).entry.joined[0] === 'seen-by-all'));
    await client.close();
    assert.deepEqual(warnings.map((w) => w.name), []);
  } finally {
    process.off('warning', onWarning);
    for (const st of streams) st.close();
    await s.close();
  }
});

test('an actor restart reaches the stream as health events', async () => {
  const s = await setup();
  const sse = await openSse(new URL('/events', s.http.url));
  try {
    await until(sse.events, (e) => e.event === 'snapshot', 'the snapshot');
    await s.server.supervisor.injectFault('publisher', 'throw');
    const restart = JSON.parse((await until(sse.events, (e) => e.event === 'health' && JSON.parse(e.data).entry?.event === 'restart', 'the restart')).data);
    assert.equal(restart.healthy, false);
    assert.equal(restart.entry.actor, 'publisher');
    const back = JSON.parse((await until(sse.events, (e) => e.event === 'health' && JSON.parse(e.data).entry?.event === 'start', 'the actor back')).data);
    assert.equal(back.healthy, true);
    assert.equal(back.actors.find((a: { id: string }) => a.id === 'publisher').restarts, 1);
  } finally {
    sse.close();
    await s.close();
  }
});

test('the dashboard page and its files are served with a strict content security policy', async () => {
  const s = await setup();
  try {
    const page = await fetch(s.http.url);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type')!, /^text\/html/);
    assert.match(page.headers.get('content-security-policy')!, /default-src 'none'; script-src 'self'/);
    const html = await page.text();
    assert.match(html, /<script src="\/dashboard\.js" defer><\/script>/);
    for (const [path, type] of [['/dashboard.js', /^text\/javascript/], ['/dashboard.css', /^text\/css/]] as const) {
      const res = await fetch(new URL(path, s.http.url));
      assert.equal(res.status, 200, path);
      assert.match(res.headers.get('content-type')!, type);
      assert.ok((await res.text()).length > 500, path);
    }
    const head = await fetch(new URL('/members', s.http.url), { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), '');
  } finally {
    await s.close();
  }
});

test('unknown paths are 404 and other methods 405, as JSON', async () => {
  const s = await setup();
  try {
    const missing = await fetch(new URL('/nope', s.http.url));
    assert.equal(missing.status, 404);
    assert.match(((await missing.json()) as { error: string }).error, /no such page: \/nope/);
    const post = await fetch(new URL('/members', s.http.url), { method: 'POST', body: 'x' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
    await post.body?.cancel();
  } finally {
    await s.close();
  }
});

test('close() ends open event streams and frees the port; a port in use is a clear error', async () => {
  const s = await setup();
  const sse = await openSse(new URL('/events', s.http.url));
  await until(sse.events, (e) => e.event === 'snapshot', 'the snapshot');
  await within(10_000, 'close()', s.http.close());
  assert.equal((await within(10_000, 'the stream to end', sse.events.next())).done, true);
  // The same port can be listened on again, and a second listener on a busy port fails clearly.
  const again = await startHttpServer({ port: s.http.port, server: s.server, metrics: createServerMetrics(s.server) });
  try {
    const port = Number(new URL(again.url).port);
    assert.equal(port, s.http.port);
    await assert.rejects(
      startHttpServer({ port: s.http.port, server: s.server, metrics: createServerMetrics(s.server) }),
      (e: Error) => e instanceof HttpListenError && e.code === 'EADDRINUSE' && e.message.includes(`http://127.0.0.1:${s.http.port}/`),
    );
    // A port no socket can have is a bad option value, refused before anything listens.
    for (const port of [-1, 65_536, 1.5, Number.NaN]) {
      await assert.rejects(startHttpServer({ port, server: s.server, metrics: false }), (e: Error & { code?: string; option?: string }) => e.code === 'ERR_INVALID_OPTION' && e.option === 'port');
    }
  } finally {
    await again.close();
    await s.close();
  }
});
