#!/usr/bin/env node
/**
 * The `gopherdiscovery` command: `server`, `client` and `watch`. Usage errors exit 2 with
 * a one-line message; runtime failures (a port in use...) exit 1; SIGINT / SIGTERM stop
 * gracefully (actors stopped, sockets closed) and exit 0.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { createClient, createServer, subscribe, closeActorPool, diffLists } from './index.js';

export const DEFAULTS = {
  surveyUrl: 'tcp://127.0.0.1:40007',
  pubsubUrl: 'tcp://127.0.0.1:50007',
};

class UsageError extends Error {}

const USAGE = `usage: gopherdiscovery <command> [options]

commands:
  server   run a discovery server
  client   register a service (and print peer lists with a pub/sub URL)
  watch    print membership changes

run 'gopherdiscovery <command> --help' for its options`;

const HELP: Record<string, string> = {
  server: `usage: gopherdiscovery server [options]

  --survey-url URL      where the surveyor listens   (GOPHERDISCOVERY_SURVEY_URL, default ${DEFAULTS.surveyUrl})
  --pubsub-url URL      where lists are published    (GOPHERDISCOVERY_PUBSUB_URL, default ${DEFAULTS.pubsubUrl})
  --survey-time DUR     survey deadline              (GOPHERDISCOVERY_SURVEY_TIME, default 1s)
  --recv-deadline DUR   wait for answers at most     (GOPHERDISCOVERY_RECV_DEADLINE, default 1s)
  --poll-time DUR       pause between surveys        (GOPHERDISCOVERY_POLL_TIME, default 2s)
  -h, --help            this help

Durations: 250ms, 1s, 2m (a bare number is milliseconds).`,
  client: `usage: gopherdiscovery client --name NAME [options]

  --name NAME           this client's service string (GOPHERDISCOVERY_NAME)
  --survey-url URL      the server's survey URL      (GOPHERDISCOVERY_SURVEY_URL, default ${DEFAULTS.surveyUrl})
  --pubsub-url URL      print each peer list from it (GOPHERDISCOVERY_PUBSUB_URL)
  -h, --help            this help`,
  watch: `usage: gopherdiscovery watch [options]

  --pubsub-url URL      the server's pub/sub URL     (GOPHERDISCOVERY_PUBSUB_URL, default ${DEFAULTS.pubsubUrl})
  --json                one JSON object per line
  -h, --help            this help`,
};

/** Parses 250ms, 1s, 2m, or a bare number of milliseconds. */
export function parseDuration(flag: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!m) throw new UsageError(`${flag}: ${JSON.stringify(text)} is not a duration (e.g. 250ms, 1s, 2m)`);
  const n = Number(m[1]) * ({ ms: 1, s: 1000, m: 60_000 }[m[2] ?? 'ms'] as number);
  if (!(n > 0)) throw new UsageError(`${flag}: the duration must be greater than zero`);
  return n;
}

type Options = NonNullable<ParseArgsConfig['options']>;
const str = { type: 'string' } as const;

function parse(command: string, argv: string[], options: Options) {
  try {
    return parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false })
      .values as Record<string, string | boolean | undefined>;
  } catch (e) {
    throw new UsageError(`${command}: ${(e as Error).message.split('\n')[0]}`);
  }
}

const env = (name: string): string | undefined => process.env[`GOPHERDISCOVERY_${name}`] || undefined;

function waitForSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
}

const out = (line: string): void => {
  process.stdout.write(line + '\n');
};

async function server(argv: string[]): Promise<void> {
  const v = parse('server', argv, { 'survey-url': str, 'pubsub-url': str, 'survey-time': str, 'recv-deadline': str, 'poll-time': str });
  if (v.help) return out(HELP.server!);
  const dur = (flag: string, envName: string) => {
    const t = (v[flag] as string | undefined) ?? env(envName);
    return t === undefined ? undefined : parseDuration(`--${flag}`, t);
  };
  const srv = await createServer({
    surveyUrl: (v['survey-url'] as string | undefined) ?? env('SURVEY_URL') ?? DEFAULTS.surveyUrl,
    pubsubUrl: (v['pubsub-url'] as string | undefined) ?? env('PUBSUB_URL') ?? DEFAULTS.pubsubUrl,
    surveyTime: dur('survey-time', 'SURVEY_TIME'),
    recvDeadline: dur('recv-deadline', 'RECV_DEADLINE'),
    pollTime: dur('poll-time', 'POLL_TIME'),
  });
  out(`gopherdiscovery server: surveying on ${srv.surveyUrl}, publishing on ${srv.pubsubUrl}`);
  srv.on('change', (c) => out(`members ${JSON.stringify(c.members)} (joined ${JSON.stringify(c.joined)}, left ${JSON.stringify(c.left)})`));
  srv.supervisor.on('actor:restart', (e) => out(`actor ${e.name} ${e.reason}; restarting in ${e.delayMs} ms`));
  await Promise.race([waitForSignal(), new Promise((_, reject) => srv.once('failure', reject))]);
  await srv.close();
}

async function client(argv: string[]): Promise<void> {
  const v = parse('client', argv, { name: str, 'survey-url': str, 'pubsub-url': str });
  if (v.help) return out(HELP.client!);
  const name = (v.name as string | undefined) ?? env('NAME');
  if (name === undefined) throw new UsageError('client: --name is required');
  const pubsubUrl = (v['pubsub-url'] as string | undefined) ?? env('PUBSUB_URL');
  const c = await createClient({
    surveyUrl: (v['survey-url'] as string | undefined) ?? env('SURVEY_URL') ?? DEFAULTS.surveyUrl,
    service: name,
    ...(pubsubUrl ? { pubsubUrl } : {}),
  });
  out(`gopherdiscovery client ${JSON.stringify(name)}: answering surveys from ${c.surveyUrls.join(', ')}`);
  if (pubsubUrl) c.on('peers', (p) => out(`peers ${JSON.stringify(p)}`));
  await Promise.race([waitForSignal(), new Promise((_, reject) => c.once('failure', reject))]);
  await c.close();
}

async function watch(argv: string[]): Promise<void> {
  const v = parse('watch', argv, { 'pubsub-url': str, json: { type: 'boolean' } });
  if (v.help) return out(HELP.watch!);
  const sub = await subscribe({ pubsubUrl: (v['pubsub-url'] as string | undefined) ?? env('PUBSUB_URL') ?? DEFAULTS.pubsubUrl });
  let previous: string[] = [];
  sub.on('change', (members) => {
    const { joined, left } = diffLists(previous, members);
    previous = members;
    if (v.json) out(JSON.stringify({ time: new Date().toISOString(), joined, left, members }));
    else out(`${joined.map((m) => `+${m}`).concat(left.map((m) => `-${m}`)).join(' ') || '(no change)'}  members: ${members.join(', ') || '(none)'}`);
  });
  await Promise.race([waitForSignal(), new Promise((_, reject) => sub.once('failure', reject))]);
  await sub.close();
}

const COMMANDS: Record<string, (argv: string[]) => Promise<void>> = { server, client, watch };

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === undefined || command === '--help' || command === '-h') {
      out(USAGE);
      return command === undefined ? 2 : 0;
    }
    const run = COMMANDS[command];
    if (!run) throw new UsageError(`unknown command ${JSON.stringify(command)}; try --help`);
    await run(rest);
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`gopherdiscovery: ${e.message}\n`);
      return 2;
    }
    const err = e as Error & { code?: string };
    process.stderr.write(`gopherdiscovery: ${err.message}\n`);
    return err.code && /^ERR_INVALID_(URL|OPTION|SERVICE_NAME)$/.test(err.code) ? 2 : 1;
  } finally {
    await closeActorPool();
  }
}

process.exitCode = await main(process.argv.slice(2));
