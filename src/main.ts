#!/usr/bin/env node
/**
 * The `gopherdiscovery` command (see src/cli/). The first SIGINT / SIGTERM stops the
 * command gracefully (actors stopped, sockets closed, exit 0); a second one exits at once
 * with 130 / 143, as a shell would after a signal.
 */
import { MissingPeerError } from './errors.js';
import { VERSION } from './cli/version.js';

/** The command's logs and metrics need pino, pino-pretty and prom-client: optional peer dependencies of the library. */
const CLI_PEERS = ['pino', 'pino-pretty', 'prom-client'];

const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
  process.stdout.write(VERSION + '\n');
  process.exit(0);
}
let cli: typeof import('./cli/main.js');
try {
  cli = await import('./cli/main.js');
} catch (e) {
  const missing = CLI_PEERS.find((p) => (e as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' && (e as Error).message.includes(`'${p}'`));
  if (!missing) throw e;
  process.stderr.write(`gopherdiscovery: ${new MissingPeerError('the gopherdiscovery command', CLI_PEERS, e).message}\n`);
  process.exit(1);
}
const { main } = cli;
const { StopSignal } = await import('./cli/context.js');

const stop = new AbortController();
const onSignal = (signal: NodeJS.Signals) => {
  if (!stop.signal.aborted) stop.abort(new StopSignal(signal));
  else {
    process.stderr.write(`gopherdiscovery: second ${signal} during shutdown; exiting now\n`);
    process.exit(signal === 'SIGINT' ? 130 : 143);
  }
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

process.exitCode = await main(argv, {
  out: (line) => void process.stdout.write(line + '\n'),
  err: (line) => void process.stderr.write(line + '\n'),
  env: process.env,
  stop: stop.signal,
});
process.off('SIGINT', onSignal);
process.off('SIGTERM', onSignal);
