/**
 * Admission rules and shared-secret mode from the command line: `server --accept REGEX
 * --secret-file PATH`, a client with the secret in GOPHERDISCOVERY_SECRET, one without
 * it, one whose name the pattern refuses, and `watch --secret`; bad flags exit 2.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Cli, cleanEnv, parseJson, runCli, serverPorts, STEADY_FLAGS } from './helpers/cli.js';

const SECRET = 'cli-secret-0123456789abcdef';

test('server --accept --secret-file: the client with the key and a matching name is listed, the others are not', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gd-secret-'));
  const file = join(dir, 'keyring');
  writeFileSync(file, `# the keyring, first line signs\n${SECRET}\n\nan-older-secret-0123456789\n`);
  const ports = await serverPorts();
  const server = new Cli(['server', ...ports.flags, ...STEADY_FLAGS, '--accept', '^ok-[0-9]+$', '--secret-file', file]);
  const procs = [server];
  try {
    await server.log(/^server running/, 'the server to start');
    const watch = new Cli(['watch', '--pubsub-url', ports.pubsubUrl, '--json', '--secret', SECRET]);
    procs.push(watch);
    await watch.log(/^watching/, 'watch to subscribe');
    // A watch without the secret cannot read the sealed lists: it says so instead of printing nothing.
    const plainWatch = new Cli(['watch', '--pubsub-url', ports.pubsubUrl, '--json']);
    procs.push(plainWatch);
    const withKey = { ...cleanEnv({ GOPHERDISCOVERY_SECRET: SECRET }) };
    for (const [name, env] of [
      ['ok-1', withKey],
      ['no-key-1', cleanEnv()],
      ['not-ok', withKey],
      ['ok-2', cleanEnv()],
    ] as const) {
      const c = new Cli(['client', '--name', name, '--survey-url', ports.surveyUrl], env);
      procs.push(c);
      await c.log(/^client/, `client ${name} to start`);
    }
    const line = await watch.line((l) => ((parseJson(l)?.members as string[] | undefined) ?? []).includes('ok-1'), 'ok-1 listed at watch');
    // Refusals are logged by the server as warnings, by reason.
    await server.log(/refused .*not accepted/, 'the not-accepted refusal logged');
    await server.log(/refused .*no MAC/, 'the unauthenticated refusal logged');
    assert.deepEqual(parseJson(line)?.members, ['ok-1']);
    await plainWatch.log(/^refused \d+ published lists? \(malformed\): .*give --secret/, 'the plain watch to warn about the sealed lists');
    assert.deepEqual(plainWatch.stdout.all, [], 'the plain watch printed no list');
    // watch may first print the current state (empty, by a heartbeat); no other name ever appears.
    for (const l of watch.stdout.all) assert.ok([[], ['ok-1']].some((m) => JSON.stringify(m) === JSON.stringify(parseJson(l)?.members)), `watch printed ${l}`);
  } finally {
    await Promise.all(procs.map((p) => p.stop('SIGTERM')));
  }
});

test('bad secret flags exit 2 with the reason: too short, both --secret and --secret-file, a missing file, a bad --accept', async () => {
  const short = await runCli(['client', '--name', 'x', '--secret', 'short'], cleanEnv());
  assert.equal(short.code, 2);
  assert.match(short.stderr.join('\n'), /at least 16 are needed/);
  assert.ok(!short.stderr.join('\n').includes('"short"'), 'the secret is not echoed');
  const both = await runCli(['watch', '--secret', SECRET, '--secret-file', '/nonexistent'], cleanEnv());
  assert.equal(both.code, 2);
  assert.match(both.stderr.join('\n'), /both give secrets/);
  const missing = await runCli(['watch', '--secret-file', '/nonexistent/keyring'], cleanEnv());
  assert.equal(missing.code, 2);
  assert.match(missing.stderr.join('\n'), /cannot read .*ENOENT/);
  const pattern = await runCli(['server', '--accept', '(unclosed'], cleanEnv());
  assert.equal(pattern.code, 2);
  assert.match(pattern.stderr.join('\n'), /not a regular expression/);
});
