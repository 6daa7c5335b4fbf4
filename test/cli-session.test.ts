/**
 * The command line end to end, as separate processes: a server, two clients and `watch`,
 * each `node dist/main.js ...`. Asserts the lines `watch` prints as the clients start and
 * stop, the peer lists a client prints, and that stdout carries data only (every log line
 * is JSON on stderr).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Cli, cleanEnv, parseJson, serverPorts, STEADY_FLAGS } from './helpers/cli.js';
import { eventually } from './helpers/wait.js';

interface WatchLine {
  time: string;
  joined: string[];
  left: string[];
  members: string[];
}

const left = (name: string) => (l: string) => (parseJson(l)?.left as string[] | undefined)?.includes(name) === true;
const joined = (name: string) => (l: string) => (parseJson(l)?.joined as string[] | undefined)?.includes(name) === true;

test('watch --json prints one line per change as clients start and stop', async () => {
  const ports = await serverPorts();
  const server = new Cli(['server', ...ports.flags, ...STEADY_FLAGS]);
  const procs = [server];
  try {
    const started = await server.log(/^server running/, 'the server to start');
    assert.equal(started.surveyUrl, ports.surveyUrl);
    assert.equal(started.pubsubUrl, ports.pubsubUrl);
    assert.equal(started.dashboard, ports.httpUrl);

    const watch = new Cli(['watch', '--pubsub-url', ports.pubsubUrl, '--json']);
    const human = new Cli(['watch', '--pubsub-url', ports.pubsubUrl]);
    procs.push(watch, human);
    // Both watchers must be subscribed before the first change, so that they see every one.
    await Promise.all([watch.log(/^watching/, 'watch to subscribe'), human.log(/^watching/, 'watch (human) to subscribe')]);

    const client1 = new Cli(['client', '--name', 'client1', '--survey-url', ports.surveyUrl, '--pubsub-url', ports.pubsubUrl]);
    procs.push(client1);
    await watch.line(joined('client1'), 'client1 to join');
    const client2 = new Cli(['client', '--name', 'client2', '--survey-url', ports.surveyUrl]);
    procs.push(client2);
    await watch.line(joined('client2'), 'client2 to join');
    assert.deepEqual(await client2.stop('SIGTERM'), { code: 0, signal: null });
    await watch.line(left('client2'), 'client2 to leave');
    // client1 saw the list grow and shrink before it stops.
    // (Not line(): it would match client1's first 'peers (1)' line, from before client2 joined.)
    await eventually(
      () => {
        const grown = client1.stdout.all.indexOf('peers (2): client1, client2');
        return grown >= 0 && client1.stdout.all.slice(grown + 1).includes('peers (1): client1');
      },
      30_000,
      'client1 alone again after client2 left',
    );
    assert.deepEqual(await client1.stop('SIGINT'), { code: 0, signal: null });
    await watch.line(left('client1'), 'client1 to leave');
    await human.line((l) => /left: client1/.test(l), 'the human watcher to see client1 leave');

    assert.deepEqual(await watch.stop('SIGTERM'), { code: 0, signal: null });
    assert.deepEqual(await human.stop('SIGTERM'), { code: 0, signal: null });
    assert.deepEqual(await server.stop('SIGTERM'), { code: 0, signal: null });

    const lines = watch.stdout.all.map((l) => {
      const j = parseJson(l);
      assert.ok(j, `watch --json printed a line that is not a JSON object: ${JSON.stringify(l)}`);
      return j as unknown as WatchLine;
    });
    // State on connect: a watcher that connected before any client may first be handed the
    // current, empty membership by the server's heartbeat (2 s), if it came before client1.
    const initial = { joined: [], left: [], members: [] };
    const emptyFirst = lines.length > 0 && JSON.stringify({ joined: lines[0]!.joined, left: lines[0]!.left, members: lines[0]!.members }) === JSON.stringify(initial);
    assert.deepEqual(
      lines.slice(emptyFirst ? 1 : 0).map(({ joined, left, members }) => ({ joined, left, members })),
      [
        { joined: ['client1'], left: [], members: ['client1'] },
        { joined: ['client2'], left: [], members: ['client1', 'client2'] },
        { joined: [], left: ['client2'], members: ['client1'] },
        { joined: [], left: ['client1'], members: [] },
      ],
    );
    for (const l of lines) {
      assert.deepEqual(Object.keys(l), ['time', 'joined', 'left', 'members']);
      assert.ok(!Number.isNaN(Date.parse(l.time)), l.time);
    }
    const humanLines = human.stdout.all.map((l) => l.replace(/^\S+ {2}/, ''));
    assert.deepEqual(
      humanLines[0] === 'joined: -  left: -  members (0): -' ? humanLines.slice(1) : humanLines,
      [
        'joined: client1  left: -  members (1): client1',
        'joined: client2  left: -  members (2): client1, client2',
        'joined: -  left: client2  members (1): client1',
        'joined: -  left: client1  members (0): -',
      ],
    );
    // Like the watchers, client1 may first be handed the current (empty) list by a heartbeat.
    const client1Lines = client1.stdout.all[0] === 'peers (0): (none)' ? client1.stdout.all.slice(1) : client1.stdout.all;
    assert.deepEqual(client1Lines, ['peers (1): client1', 'peers (2): client1, client2', 'peers (1): client1']);

    // Logs: every stderr line of every process is a JSON object with a level and a message.
    for (const p of [server, watch, human, client1, client2]) {
      for (const l of p.stderr.all) {
        const j = parseJson(l);
        assert.ok(j && typeof j.level === 'number' && typeof j.msg === 'string', `${p.args[0]}: not a JSON log line: ${l}`);
      }
    }
    assert.deepEqual(server.stdout.all, []);
    const serverLogs = server.stderr.all.map((l) => parseJson(l)!);
    assert.deepEqual(
      serverLogs.filter((j) => 'joined' in j).map((j) => ({ joined: j.joined, left: j.left, members: j.members })),
      [
        { joined: ['client1'], left: [], members: 1 },
        { joined: ['client2'], left: [], members: 2 },
        { joined: [], left: ['client2'], members: 1 },
        { joined: [], left: ['client1'], members: 0 },
      ],
    );
    const messages = serverLogs.map((j) => j.msg as string);
    assert.ok(messages.some((m) => m === 'SIGTERM: shutting down'), messages.join('\n'));
    assert.equal(messages.at(-1), 'server stopped');
  } finally {
    await Promise.all(procs.map((p) => p.kill()));
  }
});

test('every option can come from a GOPHERDISCOVERY_* environment variable', async () => {
  const ports = await serverPorts();
  const server = new Cli(
    ['server'],
    cleanEnv({
      GOPHERDISCOVERY_SURVEY_URL: ports.surveyUrl,
      GOPHERDISCOVERY_PUBSUB_URL: ports.pubsubUrl,
      GOPHERDISCOVERY_HTTP: `127.0.0.1:${ports.http}`,
      GOPHERDISCOVERY_POLL_TIME: '450ms',
      GOPHERDISCOVERY_SURVEY_TIME: '400ms',
      GOPHERDISCOVERY_RECV_DEADLINE: '0.4s',
    }),
  );
  const procs = [server];
  try {
    const started = await server.log(/^server running/, 'the server to start');
    assert.deepEqual(
      { surveyUrl: started.surveyUrl, pubsubUrl: started.pubsubUrl, dashboard: started.dashboard, timing: started.timing },
      { surveyUrl: ports.surveyUrl, pubsubUrl: ports.pubsubUrl, dashboard: ports.httpUrl, timing: { surveyTime: 400, recvDeadline: 400, pollTime: 450 } },
    );
    const env = { GOPHERDISCOVERY_SURVEY_URL: ports.surveyUrl, GOPHERDISCOVERY_PUBSUB_URL: ports.pubsubUrl, GOPHERDISCOVERY_JSON: '1' };
    const client = new Cli(['client'], cleanEnv({ ...env, GOPHERDISCOVERY_NAME: 'from-env', GOPHERDISCOVERY_LOG_LEVEL: 'warn' }));
    procs.push(client);
    const first = parseJson(await client.line((l) => l.includes('from-env'), 'the client to see itself listed'));
    assert.deepEqual(first?.peers, ['from-env']);
    const members = (await (await fetch(new URL('/members', ports.httpUrl))).json()) as string[];
    assert.deepEqual(members, ['from-env']);
    assert.deepEqual(await client.stop(), { code: 0, signal: null });
    // GOPHERDISCOVERY_LOG_LEVEL=warn silenced the client's info lines.
    assert.deepEqual(client.stderr.all, []);
  } finally {
    await Promise.all(procs.map((p) => p.kill()));
  }
});
