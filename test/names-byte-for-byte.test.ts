/**
 * Names byte for byte: every accepted service string is answered, listed, published and
 * yielded exactly as given (a leading U+FEFF included), or refused at creation with the
 * rule it breaks; the server applies the same rules, over all of Unicode, to what a
 * foreign peer answers; and nothing that prints names to a terminal writes raw control
 * characters.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, test } from 'node:test';
import { createClient, createServer, subscribe } from '../src/index.js';
import { closeActorPool } from '../src/pool.js';
import { createLogger } from '../src/log.js';
import { escapeUnprintable, jsonLine, printable } from '../src/printable.js';
import { decodeAnswer, decodeMembers, encodeAnswer, encodeMembers, validateServiceName } from '../src/protocol.js';
import { formatChange } from '../src/cli/watch.js';
import { launchBrowser } from './helpers/browser.js';
import { Cli, cleanEnv } from './helpers/cli.js';
import { FAST, freePort, tcpPair } from './helpers/endpoints.js';
import { startMonitoredServer } from './helpers/monitored-server.js';
import { Peer } from './helpers/peer.js';
import { RogueRespondent } from './helpers/raw-sp.js';
import { eventually, sameMembers, until, within } from './helpers/wait.js';

after(() => closeActorPool());

const RULE_CASES: Array<[string, string]> = [
  ['nul\u0000', 'control-character'],
  ['esc\u001b[31m', 'control-character'],
  ['del\u007f', 'control-character'],
  ['nel\u0085', 'control-character'],
  ['csi\u009b2J', 'control-character'],
  ['line\u2028sep', 'control-character'],
  ['para\u2029sep', 'control-character'],
  ['rlo\u202Eevil', 'control-character'],
  ['lri\u2066x\u2069', 'control-character'],
  ['high\uD800', 'not-utf8'],
  ['\uDC00low', 'not-utf8'],
  ['a|b', 'separator'],
  ['', 'empty'],
];

const KEPT = ['\uFEFFbom', 'bom', 'mid\uFEFFdle', 'caf\u00e9', 'cafe\u0301', 'emoji 😀', '\uFFFD', 'nbsp\u00a0', 'lrm\u200e', 'שלום', 'non\uFFFFchar', 'back\\slash'];

test('validateServiceName: each rule over Unicode (C0, DEL, C1, U+2028/9, bidi controls, lone surrogates), the rest kept as given', () => {
  for (const [name, rule] of RULE_CASES) {
    assert.throws(() => validateServiceName(name), (e: Error & { code: string; rule: string }) => {
      assert.equal(e.code, 'ERR_INVALID_SERVICE_NAME');
      assert.equal(e.rule, rule, `${JSON.stringify(name)}: ${e.message}`);
      return true;
    });
  }
  for (const name of KEPT) assert.equal(validateServiceName(name), name);
});

test('for every code point, the client rule and the server rule agree, and an accepted name survives answer and list decoding byte for byte', () => {
  let accepted = 0;
  for (let cp = 0; cp <= 0x10ffff; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue; // lone surrogates: below, as bytes
    const name = `x${String.fromCodePoint(cp)}`;
    let clientOk = true;
    try {
      validateServiceName(name);
    } catch {
      clientOk = false;
    }
    const answer = decodeAnswer(encodeAnswer(name));
    if (answer.ok !== clientOk) assert.fail(`U+${cp.toString(16)}: client ${clientOk}, server ${answer.ok}`);
    if (!clientOk) continue;
    accepted++;
    if (answer.ok && answer.name !== name) assert.fail(`U+${cp.toString(16)} decoded as ${JSON.stringify(answer.name)}`);
    const bom = `\uFEFF${String.fromCodePoint(cp)}`;
    const list = decodeMembers(encodeMembers([bom, name]));
    if (!sameMembers(list, [bom, name])) assert.fail(`U+${cp.toString(16)}: list ${JSON.stringify(list)}`);
  }
  // Everything but the 65 Cc, U+2028/9, 9 bidi controls, '|' and the 2,048 surrogates.
  assert.equal(accepted, 0x110000 - 2048 - 65 - 2 - 9 - 1);
  // Encoded surrogates (CESU-8 / WTF-8) and overlong forms are not UTF-8: refused by the server.
  for (const bytes of [[0x78, 0xed, 0xa0, 0x80], [0x78, 0xed, 0xbf, 0xbf], [0xc0, 0xaf], [0xef, 0xbb]]) {
    assert.deepEqual(decodeAnswer(Buffer.from(bytes)), { ok: false, code: 'not-utf8', reason: 'answer is not valid UTF-8' });
  }
  assert.deepEqual(decodeAnswer(Buffer.from([0xef, 0xbb, 0xbf, 0x62])), { ok: true, name: '\uFEFFb' });
});

test("the issue's example: clients '\\uFEFFbom' and 'bom' are two members, each listed, published and yielded byte for byte", async () => {
  const urls = await tcpPair();
  const server = await createServer({ ...urls, ...FAST });
  const sub = await subscribe({ pubsubUrl: urls.pubsubUrl });
  const names = ['\uFEFFbom', 'bom', 'mid\uFEFFdle', 'cafe\u0301', 'caf\u00e9'];
  const clients = [];
  for (const service of names) clients.push(await createClient({ ...urls, service }));
  try {
    const changes = sub.changes()[Symbol.asyncIterator]();
    const { value } = await until(changes, (l) => l.length === names.length, 15_000, 'five distinct members at the subscriber');
    assert.deepEqual([...value].sort(), [...names].sort());
    const peers = clients[0]!.peers()[Symbol.asyncIterator]();
    const mine = await until(peers, (l) => l.length === names.length, 15_000, 'five members at the BOM client');
    assert.ok(mine.value.includes(clients[0]!.service), 'the BOM client finds its own name');
    assert.equal(clients[0]!.service, '\uFEFFbom');
    await eventually(() => sameMembers(server.members(), names), 15_000, "the server's members");
    assert.deepEqual(Buffer.from(server.members().find((m) => m.endsWith('bom') && m !== 'bom')!), Buffer.from('\uFEFFbom'));
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await sub.close();
    await server.close();
  }
});

test('a foreign respondent: a name with a C1 control or a bidi override is refused and counted by rule; a BOM name is listed as sent', async () => {
  const urls = await tcpPair();
  const server = await createServer({ ...urls, ...FAST });
  const port = Number(urls.surveyUrl.split(':').pop());
  const rogue = await RogueRespondent.open(port, () => [
    { body: Buffer.from('c1\u0085x') },
    { body: Buffer.from('rlo\u202Eevil') },
    { body: Buffer.from('ls\u2028x') },
    { body: Buffer.from([0x62, 0xed, 0xa0, 0x80]) },
    { body: Buffer.from('\uFEFFforeign') },
  ]);
  try {
    await eventually(() => server.stats().refused['control-character'] >= 3 && server.stats().refused['not-utf8'] >= 1, 15_000, 'the refusals counted');
    await eventually(() => sameMembers(server.members(), ['\uFEFFforeign']), 15_000, 'the BOM name listed');
    assert.ok(server.members().every((m) => !/[\u0085\u202e\u2028]/.test(m)), 'no refused name listed');
  } finally {
    await rogue.stop();
    await server.close();
  }
});

test('printable(): terminals get escapes, never raw controls; JSON lines keep the exact values', () => {
  const evil = 'a\u001b[2Jb\u009bc\u0085d\u202Ee\u2028f\uD800g\\h';
  const shown = printable(evil);
  assert.doesNotMatch(shown, /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/);
  assert.equal(shown, 'a\\u{001B}[2Jb\\u{009B}c\\u{0085}d\\u{202E}e\\u{2028}f\\u{D800}g\\\\h');
  assert.equal(printable('\uFEFFbom caf\u00e9 😀'), '\uFEFFbom caf\u00e9 😀');
  assert.equal(escapeUnprintable('x\\n\u0085'), 'x\\n\\u{0085}');
  const line = jsonLine({ members: [evil] });
  assert.doesNotMatch(line, /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/);
  assert.deepEqual(JSON.parse(line), { members: [evil] });
  const human = formatChange({ time: 't', joined: [evil], left: [], members: [evil] });
  assert.doesNotMatch(human, /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e]/);
});

function capture(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  return { stream, text: () => chunks.join('') };
}

test('logs: pretty and JSON lines never carry raw controls; JSON keeps the exact message', () => {
  const msg = 'joined: a\u001b[31m, b\u009b, c\u2028, d\u202E';
  const pretty = capture();
  createLogger({ format: 'pretty', destination: pretty.stream, isTTY: false }).info(msg);
  assert.match(pretty.text(), /joined: a\\u\{001B\}\[31m, b\\u\{009B\}, c\\u\{2028\}, d\\u\{202E\}/);
  assert.doesNotMatch(pretty.text(), /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e]/);
  const json = capture();
  createLogger({ format: 'json', destination: json.stream }).info({ joined: ['x\u0085'] }, msg);
  const line = json.text().trim();
  assert.doesNotMatch(line, /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e]/);
  const parsed = JSON.parse(line) as { msg: string; joined: string[] };
  assert.equal(parsed.msg, msg);
  assert.deepEqual(parsed.joined, ['x\u0085']);
});

test('CLI: `watch` and `client` print names a foreign server published with escapes (text) or \\u escapes (--json), never raw', async () => {
  const pubsubUrl = `tcp://127.0.0.1:${await freePort()}`;
  const publisher = Peer.bind('pub', pubsubUrl);
  const list = ['evil\u001b[2J', 'c1\u009bx', 'rlo\u202Eabc', '\uFEFFbom'];
  const watch = new Cli(['watch', '--pubsub-url', pubsubUrl, '--log-format', 'json']);
  const watchJson = new Cli(['watch', '--pubsub-url', pubsubUrl, '--json', '--log-format', 'json']);
  const surveyUrl = `tcp://127.0.0.1:${await freePort()}`;
  const client = new Cli(['client', '--name', 'me', '--survey-url', surveyUrl, '--pubsub-url', pubsubUrl, '--log-format', 'json']);
  const timer = setInterval(() => publisher.send(encodeMembers(list)), 50);
  try {
    const text = await watch.line((l) => l.includes('members (4)'), 'the watch line');
    const json = await watchJson.line((l) => l.startsWith('{') && l.includes('members'), 'the watch --json line');
    const peers = await client.line((l) => l.startsWith('peers (4)'), 'the client line');
    for (const line of [text, json, peers]) assert.doesNotMatch(line, /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e]/, line);
    assert.ok(text.includes('evil\\u{001B}[2J') && text.includes('c1\\u{009B}x') && text.includes('\uFEFFbom'), text);
    assert.ok(peers.includes('rlo\\u{202E}abc'), peers);
    assert.deepEqual([...(JSON.parse(json) as { members: string[] }).members].sort(), [...list].sort());
  } finally {
    clearInterval(timer);
    await Promise.all([watch.stop(), watchJson.stop(), client.stop()]);
    publisher.close();
  }
});

test('CLI: a --name that breaks a rule exits 2 naming the rule, the name escaped on stderr', async () => {
  const cli = new Cli(['client', '--name', 'bad\u009bname', '--survey-url', `tcp://127.0.0.1:${await freePort()}`], cleanEnv());
  const exit = await within(20_000, 'the client to exit', cli.exited);
  assert.equal(exit.code, 2);
  const line = cli.stderr.all.find((l) => l.startsWith('gopherdiscovery:'));
  assert.ok(line, cli.stderr.all.join('\n'));
  assert.match(line, /control/);
  assert.match(line, /\\u\{009B\}|\\u009b/);
  assert.doesNotMatch(line, /\u009b/);
});

test('the dashboard and /members show a BOM name byte for byte, beside the name without it', async () => {
  // Unhurried rounds with grace: what is checked is bytes, and under a CPU hog 10 ms surveys
  // can drop a member for a moment while the page loads.
  const fixture = await startMonitoredServer({ surveyTime: 200, recvDeadline: 200, pollTime: 250, missedRounds: 3 });
  const clients = [
    await createClient({ surveyUrl: fixture.urls.surveyUrl, service: '\uFEFFbom' }),
    await createClient({ surveyUrl: fixture.urls.surveyUrl, service: 'bom' }),
  ];
  const browser = await launchBrowser();
  try {
    await eventually(() => fixture.server.members().length === 2, 20_000, 'both members');
    const members = (await (await fetch(new URL('/members', fixture.http.url))).json()) as string[];
    assert.deepEqual([...members].sort(), ['bom', '\uFEFFbom'].sort());
    const page = await browser.context.newPage();
    await page.goto(fixture.http.url);
    await page.locator('#members li').nth(1).waitFor({ timeout: 60_000 });
    const shown = await page.locator('#members li .name').evaluateAll((els) => els.map((e) => e.textContent));
    assert.deepEqual([...shown].sort(), ['bom', '\uFEFFbom'].sort());
  } finally {
    await browser.close();
    await Promise.all(clients.map((c) => c.close()));
    await fixture.close();
  }
});
