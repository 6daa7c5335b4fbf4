/**
 * A server with well-behaved clients and a watching subscriber, for tests that attack
 * the server and then check that everyone else was served as if nothing happened.
 */
import assert from 'node:assert/strict';
import { createClient, createServer, subscribe, type Client, type MembershipChange, type Server, type ServerOptions, type Subscriber } from '../../src/index.js';
import { tcpPair, type EndpointPair } from './endpoints.js';
import { portOf } from './tcp-state.js';
import { eventually, sameMembers } from './wait.js';

/**
 * Rounds slow enough that a well-behaved client on a busy machine does not miss one by
 * accident, and two misses in a row before a drop: on a starved shared machine a client's
 * thread can miss one survey, which says nothing about the attack under test.
 */
export const STEADY_TIMING = { surveyTime: 300, recvDeadline: 300, pollTime: 350, missedRounds: 2 } as const;
export const DEADLINE = 15_000;

export interface Discovery {
  server: Server;
  urls: EndpointPair;
  surveyPort: number;
  pubsubPort: number;
  /** The well-behaved clients' names. */
  good: string[];
  /** Every list the watcher received, in order. */
  lists: string[][];
  /** Every change of the server's member set, in order. */
  changes: MembershipChange[];
}

export async function withDiscovery(
  options: Partial<ServerOptions>,
  fn: (d: Discovery) => Promise<void>,
  good: string[] = ['good-1', 'good-2'],
): Promise<void> {
  const urls = await tcpPair();
  const server = await createServer({ ...urls, ...STEADY_TIMING, ...options });
  const changes: MembershipChange[] = [];
  server.on('change', (c) => changes.push(c));
  const clients: Client[] = [];
  let watcher: Subscriber | undefined;
  try {
    watcher = await subscribe({ pubsubUrl: urls.pubsubUrl });
    const lists: string[][] = [];
    watcher.on('change', (l) => lists.push(l));
    for (const service of good) clients.push(await createClient({ ...urls, service }));
    await eventually(() => lists.some((l) => sameMembers(l, good)), DEADLINE, `the watcher to see ${good.join(', ')}`);
    await fn({ server, urls, surveyPort: portOf(urls.surveyUrl), pubsubPort: portOf(urls.pubsubUrl), good, lists, changes });
  } finally {
    await Promise.all([...clients.map((c) => c.close()), watcher?.close()]);
    await server.close();
  }
}

/**
 * After an attack: rounds still end, every actor runs unrestarted, the well-behaved
 * clients stayed listed in every list since they first were, no list held a name
 * outside `good` + `alsoAllowed`, and the server's list is the good set again.
 */
export async function assertServedWell(d: Discovery, alsoAllowed: (name: string) => boolean = () => false): Promise<void> {
  const rounds = d.server.stats().rounds;
  await eventually(() => d.server.stats().rounds >= rounds + 3, DEADLINE, 'three more rounds after the attack');
  for (const h of d.server.health()) {
    assert.equal(h.state, 'running', `${h.name} is ${h.state}`);
    assert.equal(h.restarts, 0, `${h.name} was restarted`);
  }
  const first = d.lists.findIndex((l) => d.good.every((g) => l.includes(g)));
  assert.ok(first >= 0, 'the good clients were listed');
  for (const l of d.lists.slice(first)) {
    for (const g of d.good) assert.ok(l.includes(g), `${g} missing from a list: ${JSON.stringify(l)}`);
    for (const m of l) assert.ok(d.good.includes(m) || alsoAllowed(m), `a list held ${JSON.stringify(m)}: ${JSON.stringify(l)}`);
  }
  await eventually(() => sameMembers(d.server.members(), d.good), DEADLINE, `the server's list to be ${d.good.join(', ')} again`);
}
