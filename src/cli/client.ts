/** `gopherdiscovery client`: registers a service; with a pub/sub URL prints each peer list. */
import { performance } from 'node:perf_hooks';
import { createClient } from '../client.js';
import { jsonLine, printable } from '../printable.js';
import { inFlagTerms, LOG_OPTIONS, UsageError, type CommandSpec } from './args.js';
import { DEFAULTS, runUntilStopped, withCliPeers, type Command } from './context.js';
import { SECRET_OPTIONS, secretOption } from './secret.js';

/** `--warn-unsurveyed`'s default (ms): seven rounds of the default timing (poll time 2 s, as the Go original's example), so a slow start is no reason to warn. */
const UNSURVEYED_WARNING_MS = 15_000;

const formatMs = (ms: number): string => (ms >= 1000 ? `${Math.round(ms / 100) / 10} s` : `${Math.round(ms)} ms`);

const spec: CommandSpec = {
  name: 'client',
  brief: 'register a service (and print peer lists)',
  usage: 'client --name NAME [options]',
  summary: 'Answers every survey of a discovery server with NAME; with --pubsub-url, prints each peer list it receives (one line each).',
  options: [
    { flag: 'name', value: 'NAME', help: "this client's service string; required" },
    { flag: 'survey-url', value: 'URL', multiple: true, defaultText: DEFAULTS.surveyUrl, help: "the server's survey URL; repeat it to register with several servers" },
    { flag: 'pubsub-url', value: 'URL', multiple: true, help: "the server's pub/sub URL: print each peer list; repeat it to merge several servers" },
    { flag: 'announce-url', value: 'URL', multiple: true, help: "the server's announce URL: say hello when connected (listed at once) and bye on exit; repeat it for several servers (default: learnt from surveys, bye only)" },
    { flag: 'join-url', value: 'URL', multiple: true, help: "the server's join URL (server --join-url): dialled until listed, so the hello's join survey reaches this client at once; needs --announce-url" },
    { flag: 'stale-after', value: 'DUR', help: 'with several servers: a server silent this long stops counting (default: when it misses its learned heartbeat)' },
    { flag: 'warn-unsurveyed', value: 'DUR|off', defaultText: '15s', help: 'log a warning when no survey has reached this client this long after it started (a wrong --survey-url, or no server running there)' },
    { flag: 'json', boolean: true, help: 'print peer lists as one JSON object per line' },
    ...SECRET_OPTIONS,
    ...LOG_OPTIONS,
  ],
  notes: 'Peer lists go to stdout, logs to stderr. SIGINT / SIGTERM stop the client (exit 0).',
};

export const clientCommand: Command = {
  spec,
  async run(o, { out, log, stop }) {
    const { logListRefusals, logSupervisor } = await withCliPeers(() => import('../log.js'));
    const name = o.string('name');
    if (name === undefined) throw new UsageError('client: --name is required (or GOPHERDISCOVERY_NAME); see gopherdiscovery client --help');
    const surveyUrls = o.strings('survey-url');
    const surveyUrl = surveyUrls.length > 0 ? surveyUrls : [DEFAULTS.surveyUrl];
    const pubsubUrls = o.strings('pubsub-url');
    const pubsubUrl = pubsubUrls.length > 0 ? pubsubUrls.join(', ') : undefined;
    const staleAfterMs = o.duration('stale-after');
    const announceUrls = o.strings('announce-url');
    const joinUrls = o.strings('join-url');
    const json = o.bool('json');
    const warnUnsurveyed = o.string('warn-unsurveyed') === 'off' ? undefined : (o.duration('warn-unsurveyed', 'off') ?? UNSURVEYED_WARNING_MS);
    const secret = secretOption(o);
    const client = await inFlagTerms({ staleAfterMs: '--stale-after', surveyUrl: '--survey-url', pubsubUrl: '--pubsub-url', announceUrl: '--announce-url', joinUrl: '--join-url', secret: '--secret' }, o.from, () => createClient({
      surveyUrl,
      service: name,
      ...(pubsubUrls.length > 0 ? { pubsubUrl: pubsubUrls } : {}),
      ...(staleAfterMs !== undefined ? { staleAfterMs } : {}),
      ...(announceUrls.length > 0 ? { announceUrl: announceUrls } : {}),
      ...(joinUrls.length > 0 ? { joinUrl: joinUrls } : {}),
      ...(secret ? { secret } : {}),
      signal: stop,
    }));
    const detachLog = logSupervisor(client.supervisor, log);
    const detachRefusals = logListRefusals(client, log);
    // --log-level debug: when this client is known to the server (its hello, its first answer).
    client.on('announced', ({ kind, url }) => log.debug({ kind, url }, `announced ${kind} to ${url}`));
    // Nothing else would tell a client pointed at the wrong URL (connect never fails in SP:
    // it retries in silence) from one whose server surveys rarely.
    const started = performance.now();
    let warned = false;
    const unsurveyed =
      warnUnsurveyed === undefined
        ? undefined
        : setTimeout(() => {
            warned = true;
            log.warn(
              { surveyUrl: surveyUrl.join(', '), waitedMs: warnUnsurveyed },
              `no survey has reached this client in ${formatMs(warnUnsurveyed)}: is a server running at ${surveyUrl.join(', ')}? (a server surveys every --poll-time, 2 s by default)`,
            );
          }, warnUnsurveyed).unref();
    const misdialled = (surveyUrls: string[]) =>
      log.warn(
        { surveyUrl: surveyUrls.join(', ') },
        `a join survey reached this client through ${surveyUrls.join(', ')}: that is a server's --join-url, not its --survey-url (the join survey lists this client, the server's next round drops it)`,
      );
    client.on('misdialled', ({ surveyUrls }) => misdialled(surveyUrls));
    if (client.misdialledSurveyUrls) misdialled(client.misdialledSurveyUrls);
    client.on('answered', ({ surveys }) => {
      if (surveys !== 1) return;
      clearTimeout(unsurveyed);
      const text = `answered its first survey (from ${surveyUrl.join(', ')})`;
      const afterMs = performance.now() - started;
      if (warned) log.info({ surveys, afterMs: Math.round(afterMs) }, `${text}, ${formatMs(afterMs)} after starting`);
      else log.debug({ surveys }, text);
    });
    if (pubsubUrl) {
      const print = (peers: string[]) =>
        out(json ? jsonLine({ time: new Date().toISOString(), peers }) : `peers (${peers.length}): ${peers.map(printable).join(', ') || '(none)'}`);
      client.on('peers', print);
      // A list that came while the client was starting (its subscribers start first) was before this listener.
      const latest = client.latestPeers();
      if (latest) print(latest);
    }
    log.info(
      {
        service: name,
        surveyUrl: surveyUrl.join(', '),
        pubsubUrl: pubsubUrl ?? null,
        ...(announceUrls.length > 0 ? { announceUrl: announceUrls.join(', ') } : {}),
        ...(joinUrls.length > 0 ? { joinUrl: joinUrls.join(', ') } : {}),
      },
      `client ${JSON.stringify(name)} answering surveys from ${surveyUrl.join(', ')}${pubsubUrl ? `, peer lists from ${pubsubUrl}` : ''}${announceUrls.length > 0 ? `, announcing to ${announceUrls.join(', ')}` : ''}${joinUrls.length > 0 ? `, joining through ${joinUrls.join(', ')}` : ''}`,
    );
    await runUntilStopped({ stop, log }, [client], 'stopping', async () => {
      clearTimeout(unsurveyed);
      await client.close();
      detachLog();
      detachRefusals();
      log.info('client stopped');
    });
  },
};
