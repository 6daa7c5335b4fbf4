/**
 * `gopherdiscovery client --warn-unsurveyed`: a client that no survey reaches (a wrong
 * --survey-url, or no server there yet) says so once, at warn level; when a server comes
 * and surveys it, it logs its first answer at info with how long it waited. A client whose
 * --survey-url is a server's --join-url says so too (a join survey reached it).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Cli, runCli, serverPorts } from './helpers/cli.js';
import { freePort } from './helpers/endpoints.js';

test('client warns once when no survey reaches it, then logs its first answer once a server runs there', async () => {
  const ports = await serverPorts();
  const client = new Cli(['client', '--name', 'lonely', '--survey-url', ports.surveyUrl, '--warn-unsurveyed', '300ms', '--log-format', 'json']);
  const procs = [client];
  try {
    const warning = await client.log(/^no survey has reached this client/, 'the warning');
    assert.equal(warning.level, 40, 'warn');
    assert.equal(warning.surveyUrl, ports.surveyUrl);
    assert.equal(warning.waitedMs, 300);
    assert.match(String(warning.msg), new RegExp(`in 300 ms: is a server running at ${ports.surveyUrl}\\?`));
    // The server comes: the client's respondent was dialling all along.
    const server = new Cli(['server', ...ports.flags, '--poll-time', '500ms', '--survey-time', '400ms', '--recv-deadline', '400ms']);
    procs.push(server);
    const first = await client.log(/^answered its first survey/, 'the first answer, at info', 30_000);
    assert.equal(first.level, 30, 'info');
    assert.equal(first.surveys, 1);
    assert.ok(typeof first.afterMs === 'number' && first.afterMs >= 300, String(first.afterMs));
    assert.deepEqual(await client.stop('SIGTERM'), { code: 0, signal: null });
    const warnings = client.stderr.all.filter((l) => l.includes('no survey has reached'));
    assert.equal(warnings.length, 1, warnings.join('\n'));
  } finally {
    await Promise.all(procs.map((p) => p.stop('SIGTERM')));
  }
});

test('--warn-unsurveyed takes a duration or off; anything else is a usage error naming the flag (exit 2)', async () => {
  for (const bad of ['0', 'soon', '-1s']) {
    const r = await runCli(['client', '--name', 'x', '--warn-unsurveyed', bad]);
    assert.equal(r.code, 2, r.stderr.join('\n'));
    assert.match(r.stderr.join('\n'), /^gopherdiscovery: --warn-unsurveyed: /m, bad);
  }
  // off: the client runs (and stops cleanly) without the timer.
  const quiet = new Cli(['client', '--name', 'quiet', '--survey-url', (await serverPorts()).surveyUrl, '--warn-unsurveyed', 'off', '--log-format', 'json']);
  try {
    await quiet.log(/^client "quiet" answering surveys/, 'the client with off to start');
    assert.deepEqual(await quiet.stop('SIGTERM'), { code: 0, signal: null });
  } finally {
    await quiet.stop('SIGTERM');
  }
  const help = await runCli(['client', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout.join('\n'), /--warn-unsurveyed DUR\|off\s+log a warning when no survey has reached this client .*default 15s/);
});

test('client whose --survey-url is the server\'s --join-url warns that a join survey reached it', async () => {
  const ports = await serverPorts();
  const announceUrl = `tcp://127.0.0.1:${await freePort()}`;
  const joinUrl = `tcp://127.0.0.1:${await freePort()}`;
  const server = new Cli(['server', ...ports.flags, '--announce-url', announceUrl, '--join-url', joinUrl, '--poll-time', '60s']);
  const procs = [server];
  try {
    await server.log(/^server running/, 'the server to start');
    const client = new Cli(['client', '--name', 'crossed', '--survey-url', joinUrl, '--announce-url', announceUrl, '--log-format', 'json']);
    procs.push(client);
    const warning = await client.log(/^a join survey reached this client through /, 'the misdial warning', 30_000);
    assert.equal(warning.level, 40, 'warn');
    assert.equal(warning.surveyUrl, joinUrl);
    assert.match(String(warning.msg), /that is a server's --join-url, not its --survey-url/);
  } finally {
    await Promise.all(procs.map((p) => p.stop('SIGTERM')));
  }
});
