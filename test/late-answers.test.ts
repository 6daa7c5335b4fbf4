/**
 * Answers after the survey deadline, and answers to surveys never sent, against a
 * server in its own process. The Go original spins at 100 % CPU forever once an answer
 * arrives after the deadline; this server must drop such answers and stay idle between
 * rounds. CPU is measured as the server process's user + system time over a window of
 * rounds: a resource bound with a generous limit (well under one core), not a timing test.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, test, type TestContext } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { createClient } from '../src/index.js';
import { closeActorPool } from '../src/pool.js';
import { tcpPair } from './helpers/endpoints.js';
import { frame, RawSpPeer, RogueRespondent, SP_PROTOCOL, withSurveyId } from './helpers/raw-sp.js';
import { ServerProcess } from './helpers/server-process.js';
import { portOf } from './helpers/tcp-state.js';
import { eventually } from './helpers/wait.js';

after(() => closeActorPool());

/** 100 ms surveys with a 200 ms pause: an answer 150 ms after its survey lands in the pause, after the deadline. */
const TIMING = { surveyTime: 100, recvDeadline: 100, pollTime: 200 } as const;
const LATE_BY_MS = 150;
/** Far above an idle server (a few percent) and far below a spinning one (a whole core). */
const MAX_CORES = 0.35;
const WINDOW_ROUNDS = 12;
const DEADLINE = 20_000;

async function withServerProcess(t: TestContext, fn: (server: ServerProcess, surveyPort: number) => Promise<void>): Promise<void> {
  const urls = await tcpPair();
  // Three missed rounds before a drop: on a starved machine good-1 may miss one, which is not what is tested here.
  const server = await ServerProcess.start({ ...urls, ...TIMING, missedRounds: 3 });
  const good = await createClient({ ...urls, service: 'good-1' });
  try {
    await eventually(() => server.members.includes('good-1'), DEADLINE, 'good-1 listed by the server process');
    const idle = await server.cpuOverRounds(WINDOW_ROUNDS, DEADLINE);
    t.diagnostic(`idle: ${idle.cores.toFixed(3)} cores (${idle.cpuMs.toFixed(0)} ms CPU in ${idle.wallMs.toFixed(0)} ms)`);
    await fn(server, portOf(urls.surveyUrl));
    const { stats, health } = await server.snapshot();
    assert.ok(server.alive, 'the server process is alive');
    for (const h of health) assert.ok(h.state === 'running' && h.restarts === 0, `${h.name}: ${h.state}, ${h.restarts} restarts`);
    assert.ok(stats.rounds >= 2 * WINDOW_ROUNDS, `${stats.rounds} rounds`);
    for (const members of server.changes) {
      for (const m of members) assert.equal(m, 'good-1', `only good-1 was ever listed: ${JSON.stringify(members)}`);
    }
    await eventually(() => server.members.includes('good-1'), DEADLINE, 'good-1 listed at the end');
  } finally {
    await good.close();
    await server.close();
  }
}

test('answers after the survey deadline are dropped, and the server does not spin', async (t) => {
  await withServerProcess(t, async (server, surveyPort) => {
    let previous: number | undefined;
    const rogue = await RogueRespondent.open(surveyPort, async (id) => {
      // The attack itself is a timing: answer after this survey's deadline (in the pause
      // before the next survey), and answer the previous survey once this one is out.
      const replies = previous === undefined ? [] : [{ id: previous, body: 'late-to-the-last-one' }];
      previous = id;
      await delay(LATE_BY_MS);
      return [...replies, { id, body: 'late-1' }, { id, body: 'late-2' }];
    });
    try {
      await eventually(() => rogue.surveys >= 2, DEADLINE, 'the rogue to answer late twice');
      const attacked = await server.cpuOverRounds(WINDOW_ROUNDS, DEADLINE);
      t.diagnostic(`late answers: ${attacked.cores.toFixed(3)} cores (${attacked.cpuMs.toFixed(0)} ms CPU in ${attacked.wallMs.toFixed(0)} ms)`);
      assert.ok(rogue.surveys >= WINDOW_ROUNDS, `the rogue answered ${rogue.surveys} surveys late`);
      assert.ok(attacked.cores < MAX_CORES, `the server used ${attacked.cores.toFixed(3)} cores`);
      const { stats } = await server.snapshot();
      assert.equal(Object.values(stats.refused).reduce((a, b) => a + b, 0), 0, 'late answers never reach the round, not even as refusals');
    } finally {
      await rogue.stop();
    }
  });
});

test('answers to surveys never sent (forged ids, short bodies) are dropped, and the server does not spin', async (t) => {
  await withServerProcess(t, async (server, surveyPort) => {
    const rogue = await RawSpPeer.open(surveyPort, SP_PROTOCOL.respondent);
    let sent = 0;
    let running = true;
    // It never reads a survey: it just sends answers, 50 every 20 ms.
    const flood = (async () => {
      while (running && !rogue.isClosed) {
        const batch = Array.from({ length: 50 }, (_, i) => {
          if (i % 5 === 0) return frame(randomBytes(i % 4)); // shorter than a survey id
          const id = randomBytes(4).readUInt32BE(0) | (i % 2 === 0 ? 0x80000000 : 0); // with and without the high bit
          return frame(withSurveyId(id, `forged-${i}`));
        });
        rogue.write(Buffer.concat(batch));
        sent += batch.length;
        await delay(20);
      }
    })();
    try {
      const attacked = await server.cpuOverRounds(WINDOW_ROUNDS, DEADLINE);
      t.diagnostic(`forged answers: ${attacked.cores.toFixed(3)} cores while ${sent} were sent`);
      assert.ok(sent >= 1000, `${sent} forged answers sent`);
      assert.ok(attacked.cores < MAX_CORES, `the server used ${attacked.cores.toFixed(3)} cores`);
    } finally {
      running = false;
      await flood;
      rogue.destroy();
    }
  });
});
