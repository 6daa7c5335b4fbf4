/**
 * Command-line options: one table per command says each flag, its environment variable,
 * its default and its help line, so parsing, `--help` and the README cannot drift apart.
 * A flag beats its environment variable, which beats the default. Parsing is node's
 * `util.parseArgs` (strict: unknown flags and stray arguments are usage errors).
 * Not commander (15.1): its `.env()` reads process.env only, sets a boolean flag whenever
 * its variable exists (`=0` included) and takes an empty variable as a value.
 */
import { parseArgs } from 'node:util';
import { closestName } from '../options.js';

/** Bad command-line input: the process exits 2 with the message on one line. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export const ENV_PREFIX = 'GOPHERDISCOVERY_';

export interface OptionSpec {
  /** The long flag without dashes, e.g. 'survey-url'. Its environment variable is GOPHERDISCOVERY_SURVEY_URL. */
  flag: string;
  /** A boolean flag takes no value; its environment variable accepts 1/true/yes or 0/false/no. */
  boolean?: boolean;
  /** May be given several times; its environment variable takes a comma-separated list. */
  multiple?: boolean;
  /** The value's placeholder in --help, e.g. 'URL'. */
  value?: string;
  /** Shown in --help; not applied here (commands apply their defaults, some of which are absent). */
  defaultText?: string;
  help: string;
}

export interface CommandSpec {
  name: string;
  usage: string;
  /** One line for the command list. */
  brief: string;
  summary: string;
  options: OptionSpec[];
  /** A paragraph after the options. */
  notes?: string;
}

export const envName = (flag: string): string => ENV_PREFIX + flag.toUpperCase().replaceAll('-', '_');

/** The flags every command takes. */
export const LOG_OPTIONS: OptionSpec[] = [
  { flag: 'log-level', value: 'LEVEL', defaultText: 'info', help: 'trace, debug, info, warn, error, fatal or silent' },
  { flag: 'log-format', value: 'FORMAT', defaultText: 'auto', help: 'json, pretty, or auto: pretty when stderr is a terminal' },
];

export function helpText(spec: CommandSpec): string {
  const rows = spec.options.map((o) => {
    const left = `  --${o.flag}${o.value ? ` ${o.value}` : ''}`;
    const right = `${o.help} (${envName(o.flag)}${o.defaultText ? `, default ${o.defaultText}` : ''})`;
    return [left, right] as const;
  });
  rows.push(['  -h, --help', 'this help']);
  const width = Math.max(...rows.map(([l]) => l.length)) + 2;
  const lines = [`usage: gopherdiscovery ${spec.usage}`, '', spec.summary, '', ...rows.map(([l, r]) => l.padEnd(width) + r)];
  if (spec.notes) lines.push('', spec.notes);
  return lines.join('\n');
}

/** A command's parsed options, with typed accessors whose errors name the flag or variable at fault. */
export class Parsed {
  help = false;
  /** Each flag's value, from the command line or else its environment variable. */
  readonly values: Record<string, string | string[] | boolean | undefined> = {};
  /** Where each value came from: '--flag' or the environment variable's name. */
  readonly from: Record<string, string> = {};

  string(flag: string): string | undefined {
    const v = this.values[flag];
    return typeof v === 'string' ? v : Array.isArray(v) ? v[0] : undefined;
  }

  /** Every value of a repeatable flag (empty when not given). */
  strings(flag: string): string[] {
    const v = this.values[flag];
    return Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
  }

  /** A whole number of at least `min`. */
  integer(flag: string, min: number): number | undefined {
    const v = this.string(flag);
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v.trim()) || Number(v) < min) throw new UsageError(`${this.from[flag]}: ${JSON.stringify(v)} is not a whole number >= ${min}`);
    return Number(v);
  }

  bool(flag: string): boolean {
    return this.values[flag] === true;
  }

  /** `words`: what else the flag takes (e.g. 'off'), for the error. */
  duration(flag: string, words?: string): number | undefined {
    const v = this.string(flag);
    return v === undefined ? undefined : parseDuration(this.from[flag]!, v, words);
  }

  oneOf<T extends string>(flag: string, allowed: readonly T[], fallback: T): T {
    const v = this.string(flag);
    if (v === undefined) return fallback;
    if (!(allowed as readonly string[]).includes(v)) throw new UsageError(`${this.from[flag]}: ${JSON.stringify(v)} is not one of ${allowed.join(', ')}`);
    return v as T;
  }
}

/**
 * Parses argv against the command's table and fills every flag not given from its
 * environment variable. Returns strings for value flags and booleans for boolean flags.
 * An unknown flag is a UsageError naming the closest known flag. A GOPHERDISCOVERY_*
 * variable that no command reads (`allEnv`: every command's variables; default this
 * command's) is a UsageError too, naming the closest known variable: a misspelt variable
 * would otherwise leave its setting silently at the default. A flag unknown here but known to
 * one of `others` (the other commands) is named as theirs: `server --warn-unsurveyed` is
 * "(a client option)".
 */
export function parseCommand(
  spec: CommandSpec,
  argv: string[],
  env: NodeJS.ProcessEnv,
  allEnv: readonly string[] = spec.options.map((o) => envName(o.flag)),
  others: readonly CommandSpec[] = [],
): Parsed {
  for (const name of Object.keys(env)) {
    if (!name.startsWith(ENV_PREFIX) || allEnv.includes(name)) continue;
    const suggestion = closestName(name.slice(ENV_PREFIX.length), allEnv.map((n) => n.slice(ENV_PREFIX.length)));
    throw new UsageError(`unknown environment variable ${name}${suggestion ? `; did you mean ${ENV_PREFIX}${suggestion}?` : ''} (unset it, or see gopherdiscovery ${spec.name} --help)`);
  }
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = { help: { type: 'boolean', short: 'h' } };
  for (const o of spec.options) options[o.flag] = { type: o.boolean ? 'boolean' : 'string', ...(o.multiple ? { multiple: true } : {}) };
  let parsed: Record<string, string | string[] | boolean | undefined>;
  try {
    parsed = parseArgs({ args: withNegativeValues(argv, options), options, strict: true, allowPositionals: false }).values as typeof parsed;
  } catch (e) {
    throw new UsageError(`${spec.name}: ${parseArgsMessage(e as Error & { code?: string }, spec, others)}; see gopherdiscovery ${spec.name} --help`);
  }
  const result = new Parsed();
  result.help = parsed.help === true;
  for (const o of spec.options) {
    const given = parsed[o.flag];
    if (given !== undefined) {
      if (!o.boolean && (given === '' || (Array.isArray(given) && given.includes('')))) throw new UsageError(`${spec.name}: --${o.flag} must not be empty`);
      result.values[o.flag] = given;
      result.from[o.flag] = `--${o.flag}`;
      continue;
    }
    const name = envName(o.flag);
    const fromEnv = env[name];
    // An empty variable counts as unset, as shells make unsetting awkward.
    if (fromEnv === undefined || fromEnv === '') continue;
    result.values[o.flag] = o.boolean
      ? envBoolean(name, fromEnv)
      : o.multiple
        ? fromEnv.split(',').map((v) => v.trim()).filter((v) => v !== '')
        : fromEnv;
    result.from[o.flag] = name;
  }
  return result;
}

/**
 * `--poll-time -5` as `--poll-time=-5`: node:util's parseArgs takes a value that starts with
 * a dash for a forgotten value (and we said "needs a value"), but no flag of ours looks like
 * a number, so a negative number after a value flag is that flag's value, to be refused by
 * its own check ("-5" is not a positive number).
 */
function withNegativeValues(argv: string[], options: Record<string, { type: 'string' | 'boolean' }>): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const next = argv[i + 1];
    if (arg.startsWith('--') && !arg.includes('=') && options[arg.slice(2)]?.type === 'string' && next !== undefined && /^-\.?\d/.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else out.push(arg);
  }
  return out;
}

function parseArgsMessage(e: Error & { code?: string }, spec: CommandSpec, others: readonly CommandSpec[]): string {
  const first = e.message.split('\n')[0]!;
  switch (e.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION': {
      const flag = /'([^']+)'/.exec(first)?.[1];
      if (!flag) return first;
      const bare = flag.replace(/^-+/, '').split('=')[0]!;
      const owners = others.filter((c) => c.options.some((o) => o.flag === bare)).map((c) => c.name);
      if (owners.length > 0) return `unknown option ${flag} (a ${owners.join(' and ')} option)`;
      const suggestion = closestName(bare, spec.options.map((o) => o.flag));
      return `unknown option ${flag}${suggestion ? ` (did you mean --${suggestion}?)` : ''}`;
    }
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument ${/'([^']*)'/.exec(first)?.[1] ?? first}`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
      const flag = /'(-[^' ]+)/.exec(first)?.[1];
      if (flag && /does not take an argument/.test(first)) return `${flag} takes no value`;
      if (flag) return `${flag} needs a value`;
      return first;
    }
    default:
      return first;
  }
}

function envBoolean(name: string, text: string): boolean {
  if (/^(1|true|yes|on)$/i.test(text)) return true;
  if (/^(0|false|no|off)$/i.test(text)) return false;
  throw new UsageError(`${name}=${JSON.stringify(text)} is not a boolean (use 1 or 0)`);
}

/**
 * Runs a library call with the command's flags, and words its option errors in the flags'
 * names: `gopherdiscovery server --survey-time 2m` should hear about `--survey-time`, not
 * about the library's `surveyTime`. `flags` maps option names to flags, e.g.
 * `{ surveyTime: '--survey-time' }`; `from` (Parsed.from) names a value that came from an
 * environment variable by that variable instead. Other errors pass unchanged.
 */
export async function inFlagTerms<T>(flags: Record<string, string>, from: Record<string, string>, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (e) {
    const err = e as Error & { code?: unknown };
    if (err.code === 'ERR_INVALID_OPTION' && typeof err.message === 'string') {
      for (const [option, flag] of Object.entries(flags)) err.message = err.message.replace(new RegExp(`\\b${option}\\b`, 'g'), from[flag.slice(2)] ?? flag);
    }
    throw e;
  }
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000 };

/** Parses `250ms`, `1s`, `1.5s`, `2m`, or a bare number of milliseconds; `words` (e.g. 'off') is what else the caller takes, named in the error. */
export function parseDuration(what: string, text: string, words?: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!m) throw new UsageError(`${what}: ${JSON.stringify(text)} is not a duration (e.g. 250ms, 1s, 2m)${words ? ` or ${words}` : ''}`);
  const ms = Number(m[1]) * UNITS[m[2] ?? 'ms']!;
  if (!(ms > 0)) throw new UsageError(`${what}: the duration must be greater than zero`);
  if (!Number.isInteger(ms)) throw new UsageError(`${what}: ${text} is not a whole number of milliseconds`);
  if (ms > 2_147_483_647) throw new UsageError(`${what}: ${text} is too long (at most about 24 days)`);
  return ms;
}

export interface HttpAddress {
  host: string;
  port: number;
}

/**
 * Parses the dashboard's address: `host:port`, `http://host:port`, `[::1]:port`, or `off`
 * (no HTTP server). Port 0 asks the system for a free port.
 */
export function parseHttpAddress(what: string, text: string): HttpAddress | null {
  const t = text.trim();
  if (t === 'off') return null;
  const m = /^(?:http:\/\/)?(\[[0-9a-fA-F:.]+\]|[^\s:/[\]]+):(\d{1,5})\/?$/.exec(t);
  if (!m) throw new UsageError(`${what}: ${JSON.stringify(text)} is not host:port (e.g. 127.0.0.1:8080), or off`);
  const port = Number(m[2]);
  if (port > 65535) throw new UsageError(`${what}: port ${port} is out of range (0-65535)`);
  return { host: m[1]!.replace(/^\[(.*)\]$/, '$1'), port };
}

/** An http:// URL for a host and port, with brackets around an IPv6 host. */
export function httpUrl({ host, port }: HttpAddress): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}/`;
}
