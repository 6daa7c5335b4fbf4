/**
 * The `gopherdiscovery` dispatcher. Exit codes: 0 done (also after SIGINT / SIGTERM),
 * 1 a runtime failure (a port in use, a supervisor that gave up...), 2 a usage error
 * (unknown command or flag, bad value, malformed URL). Either failure prints one line
 * `gopherdiscovery: ...` on stderr.
 */
import { escapeUnprintable } from '../printable.js';
import { closeActorPool } from '../pool.js';
import { envName, parseCommand, UsageError, helpText, type Parsed } from './args.js';
import { clientCommand } from './client.js';
import { StopSignal, withCliPeers, type Command } from './context.js';
import { serverCommand } from './server.js';
import { VERSION } from './version.js';
import { watchCommand } from './watch.js';

export const COMMANDS: Record<string, Command> = { server: serverCommand, client: clientCommand, watch: watchCommand };

/** Every command's environment variables: one set in the environment for another command is not an error. */
const ALL_ENV = [...new Set(Object.values(COMMANDS).flatMap((c) => c.spec.options.map((o) => envName(o.flag))))];

export const USAGE = `usage: gopherdiscovery <command> [options]

Service discovery over nanomsg's Scalability Protocols.

commands:
${Object.values(COMMANDS)
  .map((c) => `  ${c.spec.name.padEnd(8)} ${c.spec.brief}`)
  .join('\n')}

Every option also reads an environment variable (GOPHERDISCOVERY_<OPTION>).
Run 'gopherdiscovery <command> --help' for a command's options,
'gopherdiscovery --version' for the version.`;

/** Input errors raised by the library count as usage errors (exit 2). */
const USAGE_CODES = new Set(['ERR_INVALID_URL', 'ERR_INVALID_OPTION', 'ERR_INVALID_SERVICE_NAME']);

export interface MainIo {
  out(line: string): void;
  err(line: string): void;
  env: NodeJS.ProcessEnv;
  /** Aborting it stops the command as a signal would. */
  stop: AbortSignal;
}

export async function main(argv: string[], io: MainIo): Promise<number> {
  const [name, ...rest] = argv;
  let options: Parsed | undefined;
  try {
    if (name === undefined) throw new UsageError(`a command is required: server, client or watch; see gopherdiscovery --help`);
    if (name === '--version' || name === '-V') {
      io.out(VERSION);
      return 0;
    }
    if (name === '--help' || name === '-h' || name === 'help') {
      io.out(USAGE);
      return 0;
    }
    const command = COMMANDS[name];
    if (!command) throw new UsageError(`unknown command ${JSON.stringify(name)}: use server, client or watch; see gopherdiscovery --help`);
    options = parseCommand(command.spec, rest, io.env, ALL_ENV, Object.values(COMMANDS).filter((c) => c !== command).map((c) => c.spec));
    if (options.help) {
      io.out(helpText(command.spec));
      return 0;
    }
    const { createLogger, LOG_FORMATS, LOG_LEVELS } = await withCliPeers(() => import('../log.js'));
    const log = createLogger({
      level: options.oneOf('log-level', LOG_LEVELS, 'info'),
      format: options.oneOf('log-format', LOG_FORMATS, 'auto'),
      base: { command: name },
    });
    await command.run(options, { out: io.out, log, stop: io.stop });
    return 0;
  } catch (e) {
    if (e instanceof StopSignal || (io.stop.aborted && isAbort(e))) return 0;
    const err = e as Error & { code?: unknown };
    const usage = e instanceof UsageError || (typeof err.code === 'string' && USAGE_CODES.has(err.code));
    const at = options ? sourceOf(options, e) : undefined;
    io.err(`gopherdiscovery: ${at ? `${at}: ` : ''}${oneLine(err.message ?? String(e))}`);
    return usage ? 2 : 1;
  } finally {
    await closeActorPool();
  }
}

/**
 * The flag or environment variable an error's value came from ('--announce-url',
 * 'GOPHERDISCOVERY_SURVEY_URL', '--name'): a service name refused, or an error that names a
 * URL (InvalidUrlError, SocketError of a bind or connect) that exactly one given value
 * holds: the library cannot know which command-line name the user gave it.
 */
function sourceOf(options: Parsed, e: unknown): string | undefined {
  // A service name comes from one place: --name or its variable.
  if ((e as { code?: unknown }).code === 'ERR_INVALID_SERVICE_NAME') return options.from['name'];
  const url = (e as { url?: unknown }).url;
  if (typeof url !== 'string') return undefined;
  const flags = Object.entries(options.values)
    .filter(([, v]) => v === url || (Array.isArray(v) && v.includes(url)))
    .map(([flag]) => flag);
  return flags.length === 1 ? options.from[flags[0]!] : undefined;
}

/** A start interrupted by the stop signal rejects with the signal's reason or an AbortError. */
function isAbort(e: unknown): boolean {
  return e instanceof StopSignal || (e instanceof Error && e.name === 'AbortError');
}

/** One line on stderr, a name from the input (a --name with a C1 control...) escaped for the terminal. */
const oneLine = (s: string): string => escapeUnprintable(s.replace(/\s*\n\s*/g, ' ').trim());
