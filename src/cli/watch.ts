/** `gopherdiscovery watch`: prints each membership change (joined, left, the full list). */
import { jsonLine, printable } from '../printable.js';
import { diffLists } from '../protocol.js';
import { subscribe } from '../subscriber.js';
import { inFlagTerms, LOG_OPTIONS, type CommandSpec } from './args.js';
import { DEFAULTS, runUntilStopped, withCliPeers, type Command } from './context.js';
import { SECRET_OPTIONS, secretOption } from './secret.js';

const spec: CommandSpec = {
  name: 'watch',
  brief: 'print membership changes',
  usage: 'watch [options]',
  summary: 'Subscribes to a discovery server and prints one line per published member list: who joined, who left, and everyone.',
  options: [
    { flag: 'pubsub-url', value: 'URL', multiple: true, defaultText: DEFAULTS.pubsubUrl, help: "the server's pub/sub URL; repeat it to merge several servers" },
    { flag: 'stale-after', value: 'DUR', help: 'with several servers: a server silent this long stops counting (default: when it misses its learned heartbeat)' },
    { flag: 'json', boolean: true, help: 'one JSON object per line: {"time","joined","left","members"}' },
    ...SECRET_OPTIONS,
    ...LOG_OPTIONS,
  ],
  notes:
    "The first line is the server's current list (within one heartbeat, with a server's default options;\n" +
    'with the next change, against a server in the original mode); it shows every member as joined.\n' +
    'Lists the subscriber refuses (e.g. sealed by a server with a secret) are logged as warnings.\n' +
    'Data goes to stdout, logs to stderr.',
};

export interface WatchLine {
  time: string;
  joined: string[];
  left: string[];
  members: string[];
}

/** The human-readable form of one change; names escaped for a terminal (src/printable.ts). */
export function formatChange(c: WatchLine): string {
  const list = (l: string[]) => (l.length ? l.map(printable).join(', ') : '-');
  return `${c.time}  joined: ${list(c.joined)}  left: ${list(c.left)}  members (${c.members.length}): ${list(c.members)}`;
}

export const watchCommand: Command = {
  spec,
  async run(o, { out, log, stop }) {
    const { logListRefusals, logSupervisor } = await withCliPeers(() => import('../log.js'));
    const urls = o.strings('pubsub-url');
    const pubsubUrls = urls.length > 0 ? urls : [DEFAULTS.pubsubUrl];
    const pubsubUrl = pubsubUrls.join(', ');
    const staleAfterMs = o.duration('stale-after');
    const json = o.bool('json');
    const secret = secretOption(o);
    const sub = await inFlagTerms({ staleAfterMs: '--stale-after', pubsubUrl: '--pubsub-url', secret: '--secret' }, o.from, () =>
      subscribe({ pubsubUrl: pubsubUrls, ...(staleAfterMs !== undefined ? { staleAfterMs } : {}), ...(secret ? { secret } : {}), signal: stop }),
    );
    const detachLog = logSupervisor(sub.supervisor, log);
    const detachRefusals = logListRefusals(sub, log);
    let previous: string[] = [];
    const print = (members: string[]) => {
      const { joined, left } = diffLists(previous, members);
      previous = members;
      const line: WatchLine = { time: new Date().toISOString(), joined, left, members };
      out(json ? jsonLine(line) : formatChange(line));
    };
    sub.on('change', print);
    // A list that came while the subscriber was starting was before this listener.
    const latest = sub.latest();
    if (latest) print(latest);
    log.info({ pubsubUrl }, `watching ${pubsubUrl}`);
    await runUntilStopped({ stop, log }, [sub], 'stopping', async () => {
      await sub.close();
      detachLog();
      detachRefusals();
    });
  },
};
