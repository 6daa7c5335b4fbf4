/** `gopherdiscovery server`: a discovery server with its dashboard, metrics and logs. */
import type { ServerMetrics } from '../metrics.js';
import type { HttpEndpoint } from '../http/server.js';
import { createServer } from '../server.js';
import { DEFAULT_TIMING } from '../protocol.js';
import { inFlagTerms, LOG_OPTIONS, parseHttpAddress, type CommandSpec } from './args.js';
import { DEFAULTS, runUntilStopped, withCliPeers, type Command } from './context.js';
import { ACCEPT_OPTION, acceptOption, SECRET_OPTIONS, secretOption } from './secret.js';

const ms = (n: number) => (n % 60_000 === 0 ? `${n / 60_000}m` : n % 1000 === 0 ? `${n / 1000}s` : `${n}ms`);

const spec: CommandSpec = {
  name: 'server',
  brief: 'run a discovery server with its dashboard',
  usage: 'server [options]',
  summary: 'Runs a discovery server: surveys its clients every round, publishes the member list when it changes, and serves a dashboard.',
  options: [
    { flag: 'survey-url', value: 'URL', defaultText: DEFAULTS.surveyUrl, help: 'where the surveyor listens' },
    { flag: 'pubsub-url', value: 'URL', defaultText: DEFAULTS.pubsubUrl, help: 'where member lists are published' },
    { flag: 'announce-url', value: 'URL', help: "where clients say hello and bye: a survey starts at once (rate-limited); advertised in surveys", defaultText: 'none' },
    { flag: 'join-url', value: 'URL', help: 'a second survey socket only newcomers dial (client --join-url): a hello is surveyed there at once; needs --announce-url', defaultText: 'none' },
    { flag: 'survey-time', value: 'DUR', defaultText: ms(DEFAULT_TIMING.surveyTime), help: 'survey deadline: later answers are dropped' },
    { flag: 'recv-deadline', value: 'DUR', defaultText: ms(DEFAULT_TIMING.recvDeadline), help: 'a round also ends after this long without an answer' },
    { flag: 'poll-time', value: 'DUR', defaultText: ms(DEFAULT_TIMING.pollTime), help: 'the period of the rounds (see --schedule)' },
    { flag: 'schedule', value: 'KIND', defaultText: 'fixed-rate', help: 'fixed-rate: a round every poll time (survey time < poll time); original: poll time after each round ends' },
    { flag: 'no-eager-join', boolean: true, help: "publish newcomers at the round's end, as the original, not as soon as they answer" },
    { flag: 'no-connection-hints', boolean: true, help: 'survey only on the schedule (and announcements), as the original: no round at once when a connection closes or a respondent connects' },
    { flag: 'detection', value: 'KIND', defaultText: 'adaptive', help: "adaptive: each member has its own answer deadline and is dropped mid-round; deadline: at the survey's end, as the original" },
    { flag: 'missed-rounds', value: 'N', defaultText: '1', help: 'grace rounds: drop a member after it missed N surveys in a row' },
    { flag: 'republish', value: 'DUR', defaultText: 'auto', help: 'heartbeat: republish the unchanged list this often (late subscribers, several servers); auto: 2-10s by list size; off: only on change' },
    ACCEPT_OPTION,
    ...SECRET_OPTIONS,
    { flag: 'no-list-digest', boolean: true, help: 'send empty surveys, as the original (no list digest, so restarted clients wait for a heartbeat)' },
    { flag: 'http', value: 'HOST:PORT', defaultText: DEFAULTS.http, help: 'dashboard, /members, /events, /healthz, /metrics; "off" for none' },
    ...LOG_OPTIONS,
  ],
  notes: 'Durations: 250ms, 1s, 2m (a bare number is milliseconds). Logs go to stderr.\nSIGINT / SIGTERM stop the server gracefully (exit 0).',
};

/** The server options this command sets, by the flags that set them (for error messages). */
const SERVER_FLAGS = {
  surveyTime: '--survey-time',
  recvDeadline: '--recv-deadline',
  pollTime: '--poll-time',
  missedRounds: '--missed-rounds',
  republishMs: '--republish',
  surveyUrl: '--survey-url',
  pubsubUrl: '--pubsub-url',
  announceUrl: '--announce-url',
  joinUrl: '--join-url',
  accept: '--accept',
  secret: '--secret',
};

export const serverCommand: Command = {
  spec,
  async run(o, { log, stop }) {
    const [{ logServer }, { createServerMetrics }, { startHttpServer }] = await withCliPeers(() =>
      Promise.all([import('../log.js'), import('../metrics.js'), import('../http/server.js')]),
    );
    const surveyUrl = o.string('survey-url') ?? DEFAULTS.surveyUrl;
    const pubsubUrl = o.string('pubsub-url') ?? DEFAULTS.pubsubUrl;
    const announceUrl = o.string('announce-url');
    const joinUrl = o.string('join-url');
    const timing = {
      surveyTime: o.duration('survey-time'),
      recvDeadline: o.duration('recv-deadline'),
      pollTime: o.duration('poll-time'),
    };
    const schedule = o.oneOf('schedule', ['fixed-rate', 'original'] as const, 'fixed-rate');
    const detection = o.oneOf('detection', ['adaptive', 'deadline'] as const, 'adaptive');
    const missedRounds = o.integer('missed-rounds', 1);
    const republishMs = o.string('republish') === 'off' ? 0 : o.string('republish') === 'auto' ? 'auto' : o.duration('republish', 'auto or off');
    const accept = acceptOption(o);
    const secret = secretOption(o);
    const address = parseHttpAddress(o.from['http'] ?? '--http', o.string('http') ?? DEFAULTS.http);

    const server = await inFlagTerms(SERVER_FLAGS, o.from, () => createServer({
      surveyUrl,
      pubsubUrl,
      ...(announceUrl !== undefined ? { announceUrl } : {}),
      ...(joinUrl !== undefined ? { joinUrl } : {}),
      ...timing,
      schedule,
      eagerJoin: !o.bool('no-eager-join'),
      connectionHints: !o.bool('no-connection-hints'),
      detection,
      ...(missedRounds !== undefined ? { missedRounds } : {}),
      ...(republishMs !== undefined ? { republishMs } : {}),
      ...(accept ? { accept } : {}),
      ...(secret ? { secret } : {}),
      listDigest: !o.bool('no-list-digest'),
      signal: stop,
    }));
    const detachLog = logServer(server, log);
    let metrics: ServerMetrics | undefined;
    let http: HttpEndpoint | undefined;
    try {
      metrics = createServerMetrics(server, { processMetrics: true });
      if (address) http = await startHttpServer({ ...address, server, metrics, log });
    } catch (e) {
      // Nothing starts half-way: without its dashboard the server does not run either.
      metrics?.detach();
      detachLog();
      await server.close();
      throw e;
    }
    const t = server.timing;
    log.info(
      { surveyUrl, pubsubUrl, announceUrl: announceUrl ?? null, joinUrl: joinUrl ?? null, dashboard: http?.url ?? null, timing: t },
      `server running: survey ${surveyUrl}, pub/sub ${pubsubUrl}, ${announceUrl ? `announce ${announceUrl}, ` : ''}${joinUrl ? `join ${joinUrl}, ` : ''}${http ? `dashboard ${http.url}` : 'no dashboard'} ` +
        `(poll ${ms(t.pollTime)}, survey ${ms(t.surveyTime)}, receive deadline ${ms(t.recvDeadline)})`,
    );

    await runUntilStopped(
      { stop, log },
      [server],
      'shutting down',
      async () => {
        await http?.close();
        await server.close();
        metrics.detach();
        detachLog();
        log.info({ members: server.members().length }, 'server stopped');
      },
      (failure) => log.error({ error: failure.message }, `server failed: ${failure.message}`),
    );
  },
};
