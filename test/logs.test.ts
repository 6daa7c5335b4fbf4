/**
 * Structured logs: a server's joins, leaves, actor crashes and restarts as JSON lines;
 * human-readable lines in the pretty format.
 */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { after, test } from 'node:test';
import { createClient, createServer } from '../src/index.js';
import { closeActorPool } from '../src/pool.js';
import { createLogger, logServer } from '../src/log.js';
import { tcpPair } from './helpers/endpoints.js';
import { within } from './helpers/wait.js';

after(() => closeActorPool());

/** A log destination whose lines tests wait on. */
function capture() {
  const stream = new PassThrough();
  const lines: string[] = [];
  let buffer = '';
  const waiters: Array<{ test: (l: string) => boolean; resolve: (l: string) => void }> = [];
  stream.setEncoding('utf8').on('data', (chunk: string) => {
    buffer += chunk;
    const parts = buffer.split('\n');
    buffer = parts.pop()!;
    for (const line of parts) {
      lines.push(line);
      for (const w of [...waiters]) if (w.test(line)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  });
  const line = (test: (l: string) => boolean, what: string, ms = 10_000) =>
    within(ms, what, new Promise<string>((resolve) => {
      const found = lines.find(test);
      if (found !== undefined) resolve(found);
      else waiters.push({ test, resolve });
    }));
  return { stream, lines, line, json: async (msg: RegExp, what: string, ms?: number) => JSON.parse(await line((l) => msg.test(JSON.parse(l).msg), what, ms)) as Record<string, unknown> };
}

const STEADY = { pollTime: 450, surveyTime: 400, recvDeadline: 400 };

test('joins, leaves, crashes and restarts are logged as JSON lines with their fields', async () => {
  const out = capture();
  const log = createLogger({ destination: out.stream, format: 'json', base: { command: 'server' } });
  const urls = await tcpPair();
  const server = await createServer({ ...urls, ...STEADY });
  const detach = logServer(server, log);
  try {
    const client = await createClient({ ...urls, service: 'logged' });
    const joined = await out.json(/^joined: logged/, 'the join');
    assert.deepEqual({ joined: joined.joined, left: joined.left, members: joined.members, level: joined.level }, { joined: ['logged'], left: [], members: 1, level: 30 });
    assert.equal(joined.command, 'server');
    assert.equal(joined.name, 'gopherdiscovery');
    assert.ok(!Number.isNaN(Date.parse(joined.time as string)), 'ISO time');

    await server.supervisor.injectFault('surveyor', 'throw');
    const crashed = await out.json(/^actor surveyor crashed/, 'the crash');
    assert.equal(crashed.level, 50);
    assert.equal(crashed.actor, 'surveyor');
    assert.equal(crashed.reason, 'crashed');
    const restarting = await out.json(/^restarting surveyor in \d+ ms \(attempt 1\)$/, 'the restart');
    assert.equal(restarting.level, 40);
    const restarted = await out.json(/^actor surveyor restarted \(1 restart so far\)$/, 'the surveyor back');
    assert.equal(restarted.restarts, 1);

    await client.close();
    const left = await out.json(/^left: logged \(0 members\)$/, 'the leave');
    assert.deepEqual(left.left, ['logged']);
    // Every line is one JSON object.
    for (const l of out.lines) assert.equal(typeof JSON.parse(l), 'object');
  } finally {
    detach();
    await server.close();
  }
});

test('a refused answer is logged once per reason and interval (the summary), not every round', async () => {
  const out = capture();
  const log = createLogger({ destination: out.stream, format: 'json', base: { command: 'server' } });
  const urls = await tcpPair();
  const server = await createServer({ ...urls, ...STEADY, accept: /^web-/ });
  const detach = logServer(server, log);
  const refusedLines = () => out.lines.filter((l) => /^refused /.test(JSON.parse(l).msg as string));
  try {
    const client = await createClient({ ...urls, service: 'db-1' });
    // Generous: under a CPU hog the client's start and the main thread's admission verdict are slow.
    const first = await out.json(/^refused \d+ answers? \(not-accepted\): /, 'the first refusal logged', 60_000);
    assert.equal(first.level, 40);
    assert.equal(first.code, 'not-accepted');
    // Five more rounds, each refusing db-1 again: still the one line (the next summary is due after 60 s).
    const rounds = server.stats().rounds;
    await within(60_000, 'five more rounds', new Promise<void>((resolve) => {
      const onRound = () => {
        if (server.stats().rounds < rounds + 5) return;
        server.off('round', onRound);
        resolve();
      };
      server.on('round', onRound);
    }));
    assert.equal(refusedLines().length, 1, JSON.stringify(refusedLines()));
    await client.close();
  } finally {
    detach();
    await server.close();
  }
});

test("the summaries' periods are logged in whole ms: a duplicated name's and a refused answer's", async () => {
  const out = capture();
  const log = createLogger({ destination: out.stream, format: 'json', base: { command: 'server' } });
  const urls = await tcpPair();
  // Summaries after the first come every 300 ms, with the period they cover (performance.now() differences: fractions of ms).
  const server = await createServer({ ...urls, ...STEADY, accept: /^twin$/, refusalLogIntervalMs: 300 });
  const detach = logServer(server, log);
  const clients = await Promise.all(['twin', 'twin', 'db-1'].map((service) => createClient({ ...urls, service })));
  const withPeriod = (msg: RegExp) => (l: string) => {
    const j = JSON.parse(l) as { msg: string; periodMs: number };
    return msg.test(j.msg) && j.periodMs > 0;
  };
  try {
    for (const [msg, what] of [[/^name "twin" answered more than once in a round/, 'a later duplicate summary'], [/^refused \d+ answers? .*\(not-accepted\)/, 'a later refusal summary']] as const) {
      const line = JSON.parse(await out.line(withPeriod(msg), what, 60_000)) as { periodMs: number };
      assert.ok(Number.isInteger(line.periodMs), `${what}: periodMs ${line.periodMs}`);
    }
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    detach();
    await server.close();
  }
});

test('the pretty format is one human-readable line per entry', async () => {
  const out = capture();
  const log = createLogger({ destination: out.stream, format: 'pretty', base: { command: 'server' } });
  log.info({ members: 2 }, 'joined: a (2 members)');
  log.warn({ actor: 'surveyor' }, 'restarting surveyor in 25 ms (attempt 1)');
  await out.line((l) => l.includes('restarting surveyor'), 'the second pretty line');
  assert.equal(out.lines.length, 2, JSON.stringify(out.lines));
  assert.match(out.lines[0]!, /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: joined: a \(2 members\)$/);
  assert.match(out.lines[1]!, /^\[\d\d:\d\d:\d\d\.\d{3}\] WARN: restarting surveyor in 25 ms \(attempt 1\)$/);
  assert.ok(!out.lines[0]!.includes('\u001b['), 'no colours when the destination is not a terminal');
});

test('the log level filters lines', async () => {
  const out = capture();
  const log = createLogger({ destination: out.stream, format: 'json', level: 'warn' });
  log.info('hidden');
  log.warn('shown');
  const shown = await out.line((l) => l.includes('shown'), 'the warning');
  assert.equal(JSON.parse(shown).level, 40);
  assert.ok(!out.lines.some((l) => l.includes('hidden')));
});
