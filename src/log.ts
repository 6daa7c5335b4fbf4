/**
 * Structured logs with pino. The command line writes logs to stderr only, so stdout carries
 * nothing but data (`watch` and `client` lines): `watch --json | jq` never sees a log line.
 * JSON by default; human-readable (pino-pretty) when stderr is a terminal, or on request.
 * Both streams are synchronous, so nothing logged is lost when the process exits.
 */
import { pino, type Logger, type DestinationStream, type LevelWithSilent } from 'pino';
import pretty from 'pino-pretty';
import { escapeUnprintable, terminalSafeJson } from './printable.js';
import type { ListRefusal } from './peer-lists.js';
import type { ListRefusalReason } from './protocol.js';
import { RefusalLog } from './refusal-log.js';
import type { Server } from './server.js';
import type { ActorExitEvent, ActorRestartEvent, ActorStartEvent, GiveUpEvent, Supervisor } from './supervisor.js';

export type { Logger } from 'pino';

export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const satisfies readonly LevelWithSilent[];
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LoggerOptions {
  level?: LogLevel;
  /** 'auto' (default): pretty when the destination is a terminal, else JSON. */
  format?: LogFormat;
  /** A file descriptor (default 2, stderr) or a stream (tests). */
  destination?: number | NodeJS.WritableStream;
  /** Fields on every line, e.g. { command: 'server' }. */
  base?: Record<string, unknown>;
  /** Whether the destination is a terminal; default: asks the fd. */
  isTTY?: boolean;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const destination = options.destination ?? 2;
  const isTTY = options.isTTY ?? (destination === 2 ? process.stderr.isTTY === true : destination === 1 ? process.stdout.isTTY === true : false);
  const format = options.format === undefined || options.format === 'auto' ? (isTTY ? 'pretty' : 'json') : options.format;
  const stream: DestinationStream =
    format === 'pretty'
      ? pretty({
          destination,
          sync: true,
          colorize: isTTY,
          translateTime: 'SYS:HH:MM:ss.l',
          ignore: 'pid,hostname,name,command',
          // Messages say everything a person needs; the fields are for machines (the JSON format).
          // (Not with singleLine: pino-pretty 13 then drops the line's end.)
          hideObject: true,
          // Messages hold member names, which may hold anything a foreign peer sent: a
          // terminal must show them, not act on them (src/printable.ts).
          messageFormat: (log, messageKey) => escapeUnprintable(String(log[messageKey] ?? '')),
        })
      : terminalSafe(typeof destination === 'number' ? pino.destination({ fd: destination, sync: true }) : (destination as DestinationStream));
  return pino(
    {
      name: 'gopherdiscovery',
      level: options.level ?? 'info',
      timestamp: pino.stdTimeFunctions.isoTime,
      base: { pid: process.pid, ...options.base },
    },
    stream,
  );
}

/** JSON lines with C1 controls, U+2028/9 and bidi controls escaped (pino escapes C0 already): the same values, safe on a terminal. */
function terminalSafe(stream: DestinationStream): DestinationStream {
  return { write: (line: string) => stream.write(terminalSafeJson(line)) };
}

const NORMAL_EXITS = new Set(['stopped', 'done']);

/** Logs a supervisor's actor crashes, restarts and give-up. Returns a function that detaches the listeners. */
export function logSupervisor(supervisor: Supervisor, log: Logger): () => void {
  const onExit = (e: ActorExitEvent) => {
    if (NORMAL_EXITS.has(e.reason)) return;
    const detail = e.error ? `: ${e.error.message}` : '';
    log.error({ actor: e.id, kind: e.kind, reason: e.reason, error: e.error?.message }, `actor ${e.id} ${e.reason}${detail}`);
  };
  const onRestart = (e: ActorRestartEvent) =>
    log.warn(
      { actor: e.id, restarting: e.ids, attempt: e.attempt, delayMs: e.delayMs, reason: e.reason },
      `restarting ${e.ids.join(', ')} in ${e.delayMs} ms (attempt ${e.attempt})`,
    );
  const onStart = (e: ActorStartEvent) => {
    if (e.restarts > 0) log.info({ actor: e.id, restarts: e.restarts }, `actor ${e.id} restarted (${e.restarts} restart${e.restarts === 1 ? '' : 's'} so far)`);
  };
  const onGiveUp = (e: GiveUpEvent) => log.error({ error: e.error.message }, e.error.message);
  supervisor.on('actor:exit', onExit);
  supervisor.on('actor:restart', onRestart);
  supervisor.on('actor:start', onStart);
  supervisor.on('giveup', onGiveUp);
  return () => {
    supervisor.off('actor:exit', onExit);
    supervisor.off('actor:restart', onRestart);
    supervisor.off('actor:start', onStart);
    supervisor.off('giveup', onGiveUp);
  };
}

/** The first names of a list for a message; the full list goes in the line's fields. */
function names(list: string[], max = 10): string {
  return list.length <= max ? list.join(', ') : `${list.slice(0, max).join(', ')} and ${list.length - max} more`;
}

/** Logs a server's joins, leaves and refused answers, and its supervisor's events. */
export function logServer(server: Server, log: Logger): () => void {
  const onChange = (c: { members: string[]; joined: string[]; left: string[]; round: number }) => {
    const parts = [c.joined.length ? `joined: ${names(c.joined)}` : '', c.left.length ? `left: ${names(c.left)}` : ''].filter(Boolean);
    log.info({ joined: c.joined, left: c.left, members: c.members.length, round: c.round }, `${parts.join('; ')} (${c.members.length} member${c.members.length === 1 ? '' : 's'})`);
  };
  // The rate-limited summary (at most one per reason per refusalLogIntervalMs), not the
  // per-round 'refused' event: one misconfigured client would otherwise log every round.
  const onRefused = (r: { code: string; reason: string; count: number; periodMs: number }) =>
    log.warn(
      { refused: r.count, code: r.code, reason: r.reason, periodMs: Math.round(r.periodMs) },
      `refused ${r.count} answer${r.count === 1 ? '' : 's'}${r.periodMs > 0 ? ` in ${Math.round(r.periodMs / 1000)} s` : ''} (${r.code}): ${r.reason}`,
    );
  const onDuplicate = (d: { name: string; count: number; periodMs: number }) =>
    log.warn(
      { duplicate: d.name, count: d.count, periodMs: Math.round(d.periodMs) },
      `name ${JSON.stringify(d.name)} answered more than once in a round (${d.count} extra answer${d.count === 1 ? '' : 's'}${d.periodMs > 0 ? ` in ${Math.round(d.periodMs / 1000)} s` : ''}): two members claim it, or one is connected twice`,
    );
  server.on('change', onChange);
  server.on('refused:summary', onRefused);
  server.on('duplicate', onDuplicate);
  const detachSupervisor = logSupervisor(server.supervisor, log);
  return () => {
    server.off('change', onChange);
    server.off('refused:summary', onRefused);
    server.off('duplicate', onDuplicate);
    detachSupervisor();
  };
}

/** What a refused list most likely means for the person running the command. */
const LIST_REFUSAL_HINTS: Record<ListRefusalReason, string> = {
  malformed: 'not a member list: a server in shared-secret mode seals its lists (give --secret)',
  unsealed: 'a plain list: the server has no secret, or an impostor publishes',
  'unknown-key': "sealed with a key not in this keyring: does --secret match the server's?",
  'bad-seal': "sealed with another key, or tampered with: does --secret match the server's?",
  replayed: 'an older sealed list sent again',
};

/** A subscriber or client whose published lists can be refused. */
interface ListReceiver {
  on(event: 'refused', listener: (r: ListRefusal) => void): unknown;
  off(event: 'refused', listener: (r: ListRefusal) => void): unknown;
}

/**
 * Warns about published lists the receiver refused, at most once per reason per
 * `intervalMs` (src/refusal-log.ts), so that `watch` against a server it cannot read says
 * why instead of printing nothing. The returned function detaches and logs what is pending.
 */
export function logListRefusals(receiver: ListReceiver, log: Logger, intervalMs = 60_000): () => void {
  const summaries = new RefusalLog<ListRefusalReason>(intervalMs, (s) =>
    log.warn(
      { refusedLists: s.count, code: s.code, reason: s.reason, periodMs: Math.round(s.periodMs) },
      `refused ${s.count} published list${s.count === 1 ? '' : 's'} (${s.code}): ${LIST_REFUSAL_HINTS[s.code]}`,
    ),
  );
  const onRefused = (r: ListRefusal) => summaries.add(r.code, 1, r.reason);
  receiver.on('refused', onRefused);
  return () => {
    receiver.off('refused', onRefused);
    summaries.flush(true);
  };
}
