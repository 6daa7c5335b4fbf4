/**
 * The command line with several servers: `client` and `watch` take repeated URLs, the
 * servers heartbeat with --republish; a server killed with SIGKILL does not keep a
 * departed client in what `watch` prints.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Cli, parseJson, serverPorts } from './helpers/cli.js';

const TIMING = ['--poll-time', '150ms', '--survey-time', '100ms', '--recv-deadline', '100ms', '--republish', '100ms', '--missed-rounds', '2'];
const members = (l: string) => parseJson(l)?.members as string[] | undefined;

test('client and watch with two servers: SIGKILL one, a client that leaves still disappears', async () => {
  const [a, b] = [await serverPorts(), await serverPorts()];
  const servers = [new Cli(['server', ...a.flags, ...TIMING]), new Cli(['server', ...b.flags, ...TIMING])];
  const procs = [...servers];
  try {
    await Promise.all(servers.map((s) => s.log(/^server running/, 'a server to start')));
    const watch = new Cli(['watch', '--pubsub-url', a.pubsubUrl, '--pubsub-url', b.pubsubUrl, '--stale-after', '400ms', '--json']);
    procs.push(watch);
    await watch.log(/^watching/, 'watch to subscribe');
    const both = (name: string) => new Cli(['client', '--name', name, '--survey-url', a.surveyUrl, '--survey-url', b.surveyUrl]);
    const [stays, leaves] = [both('stays'), both('leaves')];
    procs.push(stays, leaves);
    await watch.line((l) => ['stays', 'leaves'].every((n) => members(l)?.includes(n)), 'both clients in the merged list');
    // Each server lists both clients: one respondent socket answers both servers.
    for (const s of servers) {
      await s.log(/joined: .*stays/, 'stays joining each server');
      await s.log(/joined: .*leaves/, 'leaves joining each server');
    }

    await servers[0]!.kill();
    assert.deepEqual(await leaves.stop('SIGTERM'), { code: 0, signal: null });
    const after = await watch.line((l) => members(l)?.includes('leaves') === false, 'the leaver gone from the merge');
    assert.deepEqual(members(after), ['stays']);
    const lines = watch.stdout.all;
    const firstBoth = lines.findIndex((l) => ['stays', 'leaves'].every((n) => members(l)?.includes(n)));
    assert.ok(lines.slice(firstBoth).every((l) => members(l)?.includes('stays')), `the client that stayed vanished: ${lines.join('\n')}`);
    assert.deepEqual(await watch.stop('SIGTERM'), { code: 0, signal: null });
  } finally {
    await Promise.all(procs.map((p) => p.kill()));
  }
});

test('bad values of the schedule, detection, grace-round and timing flags are usage errors (exit 2)', async () => {
  const { runCli } = await import('./helpers/cli.js');
  const bad = await runCli(['server', '--missed-rounds', '0']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr.join('\n'), /--missed-rounds: "0" is not a whole number >= 1/);
  const schedule = await runCli(['server', '--schedule', 'sometimes']);
  assert.equal(schedule.code, 2);
  assert.match(schedule.stderr.join('\n'), /--schedule: "sometimes" is not one of fixed-rate, original/);
  const detection = await runCli(['server', '--detection', 'psychic']);
  assert.equal(detection.code, 2);
  assert.match(detection.stderr.join('\n'), /--detection: "psychic" is not one of adaptive, deadline/);
  const slow = await runCli(['server', '--poll-time', '100ms', '--survey-time', '200ms', '--http', 'off']);
  assert.equal(slow.code, 2);
  assert.match(slow.stderr.join('\n'), /--survey-time \(200 ms\) must be shorter than --poll-time \(100 ms\)/);
});
