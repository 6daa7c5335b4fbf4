/**
 * `--announce-url` on the command line (README "Announcements"): `server --announce-url`
 * and a `client` given the URL through GOPHERDISCOVERY_ANNOUNCE_URL, as processes. The
 * server surveys on schedule once a minute: the client's join and its SIGTERM leave reach
 * `watch` within the test's 20 s deadlines only through announcements (the first round runs
 * at the server's start, before the client exists; the next one is 60 s away). With
 * `--join-url` too, both startup lines name the join URL.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { freePort } from './helpers/endpoints.js';
import { Cli, cleanEnv, parseJson, runCli, serverPorts } from './helpers/cli.js';

const joined = (name: string) => (l: string) => (parseJson(l)?.joined as string[] | undefined)?.includes(name) === true;
const left = (name: string) => (l: string) => (parseJson(l)?.left as string[] | undefined)?.includes(name) === true;

test('server --announce-url and a client with GOPHERDISCOVERY_ANNOUNCE_URL: joined and left long before the next scheduled round', async () => {
  const ports = await serverPorts();
  const announceUrl = `tcp://127.0.0.1:${await freePort()}`;
  const server = new Cli(['server', ...ports.flags, '--announce-url', announceUrl, '--poll-time', '60s', '--survey-time', '1s', '--recv-deadline', '1s']);
  const procs = [server];
  try {
    const started = await server.log(/^server running/, 'the server to start');
    assert.equal(started.announceUrl, announceUrl);
    assert.match(String(started.msg), new RegExp(`announce ${announceUrl}`));
    const watch = new Cli(['watch', '--pubsub-url', ports.pubsubUrl, '--json']);
    procs.push(watch);
    await watch.log(/^watching/, 'watch to subscribe');
    const client = new Cli(['client', '--name', 'hello-cli', '--survey-url', ports.surveyUrl], cleanEnv({ GOPHERDISCOVERY_ANNOUNCE_URL: announceUrl }));
    procs.push(client);
    await watch.line(joined('hello-cli'), 'the client to join (announced)');
    assert.deepEqual(await client.stop('SIGTERM'), { code: 0, signal: null });
    await watch.line(left('hello-cli'), 'the client to leave (its bye)');
  } finally {
    await Promise.all(procs.map((p) => p.stop('SIGTERM')));
  }
});

test('server --join-url and a client with GOPHERDISCOVERY_JOIN_URL: both startup lines name the join URL (field and text), and the client is listed', async () => {
  const ports = await serverPorts();
  const announceUrl = `tcp://127.0.0.1:${await freePort()}`;
  const joinUrl = `tcp://127.0.0.1:${await freePort()}`;
  const server = new Cli(['server', ...ports.flags, '--announce-url', announceUrl, '--join-url', joinUrl, '--poll-time', '60s', '--survey-time', '1s', '--recv-deadline', '1s']);
  const procs = [server];
  try {
    const started = await server.log(/^server running/, 'the server to start');
    assert.equal(started.joinUrl, joinUrl);
    assert.match(String(started.msg), new RegExp(`announce ${announceUrl}, join ${joinUrl}, `));
    const watch = new Cli(['watch', '--pubsub-url', ports.pubsubUrl, '--json']);
    procs.push(watch);
    await watch.log(/^watching/, 'watch to subscribe');
    const client = new Cli(['client', '--name', 'join-cli', '--survey-url', ports.surveyUrl, '--announce-url', announceUrl], cleanEnv({ GOPHERDISCOVERY_JOIN_URL: joinUrl }));
    procs.push(client);
    const line = await client.log(/^client "join-cli" answering surveys/, 'the client to start');
    assert.equal(line.joinUrl, joinUrl);
    assert.equal(line.announceUrl, announceUrl);
    assert.match(String(line.msg), new RegExp(`, announcing to ${announceUrl}, joining through ${joinUrl}$`));
    await watch.line(joined('join-cli'), 'the client to join (its join survey)');
  } finally {
    await Promise.all(procs.map((p) => p.stop('SIGTERM')));
  }
});

test('a malformed --announce-url is a usage error naming the flag and the URL (exit 2), as a malformed --survey-url is', async () => {
  for (const command of [['client', '--name', 'x'], ['server', '--http', 'off']]) {
    const r = await runCli([...command, '--announce-url', 'not-a-url']);
    assert.equal(r.code, 2, r.stderr.join('\n'));
    assert.match(r.stderr.join('\n'), /^gopherdiscovery: --announce-url: invalid URL "not-a-url"/m);
  }
});
