/**
 * The discovery server both examples run: a gopherdiscovery server that prints one JSON
 * object per line on stdout, so a person can watch it and a test can read it.
 *
 *   {"event":"ready","surveyUrl":…,"pubsubUrl":…,"timing":{…}}
 *   {"event":"change","round":12,"members":[…],"joined":[…],"left":[…]}   (the list was published)
 *   {"event":"round","round":12,"answers":3,"members":3,"durationMs":27}  (only with --rounds)
 *
 * Usage: node --import tsx examples/discovery-server.ts [--survey-url URL] [--pubsub-url URL]
 *          [--poll-time MS] [--survey-time MS] [--recv-deadline MS] [--rounds]
 * SIGINT / SIGTERM close it (actors stopped, ports freed).
 */
import { parseArgs } from 'node:util';
import { createServer } from 'gopherdiscovery';

const { values: v } = parseArgs({
  options: {
    'survey-url': { type: 'string', default: 'tcp://127.0.0.1:29400' },
    'pubsub-url': { type: 'string', default: 'tcp://127.0.0.1:29401' },
    'poll-time': { type: 'string' },
    'survey-time': { type: 'string' },
    'recv-deadline': { type: 'string' },
    rounds: { type: 'boolean', default: false },
  },
});

const ms = (flag: string, text: string | undefined): number | undefined => {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${flag}: ${JSON.stringify(text)} is not a positive number of milliseconds`);
  return n;
};

const print = (o: object): void => void process.stdout.write(JSON.stringify(o) + '\n');

const server = await createServer({
  surveyUrl: v['survey-url'],
  pubsubUrl: v['pubsub-url'],
  pollTime: ms('poll-time', v['poll-time']),
  surveyTime: ms('survey-time', v['survey-time']),
  recvDeadline: ms('recv-deadline', v['recv-deadline']),
});
server.on('change', (c) => print({ event: 'change', round: c.round, members: c.members, joined: c.joined, left: c.left }));
if (v.rounds) server.on('round', (r) => print({ event: 'round', ...r }));
print({ event: 'ready', surveyUrl: server.surveyUrl, pubsubUrl: server.pubsubUrl, timing: server.timing });

const stop = async (): Promise<void> => {
  await server.close();
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
server.once('failure', (e) => {
  process.stderr.write(`discovery server failed: ${e.message}\n`);
  process.exitCode = 1;
  void stop();
});
