/**
 * Loopback TCP connection states from /proc/net/tcp: lets a test wait until a peer in
 * another process (nanocat) has connected, instead of sleeping and hoping.
 */
import { readFileSync } from 'node:fs';

/** Connections in ESTABLISHED state whose local port is `port` (the server side of accepted connections). */
export function establishedOn(port: number): number {
  let n = 0;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 4) continue;
      const localPort = parseInt(cols[1]!.split(':')[1]!, 16);
      if (localPort === port && cols[3] === '01') n++;
    }
  }
  return n;
}

export const portOf = (url: string): number => Number(url.split(':').pop());
