/**
 * Each actor alone in its worker thread, driven by its typed messages and a real SP peer
 * socket in the test thread, without the public API or a supervisor.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { MessageChannel } from 'node:worker_threads';
import { ActorRun } from '../src/actor-run.js';
import type { ActorOut, PipeMessage } from '../src/actors/messages.js';
import { closeActorPool } from '../src/pool.js';
import { freePort } from './helpers/endpoints.js';
import { Peer } from './helpers/peer.js';
import { within } from './helpers/wait.js';

after(() => closeActorPool());

function nextMessage<T extends ActorOut['type']>(run: ActorRun, type: T, ms: number, pred: (m: Extract<ActorOut, { type: T }>) => boolean = () => true) {
  return within(
    ms,
    `a ${type} message from ${run.name}`,
    new Promise<Extract<ActorOut, { type: T }>>((resolve) => {
      const off = run.onMessage((m) => {
        if (m.type === type && pred(m as Extract<ActorOut, { type: T }>)) {
          off();
          resolve(m as Extract<ActorOut, { type: T }>);
        }
      });
    }),
  );
}

const url = async () => `tcp://127.0.0.1:${await freePort()}`;

test('surveyor alone: surveys a real RESPONDENT, reports the round, hands the set down its pipe', async () => {
  const surveyUrl = await url();
  const pipe = new MessageChannel();
  const piped: PipeMessage[] = [];
  pipe.port2.on('message', (m: PipeMessage) => piped.push(m));
  const run = new ActorRun('surveyor-alone', {
    kind: 'surveyor', url: surveyUrl, surveyTime: 50, recvDeadline: 50, pollTime: 20,
    maxMembers: 100, maxNameBytes: 64, missedRounds: 1, initialMembers: [],
  }, { pipe: pipe.port1 });
  await run.ready;
  const respondent = Peer.connect('respondent', surveyUrl);
  try {
    // Answer every survey that arrives until the surveyor reports the peer as a member.
    const joined = nextMessage(run, 'round', 10_000, (m) => m.members?.includes('peer-a') ?? false);
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
    const round = await joined;
    assert.deepEqual(round.members, ['peer-a']);
    assert.deepEqual(round.joined, ['peer-a']);
    assert.ok(round.answers >= 1);
    // Initial set sent when the pipe was attached, then the change.
    assert.deepEqual(piped.at(-1), { type: 'members', members: ['peer-a'] });
    answering = false;
    await answer;
    const left = await nextMessage(run, 'round', 10_000, (m) => m.left.includes('peer-a'));
    assert.deepEqual(left.members, []);
    const report = await run.call('status', 1000);
    assert.equal(report.status, 'active');
    assert.ok(report.stats.rounds! >= 2);
  } finally {
    respondent.close();
    assert.equal((await run.stop(2000)).reason, 'stopped');
    pipe.port2.close();
  }
});

test('publisher alone: publishes what its pipe brings, byte-for-byte, once per change', async () => {
  const pubsubUrl = await url();
  const pipe = new MessageChannel();
  const run = new ActorRun('publisher-alone', { kind: 'publisher', url: pubsubUrl, lastPublished: [] }, { pipe: pipe.port1 });
  await run.ready;
  const sub = Peer.connect('sub', pubsubUrl);
  try {
    // The SUB may still be connecting: change the set until one publication gets through.
    let got: Buffer | null = null;
    let members: string[] = [];
    for (let i = 0; !got && i < 200; i++) {
      members = ['b', 'a', `n${i}`];
      pipe.port2.postMessage({ type: 'members', members });
      got = await sub.recv(50);
    }
    assert.ok(got, 'no publication reached the subscriber');
    assert.equal(got.toString('utf8'), [...members].sort().join('|'));
    // The same set again publishes nothing; the empty set is the empty message.
    const publishedBefore = (await run.call('status', 1000)).stats.published;
    pipe.port2.postMessage({ type: 'members', members });
    pipe.port2.postMessage({ type: 'members', members: [] });
    const empty = await sub.recv(5000);
    assert.ok(empty);
    assert.equal(empty.byteLength, 0);
    assert.equal((await run.call('status', 1000)).stats.published, publishedBefore! + 1);
  } finally {
    sub.close();
    await run.stop(2000);
    pipe.port2.close();
  }
});

test('respondent alone: answers a real SURVEYOR with its service string', async () => {
  const surveyUrl = await url();
  const surveyor = Peer.bind('surveyor', surveyUrl);
  surveyor.socket.setSurveyDeadline(200);
  const run = new ActorRun('respondent-alone', { kind: 'respondent', urls: [surveyUrl], service: 'http://10.0.0.1:8080' });
  await run.ready;
  try {
    const answered = nextMessage(run, 'answered', 10_000);
    let answer: Buffer | null = null;
    for (let i = 0; !answer && i < 100; i++) {
      surveyor.send('any body is ignored');
      answer = await surveyor.recv(100);
    }
    assert.ok(answer, 'no answer');
    assert.equal(answer.toString('utf8'), 'http://10.0.0.1:8080');
    assert.ok((await answered).surveys >= 1);
  } finally {
    surveyor.close();
    await run.stop(2000);
  }
});

test('subscriber alone: decodes lists from a real PUB and refuses garbage', async () => {
  const pubsubUrl = await url();
  const pub = Peer.bind('pub', pubsubUrl);
  const run = new ActorRun('subscriber-alone', { kind: 'subscriber', url: pubsubUrl, maxListBytes: 1 << 20 });
  await run.ready;
  try {
    const list = nextMessage(run, 'list', 10_000);
    let received = false;
    void list.then(() => (received = true), () => {});
    for (let i = 0; !received && i < 200; i++) {
      pub.send('client1|client3');
      await new Promise((r) => setTimeout(r, 25)); // publish rate while the SUB connects, not synchronisation
    }
    assert.deepEqual((await list).members, ['client1', 'client3']);
    const refused = nextMessage(run, 'refused', 5000);
    pub.send(Buffer.from([0xff, 0xfe, 0x7c, 0x00]));
    assert.match((await refused).reason, /UTF-8/);
    const empty = nextMessage(run, 'list', 5000);
    pub.send('');
    assert.deepEqual((await empty).members, []);
  } finally {
    pub.close();
    await run.stop(2000);
  }
});

test('an actor that cannot bind reports the nanomsg error and leaves nothing open', async () => {
  const taken = await url();
  const holder = Peer.bind('pub', taken);
  try {
    const run = new ActorRun('publisher-in-use', { kind: 'publisher', url: taken, lastPublished: [] });
    await assert.rejects(run.ready, { code: 'EADDRINUSE', message: new RegExp(taken.replace(/[.:/]/g, '\\$&')) });
    const exit = await run.exited;
    assert.equal(exit.reason, 'start-failed');
    assert.deepEqual(run.ledger.ids(), []);
  } finally {
    holder.close();
  }
});
