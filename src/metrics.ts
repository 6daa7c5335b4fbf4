/**
 * Prometheus metrics for a discovery server, fed only by its public events (rounds,
 * changes, publications, refusals) and its supervisor's (restarts, health). Each server
 * gets its own prom-client Registry, so two servers in one process never share counters.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { checkOptionNames, optionNames } from './options.js';
import { REFUSAL_REASONS, type RefusalReason } from './protocol.js';
import type { MembershipChange, RoundInfo, Server } from './server.js';
import type { ActorRestartEvent } from './supervisor.js';

export interface ServerMetricsOptions {
  /** Also export Node's process metrics (CPU, memory, event-loop lag, GC). Default false. */
  processMetrics?: boolean;
}

export const SERVER_METRICS_OPTION_NAMES = optionNames<ServerMetricsOptions>()(['processMetrics']);

/**
 * What /metrics needs of a metrics registry; prom-client's `Registry` fits. Our own, so that
 * the public types never name prom-client, an optional peer dependency: an app importing
 * gopherdiscovery/http type-checks without it installed.
 */
export interface MetricsRegistry {
  /** The exposition text (Prometheus text format). */
  metrics(): Promise<string>;
  /** The Content-Type header of that text. */
  readonly contentType: string;
}

export interface ServerMetrics {
  readonly registry: MetricsRegistry;
  /** The exposition text for GET /metrics. */
  text(): Promise<string>;
  readonly contentType: string;
  /** Removes the listeners from the server. */
  detach(): void;
}

export function createServerMetrics(server: Server, options: ServerMetricsOptions = {}): ServerMetrics {
  checkOptionNames('createServerMetrics', options, SERVER_METRICS_OPTION_NAMES);
  const registry = new Registry();
  const registers = [registry];
  const members = new Gauge({ name: 'gopherdiscovery_members', help: 'Members in the current list.', registers });
  members.set(server.members().length);
  const rounds = new Counter({ name: 'gopherdiscovery_rounds_total', help: 'Survey rounds completed.', registers });
  const duration = new Histogram({
    name: 'gopherdiscovery_round_duration_seconds',
    help: 'Length of a survey round, from the survey sent to the last answer or deadline.',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  const answers = new Histogram({
    name: 'gopherdiscovery_round_answers',
    help: 'Answers received in a round (duplicates and refused answers included).',
    buckets: [0, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000],
    registers,
  });
  const publications = new Counter({ name: 'gopherdiscovery_publications_total', help: 'Member lists published on the PUB socket.', registers });
  const joins = new Counter({ name: 'gopherdiscovery_joins_total', help: 'Members that joined.', registers });
  const leaves = new Counter({ name: 'gopherdiscovery_leaves_total', help: 'Members that left.', registers });
  const refused = new Counter({
    name: 'gopherdiscovery_refused_answers_total',
    help: 'Answers refused (oversized, not UTF-8, containing "|" or a control character, over the member cap).',
    registers,
  });
  const refusedByReason = new Counter({
    name: 'gopherdiscovery_refused_answers_by_reason_total',
    help: 'Answers refused, by reason (as server.stats().refused): not-accepted by the accept rule, and in secret mode unauthenticated, unknown-key, bad-mac.',
    labelNames: ['reason'] as const,
    registers,
  });
  // Every reason's series exists from the start at 0, so rate() sees the first refusal.
  for (const reason of REFUSAL_REASONS) refusedByReason.inc({ reason }, 0);
  const duplicates = new Counter({
    name: 'gopherdiscovery_duplicate_answers_total',
    help: 'Answers that repeated a name already answered in their round: two members claiming one name, or one connected twice.',
    registers,
  });
  duplicates.inc(server.stats().duplicates);
  const restarts = new Counter({ name: 'gopherdiscovery_actor_restarts_total', help: 'Actor restarts by the supervisor.', labelNames: ['actor'] as const, registers });
  new Gauge({
    name: 'gopherdiscovery_actor_up',
    help: '1 when the actor is running, 0 when it is starting, restarting, stopped or failed.',
    labelNames: ['actor'] as const,
    registers,
    collect() {
      for (const h of server.health()) this.set({ actor: h.id }, h.state === 'running' ? 1 : 0);
    },
  });
  // Every actor's restart series exists from the start at 0, so rate() sees the first restart.
  for (const h of server.health()) restarts.inc({ actor: h.id }, 0);
  if (options.processMetrics) collectDefaultMetrics({ register: registry });

  const onRound = (r: RoundInfo) => {
    rounds.inc();
    duration.observe(r.durationMs / 1000);
    answers.observe(r.answers);
    members.set(r.members);
  };
  const onChange = (c: MembershipChange) => {
    members.set(c.members.length);
    joins.inc(c.joined.length);
    leaves.inc(c.left.length);
  };
  const onPublished = () => publications.inc();
  const onRefused = (r: { code: RefusalReason; count: number }) => {
    refused.inc(r.count);
    refusedByReason.inc({ reason: r.code }, r.count);
  };
  const onDuplicates = (d: { names: Array<{ count: number }> }) => duplicates.inc(d.names.reduce((n, x) => n + x.count, 0));
  const onRestart = (e: ActorRestartEvent) => {
    for (const id of e.ids) restarts.inc({ actor: id });
  };
  server.on('round', onRound);
  server.on('change', onChange);
  server.on('published', onPublished);
  server.on('refused', onRefused);
  server.on('duplicates', onDuplicates);
  server.supervisor.on('actor:restart', onRestart);

  return {
    registry,
    contentType: registry.contentType,
    text: () => registry.metrics(),
    detach() {
      server.off('round', onRound);
      server.off('change', onChange);
      server.off('published', onPublished);
      server.off('refused', onRefused);
      server.off('duplicates', onDuplicates);
      server.supervisor.off('actor:restart', onRestart);
    },
  };
}
