/**
 * Grace rounds (missedRounds): a member is dropped only after missing that many
 * consecutive surveys. A respondent under the test's control skips chosen surveys.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createServer, type MembershipChange } from '../src/index.js';
import { closeActorPool } from '../src/pool.js';
import { PeerSocket } from '../src/testing/index.js';
import { STEADY, tcpPair } from './helpers/endpoints.js';
import { within } from './helpers/wait.js';

after(() => closeActorPool());

test('with missedRounds 3, one or two skipped surveys keep a member; three drop it', async () => {
  const urls = await tcpPair();
  const server = await createServer({ ...urls, ...STEADY, surveyTime: 100, recvDeadline: 100, pollTime: 150, missedRounds: 3, eagerJoin: false });
  const respondent = PeerSocket.connect('respondent', urls.surveyUrl);
  const changes: MembershipChange[] = [];
  server.on('change', (c) => changes.push(c));
  // Answer or skip surveys one by one, following the plan; returns once every survey of the plan was seen.
  const follow = async (plan: boolean[]) => {
    for (const answer of plan) {
      const survey = await within(10_000, 'a survey', (async () => {
        for (;;) if (await respondent.recv(1000)) return true;
      })());
      assert.ok(survey);
      if (answer) respondent.send('flaky');
    }
  };
  try {
    // Every round sends one survey, so the k-th survey after the joining round J is round J + k.
    const listed = within(10_000, 'flaky listed', new Promise<MembershipChange>((r) => server.on('change', (c) => c.members.includes('flaky') && r(c))));
    await follow([true]);
    const joinRound = (await listed).round;
    // Skip one, answer, skip two, answer: never three in a row.
    await follow([false, true, false, false, true, true]);
    const sixth = within(10_000, `round ${joinRound + 6}`, new Promise<void>((r) => server.on('round', (x) => x.round >= joinRound + 6 && r())));
    // Then it stops answering altogether: dropped at the end of the third missed round, not before.
    const dropped = within(15_000, 'flaky dropped', new Promise<MembershipChange>((r) => server.on('change', (c) => c.left.includes('flaky') && r(c))));
    await follow([false, false, false]);
    await sixth;
    assert.deepEqual(changes.slice(0, 1).map((c) => c.members), [['flaky']]);
    const drop = await dropped;
    assert.equal(changes.length, 2, `the member flapped: ${JSON.stringify(changes)}`);
    assert.equal(drop.round, joinRound + 9, `dropped in round ${drop.round}, joined in ${joinRound}`);
  } finally {
    respondent.close();
    await server.close();
  }
});

test('with the default missedRounds of 1 (the original), one skipped survey drops the member', async () => {
  const urls = await tcpPair();
  const server = await createServer({ ...urls, ...STEADY, surveyTime: 100, recvDeadline: 100, pollTime: 150, eagerJoin: false });
  const respondent = PeerSocket.connect('respondent', urls.surveyUrl);
  try {
    // Generous: both deadlines run from here, through the server's first rounds on a loaded machine.
    const joined = within(30_000, 'joined', new Promise<void>((r) => server.on('change', (c) => c.members.includes('once') && r())));
    const left = within(30_000, 'left', new Promise<MembershipChange>((r) => server.on('change', (c) => c.left.includes('once') && r(c))));
    for (let answered = false; !answered; ) {
      if (await respondent.recv(1000)) answered = respondent.send('once');
    }
    await joined;
    const change = await left;
    assert.deepEqual(change.members, []);
  } finally {
    respondent.close();
    await server.close();
  }
});
