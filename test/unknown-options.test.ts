/**
 * Unknown option names are refused with InvalidOptionError naming the option and the
 * closest known one, in every options object (server, client, subscriber, supervision,
 * application supervisor, metrics, HTTP endpoint, dashboard monitor) and in the CLI's flags
 * and GOPHERDISCOVERY_* variables; nothing starts. The name lists are checked against their
 * interfaces at compile time (the @ts-expect-error lines below fail to compile otherwise).
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { parseCommand } from '../src/cli/args.js';
import { COMMANDS, main } from '../src/cli/main.js';
import { startHttpServer } from '../src/http/server.js';
import { ServerMonitor } from '../src/http/monitor.js';
import { createClient, createServer, createSupervisor, subscribe, type ClientOptions, type ServerOptions } from '../src/index.js';
import { APP_SUPERVISOR_OPTION_NAMES } from '../src/app-supervisor.js';
import { CLIENT_OPTION_NAMES } from '../src/client.js';
import { closeActorPool } from '../src/pool.js';
import { SERVER_OPTION_NAMES } from '../src/server.js';
import { SUBSCRIBE_OPTION_NAMES } from '../src/subscriber.js';
import { SUPERVISOR_OPTION_NAMES } from '../src/supervisor.js';
import { createServerMetrics } from '../src/metrics.js';
import { checkOptionNames, closestName, editDistance, optionNames } from '../src/options.js';
import { assertPortFree, FAST, tcpPair } from './helpers/endpoints.js';

after(() => closeActorPool());

interface Refusal {
  code: string;
  option?: string;
  suggestion?: string;
  message: string;
}

function refused(option: string, suggestion: string | undefined) {
  return (e: Refusal) => {
    assert.equal(e.code, 'ERR_INVALID_OPTION', e.message);
    assert.equal(e.option, option, e.message);
    assert.equal(e.suggestion, suggestion, e.message);
    assert.match(e.message, new RegExp(`unknown option "${option}"`));
    if (suggestion) assert.match(e.message, new RegExp(`did you mean "${suggestion}"\\?`));
    return true;
  };
}

test("the issue's examples: a server with an option it does not have or a misspelt `missedRound` does not start, and says why", async () => {
  const urls = await tcpPair();
  // The issue's `secret` becomes an option with shared-secret mode (issue 17); `password` stays unknown.
  await assert.rejects(createServer({ ...urls, password: 'x' } as ServerOptions), refused('password', undefined));
  await assert.rejects(createServer({ ...urls, missedRound: 3 } as ServerOptions), refused('missedRound', 'missedRounds'));
  await assert.rejects(createServer({ ...urls, ...FAST, pollTme: 10 } as ServerOptions), refused('pollTme', 'pollTime'));
  // An unknown name set to undefined is still an unknown name (a typo in a config file).
  await assert.rejects(createServer({ ...urls, surveytime: undefined } as ServerOptions), refused('surveytime', 'surveyTime'));
  await assert.rejects(createServer(null as unknown as ServerOptions), { code: 'ERR_INVALID_OPTION', message: /options must be an object, got null/ });
  await assertPortFree(urls.surveyUrl);
  await assertPortFree(urls.pubsubUrl);
});

test('client, subscriber, nested supervision and the application supervisor refuse unknown names too', async () => {
  const urls = await tcpPair();
  await assert.rejects(createClient({ ...urls, service: 'a', servce: 'b' } as ClientOptions), refused('servce', 'service'));
  await assert.rejects(createClient({ surveyUrl: urls.surveyUrl, service: 'a', pubsubURL: urls.pubsubUrl } as ClientOptions), refused('pubsubURL', 'pubsubUrl'));
  await assert.rejects(subscribe({ pubsubUrl: urls.pubsubUrl, staleAfter: 10 } as never), refused('staleAfter', 'staleAfterMs'));
  await assert.rejects(subscribe({ pubsubUrl: urls.pubsubUrl, supervision: { maxRestart: 1 } } as never), refused('maxRestart', 'maxRestarts'));
  await assert.rejects(createServer({ ...urls, supervision: { livenesIntervalMs: 5 } } as never), refused('livenesIntervalMs', 'livenessIntervalMs'));
  assert.throws(() => createSupervisor({ strategy: 'one_for_one', periodMS: 5 } as never), refused('periodMS', 'periodMs'));
  const app = createSupervisor({ supervision: { sliceMS: 5 } as never });
  await assert.rejects(app.createClient({ surveyUrl: urls.surveyUrl, service: 'a' }), refused('sliceMS', 'sliceMs'));
  await app.shutdown();
});

test('a supervision option given at the top level is told it belongs under `supervision` (server, client, subscriber, application supervisor)', async () => {
  const urls = await tcpPair();
  const misplaced = (e: Refusal) => {
    assert.equal(e.code, 'ERR_INVALID_OPTION', e.message);
    assert.equal(e.option, 'sharedThreads', e.message);
    assert.equal(e.suggestion, 'supervision', e.message);
    assert.match(e.message, /"sharedThreads" is an option of "supervision": give it as \{ supervision: \{ sharedThreads: \.\.\. \} \}/);
    return true;
  };
  assert.ok(SUPERVISOR_OPTION_NAMES.includes('sharedThreads'));
  await assert.rejects(createServer({ ...urls, sharedThreads: true } as never), misplaced);
  await assert.rejects(createClient({ surveyUrl: urls.surveyUrl, service: 'a', sharedThreads: true } as never), misplaced);
  await assert.rejects(subscribe({ pubsubUrl: urls.pubsubUrl, sharedThreads: true } as never), misplaced);
  assert.throws(() => createSupervisor({ sharedThreads: true } as never), misplaced);
  await assertPortFree(urls.surveyUrl);
  await assertPortFree(urls.pubsubUrl);
});

test('metrics, the HTTP endpoint and the dashboard monitor refuse unknown names', async () => {
  const urls = await tcpPair();
  const server = await createServer({ ...urls, ...FAST });
  try {
    assert.throws(() => createServerMetrics(server, { processMetric: true } as never), refused('processMetric', 'processMetrics'));
    const metrics = createServerMetrics(server);
    await assert.rejects(startHttpServer({ port: 0, server, metrics, heartbeat: 5 } as never), refused('heartbeat', 'heartbeatMs'));
    assert.throws(() => new ServerMonitor(server, { timelineSise: 5 } as never), refused('timelineSise', 'timelineSize'));
    metrics.detach();
  } finally {
    await server.close();
  }
});

test('every documented option is accepted: the lists hold exactly the interface names', async () => {
  assert.ok(SERVER_OPTION_NAMES.includes('missedRounds') && SERVER_OPTION_NAMES.includes('signal'));
  assert.ok(CLIENT_OPTION_NAMES.includes('staleAfterMs') && CLIENT_OPTION_NAMES.includes('service'));
  assert.ok(SUBSCRIBE_OPTION_NAMES.includes('bufferSize'));
  assert.ok(SUPERVISOR_OPTION_NAMES.includes('sliceMs') && SUPERVISOR_OPTION_NAMES.includes('maxRestarts'));
  assert.ok(APP_SUPERVISOR_OPTION_NAMES.includes('supervision'));
  for (const list of [SERVER_OPTION_NAMES, CLIENT_OPTION_NAMES, SUBSCRIBE_OPTION_NAMES, SUPERVISOR_OPTION_NAMES, APP_SUPERVISOR_OPTION_NAMES]) {
    assert.equal(new Set(list).size, list.length, 'no name listed twice');
  }
  // Compile-time: a list missing a name of its interface, or naming one it lacks, does not compile.
  interface Two {
    a?: number;
    b?: string;
  }
  optionNames<Two>()(['a', 'b']);
  // @ts-expect-error 'b' is missing
  optionNames<Two>()(['a']);
  // @ts-expect-error 'c' is not an option of Two
  optionNames<Two>()(['a', 'b', 'c']);
});

test('closestName: slips within a third of the name (at least 2 edits) are suggested, anything further is not', () => {
  assert.equal(editDistance('kitten', 'sitting'), 3);
  assert.equal(closestName('missedRound', SERVER_OPTION_NAMES), 'missedRounds');
  assert.equal(closestName('SURVEYTIME', SERVER_OPTION_NAMES), 'surveyTime');
  assert.equal(closestName('password', SERVER_OPTION_NAMES), undefined);
  assert.equal(closestName('x', ['y']), 'y');
  assert.throws(() => checkOptionNames('f', [], ['a']), /options must be an object, got an array/);
  assert.doesNotThrow(() => checkOptionNames('f', undefined, ['a']));
});

test('CLI: an unknown flag names the closest flag; an unknown GOPHERDISCOVERY_* variable is refused with the closest one', async () => {
  const run = async (argv: string[], env: NodeJS.ProcessEnv = {}) => {
    const err: string[] = [];
    const code = await main(argv, { out: () => {}, err: (l) => err.push(l), env, stop: new AbortController().signal });
    return { code, err: err.join('\n') };
  };
  const flag = await run(['server', '--survy-url', 'tcp://127.0.0.1:1']);
  assert.equal(flag.code, 2);
  assert.match(flag.err, /unknown option --survy-url \(did you mean --survey-url\?\)/);
  const env = await run(['server'], { GOPHERDISCOVERY_SURVY_URL: 'tcp://127.0.0.1:1' });
  assert.equal(env.code, 2);
  assert.match(env.err, /unknown environment variable GOPHERDISCOVERY_SURVY_URL; did you mean GOPHERDISCOVERY_SURVEY_URL\?/);
  // A variable of another command is not an error (one environment for several commands).
  assert.doesNotThrow(() => parseCommand(COMMANDS.watch!.spec, [], { GOPHERDISCOVERY_NAME: 'x' }, ['GOPHERDISCOVERY_NAME', 'GOPHERDISCOVERY_JSON']));
  assert.throws(() => parseCommand(COMMANDS.watch!.spec, [], { GOPHERDISCOVERY_JSONN: '1' }), /did you mean GOPHERDISCOVERY_JSON\?/);
});
