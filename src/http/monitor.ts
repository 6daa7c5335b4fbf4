/**
 * What the dashboard shows, kept in the main thread from the server's public events: the
 * members with the time each joined, a bounded timeline of joins, leaves and actor
 * incidents, the recent rounds, and the actors' health. It emits one `live` event per
 * update for the SSE stream; rounds are coalesced (at most one event per `roundFlushMs`)
 * so fast rounds cannot flood a browser.
 */
import { performance } from 'node:perf_hooks';
import { EventEmitter } from 'node:events';
import { checkOptionNames, optionNames } from '../options.js';
import type { MembershipChange, RoundInfo, Server } from '../server.js';
import type { ActorExitEvent, ActorRestartEvent, ActorStartEvent, ChildHealth, GiveUpEvent } from '../supervisor.js';

export interface MemberEntry {
  name: string;
  /** When this process saw it join (ms since the epoch); null for members it found at start. */
  since: number | null;
  /** Present when the latest round heard this name more than once: the answers beyond the first. */
  duplicates?: number;
}

export type TimelineEntry =
  | { kind: 'change'; at: number; round: number; joined: string[]; left: string[]; members: number }
  | { kind: 'actor'; at: number; actor: string; event: 'exit' | 'restart' | 'start' | 'giveup'; detail: string };

export interface RoundEntry {
  at: number;
  round: number;
  answers: number;
  durationMs: number;
  members: number;
}

export interface HealthReport {
  /** Every actor is running. */
  healthy: boolean;
  actors: ChildHealth[];
}

export interface Snapshot {
  server: {
    surveyUrl: string;
    pubsubUrl: string;
    timing: { surveyTime: number; recvDeadline: number; pollTime: number };
    startedAt: number;
  };
  members: MemberEntry[];
  timeline: TimelineEntry[];
  rounds: RoundEntry[];
  health: HealthReport;
}

export type LiveEvent =
  | { type: 'change'; data: { members: MemberEntry[]; entry: TimelineEntry } }
  /** The duplicate marks changed (a round heard a name more than once, or no longer does). */
  | { type: 'members'; data: { members: MemberEntry[] } }
  | { type: 'rounds'; data: { rounds: RoundEntry[] } }
  | { type: 'health'; data: HealthReport & { entry?: TimelineEntry } };

export interface MonitorOptions {
  /** Timeline entries kept. Default 200. */
  timelineSize?: number;
  /** Rounds kept. Default 60. */
  roundsSize?: number;
  /** Least time between two `rounds` events. Default 250 ms. */
  roundFlushMs?: number;
}

export const MONITOR_OPTION_NAMES = optionNames<MonitorOptions>()(['timelineSize', 'roundsSize', 'roundFlushMs']);

/** Healthy when the handle (a Server, Client or Subscriber) has actors and every one is running. */
export function healthReport(handle: { health(): ChildHealth[] }): HealthReport {
  const actors = handle.health();
  return { healthy: actors.length > 0 && actors.every((a) => a.state === 'running'), actors };
}

/** The status and JSON body of GET /healthz: 200 `{ status: 'ok', actors }` when healthy, else 503 `{ status: 'unavailable', actors }`. */
export function healthzBody(handle: { health(): ChildHealth[] }): [status: 200 | 503, body: { status: 'ok' | 'unavailable'; actors: ChildHealth[] }] {
  const report = healthReport(handle);
  return report.healthy ? [200, { status: 'ok', actors: report.actors }] : [503, { status: 'unavailable', actors: report.actors }];
}

export class ServerMonitor extends EventEmitter<{ live: [LiveEvent] }> {
  private readonly since = new Map<string, number | null>();
  /** Names the latest round heard more than once, with the answers beyond the first. */
  private duplicates = new Map<string, number>();
  private pendingDuplicates: { round: number; names: Map<string, number> } | undefined;
  private readonly timeline: TimelineEntry[] = [];
  private readonly rounds: RoundEntry[] = [];
  private pendingRounds: RoundEntry[] = [];
  /** performance.now() of the last flush: the flush interval is a duration (timestamps shown stay wall time). */
  private lastFlush = -Infinity;
  private flushTimer: NodeJS.Timeout | undefined;
  private readonly startedAt = Date.now();
  private readonly opts: Required<MonitorOptions>;
  private readonly detachAll: () => void;

  constructor(private readonly server: Server, options: MonitorOptions = {}) {
    super();
    checkOptionNames('monitor', options, MONITOR_OPTION_NAMES);
    this.opts = { timelineSize: 200, roundsSize: 60, roundFlushMs: 250, ...options };
    for (const m of server.members()) this.since.set(m, null);

    const onChange = (c: MembershipChange) => {
      const at = Date.now();
      for (const m of c.left) this.since.delete(m);
      for (const m of c.joined) this.since.set(m, at);
      const entry: TimelineEntry = { kind: 'change', at, round: c.round, joined: c.joined, left: c.left, members: c.members.length };
      this.push(this.timeline, entry, this.opts.timelineSize);
      this.emit('live', { type: 'change', data: { members: this.members(), entry } });
    };
    const onDuplicates = (d: { round: number; names: Array<{ name: string; count: number }> }) => {
      this.pendingDuplicates = { round: d.round, names: new Map(d.names.map((x) => [x.name, x.count])) };
    };
    const onRound = (r: RoundInfo) => {
      // A round's duplicates come just before the round: the marks show the latest round's.
      const names = this.pendingDuplicates?.round === r.round ? this.pendingDuplicates.names : new Map<string, number>();
      this.pendingDuplicates = undefined;
      if (names.size > 0 || this.duplicates.size > 0) {
        this.duplicates = names;
        this.emit('live', { type: 'members', data: { members: this.members() } });
      }
      const entry: RoundEntry = { at: Date.now(), round: r.round, answers: r.answers, durationMs: r.durationMs, members: r.members };
      this.push(this.rounds, entry, this.opts.roundsSize);
      this.pendingRounds.push(entry);
      this.scheduleFlush();
    };
    const actorEvent = (actor: string, event: 'exit' | 'restart' | 'start' | 'giveup', detail: string) => {
      const entry: TimelineEntry = { kind: 'actor', at: Date.now(), actor, event, detail };
      this.push(this.timeline, entry, this.opts.timelineSize);
      this.emit('live', { type: 'health', data: { ...healthReport(this.server), entry } });
    };
    const onExit = (e: ActorExitEvent) => {
      // Clean exits (a stop) are not incidents; health still changes.
      if (e.reason === 'stopped' || e.reason === 'done') this.emit('live', { type: 'health', data: healthReport(this.server) });
      else actorEvent(e.id, 'exit', `${e.reason}${e.error ? `: ${e.error.message}` : ''}`);
    };
    const onRestart = (e: ActorRestartEvent) => actorEvent(e.id, 'restart', `restarting ${e.ids.join(', ')} in ${e.delayMs} ms (attempt ${e.attempt})`);
    const onStart = (e: ActorStartEvent) => {
      if (e.restarts > 0) actorEvent(e.id, 'start', `running again after ${e.restarts} restart${e.restarts === 1 ? '' : 's'}`);
      else this.emit('live', { type: 'health', data: healthReport(this.server) });
    };
    const onGiveUp = (e: GiveUpEvent) => actorEvent('supervisor', 'giveup', e.error.message);

    server.on('change', onChange);
    server.on('round', onRound);
    server.on('duplicates', onDuplicates);
    const sup = server.supervisor;
    sup.on('actor:exit', onExit);
    sup.on('actor:restart', onRestart);
    sup.on('actor:start', onStart);
    sup.on('giveup', onGiveUp);
    this.detachAll = () => {
      server.off('change', onChange);
      server.off('round', onRound);
      server.off('duplicates', onDuplicates);
      sup.off('actor:exit', onExit);
      sup.off('actor:restart', onRestart);
      sup.off('actor:start', onStart);
      sup.off('giveup', onGiveUp);
    };
  }

  members(): MemberEntry[] {
    return [...this.since]
      .map(([name, since]): MemberEntry => {
        const duplicates = this.duplicates.get(name);
        return duplicates === undefined ? { name, since } : { name, since, duplicates };
      })
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  snapshot(): Snapshot {
    const { surveyTime, recvDeadline, pollTime } = this.server.timing;
    return {
      server: { surveyUrl: this.server.surveyUrl, pubsubUrl: this.server.pubsubUrl, timing: { surveyTime, recvDeadline, pollTime }, startedAt: this.startedAt },
      members: this.members(),
      timeline: [...this.timeline],
      rounds: [...this.rounds],
      health: healthReport(this.server),
    };
  }

  /** Stops listening to the server and drops pending round events. */
  close(): void {
    this.detachAll();
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.removeAllListeners();
  }

  private push<T>(list: T[], item: T, max: number): void {
    list.push(item);
    if (list.length > max) list.splice(0, list.length - max);
  }

  private scheduleFlush(): void {
    if (this.flushTimer) return;
    const wait = Math.max(0, this.lastFlush + this.opts.roundFlushMs - performance.now());
    const flush = () => {
      this.flushTimer = undefined;
      this.lastFlush = performance.now();
      const rounds = this.pendingRounds.slice(-this.opts.roundsSize);
      this.pendingRounds = [];
      if (rounds.length) this.emit('live', { type: 'rounds', data: { rounds } });
    };
    if (wait === 0) flush();
    else {
      this.flushTimer = setTimeout(flush, wait);
      this.flushTimer.unref();
    }
  }
}
