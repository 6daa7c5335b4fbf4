/**
 * A bad option VALUE's InvalidOptionError carries `option`, as a bad option NAME's does,
 * so callers can branch on which option was refused: a supervision option by its own name
 * (as an unknown supervision name is), an option of several by the one to change.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createClient, createServer, createSupervisor, InvalidOptionError, subscribe } from '../src/index.js';
import { deserializeError, serializeError } from '../src/errors.js';
import { closeActorPool } from '../src/pool.js';
import { assertPortFree, tcpPair } from './helpers/endpoints.js';

after(() => closeActorPool());

/** Rejects with an InvalidOptionError whose `option` is `option` (and no suggestion: the name is right). */
function refusedOption(option: string) {
  return (e: unknown) => {
    assert.ok(e instanceof InvalidOptionError, `an InvalidOptionError: ${String(e)}`);
    assert.equal(e.code, 'ERR_INVALID_OPTION');
    assert.equal(e.option, option, e.message);
    assert.equal(e.suggestion, undefined);
    return true;
  };
}

test('createServer: each refused value names its option', async () => {
  const urls = await tcpPair();
  const cases: Array<[object, string]> = [
    [{ pollTime: -1 }, 'pollTime'],
    [{ surveyTime: 'x' }, 'surveyTime'],
    [{ recvDeadline: 0.5 }, 'recvDeadline'],
    [{ surveyTime: 90_000 }, 'surveyTime'],
    [{ surveyTime: 40, pollTime: 40 }, 'surveyTime'],
    [{ schedule: 'hourly' }, 'schedule'],
    [{ lateAnswers: 'keep' }, 'lateAnswers'],
    [{ detection: 'fast' }, 'detection'],
    [{ connectionHints: 'yes' }, 'connectionHints'],
    [{ listDigest: 1 }, 'listDigest'],
    [{ maxMembers: 0 }, 'maxMembers'],
    [{ missedRounds: 1.5 }, 'missedRounds'],
    [{ republishMs: -5 }, 'republishMs'],
    [{ accept: 5 }, 'accept'],
    [{ accept: ['a', 1] }, 'accept'],
    [{ secret: 'short' }, 'secret'],
    [{ secret: [] }, 'secret'],
    [{ announceUrl: 7 }, 'announceUrl'],
    [{ announceUrl: urls.surveyUrl }, 'announceUrl'],
    [{ pubsubUrl: urls.surveyUrl }, 'pubsubUrl'],
    [{ supervision: { sharedThreads: 'bogus' } }, 'sharedThreads'],
    [{ supervision: { waitOnReadiness: 'no' } }, 'waitOnReadiness'],
    [{ supervision: { livenessIntervalMs: -1 } }, 'livenessIntervalMs'],
    [{ supervision: { maxRestarts: -1 } }, 'maxRestarts'],
    [{ supervision: { strategy: 'one_for_none' } }, 'strategy'],
    [{ supervision: { minBackoffMs: 0 } }, 'minBackoffMs'],
    [{ supervision: { minBackoffMs: 500, maxBackoffMs: 100 } }, 'maxBackoffMs'],
    [{ supervision: { randomFactor: -1 } }, 'randomFactor'],
  ];
  for (const [bad, option] of cases) {
    await assert.rejects(createServer({ ...urls, ...bad } as never), refusedOption(option), JSON.stringify(bad));
  }
  await assertPortFree(urls.surveyUrl);
  await assertPortFree(urls.pubsubUrl);
});

test('createClient, subscribe and createSupervisor: each refused value names its option', async () => {
  const { surveyUrl, pubsubUrl } = await tcpPair();
  await assert.rejects(createClient({ surveyUrl, service: 'x', maxNameBytes: 0 }), refusedOption('maxNameBytes'));
  await assert.rejects(createClient({ surveyUrl: [surveyUrl, surveyUrl], service: 'x' }), refusedOption('surveyUrl'));
  const five = ['tcp://127.0.0.1:1', 'tcp://127.0.0.1:2', 'tcp://127.0.0.1:3', 'tcp://127.0.0.1:4', 'tcp://127.0.0.1:5'];
  await assert.rejects(createClient({ surveyUrl, service: 'x', announceUrl: five }), refusedOption('announceUrl'));
  await assert.rejects(createClient({ surveyUrl, service: 'x', secret: ['0123456789abcdef', '0123456789abcdef'] }), refusedOption('secret'));
  await assert.rejects(createClient({ surveyUrl, service: 'x', supervision: { sharedThreads: 'bogus' as never } }), refusedOption('sharedThreads'));
  await assert.rejects(subscribe({ pubsubUrl: [] }), refusedOption('pubsubUrl'));
  await assert.rejects(subscribe({ pubsubUrl, bufferSize: -1 }), refusedOption('bufferSize'));
  assert.throws(() => createSupervisor({ maxRestarts: -1 }), refusedOption('maxRestarts'));
  assert.throws(() => createSupervisor({ periodMs: 'x' as never }), refusedOption('periodMs'));
});

test('one URL in two roles (survey, pubsub, announce, join) is refused, naming both options and the URL, before anything starts', async () => {
  const { surveyUrl, pubsubUrl } = await tcpPair();
  const announceUrl = 'tcp://127.0.0.1:3';
  const joinUrl = 'tcp://127.0.0.1:4';
  /** Rejects naming `first` and `second` and quoting `url`; `option` is the later one. */
  const clash = (first: string, second: string, url: string) => (e: unknown) => {
    refusedOption(second)(e);
    assert.equal((e as Error).message, `${first} and ${second} must differ: both are ${JSON.stringify(url)}`);
    return true;
  };
  const client = (more: object) => createClient({ surveyUrl, service: 'x', ...more });
  await assert.rejects(client({ announceUrl: surveyUrl }), clash('surveyUrl', 'announceUrl', surveyUrl));
  await assert.rejects(client({ pubsubUrl: surveyUrl }), clash('surveyUrl', 'pubsubUrl', surveyUrl));
  await assert.rejects(client({ pubsubUrl: [pubsubUrl, announceUrl], announceUrl: [announceUrl] }), clash('pubsubUrl', 'announceUrl', announceUrl));
  await assert.rejects(client({ pubsubUrl, announceUrl, joinUrl: pubsubUrl }), clash('pubsubUrl', 'joinUrl', pubsubUrl));
  await assert.rejects(client({ announceUrl, joinUrl: [joinUrl, surveyUrl] }), clash('surveyUrl', 'joinUrl', surveyUrl));
  await assert.rejects(client({ announceUrl, joinUrl: announceUrl }), clash('announceUrl', 'joinUrl', announceUrl));
  const server = (more: object) => createServer({ surveyUrl, pubsubUrl, ...more });
  await assert.rejects(server({ pubsubUrl: surveyUrl }), clash('surveyUrl', 'pubsubUrl', surveyUrl));
  await assert.rejects(server({ announceUrl: pubsubUrl }), clash('pubsubUrl', 'announceUrl', pubsubUrl));
  await assert.rejects(server({ announceUrl, joinUrl: surveyUrl }), clash('surveyUrl', 'joinUrl', surveyUrl));
  await assert.rejects(server({ announceUrl, joinUrl: announceUrl }), clash('announceUrl', 'joinUrl', announceUrl));
  await assertPortFree(surveyUrl);
  await assertPortFree(pubsubUrl);
});

test('`option` survives the trip across a thread boundary (serializeError / deserializeError)', () => {
  const back = deserializeError(serializeError(new InvalidOptionError('pollTime must be a positive number of milliseconds, got -1', { option: 'pollTime' })));
  assert.ok(back instanceof InvalidOptionError);
  assert.equal(back.option, 'pollTime');
});
