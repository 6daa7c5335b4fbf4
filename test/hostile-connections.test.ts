/**
 * Hostile connections to both of a running server's ports, over raw TCP: random bytes, a
 * truncated SP header, a header announcing the wrong protocol, and a flood of
 * connect / disconnect cycles during rounds. Each is closed by the server (or simply
 * goes away), and the well-behaved clients are served throughout.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { after, test } from 'node:test';
import { closeActorPool } from '../src/pool.js';
import { assertServedWell, DEADLINE, withDiscovery, type Discovery } from './helpers/discovery.js';
import { Peer } from './helpers/peer.js';
import { RawConnection, SP_PROTOCOL, spHeader } from './helpers/raw-sp.js';
import { eventually, within } from './helpers/wait.js';

after(() => closeActorPool());

const ports = (d: Discovery) => [
  { port: d.surveyPort, name: 'survey', own: SP_PROTOCOL.surveyor },
  { port: d.pubsubPort, name: 'pub/sub', own: SP_PROTOCOL.pub },
];

/** Sends `bytes` on a fresh connection and waits for the server to close it; returns what the server sent first. */
async function sendAndExpectClose(port: number, bytes: Buffer, what: string): Promise<{ received: Buffer; conn: RawConnection }> {
  const conn = await RawConnection.connect(port);
  const chunks: Buffer[] = [];
  conn.socket.on('data', (d: Buffer) => chunks.push(d));
  conn.write(bytes);
  await within(DEADLINE, `the server to close the connection after ${what}`, conn.closed);
  return { received: Buffer.concat(chunks), conn };
}

test('random bytes: the server closes each connection, on both ports, and keeps serving', async () => {
  await withDiscovery({}, async (d) => {
    for (const { port, name } of ports(d)) {
      await Promise.all(
        Array.from({ length: 10 }, (_, i) => {
          const junk = randomBytes(64 + i * 400);
          junk[0] = 0xff; // never, by chance, the start of an SP header
          return sendAndExpectClose(port, junk, `${junk.length} random bytes to the ${name} port`);
        }),
      );
    }
    await assertServedWell(d);
  });
});

test('a truncated SP header: the server gives up on it (nanomsg waits about a second) while rounds go on', async () => {
  await withDiscovery({}, async (d) => {
    for (const { port, name } of ports(d)) {
      const rounds = d.server.stats().rounds;
      const conn = await RawConnection.connect(port);
      conn.write(spHeader(SP_PROTOCOL.respondent).subarray(0, 5)); // 00 53 50 00 00 and nothing more
      // Rounds do not wait for the half-open handshake...
      await eventually(() => d.server.stats().rounds >= rounds + 2 || conn.isClosed, DEADLINE, 'rounds during the handshake');
      // ...and the connection does not stay open forever.
      await within(DEADLINE, `the ${name} port to drop the truncated header`, conn.closed);
    }
    await assertServedWell(d);
  });
});

test('an SP header announcing the wrong protocol: the server answers with its own header and closes', async () => {
  await withDiscovery({}, async (d) => {
    const wrong = {
      [d.surveyPort]: [SP_PROTOCOL.surveyor, SP_PROTOCOL.sub, SP_PROTOCOL.pair, 0x7777],
      [d.pubsubPort]: [SP_PROTOCOL.pub, SP_PROTOCOL.respondent, SP_PROTOCOL.pair, 0x7777],
    };
    for (const { port, name, own } of ports(d)) {
      for (const protocol of wrong[port]!) {
        const { received } = await sendAndExpectClose(port, spHeader(protocol), `protocol 0x${protocol.toString(16)} on the ${name} port`);
        assert.deepEqual(received, spHeader(own), `the ${name} port announces itself, and sends nothing else`);
      }
    }
    await assertServedWell(d);
  });
});

function openDescriptors(): number {
  return readdirSync('/proc/self/fd').length;
}

test('a flood of connect / disconnect cycles during rounds: nobody is dropped, nothing is left open', async () => {
  await withDiscovery({}, async (d) => {
    const fdsBefore = openDescriptors();
    const roundsBefore = d.server.stats().rounds;
    const cycle = async (i: number) => {
      const { port } = ports(d)[i % 2]!;
      const conn = await RawConnection.connect(port);
      // Half of them complete a correct handshake first; all of them vanish abruptly.
      if (i % 4 < 2) conn.write(spHeader(i % 2 === 0 ? SP_PROTOCOL.respondent : SP_PROTOCOL.sub));
      if (i % 3 === 0) await within(DEADLINE, "the server's header", new Promise((resolve) => conn.socket.once('data', resolve)));
      conn.destroy();
    };
    // At least 400 cycles, and for at least three rounds.
    for (let batch = 0; batch < 20 || d.server.stats().rounds < roundsBefore + 3; batch++) {
      await Promise.all(Array.from({ length: 20 }, (_, i) => cycle(batch * 20 + i)));
      // Real nanomsg peers too: respondents and subscribers that connect and close at once.
      const peers = [Peer.connect('respondent', d.urls.surveyUrl), Peer.connect('sub', d.urls.pubsubUrl)];
      for (const p of peers) p.close();
    }
    await assertServedWell(d);
    // Every connection the flood opened is closed again, on both sides (they all live in this process).
    await eventually(() => openDescriptors() <= fdsBefore, DEADLINE, `descriptors back to ${fdsBefore} (now ${openDescriptors()})`, 50);
  });
});
