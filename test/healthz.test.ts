/**
 * GET /healthz: 200 with every actor's state while all run; 503 while one is restarting
 * (a long restart backoff keeps that window open long enough to observe) and after the
 * supervisor gave up.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { type ActorStartEvent, type ChildHealth } from '../src/index.js';
import { closeActorPool } from '../src/pool.js';
import { FAST } from './helpers/endpoints.js';
import { startMonitoredServer } from './helpers/monitored-server.js';
import { within } from './helpers/wait.js';

after(() => closeActorPool());

async function healthz(url: string): Promise<{ status: number; body: { status: string; actors: ChildHealth[] } }> {
  const res = await fetch(new URL('/healthz', url));
  return { status: res.status, body: (await res.json()) as { status: string; actors: ChildHealth[] } };
}

const stateOf = (body: { actors: ChildHealth[] }) => Object.fromEntries(body.actors.map((a) => [a.id, a.state]));

test('/healthz is 200 while every actor runs and 503 while one is restarting', async () => {
  // A 2 s backoff: the request below lands inside the restarting window on a slow machine too.
  const { server, http, close } = await startMonitoredServer({ ...FAST, supervision: { minBackoffMs: 2000, maxBackoffMs: 2000, randomFactor: 0 } });
  try {
    const ok = await healthz(http.url);
    assert.equal(ok.status, 200);
    assert.equal(ok.body.status, 'ok');
    assert.deepEqual(stateOf(ok.body), { publisher: 'running', surveyor: 'running' });

    const restarting = within(10_000, 'actor:restart', new Promise((r) => server.supervisor.once('actor:restart', r)));
    const back = within(15_000, 'the surveyor back', new Promise<ActorStartEvent>((r) => server.supervisor.on('actor:start', (e) => e.id === 'surveyor' && r(e))));
    await server.supervisor.injectFault('surveyor', 'throw');
    await restarting;
    const down = await healthz(http.url);
    assert.equal(down.status, 503);
    assert.equal(down.body.status, 'unavailable');
    assert.equal(stateOf(down.body).surveyor, 'restarting');
    assert.equal(stateOf(down.body).publisher, 'running');
    assert.equal(down.body.actors.find((a) => a.id === 'surveyor')!.lastExit?.reason, 'crashed');

    assert.equal((await back).restarts, 1);
    const up = await healthz(http.url);
    assert.equal(up.status, 200);
    assert.deepEqual(stateOf(up.body), { publisher: 'running', surveyor: 'running' });
    assert.equal(up.body.actors.find((a) => a.id === 'surveyor')!.restarts, 1);
  } finally {
    await close();
  }
});

test('/healthz is 503 once the supervisor has given up', async () => {
  const { server, http, close } = await startMonitoredServer({ ...FAST, supervision: { maxRestarts: 0 } });
  try {
    const failed = within(10_000, 'failure', new Promise((r) => server.once('failure', r)));
    await server.supervisor.injectFault('publisher', 'exit');
    await failed;
    const down = await healthz(http.url);
    assert.equal(down.status, 503);
    assert.ok(down.body.actors.every((a) => a.state !== 'running'), JSON.stringify(down.body));
  } finally {
    await close();
  }
});
