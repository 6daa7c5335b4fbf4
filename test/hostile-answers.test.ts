/**
 * A rogue respondent (raw TCP, test/helpers/raw-sp.ts) answering a running server's
 * surveys with what no well-behaved client sends: oversized answers, a lying length,
 * invalid UTF-8, names containing `|`, empty names, control characters, and thousands of
 * distinct names. None of it may reach a list, stall a round, or drop a good client.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { type RefusalReason } from '../src/index.js';
import { closeActorPool } from '../src/pool.js';
import { assertServedWell, DEADLINE, STEADY_TIMING, withDiscovery } from './helpers/discovery.js';
import { RawSpPeer, RogueRespondent, SP_PROTOCOL, withSurveyId } from './helpers/raw-sp.js';
import { eventually, within } from './helpers/wait.js';

after(() => closeActorPool());

test('an answer over the size limit closes that peer\'s connection, and so does a length prefix that lies', async () => {
  await withDiscovery({}, async (d) => {
    // maxNameBytes 1024 by default: the SURVEYOR reads at most 1024 + 1024 bytes per message.
    const huge = await RogueRespondent.open(d.surveyPort, () => [{ body: Buffer.alloc(4096, 0x61) }]);
    await within(DEADLINE, 'the connection of the oversized answer to close', huge.peer.closed);
    assert.ok(huge.surveys >= 1, 'it did get a survey to answer');

    const liar = await RawSpPeer.open(d.surveyPort, SP_PROTOCOL.respondent);
    const survey = await liar.next(DEADLINE, 'a survey');
    const length = Buffer.alloc(8);
    length.writeBigUInt64BE(2n ** 62n); // "here come 4 EiB": the server must not wait for (or allocate) them
    liar.write(Buffer.concat([length, withSurveyId(survey.readUInt32BE(0), 'x')]));
    await within(DEADLINE, 'the connection with the lying length to close', liar.closed);

    await assertServedWell(d);
    assert.equal(Object.values(d.server.stats().refused).reduce((a, b) => a + b, 0), 0, 'nothing reached the server to be refused');
    await huge.stop();
  });
});

test('invalid UTF-8, "|", empty names, control characters and long names are refused, counted by reason, never listed', async () => {
  await withDiscovery({ maxNameBytes: 64 }, async (d) => {
    const refusedEvents: Array<{ code: RefusalReason; count: number }> = [];
    d.server.on('refused', (r) => refusedEvents.push(r));
    const garbage: Array<[RefusalReason, Buffer]> = [
      ['not-utf8', Buffer.from([0x67, 0x6f, 0xc3, 0x28, 0xff])],
      ['separator', Buffer.from('evil|good-1')], // split, it would list "evil" and a forged "good-1"
      ['empty', Buffer.alloc(0)],
      ['control-character', Buffer.from('bad\nname')],
      ['too-long', Buffer.alloc(65, 0x62)], // 65 bytes: over maxNameBytes, well under the socket's limit
    ];
    const rogue = await RogueRespondent.open(d.surveyPort, () => garbage.map(([, body]) => ({ body })));
    try {
      await eventually(() => garbage.every(([code]) => d.server.stats().refused[code] >= 2), DEADLINE, 'two rounds of refusals of every kind');
      assert.equal(rogue.peer.isClosed, false, 'refusing an answer does not cut the peer off');
      const surveysBefore = rogue.surveys;
      await eventually(() => rogue.surveys > surveysBefore, DEADLINE, 'the rogue to be surveyed again');
    } finally {
      await rogue.stop();
    }
    await assertServedWell(d);
    const stats = d.server.stats();
    for (const [code] of garbage) {
      const fromEvents = refusedEvents.filter((r) => r.code === code).reduce((a, r) => a + r.count, 0);
      assert.equal(stats.refused[code], fromEvents, `the ${code} count in stats() and in 'refused' events`);
    }
    assert.equal(stats.refused['member-cap'], 0);
  });
});

test('thousands of distinct names: the member cap holds, the listed members keep their places, rounds keep their pace', async () => {
  const maxMembers = 50;
  await withDiscovery({ maxMembers }, async (d) => {
    const roundMs: number[] = [];
    d.server.on('round', (r) => roundMs.push(r.durationMs));
    // Every survey, 3,000 names never seen before, all in one burst.
    const rogue = await RogueRespondent.open(d.surveyPort, (id) =>
      Array.from({ length: 3000 }, (_, i) => ({ body: `r-${id.toString(16)}-${i}` })),
    );
    try {
      await eventually(() => rogue.surveys >= 4 && d.server.stats().refused['member-cap'] >= 3 * 2950, DEADLINE, 'three floods refused');
    } finally {
      await rogue.stop();
    }
    for (const c of d.changes) assert.ok(c.members.length <= maxMembers, `${c.members.length} members listed`);
    assert.ok(d.changes.some((c) => c.members.length === maxMembers), 'the rogue filled the free places, and no more');
    // A round lasts at most its survey (plus a busy machine's slack): a flood cannot stretch it.
    assert.ok(Math.max(...roundMs) < STEADY_TIMING.surveyTime + 2000, `longest round ${Math.max(...roundMs)} ms`);
    await assertServedWell(d, (name) => name.startsWith('r-'));
  });
});
