/**
 * The test kit for users' own code: a fake discovery server that a real createClient /
 * subscribe connect to, driven from the test (publish a list now, see who answers a survey
 * now); and PeerSocket.recv waiting on the socket's descriptor instead of polling.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createClient, subscribe } from '../src/index.js';
import { PeerSocket, startFakeServer } from '../src/testing/index.js';
import { freePort } from './helpers/endpoints.js';
import { until } from './helpers/wait.js';

test('fake server: a real client is seen answering, then receives exactly the lists the test publishes', async () => {
  const fake = await startFakeServer();
  const client = await createClient({ surveyUrl: fake.surveyUrl, pubsubUrl: fake.pubsubUrl, service: 'orders' });
  try {
    const answered = await fake.waitForAnswers(['orders']);
    assert.deepEqual(answered.members, ['orders']);
    assert.deepEqual(answered.answers.map((a) => a.toString()), ['orders']);
    const peers = client.peers()[Symbol.asyncIterator]();
    fake.publish(['billing', 'orders']);
    assert.deepEqual((await until(peers, (l) => l.length > 0, 10_000, 'the first list')).value, ['billing', 'orders']);
    fake.publish(['orders']);
    // Republished every 20 ms, yet the client yields each list once: the next is the change.
    assert.deepEqual((await until(peers, () => true, 10_000, 'the next list')).value, ['orders']);
    assert.deepEqual(fake.published, [['billing', 'orders'], ['orders']]);
    await client.close();
    assert.deepEqual((await fake.survey(300)).members, [], 'a closed client answers no survey');
  } finally {
    await client.close();
    await fake.close();
  }
});

test('fake server: a list published while a subscriber is still connecting reaches it', async () => {
  const fake = await startFakeServer();
  const sub = await subscribe({ pubsubUrl: fake.pubsubUrl });
  try {
    fake.publish(['a', 'b']);
    assert.deepEqual((await until(sub.changes()[Symbol.asyncIterator](), () => true, 10_000, 'a list')).value, ['a', 'b']);
  } finally {
    await sub.close();
    await fake.close();
  }
});

test('fake server: a survey is answered by every connected client, each name once, sorted', async () => {
  const fake = await startFakeServer();
  const clients = await Promise.all(['c', 'a', 'b'].map((service) => createClient({ surveyUrl: fake.surveyUrl, service })));
  try {
    const result = await fake.waitForAnswers(['a', 'b', 'c']);
    assert.deepEqual(result.members, ['a', 'b', 'c']);
    assert.equal(result.answers.length, 3);
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await fake.close();
  }
  await assert.rejects(async () => fake.survey(), /the fake server is closed/);
});

test('fake server: waitForAnswers names who never answered', async () => {
  const fake = await startFakeServer();
  try {
    await assert.rejects(fake.waitForAnswers(['ghost'], { deadlineMs: 50, timeoutMs: 300 }), /^Error: ghost did not answer a survey within 300 ms \(the last survey's answers: none\)$/);
  } finally {
    await fake.close();
  }
});

test('PeerSocket.recv waits on the socket without polling it, and returns a message as soon as it arrives', async () => {
  const url = `tcp://127.0.0.1:${await freePort()}`;
  const sub = PeerSocket.bind('sub', url);
  const pub = PeerSocket.connect('pub', url);
  // Every look at the socket, blocking or not.
  let looks = 0;
  const recvNow = sub.socket.recvNow.bind(sub.socket);
  const recv = sub.socket.recv.bind(sub.socket);
  sub.socket.recvNow = () => {
    looks++;
    return recvNow();
  };
  sub.socket.recv = (ms: number) => {
    looks++;
    return recv(ms);
  };
  try {
    // Nothing comes: one look at the start, one at the deadline, none in between.
    assert.equal(await sub.recv(500), null);
    assert.ok(looks <= 2, `${looks} looks at the socket during an idle 500 ms wait`);
    // Something comes: publish until the connection is up; the wait ends with the message.
    const publishing = setInterval(() => pub.send('hello'), 20);
    try {
      const m = await sub.recv(10_000);
      assert.equal(m?.toString(), 'hello');
    } finally {
      clearInterval(publishing);
    }
  } finally {
    pub.close();
    sub.close();
  }
});
