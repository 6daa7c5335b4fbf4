/**
 * The command's default ports (`npm start`, `gopherdiscovery server` / `client` / `watch`
 * without URLs) lie below Linux's ephemeral range (32768–60999), where the kernel picks the
 * local port of every outgoing connection: a server listening there could find its port
 * taken by some connect(). They are registered to no service in /etc/services, and the
 * README's flag table and --help state them. Nothing binds them here: the values are checked.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { helpText } from '../src/cli/args.js';
import { DEFAULTS } from '../src/cli/context.js';
import { COMMANDS } from '../src/cli/main.js';
import { parseEndpoint } from '../src/protocol.js';
import { ephemeralPortRange } from '../src/testing/endpoints.js';
import { REPO } from './helpers/child.js';

/** Linux's default ip_local_port_range, whatever this machine's is set to. */
const LINUX_EPHEMERAL_LOW = 32_768;

const defaultPorts = () => [DEFAULTS.surveyUrl, DEFAULTS.pubsubUrl].map((url) => (parseEndpoint(url) as { port: number }).port);

test("the default ports are below Linux's ephemeral range and this machine's", () => {
  const ports = defaultPorts();
  assert.equal(new Set(ports).size, 2, 'two distinct ports');
  for (const port of ports) {
    assert.ok(port >= 1024 && port < LINUX_EPHEMERAL_LOW, `${port} in 1024..32767`);
    assert.ok(port < ephemeralPortRange().low, `${port} below this machine's ephemeral range ${JSON.stringify(ephemeralPortRange())}`);
  }
  assert.match(DEFAULTS.surveyUrl, /^tcp:\/\/127\.0\.0\.1:/, 'loopback only');
  assert.match(DEFAULTS.pubsubUrl, /^tcp:\/\/127\.0\.0\.1:/, 'loopback only');
});

test('no service in /etc/services (netbase) is registered on a default port', async () => {
  const services = await readFile('/etc/services', 'utf8');
  const registered = new Map<number, string>();
  for (const line of services.split('\n')) {
    const m = /^([^\s#]+)\s+(\d+)\/(tcp|udp)\b/.exec(line);
    if (m) registered.set(Number(m[2]), m[1]!);
  }
  assert.ok(registered.size > 100, `/etc/services lists services (${registered.size})`);
  for (const port of defaultPorts()) assert.equal(registered.get(port), undefined, `port ${port}`);
});

test("--help and the README's flag table state the default URLs", async () => {
  for (const name of ['server', 'client'] as const) assert.ok(helpText(COMMANDS[name]!.spec).includes(DEFAULTS.surveyUrl), `${name} --help`);
  for (const name of ['server', 'watch'] as const) assert.ok(helpText(COMMANDS[name]!.spec).includes(DEFAULTS.pubsubUrl), `${name} --help`);
  const readme = await readFile(join(REPO, 'README.md'), 'utf8');
  assert.ok(readme.includes(`| \`--survey-url\` | \`GOPHERDISCOVERY_SURVEY_URL\` | \`${DEFAULTS.surveyUrl}\` |`), 'README --survey-url row');
  assert.ok(readme.includes(`| \`--pubsub-url\` | \`GOPHERDISCOVERY_PUBSUB_URL\` | \`${DEFAULTS.pubsubUrl}\``), 'README --pubsub-url row');
  assert.ok(readme.includes(`npm start        # builds, then runs a server: survey ${DEFAULTS.surveyUrl}, pub/sub ${DEFAULTS.pubsubUrl},`), 'README npm start line');
});
