#!/usr/bin/env node
/**
 * The `gopherdiscovery` command (see src/cli/). The first SIGINT / SIGTERM stops the
 * command gracefully (actors stopped, sockets closed, exit 0); a second one exits at once
 * with 130 / 143, as a shell would after a signal.
 */
import { VERSION } from './cli/version.js';

const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
  process.stdout.write(VERSION + '\n');
  process.exit(0);
}
// The command's optional peers (pino, pino-pretty, prom-client) are imported when a command
// runs (withCliPeers, src/cli/context.ts): --help works without them, a command names them.
const { main } = await import('./cli/main.js');
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
