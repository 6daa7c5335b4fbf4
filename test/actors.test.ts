/**
 * Each actor alone, driven by its typed messages and a real SP peer socket in the test
 * thread, through the test kit (gopherdiscovery/testing): no public API, no supervisor.
 * Each actor runs in its own worker; the last tests run actors inline in this thread.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { MessageChannel } from 'node:worker_threads';
import { closeActorPool } from '../src/pool.js';
import { freePort, PeerSocket, startActor } from '../src/testing/index.js';

after(() => closeActorPool());

const url = async () => `tcp://127.0.0.1:${await freePort()}`;
const surveyorArgs = (u: string) => ({
  url: u, surveyTime: 50, recvDeadline: 50, pollTime: 60, maxMembers: 100, maxNameBytes: 64, missedRounds: 1, initialMembers: [],
  schedule: 'fixed-rate' as const, eagerJoin: true,
});

// In a worker with this library's defaults (fixed-rate rounds, eager joins); inline with the original's behaviour.
for (const inline of [false, true]) {
  const where = inline ? 'inline in the test thread, original schedule' : 'in its worker, fixed-rate with eager joins';

  test(`surveyor alone (${where}): surveys a real RESPONDENT, reports changes, hands the set down its pipe`, async () => {
    const u = await url();
    const args = inline ? { ...surveyorArgs(u), schedule: 'original' as const, eagerJoin: false } : surveyorArgs(u);
    const probe = await startActor('surveyor', args, { inline });
    const respondent = PeerSocket.connect('respondent', u);
    let answering = true;
    const answer = (async () => {
      while (answering) {
        const survey = await respondent.recv(20);
        if (survey) {
          assert.equal(survey.byteLength, 0, 'the survey body is empty');
          respondent.send('peer-a');
        }
      }
    })();
    try {
      const change = await probe.next('change', { timeoutMs: 10_000 });
      assert.deepEqual([change.members, change.joined, change.left, change.eager], [['peer-a'], ['peer-a'], [], !inline]);
      const round = await probe.next('round', { where: (m) => m.round === change.round });
      assert.ok(round.answers >= 1 && round.durationMs > 0 && round.members === 1);
      // At start the (empty) current set went down the pipe, then the change.
      assert.deepEqual(await probe.pipe!.next(), { type: 'members', members: [] });
      assert.deepEqual(await probe.pipe!.next(), { type: 'members', members: ['peer-a'] });
      answering = false;
      await answer;
      const left = await probe.next('change', { timeoutMs: 10_000 });
      assert.deepEqual([left.members, left.left, left.eager], [[], ['peer-a'], false]);
      assert.deepEqual(await probe.pipe!.next(), { type: 'members', members: [] });
      const report = await probe.status();
      assert.equal(report.status, 'active');
      assert.ok(report.stats.rounds! >= 2);
    } finally {
      answering = false;
      await answer;
      respondent.close();
      assert.equal((await probe.stop()).reason, 'stopped');
    }
  });
}

test('surveyor alone: a new pipe (a restarted publisher) receives the current set at once', async () => {
  const probe = await startActor('surveyor', { ...surveyorArgs(await url()), initialMembers: ['x', 'y'] }, { pipe: false });
  try {
    const channel = new MessageChannel();
    const received = new Promise((resolve) => channel.port2.once('message', resolve));
    probe.send({ type: 'attach-pipe', port: channel.port1 });
    assert.deepEqual(await received, { type: 'members', members: ['x', 'y'] });
    channel.port2.close();
  } finally {
    await probe.stop();
  }
});

test('publisher alone: publishes what its pipe brings, byte-for-byte, once per change', async () => {
  const u = await url();
  const probe = await startActor('publisher', { url: u, lastPublished: [], republishMs: 0 });
  const sub = PeerSocket.connect('sub', u);
  try {
    // The SUB may still be connecting: change the set until one publication gets through.
    let got: Buffer | null = null;
    let members: string[] = [];
    for (let i = 0; !got && i < 200; i++) {
      members = ['b', 'a', `n${i}`];
      probe.pipe!.send({ type: 'members', members });
      got = await sub.recv(50);
    }
    assert.ok(got, 'no publication reached the subscriber');
    assert.equal(got.toString('utf8'), [...members].sort().join('|'));
    // The same set again publishes nothing; the empty set is the empty message.
    probe.pipe!.send({ type: 'members', members });
    probe.pipe!.send({ type: 'members', members: [] });
    const empty = await sub.recv(5000);
    assert.ok(empty);
    assert.equal(empty.byteLength, 0);
    const published = await probe.next('published', { where: (m) => m.members?.length === 0 });
    assert.equal(published.bytes, 0);
    assert.equal(published.heartbeat, false);
    const sets = probe.outputs.flatMap((m) => (m.type === 'published' ? [m.members!.join('|')] : []));
    assert.equal(new Set(sets).size, sets.length, `a set was published twice: ${sets}`);
  } finally {
    sub.close();
    await probe.stop();
  }
});

test('publisher alone: with republishMs, the unchanged list goes out again every period, same bytes', async () => {
  const u = await url();
  const probe = await startActor('publisher', { url: u, lastPublished: ['a', 'b'], republishMs: 30 });
  const sub = PeerSocket.connect('sub', u);
  try {
    // Without any change, heartbeats carry the restarted publisher's last list.
    const first = await sub.recv(10_000);
    assert.equal(first?.toString(), 'a|b');
    const second = await sub.recv(5_000);
    assert.equal(second?.toString(), 'a|b');
    const beat = await probe.next('published', { where: (m) => m.heartbeat });
    assert.equal(beat.members, undefined);
    assert.equal(beat.bytes, 3);
  } finally {
    sub.close();
    await probe.stop();
  }
});

test('respondent alone: answers a real SURVEYOR with its service string, whatever the survey body', async () => {
  const u = await url();
  const surveyor = PeerSocket.bind('surveyor', u).surveyDeadline(200);
  const probe = await startActor('respondent', { urls: [u], service: 'http://10.0.0.1:8080' });
  try {
    let answer: Buffer | null = null;
    for (let i = 0; !answer && i < 100; i++) {
      surveyor.send('any body is ignored');
      answer = await surveyor.recv(100);
    }
    assert.ok(answer, 'no answer');
    assert.equal(answer.toString('utf8'), 'http://10.0.0.1:8080');
    assert.ok((await probe.next('answered', { timeoutMs: 5000 })).surveys >= 1);
  } finally {
    surveyor.close();
    await probe.stop();
  }
});

test('subscriber alone: decodes lists from a real PUB and refuses garbage', async () => {
  const u = await url();
  const pub = PeerSocket.bind('pub', u);
  const probe = await startActor('subscriber', { url: u, maxListBytes: 1 << 20 });
  try {
    // Publish until the SUB, still connecting, hears one.
    const first = probe.next('list', { timeoutMs: 10_000 });
    const publishing = setInterval(() => pub.send('client1|client3'), 20);
    try {
      assert.deepEqual((await first).members, ['client1', 'client3']);
    } finally {
      clearInterval(publishing);
    }
    pub.send(Buffer.from([0xff, 0xfe, 0x7c, 0x00]));
    assert.match((await probe.next('refused')).reason, /UTF-8/);
    pub.send('');
    assert.deepEqual((await probe.next('list', { where: (m) => m.members.length === 0 })).members, []);
  } finally {
    pub.close();
    await probe.stop();
  }
});

test('an actor that cannot bind rejects with the nanomsg error and leaves nothing open', async () => {
  const taken = await url();
  const holder = PeerSocket.bind('pub', taken);
  try {
    await assert.rejects(startActor('publisher', { url: taken, lastPublished: [], republishMs: 0 }), (e: Error & { code: string }) => {
      assert.equal(e.code, 'EADDRINUSE');
      assert.ok(e.message.includes(taken), e.message);
      return true;
    });
  } finally {
    holder.close();
  }
  // The port is free again: an actor binds it.
  const probe = await startActor('publisher', { url: taken, lastPublished: [], republishMs: 0 });
  await probe.stop();
});

test('faults: a worker actor takes every fault; an inline one refuses those that would kill the test thread', async () => {
  const worker = await startActor('respondent', { urls: [await url()], service: 'w' });
  await worker.injectFault('reject');
  const exit = await worker.exited;
  assert.equal(exit.reason, 'crashed');
  assert.match(exit.error!.message, /injected fault: reject/);

  const inline = await startActor('respondent', { urls: [await url()], service: 'i' }, { inline: true });
  await assert.rejects(inline.injectFault('exit'), { code: 'ERR_INVALID_OPTION' });
  await inline.injectFault('reject');
  assert.equal((await inline.exited).reason, 'crashed');
});
