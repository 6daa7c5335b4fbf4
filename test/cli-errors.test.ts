/**
 * How the command fails: usage errors exit 2 and runtime failures (a port in use) exit 1,
 * each with one line on stderr that says what is wrong, and nothing left bound. `--help`
 * works on every command.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { canBind, cleanEnv, occupy, runCli, serverPorts } from './helpers/cli.js';

const usageErrors: Array<[string[], RegExp, Record<string, string>?]> = [
  [[], /^gopherdiscovery: a command is required: server, client or watch/],
  [['serve'], /^gopherdiscovery: unknown command "serve"/],
  [['server', '--survey'], /^gopherdiscovery: server: unknown option --survey; see gopherdiscovery server --help$/],
  [['server', 'now'], /^gopherdiscovery: server: unexpected argument now/],
  [['server', '--poll-time', '2 seconds'], /^gopherdiscovery: --poll-time: "2 seconds" is not a duration \(e\.g\. 250ms, 1s, 2m\)$/],
  [['server', '--survey-time', '0'], /^gopherdiscovery: --survey-time: the duration must be greater than zero$/],
  [['server', '--http', 'localhost'], /^gopherdiscovery: --http: "localhost" is not host:port/],
  [['server', '--survey-url', 'tcp://xxx'], /^gopherdiscovery: --survey-url: invalid URL "tcp:\/\/xxx"/],
  [['server'], /^gopherdiscovery: GOPHERDISCOVERY_PUBSUB_URL: invalid URL "tcp:\/\/1\.2\.3"/, { GOPHERDISCOVERY_PUBSUB_URL: 'tcp://1.2.3' }],
  [['server', '--log-level', 'loud'], /^gopherdiscovery: --log-level: "loud" is not one of trace, debug/],
  [['server'], /^gopherdiscovery: GOPHERDISCOVERY_POLL_TIME: "later" is not a duration/, { GOPHERDISCOVERY_POLL_TIME: 'later' }],
  [['client'], /^gopherdiscovery: client: --name is required/],
  [['client', '--name', 'a|b', '--survey-url', 'tcp://127.0.0.1:1'], /^gopherdiscovery: --name: invalid service name: .*\|/],
  [['client', '--survey-url', 'tcp://127.0.0.1:1'], /^gopherdiscovery: GOPHERDISCOVERY_NAME: invalid service name: .*\|/, { GOPHERDISCOVERY_NAME: 'a|b' }],
  // A negative number is the flag's value (refused by its own check), not a forgotten one.
  [['server', '--poll-time', '-5'], /^gopherdiscovery: --poll-time: "-5" is not a duration/],
  [['server', '--missed-rounds', '-1'], /^gopherdiscovery: --missed-rounds: "-1" is not a whole number >= 1$/],
  [['client', '--name', 'x', '--pubsub-url', 'udp://127.0.0.1:1'], /^gopherdiscovery: --pubsub-url: invalid URL "udp:\/\/127\.0\.0\.1:1"/],
  [['watch', '--json=yes'], /^gopherdiscovery: watch: --json takes no value/],
  [['watch', '--pubsub-url'], /^gopherdiscovery: watch: --pubsub-url needs a value/],
  // A flag of another command is named as theirs.
  [['server', '--warn-unsurveyed', '2s'], /^gopherdiscovery: server: unknown option --warn-unsurveyed \(a client option\); see gopherdiscovery server --help$/],
  [['watch', '--name', 'x'], /^gopherdiscovery: watch: unknown option --name \(a client option\); see gopherdiscovery watch --help$/],
  // A duration flag that takes words too names them.
  [['client', '--name', 'x', '--warn-unsurveyed', 'abc'], /^gopherdiscovery: --warn-unsurveyed: "abc" is not a duration \(e\.g\. 250ms, 1s, 2m\) or off$/],
  [['server', '--republish', 'soon'], /^gopherdiscovery: --republish: "soon" is not a duration \(e\.g\. 250ms, 1s, 2m\) or auto or off$/],
  // An option error about a value from a variable names the variable, as a bad URL's does.
  [['client', '--name', 'x', '--survey-url', 'tcp://127.0.0.1:1'], /^gopherdiscovery: GOPHERDISCOVERY_JOIN_URL needs --announce-url/, { GOPHERDISCOVERY_JOIN_URL: 'tcp://127.0.0.1:2' }],
  [['server', '--http', 'off'], /^gopherdiscovery: GOPHERDISCOVERY_JOIN_URL needs --announce-url/, { GOPHERDISCOVERY_JOIN_URL: 'tcp://127.0.0.1:2' }],
  [
    ['client', '--name', 'x', '--survey-url', 'tcp://127.0.0.1:1', '--announce-url', 'tcp://127.0.0.1:3'],
    /^gopherdiscovery: GOPHERDISCOVERY_JOIN_URL lists the same URL twice$/,
    { GOPHERDISCOVERY_JOIN_URL: 'tcp://127.0.0.1:2,tcp://127.0.0.1:2' },
  ],
  [
    ['client', '--name', 'x', '--survey-url', 'tcp://127.0.0.1:1', '--pubsub-url', 'tcp://127.0.0.1:1'],
    /^gopherdiscovery: --survey-url and --pubsub-url must differ: both are "tcp:\/\/127\.0\.0\.1:1"$/,
  ],
];

for (const [argv, message, env] of usageErrors) {
  test(`usage error: gopherdiscovery ${argv.join(' ') || '(no arguments)'}${env ? ` with ${Object.keys(env).join(' ')}` : ''} exits 2 with one line`, async () => {
    const r = await runCli(argv, cleanEnv(env));
    assert.equal(r.code, 2, `exit code; stderr: ${r.stderr.join('\n')}`);
    assert.equal(r.stderr.length, 1, `one line on stderr: ${JSON.stringify(r.stderr)}`);
    assert.match(r.stderr[0]!, message);
    assert.deepEqual(r.stdout, []);
  });
}

test('--help on every command exits 0 with its usage on stdout', async () => {
  const top = await runCli(['--help']);
  assert.equal(top.code, 0);
  assert.match(top.stdout[0]!, /^usage: gopherdiscovery <command>/);
  for (const command of ['server', 'client', 'watch']) {
    for (const flag of ['--help', '-h']) {
      const r = await runCli([command, flag]);
      assert.equal(r.code, 0, `${command} ${flag}`);
      assert.match(r.stdout[0]!, new RegExp(`^usage: gopherdiscovery ${command}`));
      assert.ok(r.stdout.some((l) => l.includes('GOPHERDISCOVERY_')), 'lists environment variables');
      assert.deepEqual(r.stderr, []);
    }
  }
});

for (const which of ['survey', 'pubsub', 'http'] as const) {
  test(`a ${which} port in use exits 1 with a message naming it, and leaves nothing bound`, async () => {
    const ports = await serverPorts();
    const busy = await occupy(ports[which]);
    try {
      const r = await runCli(['server', ...ports.flags, '--poll-time', '20ms', '--survey-time', '10ms']);
      assert.equal(r.code, 1, `exit code; stderr: ${r.stderr.join('\n')}`);
      const named = { survey: ports.surveyUrl, pubsub: ports.pubsubUrl, http: `http://127.0.0.1:${ports.http}/` }[which];
      const errors = r.stderr.filter((l) => l.startsWith('gopherdiscovery: '));
      assert.equal(errors.length, 1, r.stderr.join('\n'));
      assert.ok(errors[0]!.includes(named), `${errors[0]} names ${named}`);
      if (which !== 'http') assert.ok(errors[0]!.startsWith(`gopherdiscovery: --${which}-url: `), `${errors[0]} names the flag`);
      assert.match(errors[0]!, /EADDRINUSE/);
      // Nothing started half-way: the other two ports are free again.
      for (const other of (['survey', 'pubsub', 'http'] as const).filter((w) => w !== which)) {
        assert.ok(await canBind(ports[other]), `${other} port ${ports[other]} is free`);
      }
    } finally {
      await busy.close();
    }
  });
}

test('--version (and -V) prints the package version on stdout and exits 0', async () => {
  const { version } = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  for (const flag of ['--version', '-V']) {
    const r = await runCli([flag]);
    assert.equal(r.code, 0, flag);
    assert.deepEqual(r.stdout, [version]);
    assert.deepEqual(r.stderr, []);
  }
});
