/**
 * Adaptive detection (`detection: 'adaptive'`, the default): a member that goes silent is
 * dropped at its own answer deadline, mid-round, well before the survey's end; a member
 * whose answers come late, but inside the survey, is never dropped. Real sockets, a real
 * server and library clients; a raw respondent (test/helpers/raw-sp.ts) for the slow member.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { createClient, createServer, subscribe, type Client, type MembershipChange } from '../src/index.js';
import { closeActorPool } from '../src/pool.js';
import { tcpPair } from './helpers/endpoints.js';
import { RogueRespondent } from './helpers/raw-sp.js';
import { portOf } from './helpers/tcp-state.js';
import { recordServerEvents, type ServerEvent } from './helpers/server-events.js';
import { eventually, within } from './helpers/wait.js';

after(() => closeActorPool());

const DEADLINE = 30_000;

type Event = ServerEvent;

const record = recordServerEvents;

const roundsSeen = (events: Event[]) => events.filter((e) => e.kind === 'round').length;

/**
 * Two clients; one closes once the server has seen it answer a few rounds (enough for
 * an adaptive deadline). Returns the change that dropped it and the events before it.
 */
async function closeOne(detection: 'adaptive' | 'deadline'): Promise<{ drop: MembershipChange; before: Event[]; events: Event[] }> {
  const urls = await tcpPair();
  // A long survey (a quarter of it, 500 ms, is the least slack a member gets) so that
  // "dropped at its own deadline" and "dropped at the survey's end" are far apart.
  const server = await createServer({ ...urls, surveyTime: 2000, recvDeadline: 2000, pollTime: 2500, detection });
  const events = record(server);
  const clients: Client[] = [];
  try {
    for (const service of ['stays', 'goes']) clients.push(await createClient({ ...urls, service }));
    await eventually(() => server.members().length === 2, DEADLINE, 'both clients listed');
    const listedAt = roundsSeen(events);
    await eventually(() => roundsSeen(events) >= listedAt + 4, DEADLINE, 'four rounds with both answering');
    const dropped = within(
      DEADLINE,
      "'goes' dropped",
      new Promise<MembershipChange>((resolve) => server.on('change', (c) => c.left.includes('goes') && resolve(c))),
    );
    await clients[1].close();
    const drop = await dropped;
    await eventually(() => events.some((e) => e.kind === 'round' && e.round.round >= drop.round), DEADLINE, `round ${drop.round} to end`);
    const i = events.findIndex((e) => e.kind === 'change' && e.change === drop);
    return { drop, before: events.slice(0, i), events };
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await server.close();
  }
}

test('adaptive: a closed member is published as gone mid-round, at its own deadline, before its round ends', async () => {
  const { drop, before, events } = await closeOne('adaptive');
  assert.deepEqual([drop.left, drop.members], [['goes'], ['stays']]);
  assert.equal(drop.eager, true, 'published mid-round, not at the round end');
  assert.ok(!before.some((e) => e.kind === 'round' && e.round.round >= drop.round), `round ${drop.round} had ended before the drop`);
  assert.ok(events.some((e) => e.kind === 'round' && e.round.round === drop.round), 'its round ended after the drop');
  assert.ok(!events.some((e) => e.kind === 'change' && e.change.left.includes('stays')), 'the other member never left');
  const health = events.flatMap((e) => (e.kind === 'round' ? [e.round.localHealth] : []));
  assert.ok(health.every((h) => h !== undefined && Number.isInteger(h) && h >= 0 && h <= 8), `round events carry the local health: ${JSON.stringify(health)}`);
});

test("deadline (the original's rule): a closed member is published as gone when its round ends", async () => {
  const { drop, before } = await closeOne('deadline');
  assert.deepEqual([drop.left, drop.members, drop.eager], [['goes'], ['stays'], false]);
  assert.ok(before.every((e) => e.kind !== 'round' || e.round.localHealth === undefined), 'no local health without adaptive detection');
  assert.ok(!before.some((e) => e.kind === 'round' && e.round.round >= drop.round));
});

test('adaptive: a member whose answers come late (inside the survey) and irregularly is never dropped, and no list flaps', async () => {
  const urls = await tcpPair();
  const server = await createServer({ ...urls, surveyTime: 1000, recvDeadline: 1000, pollTime: 1200 });
  const events = record(server);
  const watcher = await subscribe({ pubsubUrl: urls.pubsubUrl });
  const lists: string[][] = [];
  watcher.on('change', (l) => lists.push(l));
  const quick = await createClient({ ...urls, service: 'quick' });
  // Answers 100 ms, then 450 ms after the survey, in turn: every answer is inside the
  // 1,000 ms survey, but the late ones come 350 ms after the early ones — more than the
  // 250 ms floor, so a deadline learnt from the early answers alone would accuse it.
  let answered = 0;
  const slow = await RogueRespondent.open(portOf(urls.surveyUrl), async () => {
    await delay(answered++ % 2 === 0 ? 100 : 450);
    return [{ body: 'slow' }];
  });
  try {
    await eventually(() => lists.some((l) => l.includes('slow') && l.includes('quick')), DEADLINE, 'both listed');
    const from = answered;
    await eventually(() => answered >= from + 12, 4 * DEADLINE, 'twelve more answers from the slow member');
    const rounds = roundsSeen(events);
    await eventually(() => roundsSeen(events) >= rounds + 1, DEADLINE, 'the round of the last answer to end');
    const changes = events.flatMap((e) => (e.kind === 'change' ? [e.change] : []));
    assert.deepEqual(changes.filter((c) => c.left.length > 0), [], 'no member was ever dropped');
    const first = lists.findIndex((l) => l.includes('slow') && l.includes('quick'));
    for (const l of lists.slice(first)) assert.deepEqual([...l].sort(), ['quick', 'slow'], `a list flapped: ${JSON.stringify(lists)}`);
  } finally {
    await slow.stop();
    await Promise.all([quick.close(), watcher.close()]);
    await server.close();
  }
});
