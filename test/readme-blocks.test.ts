/**
 * The README's TypeScript blocks, as a user copies them: all compile under strict nodenext
 * against this package's built types, and every block not marked `<!-- not-run: why -->`
 * runs to completion with plain node within a deadline (scripts/readme-blocks.ts).
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { compileBlocks, extractBlocks, runBlock, withFreePorts, type BlockApp } from '../scripts/readme-blocks.js';
import { REPO } from './helpers/child.js';

const RUN_DEADLINE_MS = 60_000;

test('extractBlocks finds ts blocks with their README line and not-run marker, and nothing else', () => {
  const md = [
    '# x', //                                      1
    '```ts', //                                    2
    'const a = 1;', //                             3
    '```', //                                      4
    '<!-- not-run: needs a server -->', //         5
    '', //                                         6
    '```typescript', //                            7
    'const b = 2;', //                             8
    'const c = 3;', //                             9
    '```', //                                      10
    '```sh', //                                    11
    'npm test', //                                 12
    '```', //                                      13
    '<!-- a comment, not a marker -->', //         14
    '```ts', //                                    15
    'const d = 4;', //                             16
    '```', //                                      17
  ].join('\n');
  assert.deepEqual(extractBlocks(md), [
    { index: 0, line: 3, code: 'const a = 1;\n' },
    { index: 1, line: 8, code: 'const b = 2;\nconst c = 3;\n', notRun: 'needs a server' },
    { index: 2, line: 16, code: 'const d = 4;\n' },
  ]);
  assert.throws(() => extractBlocks('```ts\nconst x = 1;\n'), /line 1: the ts block is never closed/);
});

test('withFreePorts gives each distinct loopback port one new port, the same throughout', async () => {
  const code = "const a = 'tcp://127.0.0.1:40007'; const b = 'tcp://127.0.0.1:50007'; const c = 'tcp://127.0.0.1:40007'; const d = 'tcp://10.0.0.1:40007';";
  const out = await withFreePorts(code);
  const ports = [...out.matchAll(/tcp:\/\/127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1]));
  assert.equal(ports.length, 3);
  assert.equal(ports[0], ports[2]);
  assert.notEqual(ports[0], ports[1]);
  assert.ok(!ports.includes(40007) && !ports.includes(50007), `new ports: ${ports.join(', ')}`);
  assert.match(out, /tcp:\/\/10\.0\.0\.1:40007/, 'other hosts untouched');
});

describe('README.md', () => {
  let app: BlockApp | undefined;
  let blocks: ReturnType<typeof extractBlocks> = [];

  before(async () => {
    blocks = extractBlocks(await readFile(join(REPO, 'README.md'), 'utf8'));
  });
  after(async () => {
    await app?.remove();
  });

  test('every ts block compiles under strict nodenext against the package types (skipLibCheck false)', async () => {
    assert.ok(blocks.length >= 3, `found ${blocks.length} blocks`);
    app = await compileBlocks(blocks);
  });

  test('every block not marked not-run runs to completion by itself', async (t) => {
    assert.ok(app, 'compiled');
    const runnable = blocks.filter((b) => !b.notRun);
    assert.ok(runnable.length > 0, 'some blocks run');
    for (const block of runnable) {
      await t.test(`block ${block.index + 1} (README line ${block.line}) exits 0 within ${RUN_DEADLINE_MS} ms`, async () => {
        await runBlock(app!, block, RUN_DEADLINE_MS);
      });
    }
  });
});
