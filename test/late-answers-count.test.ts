/**
 * Late answers: an answer that arrives after its survey's deadline. With `lateAnswers:
 * 'count'` (opt-in) the surveyor uses a raw SURVEYOR socket and counts it in the next
 * round; with 'drop' (the original, and the default) nanomsg discards it. The wire is the same either way:
 * a cooked RESPONDENT sees an empty survey and its answer is read.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { surveyHeader } from '../src/actors/surveyor.js';
import { InvalidOptionError } from '../src/errors.js';
import { closeActorPool } from '../src/pool.js';
import { createServer } from '../src/server.js';
import { freePort, PeerSocket, startActor, tcpPair } from '../src/testing/index.js';
import { within } from './helpers/wait.js';

after(() => closeActorPool());

const url = async () => `tcp://127.0.0.1:${await freePort()}`;
const surveyorArgs = (u: string, lateAnswers: 'count' | 'drop') => ({
  url: u, surveyTime: 100, recvDeadline: 100, pollTime: 400, maxMembers: 100, maxNameBytes: 64, missedRounds: 1, initialMembers: [],
  schedule: 'fixed-rate' as const, eagerJoin: true, lateAnswers,
});

type SurveyorProbe = Awaited<ReturnType<typeof startActor<'surveyor'>>>;

/** Waits until `k` round reports arrived after output number `from`. */
async function roundsSince(probe: SurveyorProbe, from: number, k: number): Promise<void> {
  await within(10_000, `${k} rounds`, (async () => {
    while (probe.outputs.slice(from).filter((m) => m.type === 'round').length < k) await probe.next('round', { timeoutMs: 10_000 });
  })());
}

test('a raw survey carries the SP header of a cooked one: the id, big endian, top bit set', () => {
  assert.deepEqual([...surveyHeader(5)], [0x80, 0, 0, 5]);
  assert.deepEqual([...surveyHeader(0x7fffffff)], [0xff, 0xff, 0xff, 0xff]);
});

for (const lateAnswers of ['count', 'drop'] as const) {
  test(`lateAnswers '${lateAnswers}': an answer sent two rounds after its survey ${lateAnswers === 'count' ? 'counts in the next round' : 'is dropped'}`, async () => {
    const u = await url();
    const probe = await startActor('surveyor', surveyorArgs(u, lateAnswers));
    const respondent = PeerSocket.connect('respondent', u);
    try {
      const survey = await within(10_000, 'a survey', (async () => {
        for (;;) {
          const s = await respondent.recv(50);
          if (s) return s;
        }
      })());
      assert.equal(survey.byteLength, 0, 'a cooked respondent sees an empty survey body in both modes');
      // Two rounds end after the survey arrived: its own round is certainly over.
      await roundsSince(probe, probe.outputs.length, 2);
      // The respondent read no survey since: nanomsg sends the answer back with the first survey's id.
      assert.ok(respondent.send('late'));
      if (lateAnswers === 'count') {
        const change = await probe.next('change', { timeoutMs: 10_000 });
        assert.deepEqual([change.joined, change.left], [['late'], []]);
      } else {
        const from = probe.outputs.length;
        await roundsSince(probe, from, 2);
        assert.deepEqual(probe.outputs.filter((m) => m.type === 'change'), [], 'no change: the late answer was discarded');
        assert.ok(probe.outputs.slice(from).every((m) => m.type !== 'round' || m.members === 0));
      }
    } finally {
      respondent.close();
      await probe.stop();
    }
  });
}

test('round reports say how long the send took and when the last answer came', async () => {
  const u = await url();
  const probe = await startActor('surveyor', surveyorArgs(u, 'count'));
  const respondent = PeerSocket.connect('respondent', u);
  let answering = true;
  const answer = (async () => {
    while (answering) if (await respondent.recv(10)) respondent.send('on-time');
  })();
  try {
    const round = await probe.next('round', { where: (m) => m.answers >= 1, timeoutMs: 10_000 });
    assert.ok(round.sendMs >= 0 && round.lastAnswerMs >= round.sendMs && round.lastAnswerMs <= round.durationMs, JSON.stringify(round));
    assert.equal(round.members, 1);
  } finally {
    answering = false;
    await answer;
    respondent.close();
    await probe.stop();
  }
});

test("createServer refuses a lateAnswers that is not 'count' or 'drop'", async () => {
  await assert.rejects(createServer({ ...(await tcpPair()), lateAnswers: 'sometimes' as never }), InvalidOptionError);
});
