/** The command line's option parsing: durations, addresses, flags over environment variables, help. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { envName, helpText, parseCommand, parseDuration, parseHttpAddress, UsageError } from '../src/cli/args.js';
import { COMMANDS } from '../src/cli/main.js';
import { formatChange } from '../src/cli/watch.js';

test('durations accept ms, s, m and bare milliseconds', () => {
  assert.equal(parseDuration('--poll-time', '250ms'), 250);
  assert.equal(parseDuration('--poll-time', '1s'), 1000);
  assert.equal(parseDuration('--poll-time', '1.5s'), 1500);
  assert.equal(parseDuration('--poll-time', '2m'), 120_000);
  assert.equal(parseDuration('--poll-time', '40'), 40);
});

test('bad durations are usage errors naming the flag', () => {
  for (const bad of ['', 'fast', '1h', '-1s', '0', '0ms', '1.5ms', '1 s s', '99999999s']) {
    assert.throws(
      () => parseDuration('--survey-time', bad),
      (e: Error) => e instanceof UsageError && e.message.startsWith('--survey-time: '),
      JSON.stringify(bad),
    );
  }
});

test('the dashboard address is host:port, http://host:port, [v6]:port or off', () => {
  assert.deepEqual(parseHttpAddress('--http', '127.0.0.1:8080'), { host: '127.0.0.1', port: 8080 });
  assert.deepEqual(parseHttpAddress('--http', 'http://localhost:0/'), { host: 'localhost', port: 0 });
  assert.deepEqual(parseHttpAddress('--http', '[::1]:9000'), { host: '::1', port: 9000 });
  assert.equal(parseHttpAddress('--http', 'off'), null);
  for (const bad of ['8080', 'localhost', 'localhost:http', '127.0.0.1:70000', 'https://127.0.0.1:1', '::1:80']) {
    assert.throws(() => parseHttpAddress('--http', bad), UsageError, bad);
  }
});

test('a flag beats its environment variable, which fills a missing flag', () => {
  const spec = COMMANDS.server!.spec;
  const env = { GOPHERDISCOVERY_SURVEY_URL: 'tcp://127.0.0.1:1', GOPHERDISCOVERY_POLL_TIME: '3s', GOPHERDISCOVERY_HTTP: '' };
  const o = parseCommand(spec, ['--survey-url', 'tcp://127.0.0.1:2'], env);
  assert.equal(o.string('survey-url'), 'tcp://127.0.0.1:2');
  assert.equal(o.from['survey-url'], '--survey-url');
  assert.equal(o.duration('poll-time'), 3000);
  assert.equal(o.from['poll-time'], 'GOPHERDISCOVERY_POLL_TIME');
  // An empty variable counts as unset.
  assert.equal(o.string('http'), undefined);
});

test('a bad value from the environment names the variable', () => {
  const o = parseCommand(COMMANDS.server!.spec, [], { GOPHERDISCOVERY_RECV_DEADLINE: 'soon' });
  assert.throws(() => o.duration('recv-deadline'), /^UsageError: GOPHERDISCOVERY_RECV_DEADLINE: "soon" is not a duration/);
  assert.throws(() => parseCommand(COMMANDS.watch!.spec, [], { GOPHERDISCOVERY_JSON: 'maybe' }), /GOPHERDISCOVERY_JSON="maybe" is not a boolean/);
  assert.equal(parseCommand(COMMANDS.watch!.spec, [], { GOPHERDISCOVERY_JSON: 'yes' }).bool('json'), true);
});

test('unknown flags, stray arguments and missing values are one-line usage errors', () => {
  const spec = COMMANDS.client!.spec;
  const cases: Array<[string[], RegExp]> = [
    [['--nme', 'x'], /^client: unknown option --nme \(did you mean --name\?\); see gopherdiscovery client --help$/],
    [['x'], /^client: unexpected argument x;/],
    [['--name'], /^client: --name needs a value;/],
    [['--json=1'], /^client: --json takes no value;/],
    [['--name', ''], /^client: --name must not be empty$/],
  ];
  for (const [argv, message] of cases) {
    assert.throws(() => parseCommand(spec, argv, {}), (e: Error) => e instanceof UsageError && message.test(e.message) && !e.message.includes('\n'), argv.join(' '));
  }
});

test("every command's help lists every flag with its environment variable", () => {
  for (const command of Object.values(COMMANDS)) {
    const help = helpText(command.spec);
    for (const o of command.spec.options) {
      assert.ok(help.includes(`--${o.flag}`), `${command.spec.name} --${o.flag}`);
      assert.ok(help.includes(envName(o.flag)), `${command.spec.name} ${envName(o.flag)}`);
    }
  }
  assert.equal(envName('survey-url'), 'GOPHERDISCOVERY_SURVEY_URL');
});

test('watch prints joined, left and the full list on one line', () => {
  assert.equal(
    formatChange({ time: 'T', joined: ['b'], left: ['c'], members: ['a', 'b'] }),
    'T  joined: b  left: c  members (2): a, b',
  );
  assert.equal(formatChange({ time: 'T', joined: [], left: ['a'], members: [] }), 'T  joined: -  left: a  members (0): -');
});
