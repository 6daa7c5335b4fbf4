/** Several discovery servers in child processes (test/fixtures/server-process.ts), clients registered with all of them. */
import { createClient, type Client, type Subscriber } from '../../src/index.js';
import type { EndpointPair } from './endpoints.js';
import { spawnTs, type ChildLines } from './processes.js';
import { sameMembers, until } from './wait.js';

export const SERVER_PROCESS = 'test/fixtures/server-process.ts';

/** A server process on `urls`, configured by environment (SURVEY_MS, POLL_MS, REPUBLISH_MS, MISSED_ROUNDS). */
export const startServerProcess = (urls: EndpointPair, env: Record<string, string>): ChildLines =>
  spawnTs(SERVER_PROCESS, { ...env, SURVEY_URL: urls.surveyUrl, PUBSUB_URL: urls.pubsubUrl });

/** A server process's log line: a change whose members include all `names`. */
export const hasAll = (names: string[]) => (line: Record<string, unknown>) => line.event === 'change' && names.every((n) => (line.members as string[]).includes(n));

/**
 * Waits for the servers to be ready, registers one client per name with all of them (one
 * RESPONDENT socket dialled to every surveyor), and waits until `sub`'s merged list and
 * every server list them all. Returns the clients and the iterator of `sub`'s lists.
 */
export async function registerWithAll(servers: ChildLines[], urls: EndpointPair[], sub: Subscriber, names: string[], clients: Client[]): Promise<AsyncIterator<string[]>> {
  await Promise.all(servers.map((s) => s.waitFor((l) => l.event === 'ready', 20_000, 'server ready')));
  for (const service of names) clients.push(await createClient({ surveyUrl: urls.map((u) => u.surveyUrl), service }));
  const changes = sub.changes()[Symbol.asyncIterator]();
  await until(changes, (l) => sameMembers(l, names), 15_000, 'all merged');
  // One RESPONDENT socket dialled to every surveyor answers the servers' back-to-back surveys.
  for (const [i, s] of servers.entries()) await s.waitFor(hasAll(names), 10_000, `all on server ${i}`);
  return changes;
}
