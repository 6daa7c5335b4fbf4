/**
 * The decisions of a supervisor, as pure functions shared by the actor supervisor and
 * the application supervisor: restart intensity, backoff with jitter, and which children
 * a strategy restarts together.
 */
import { InvalidOptionError } from './errors.js';
import { optionNames } from './options.js';
import { quoted } from './printable.js';

export type RestartPolicy =
  /** Always restarted, whatever the exit. */
  | 'permanent'
  /** Restarted only after an abnormal exit (crash, hang). */
  | 'transient'
  /** Never restarted. */
  | 'temporary';

export type Strategy =
  /** Restart only the failed child. */
  | 'one_for_one'
  /** Restart every child. */
  | 'one_for_all'
  /** Restart the failed child and every child started after it. */
  | 'rest_for_one';

/** The restart options every supervisor takes (defaults differ per supervisor). */
export interface RestartSettings {
  name?: string;
  /** Which children restart together when one fails. */
  strategy?: Strategy;
  /** Restart intensity: more than this many restarts within periodMs gives up. */
  maxRestarts?: number;
  periodMs?: number;
  /** First restart delay; doubles with each consecutive failure of a child. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Each delay is stretched by up to this fraction at random, so crashed peers do not restart in lockstep. */
  randomFactor?: number;
  /** A child that ran this long without failing starts its backoff from minBackoffMs again. Default periodMs. */
  resetBackoffAfterMs?: number;
}

/** Every RestartSettings name (src/options.ts); both supervisors extend the list. */
export const RESTART_SETTING_NAMES = optionNames<RestartSettings>()([
  'name',
  'strategy',
  'maxRestarts',
  'periodMs',
  'minBackoffMs',
  'maxBackoffMs',
  'randomFactor',
  'resetBackoffAfterMs',
]);

export interface RestartOptions {
  strategy: Strategy;
  /** More than this many restarts within periodMs gives up. */
  maxRestarts: number;
  periodMs: number;
  minBackoffMs: number;
  maxBackoffMs: number;
  randomFactor: number;
  resetBackoffAfterMs: number;
}

/** Records a restart at `now`; says whether the intensity is exceeded. Returns the log to keep. */
export function recordRestart(log: readonly number[], now: number, o: Pick<RestartOptions, 'maxRestarts' | 'periodMs'>): { log: number[]; exceeded: boolean } {
  const recent = log.filter((t) => now - t < o.periodMs);
  recent.push(now);
  return { log: recent, exceeded: recent.length > o.maxRestarts };
}

/** The delay before restart `attempt` (0-based): min·2^attempt capped at max, stretched by up to randomFactor. */
export function backoffDelay(attempt: number, o: Pick<RestartOptions, 'minBackoffMs' | 'maxBackoffMs' | 'randomFactor'>, random = Math.random()): number {
  const base = Math.min(o.maxBackoffMs, o.minBackoffMs * 2 ** Math.min(attempt, 30));
  return Math.round(base * (1 + random * o.randomFactor));
}

/** Which of `children` (in start order) restart when the one at `index` fails. */
export function affectedBy<T>(strategy: Strategy, children: readonly T[], index: number): T[] {
  switch (strategy) {
    case 'one_for_one':
      return [children[index]!];
    case 'one_for_all':
      return [...children];
    case 'rest_for_one':
      return children.slice(index);
  }
}

export function shouldRestart(policy: RestartPolicy, abnormal: boolean): boolean {
  return policy === 'permanent' || (policy === 'transient' && abnormal);
}

export function validateRestartOptions(o: RestartOptions): void {
  if (!['one_for_one', 'one_for_all', 'rest_for_one'].includes(o.strategy)) {
    throw new InvalidOptionError(`strategy must be one_for_one, one_for_all or rest_for_one, got ${quoted(o.strategy)}`, { option: 'strategy' });
  }
  if (!Number.isInteger(o.maxRestarts) || o.maxRestarts < 0) throw new InvalidOptionError(`maxRestarts must be a whole number >= 0, got ${quoted(o.maxRestarts)}`, { option: 'maxRestarts' });
  for (const k of ['periodMs', 'minBackoffMs', 'maxBackoffMs', 'resetBackoffAfterMs'] as const) {
    if (typeof o[k] !== 'number' || !(o[k] > 0)) throw new InvalidOptionError(`${k} must be a positive number of ms, got ${quoted(o[k])}`, { option: k });
  }
  if (o.maxBackoffMs < o.minBackoffMs) throw new InvalidOptionError('maxBackoffMs must be >= minBackoffMs', { option: 'maxBackoffMs' });
  if (!(o.randomFactor >= 0)) throw new InvalidOptionError(`randomFactor must be >= 0, got ${quoted(o.randomFactor)}`, { option: 'randomFactor' });
}

/**
 * The backoff waits of a supervisor. Cancelling ends every wait at once — the waiter
 * resumes and sees the supervisor stopping — rather than leaving it pending forever.
 */
export class BackoffTimers {
  private readonly pending = new Map<NodeJS.Timeout, () => void>();

  wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.pending.delete(t);
        resolve();
      }, ms);
      this.pending.set(t, resolve);
    });
  }

  cancelAll(): void {
    for (const [t, resolve] of this.pending) {
      clearTimeout(t);
      resolve();
    }
    this.pending.clear();
  }
}
