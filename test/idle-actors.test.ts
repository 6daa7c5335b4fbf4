/**
 * Waiting on readiness (the default), actors at rest do not run: a respondent or subscriber
 * with nothing to receive waits on its socket (its own thread's event loop watches the
 * socket's NN_RCVFD), instead of waking every sliceMs to poll. Counted, not timed: the actor's `wakeups` stat (times it
 * was woken to receive) stays put while nothing arrives, and moves when something does.
 * A waiting actor's thread is free: it answers liveness pings and stops at once.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { closeActorPool } from '../src/pool.js';
import { PeerSocket, startActor, type ActorProbe } from '../src/testing/index.js';
import { freePort } from './helpers/endpoints.js';
import { eventually } from './helpers/wait.js';

after(() => closeActorPool());

/** How long "at rest" is watched: 40 slices of the old polling loop (50 ms). */
const REST_MS = 2000;

const url = async () => `tcp://127.0.0.1:${await freePort()}`;

async function wakeups(probe: ActorProbe<'respondent'> | ActorProbe<'subscriber'>): Promise<number> {
  // Counted from the first wake-up on: absent until then (a message already queued when the
  // actor first receives is taken without waiting, so it wakes nothing).
  const w = (await probe.status(10_000)).stats.wakeups;
  assert.ok(w === undefined || typeof w === 'number', 'the actor counts its wake-ups');
  return w ?? 0;
}

/** The wake-up count once it has stopped moving: what was already sent has landed. */
async function settledWakeups(probe: ActorProbe<'respondent'> | ActorProbe<'subscriber'>, what: string): Promise<number> {
  let before = await wakeups(probe);
  await eventually(
    async () => {
      const now = await wakeups(probe);
      const settled = now === before;
      before = now;
      return settled;
    },
    10_000,
    what,
    200,
  );
  return before;
}

/** Surveys until one is answered (the respondent is still dialling at first). */
async function answerOne(surveyor: PeerSocket): Promise<Buffer> {
  for (let i = 0; i < 200; i++) {
    surveyor.send('');
    const answer = await surveyor.recv(100);
    if (answer) return answer;
  }
  throw new Error('no answer to 200 surveys');
}

for (const inline of [false, true]) {
  test(`respondent${inline ? ' (inline)' : ''}: at rest between surveys it is never woken; a survey wakes it and is answered`, async () => {
    const u = await url();
    const surveyor = PeerSocket.bind('surveyor', u).surveyDeadline(200);
    const probe = await startActor('respondent', { urls: [u], service: 'idle-svc' }, { inline });
    try {
      assert.equal((await answerOne(surveyor)).toString(), 'idle-svc');
      // On a loaded machine answerOne may have sent a second survey before the first was
      // answered: let every survey already sent land before the window starts.
      const before = await settledWakeups(probe, 'the surveys already sent to land');
      // An observation window, not a synchronisation: nothing is sent during it.
      await delay(REST_MS);
      assert.equal(await wakeups(probe), before, `woken while nothing arrived for ${REST_MS} ms`);
      assert.equal((await answerOne(surveyor)).toString(), 'idle-svc');
      await eventually(async () => (await wakeups(probe)) > before, 10_000, 'the next survey to wake it');
      assert.equal(probe.run.hasExited, false);
    } finally {
      surveyor.close();
      await probe.stop();
    }
  });
}

test('subscriber: at rest between lists it is never woken; a list wakes it and is delivered', async () => {
  const u = await url();
  const pub = PeerSocket.bind('pub', u);
  const probe = await startActor('subscriber', { url: u, maxListBytes: 1 << 20 });
  try {
    const first = probe.next('list', { timeoutMs: 10_000 });
    const publishing = setInterval(() => pub.send('a|b'), 20);
    try {
      assert.deepEqual((await first).members, ['a', 'b']);
    } finally {
      clearInterval(publishing);
    }
    // Lists sent before the interval was cleared may still be queued: let them land first.
    const before = await settledWakeups(probe, 'the queued lists to be drained');
    await delay(REST_MS);
    assert.equal(await wakeups(probe), before, `woken while nothing arrived for ${REST_MS} ms`);
    pub.send('a|b|c');
    assert.deepEqual((await probe.next('list', { where: (m) => m.members.length === 3, timeoutMs: 10_000 })).members, ['a', 'b', 'c']);
    assert.ok((await wakeups(probe)) > before);
  } finally {
    pub.close();
    await probe.stop();
  }
});

test('a waiting actor answers liveness pings, and stop() ends its wait: stopped, its socket closed', async () => {
  const u = await url();
  const surveyor = PeerSocket.bind('surveyor', u).surveyDeadline(200);
  const probe = await startActor('respondent', { urls: [u], service: 'idle-svc' });
  try {
    await answerOne(surveyor);
    for (let i = 0; i < 5; i++) assert.equal(typeof (await probe.run.ping(10_000)), 'number');
    const [socket] = probe.run.ledger.ids();
    assert.equal(typeof socket, 'number');
    const exit = await probe.stop(10_000);
    assert.equal(exit.reason, 'stopped', 'stopped gracefully, not terminated');
    assert.deepEqual(exit.report?.sockets, [], 'it closed its socket itself');
    assert.deepEqual(probe.run.ledger.ids(), []);
  } finally {
    surveyor.close();
    await probe.stop();
  }
});
