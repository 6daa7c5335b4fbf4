/**
 * A client's 'answered' event at rest (README "At rest"): each answer reported crosses to
 * the main thread, waking it once a round, so the respondent reports every answer only
 * while a listener is attached to 'answered', and else its first one only.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createClient, createServer, type RoundInfo } from '../src/index.js';
import { closeActorPool } from '../src/pool.js';
import { tcpPair } from './helpers/endpoints.js';
import { eventually } from './helpers/wait.js';

after(() => closeActorPool());

test("answers are reported to the main thread only while someone listens to 'answered' (the first always)", async () => {
  const urls = await tcpPair();
  const server = await createServer({ ...urls, surveyTime: 250, recvDeadline: 250, pollTime: 300 });
  // Rounds the client answered: the server's count, independent of what the client reports.
  let answeredRounds = 0;
  server.on('round', (r: RoundInfo) => (answeredRounds += r.answers > 0 ? 1 : 0));
  const client = await createClient({ surveyUrl: urls.surveyUrl, service: 'quiet' });
  try {
    const respondent = client.supervisor.actor('respondent')!;
    const reported: number[] = [];
    respondent.onMessage((m) => m.type === 'answered' && reported.push(m.surveys));
    // Nobody listens: after the first answer, rounds go by without a report.
    await eventually(() => answeredRounds >= 4, 30_000, 'the client to answer 4 rounds');
    assert.ok(reported.every((n) => n === 1), `only the first answer reported: ${reported.join(',')}`);

    // A listener: every answer from now on, counted as the respondent counts them.
    const seen: number[] = [];
    const listener = ({ surveys }: { surveys: number }) => seen.push(surveys);
    client.on('answered', listener);
    await eventually(() => seen.length >= 3, 30_000, "3 'answered' events once listened to");
    assert.ok(seen[0]! >= 4, `the count includes the answers not reported: ${seen.join(',')}`);
    assert.deepEqual(seen.slice(0, 3), [seen[0], seen[0]! + 1, seen[0]! + 2]);

    // Removed: quiet again (one report may already be on its way).
    client.off('answered', listener);
    const at = reported.length;
    const from = answeredRounds;
    await eventually(() => answeredRounds >= from + 4, 30_000, '4 more answered rounds');
    assert.ok(reported.length - at <= 1, `reports after the listener went: ${reported.slice(at).join(',')}`);
  } finally {
    await client.close();
    await server.close();
  }
});
