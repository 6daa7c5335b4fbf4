#!/usr/bin/env node
/**
 * The `gopherdiscovery` command (see src/cli/). The first SIGINT / SIGTERM stops the
 * command gracefully (actors stopped, sockets closed, exit 0); a second one exits at once
 * with 130 / 143, as a shell would after a signal.
 */
import { main } from './cli/main.js';
import { StopSignal } from './cli/context.js';

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

process.exitCode = await main(process.argv.slice(2), {
  out: (line) => void process.stdout.write(line + '\n'),
  err: (line) => void process.stderr.write(line + '\n'),
  env: process.env,
  stop: stop.signal,
});
process.off('SIGINT', onSignal);
process.off('SIGTERM', onSignal);
