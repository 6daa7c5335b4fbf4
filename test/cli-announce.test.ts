/**
 * `--announce-url` on the command line (README "Announcements"): `server --announce-url`
 * and a `client` given the URL through GOPHERDISCOVERY_ANNOUNCE_URL, as processes. The
 * server surveys on schedule once a minute: the client's join and its SIGTERM leave reach
 * `watch` within the test's 20 s deadlines only through announcements (the first round runs
 * at the server's start, before the client exists; the next one is 60 s away).
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

test('a malformed --announce-url is a usage error naming the flag and the URL (exit 2), as a malformed --survey-url is', async () => {
  for (const command of [['client', '--name', 'x'], ['server', '--http', 'off']]) {
    const r = await runCli([...command, '--announce-url', 'not-a-url']);
    assert.equal(r.code, 2, r.stderr.join('\n'));
    assert.match(r.stderr.join('\n'), /^gopherdiscovery: --announce-url: invalid URL "not-a-url"/m);
  }
});
