/**
 * A discovery server alone in a child process (forked by server-process.ts), so that a
 * test can measure that process's CPU and see whether it survives, apart from the test's
 * own attackers and clients. Reports over the IPC channel; answers 'cpu', 'stats', 'close'.
 */
import { createServer, type ServerOptions } from '../../src/index.js';
import { closeActorPool } from '../../src/pool.js';

const options = JSON.parse(process.argv[2]!) as ServerOptions;
const send = (msg: unknown) => process.send!(msg);

try {
  const server = await createServer(options);
  server.on('change', (c) => send({ type: 'change', members: c.members, left: c.left }));
  server.on('round', (r) => send({ type: 'round', round: r.round, durationMs: r.durationMs }));
  process.on('message', async (msg: { cmd: string; id: number }) => {
    switch (msg.cmd) {
      case 'cpu':
        return send({ type: 'reply', id: msg.id, value: process.cpuUsage() });
      case 'stats':
        return send({ type: 'reply', id: msg.id, value: { stats: server.stats(), health: server.health(), members: server.members() } });
      case 'close':
        await server.close();
        await closeActorPool();
        send({ type: 'reply', id: msg.id, value: null });
        process.disconnect();
    }
  });
  send({ type: 'ready' });
} catch (e) {
  send({ type: 'failed', message: (e as Error).message });
  process.exitCode = 1;
  process.disconnect();
}
