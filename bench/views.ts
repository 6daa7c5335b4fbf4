/**
 * The parent's view of each kind of benchmark child: a server (its forwarded rounds,
 * changes and publications), a subscriber process (watches), and the respondent swarm
 * (sockets spread over as many processes as needed).
 */
import { performance } from 'node:perf_hooks';
import type { JoinSurveyInfo, RoundInfo } from '../src/index.js';
import { freePort } from '../src/testing/endpoints.js';
import { BenchChild, type Event, type SpawnOptions } from './ipc.js';

/** A server's `round` event as forwarded by bench/procs/server.ts, stamped with wall time. */
export type RoundEvent = RoundInfo & { at: number };

/** A server's `joinSurvey` event as forwarded by bench/procs/server.ts, stamped with wall time (its end). */
export type JoinSurveyEvent = JoinSurveyInfo & { at: number };

export interface ChangeEvent {
  at: number;
  round: number;
  eager: boolean;
  members: number;
  joinedCount: number;
  leftCount: number;
  joined: string[];
  left: string[];
  /** Newcomers admitted by a join survey (README "Join survey"). */
  viaJoin?: boolean;
}

export interface PublishedEvent {
  at: number;
  bytes: number;
  members: number;
  heartbeat: boolean;
}

export class ServerView {
  readonly rounds: RoundEvent[] = [];
  readonly changes: ChangeEvent[] = [];
  readonly published: PublishedEvent[] = [];
  readonly joinSurveys: JoinSurveyEvent[] = [];
  readonly troubles: Event[] = [];
  private waiters: Array<() => void> = [];

  constructor(readonly id: string, readonly child: BenchChild) {
    child.on('event', (e) => {
      if (e.ev === 'round') this.rounds.push(e as unknown as RoundEvent);
      else if (e.ev === 'change') this.changes.push(e as unknown as ChangeEvent);
      else if (e.ev === 'published') this.published.push(e as unknown as PublishedEvent);
      else if (e.ev === 'join-survey') this.joinSurveys.push(e as unknown as JoinSurveyEvent);
      else if (e.ev === 'restart' || e.ev === 'failure' || e.ev === 'refused') this.troubles.push(e);
      for (const w of this.waiters.splice(0)) w();
    });
  }

  /** Resolves with the first round (after index `from`) that satisfies `pred`. */
  waitRound(pred: (r: RoundEvent) => boolean, timeoutMs: number, what: string, from = this.rounds.length): Promise<RoundEvent> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.id}: no ${what} within ${timeoutMs} ms (last round: ${JSON.stringify(this.rounds.at(-1))})`)), timeoutMs);
      const check = () => {
        for (let i = from; i < this.rounds.length; i++) {
          if (pred(this.rounds[i]!)) {
            clearTimeout(timer);
            resolve(this.rounds[i]!);
            return;
          }
        }
        from = this.rounds.length;
        this.waiters.push(check);
      };
      check();
    });
  }
}

export class SubscriberView {
  private readonly pending = new Map<string, { resolve: (times: number[]) => void }>();

  constructor(readonly id: string, readonly child: BenchChild) {
    child.on('event', (e) => {
      if (e.ev !== 'watched') return;
      const k = `${e.present ? '+' : '-'}${String(e.name)}`;
      this.pending.get(k)?.resolve(e.times as number[]);
      this.pending.delete(k);
    });
  }

  /**
   * Registers a watch; the returned promise resolves with each subscriber's time of the
   * first list satisfying it, or null after `timeoutMs`.
   */
  async watch(name: string, present: boolean, timeoutMs: number): Promise<{ done: Promise<number[] | null> }> {
    const k = `${present ? '+' : '-'}${name}`;
    const done = new Promise<number[] | null>((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(k);
        resolve(null);
      }, timeoutMs);
      this.pending.set(k, {
        resolve: (t) => {
          clearTimeout(timer);
          resolve(t);
        },
      });
    });
    await this.child.request('watch', { name, present });
    // Wrapped: an async function returning a bare promise would wait for it.
    return { done };
  }

  async sizes(): Promise<number[]> {
    return (await this.child.request<{ sizes: number[] }>('sizes')).sizes;
  }
}

/** Respondent sockets spread over processes of at most `perProcess` sockets each. */
export class Swarm {
  readonly procs: Array<{ child: BenchChild; names: string[] }> = [];
  constructor(
    readonly urls: string[],
    readonly perProcess: number,
    private readonly spawnOptions: SpawnOptions,
    /** Name space: the second octet of names starts here (separate swarms, distinct names). */
    private readonly firstOctet = 0,
  ) {}

  get size(): number {
    return this.procs.reduce((a, p) => a + p.names.length, 0);
  }

  get pids(): number[] {
    return this.procs.map((p) => p.child.proc.pid!).filter((p) => p !== undefined);
  }

  static nameOf(proc: number, k: number): string {
    return `http://10.${proc}.${k >> 8}.${k & 255}:8080`;
  }

  /**
   * Opens sockets until there are `target`, `chunk` at a time, `pauseMs` apart: nanomsg
   * listens with a backlog of 100, and Linux drops the SYNs beyond it (the dialler then
   * retries after 1, 3, 7... s), so dialling thousands at once is slower than a steady ramp.
   */
  async grow(target: number, chunk = 100, pauseMs = 100): Promise<void> {
    // Start every process needed first, in parallel (a process takes a second or two to load).
    const needed = Math.ceil(target / this.perProcess) - this.procs.length;
    const fresh = Array.from({ length: Math.max(0, needed) }, (_, i) => new BenchChild(`swarm${this.procs.length + i}`, 'procs/swarm.ts', [], this.spawnOptions));
    for (const child of fresh) this.procs.push({ child, names: [] });
    await Promise.all(fresh.map((c) => c.up()));
    while (this.size < target) {
      let proc = this.procs.find((p) => p.names.length < this.perProcess);
      if (!proc) {
        const child = new BenchChild(`swarm${this.procs.length}`, 'procs/swarm.ts', [], this.spawnOptions);
        await child.up();
        proc = { child, names: [] };
        this.procs.push(proc);
      }
      const index = this.procs.indexOf(proc);
      const count = Math.min(chunk, this.perProcess - proc.names.length, target - this.size);
      const names = Array.from({ length: count }, (_, i) => Swarm.nameOf(this.firstOctet + index, proc!.names.length + i));
      await proc.child.request('open', { names, urls: this.urls });
      proc.names.push(...names);
      if (this.size < target) await new Promise((r) => setTimeout(r, pauseMs));
    }
  }

  /** Closes every socket at once (a mass leave); returns the wall time before the first close. */
  async closeAll(): Promise<{ at: number; closed: number }> {
    // A process that died (nanomsg aborted it) has no sockets left to close: its members are gone already.
    const alive = this.procs.filter((p) => p.child.alive);
    const replies = await Promise.all(alive.map((p) => p.child.request<{ at: number; closed: number }>('close', { names: p.names })));
    for (const p of this.procs) p.names = [];
    return { at: Math.min(...replies.map((r) => r.at)), closed: replies.reduce((sum, r) => sum + r.closed, 0) };
  }

  /** Respondent processes that died, with the end of what they printed (a nanomsg assertion, say). */
  deaths(): Array<{ name: string; stderr: string }> {
    return this.procs.filter((p) => !p.child.alive).map((p) => ({ name: p.child.name, stderr: p.child.stderr.trim().split('\n').slice(-3).join(' | ') }));
  }

  async stats(): Promise<Array<{ answers: number; cpuMs: number; rss: number }>> {
    return Promise.all(this.procs.map((p) => p.child.request<{ answers: number; cpuMs: number; rss: number }>('stats')));
  }

  async stop(): Promise<void> {
    await Promise.all(this.procs.map((p) => p.child.stop()));
  }
}

/**
 * Until every server had two complete rounds in a row with `n` members (answers ≥ n) and
 * every subscriber holds `n`: a bench's members are all in, everywhere. Throws after
 * 180 s + 20 ms per member.
 */
export async function settleAt(servers: readonly ServerView[], subscribers: readonly SubscriberView[], n: number): Promise<void> {
  const deadline = 180_000 + n * 20;
  await Promise.all(
    servers.map((server) => {
      let streak = 0;
      return server.waitRound((r) => {
        streak = r.answers >= n && r.members === n ? streak + 1 : 0;
        return streak >= 2;
      }, deadline, `two complete rounds at ${n}`);
    }),
  );
  const t0 = performance.now();
  for (;;) {
    const sizes = (await Promise.all(subscribers.map((s) => s.sizes()))).flat();
    if (sizes.every((s) => s === n)) return;
    if (performance.now() - t0 > deadline) throw new Error(`subscribers do not hold ${n} members: ${sizes.join(', ')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * One server process and one process of `subscribers` subscribers, for a bench mode `id`:
 * fresh loopback URLs, the server started with `options` (plus the URLs), the subscribers
 * subscribed. `nofile`: the server's descriptor limit.
 */
export async function startServerBed(id: string, options: Record<string, unknown>, subscribers: number, nofile: number): Promise<{ server: ServerView; subs: SubscriberView; surveyUrl: string }> {
  const surveyUrl = `tcp://127.0.0.1:${await freePort()}`;
  const pubsubUrl = `tcp://127.0.0.1:${await freePort()}`;
  const server = new ServerView(id, new BenchChild(`server:${id}`, 'procs/server.ts', [], { nofile }));
  const subs = new SubscriberView(id, new BenchChild(`subscribers:${id}`, 'procs/subscribers.ts'));
  await Promise.all([server.child.up(), subs.child.up()]);
  await server.child.request('start', { options: { surveyUrl, pubsubUrl, ...options } });
  await subs.child.request('start', { url: pubsubUrl, count: subscribers });
  return { server, subs, surveyUrl };
}
