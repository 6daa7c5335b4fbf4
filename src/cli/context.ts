/** What every command gets from the dispatcher, and the waits they share. */
import type { Logger } from 'pino';
import { missingPeer } from '../errors.js';
import type { CommandSpec, Parsed } from './args.js';

export const DEFAULTS = {
  surveyUrl: 'tcp://127.0.0.1:29400',
  pubsubUrl: 'tcp://127.0.0.1:29401',
  http: '127.0.0.1:8080',
} as const;

export interface CommandContext {
  /** Writes one data line to stdout (logs never go there). */
  out(line: string): void;
  log: Logger;
  /** Aborted by the first SIGINT / SIGTERM; its reason is a StopSignal. */
  stop: AbortSignal;
}

export interface Command {
  spec: CommandSpec;
  /** Resolves when the command is done (after a signal: 0); throws on failure. */
  run(options: Parsed, ctx: CommandContext): Promise<void>;
}

/** The command's logs and metrics need pino, pino-pretty and prom-client: optional peer dependencies of the library. */
export const CLI_PEERS = ['pino', 'pino-pretty', 'prom-client'] as const;

/**
 * Imports modules that need the command's optional peers (src/log.ts, src/metrics.ts,
 * src/http/server.ts) when a command runs, not when the dispatcher loads, so that `--help`
 * and `--version` work without them. Throws MissingPeerError (ERR_MISSING_PEER) naming all
 * three packages when one is not installed.
 */
export async function withCliPeers<T>(load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (e) {
    throw missingPeer(e, 'the gopherdiscovery command', CLI_PEERS) ?? e;
  }
}

/** The abort reason of a stop by signal: not an error, the process exits 0. */
export class StopSignal extends Error {
  constructor(readonly signal: NodeJS.Signals) {
    super(`stopped by ${signal}`);
    this.name = 'StopSignal';
  }
}

/**
 * Waits for a stop signal or the first 'failure' of the given handles (a supervisor that
 * gave up). Resolves with the signal; rejects with the failure.
 */
export function untilStopped(stop: AbortSignal, handles: Array<{ once(event: 'failure', l: (e: Error) => void): unknown; off(event: 'failure', l: (e: Error) => void): unknown }>): Promise<NodeJS.Signals> {
  return new Promise((resolve, reject) => {
    const onFailure = (e: Error) => {
      cleanup();
      reject(e);
    };
    const onAbort = () => {
      cleanup();
      resolve((stop.reason as StopSignal).signal);
    };
    const cleanup = () => {
      stop.removeEventListener('abort', onAbort);
      for (const h of handles) h.off('failure', onFailure);
    };
    for (const h of handles) h.once('failure', onFailure);
    if (stop.aborted) onAbort();
    else stop.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * A long-running command's end: waits as `untilStopped` does, logs the signal with
 * `stopping` ("<signal>: <stopping>"), then runs `shutdown` whether it was stopped or
 * failed, and rethrows the failure after it (`onFailure` sees it first).
 */
export async function runUntilStopped(
  ctx: { stop: AbortSignal; log: Logger },
  handles: Parameters<typeof untilStopped>[1],
  stopping: string,
  shutdown: () => Promise<void>,
  onFailure?: (e: Error) => void,
): Promise<void> {
  let failure: Error | undefined;
  try {
    const signal = await untilStopped(ctx.stop, handles);
    ctx.log.info({ signal }, `${signal}: ${stopping}`);
  } catch (e) {
    failure = e as Error;
    onFailure?.(failure);
  }
  await shutdown();
  if (failure) throw failure;
}
