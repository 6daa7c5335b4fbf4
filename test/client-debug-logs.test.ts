/**
 * When a client becomes known to its server: the library's 'announced' (hello) and
 * 'answered' events, and `gopherdiscovery client --log-level debug`, which logs the hello
 * to each announce URL and the first survey answered.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createClient, createServer } from '../src/index.js';
import { closeActorPool } from '../src/pool.js';
import { Cli, serverPorts } from './helpers/cli.js';
import { freePort, tcpPair } from './helpers/endpoints.js';
import { parsePrometheus, valueOf } from './helpers/prometheus.js';
import { eventually } from './helpers/wait.js';

after(() => closeActorPool());

test("a client emits 'answered' for each survey it answers, counting from 1", async () => {
  const urls = await tcpPair();
  const server = await createServer({ ...urls, surveyTime: 200, recvDeadline: 200, pollTime: 300 });
  const client = await createClient({ surveyUrl: urls.surveyUrl, service: 'counts' });
  try {
    const seen: number[] = [];
    client.on('answered', ({ surveys }) => seen.push(surveys));
    await eventually(() => seen.length >= 3, 30_000, "3 'answered' events");
    // Listening started after the client was created: the first answer may have come before.
    const from = seen[0]!;
    assert.ok(from >= 1, String(from));
    assert.deepEqual(seen.slice(0, 3), [from, from + 1, from + 2]);
  } finally {
    await client.close();
    await server.close();
  }
});

test('client --log-level debug logs its hello to the announce URL and its first answer, once', async () => {
  const ports = await serverPorts();
  const announceUrl = `tcp://127.0.0.1:${await freePort()}`;
  // The hello is said only until a survey reaches the client: a scheduled round or a
  // connection hint's round coming first would leave no hello to log (it failed so once under
  // load with 500 ms rounds). So: no connection hints, and the original schedule, whose first
  // round comes a poll time (8 s) after the start; the hello's round comes long before.
  const server = new Cli(['server', ...ports.flags, '--announce-url', announceUrl, '--schedule', 'original', '--poll-time', '8s', '--survey-time', '400ms', '--recv-deadline', '400ms', '--no-connection-hints']);
  const procs = [server];
  try {
    await server.log(/^server running/, 'the server to start');
    const client = new Cli(['client', '--name', 'debugged', '--survey-url', ports.surveyUrl, '--announce-url', announceUrl, '--log-level', 'debug', '--log-format', 'json']);
    procs.push(client);
    const hello = await client.log(/^announced hello to /, 'the hello logged at debug', 30_000);
    assert.equal(hello.level, 20, 'debug');
    assert.equal(hello.url, announceUrl);
    assert.equal(hello.msg, `announced hello to ${announceUrl}`);
    const first = await client.log(/^answered its first survey/, 'the first answer logged at debug', 30_000);
    assert.equal(first.level, 20, 'debug');
    assert.equal(first.surveys, 1);
    // Later answers are not logged: once the server has received 3 answers (this is its only
    // member), the client logged whatever it logs for the 2nd before that 3rd was even sent.
    const answersReceived = async () => valueOf(parsePrometheus(await (await fetch(new URL('metrics', ports.httpUrl))).text()), 'gopherdiscovery_round_answers_sum');
    // The hello's round and two scheduled ones (8 s apart).
    await eventually(async () => (await answersReceived()) >= 3, 60_000, 'the server to receive 3 answers', 50);
    assert.deepEqual(await client.stop('SIGTERM'), { code: 0, signal: null });
    const answeredLines = client.stderr.all.filter((l) => l.includes('answered its first survey'));
    assert.equal(answeredLines.length, 1, answeredLines.join('\n'));
  } finally {
    await Promise.all(procs.map((p) => p.stop('SIGTERM')));
  }
});
