/**
 * Every ```ts block of a Markdown file, compiled and run as a user would copy it.
 *
 * Each block is one ES module of a throwaway app in which `gopherdiscovery` is this package
 * (a symlink to the checkout: its exports map and its built dist/ types, so `npm run build`
 * must have run). All blocks are typechecked together under `strict`, `module: nodenext`,
 * `skipLibCheck: false`; then each runnable block runs with plain `node` and must exit 0
 * within its deadline, by itself — a block that only ends on Ctrl-C fails.
 *
 * A block preceded by an HTML comment `<!-- not-run: why -->` (the last non-blank line
 * before its fence) is compiled but not run: for blocks that need other hosts or wait for
 * a signal. Every `tcp://127.0.0.1:PORT` in a block that runs is given a free test port
 * instead (the same PORT the same port throughout the block), so that runs never collide.
 *
 *   node --import tsx scripts/readme-blocks.ts [README.md]   # compile and run, report each block
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort } from '../src/testing/endpoints.js';

const exec = promisify(execFile);
const REPO = join(dirname(fileURLToPath(import.meta.url)), '..');

export interface CodeBlock {
  /** 0-based position among the file's ts blocks. */
  index: number;
  /** 1-based line of the block's first code line in the Markdown file. */
  line: number;
  code: string;
  /** Why it is not run, from `<!-- not-run: why -->`; undefined when it runs. */
  notRun?: string;
}

const FENCE_OPEN = /^```(ts|typescript)\s*$/;
const NOT_RUN = /^<!--\s*not-run:\s*(.*?)\s*-->$/;

/** The ```ts / ```typescript blocks of a Markdown text, in order. */
export function extractBlocks(markdown: string): CodeBlock[] {
  const lines = markdown.split(/\r?\n/);
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!FENCE_OPEN.test(lines[i]!)) continue;
    let end = i + 1;
    while (end < lines.length && !/^```\s*$/.test(lines[end]!)) end++;
    if (end === lines.length) throw new Error(`line ${i + 1}: the ts block is never closed`);
    let before = i - 1;
    while (before >= 0 && lines[before]!.trim() === '') before--;
    const marker = before >= 0 ? NOT_RUN.exec(lines[before]!.trim()) : null;
    blocks.push({
      index: blocks.length,
      line: i + 2,
      code: lines.slice(i + 1, end).join('\n') + '\n',
      ...(marker ? { notRun: marker[1] || 'marked not-run' } : {}),
    });
    i = end;
  }
  return blocks;
}

/** Gives every distinct `tcp://127.0.0.1:PORT` of the code a free test port. */
export async function withFreePorts(code: string): Promise<string> {
  const ports = new Map<string, number>();
  for (const [, port] of code.matchAll(/tcp:\/\/127\.0\.0\.1:(\d+)/g)) if (!ports.has(port!)) ports.set(port!, await freePort());
  return code.replace(/tcp:\/\/127\.0\.0\.1:(\d+)/g, (_, port: string) => `tcp://127.0.0.1:${ports.get(port)}`);
}

export interface BlockApp {
  dir: string;
  /** The emitted file of a block. */
  output(block: CodeBlock): string;
  remove(): Promise<void>;
}

const fileOf = (block: CodeBlock) => `block-${String(block.index + 1).padStart(2, '0')}`;

/**
 * Writes the blocks as one strict nodenext app and compiles it. Rejects with every
 * diagnostic located at its README line when any block does not compile.
 */
export async function compileBlocks(blocks: CodeBlock[], source = 'README.md'): Promise<BlockApp> {
  const dir = await mkdtemp(join(tmpdir(), 'gopherdiscovery-readme-'));
  const remove = () => rm(dir, { recursive: true, force: true });
  try {
    await mkdir(join(dir, 'node_modules'));
    await symlink(REPO, join(dir, 'node_modules', 'gopherdiscovery'), 'dir');
    await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'readme-blocks', private: true, type: 'module' }));
    const files = await Promise.all(
      blocks.map(async (b) => {
        const file = `${fileOf(b)}.ts`;
        await writeFile(join(dir, file), b.notRun ? b.code : await withFreePorts(b.code));
        return file;
      }),
    );
    const tsconfig = {
      compilerOptions: {
        target: 'es2022',
        module: 'nodenext',
        moduleResolution: 'nodenext',
        moduleDetection: 'force',
        strict: true,
        skipLibCheck: false,
        outDir: 'out',
        types: ['node'],
        typeRoots: [join(REPO, 'node_modules', '@types')],
      },
      files,
    };
    await writeFile(join(dir, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2));
    try {
      await exec(process.execPath, [join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir, '--pretty', 'false'], { cwd: dir });
    } catch (e) {
      throw new Error(`${source}: code blocks do not compile:\n${locate(String((e as { stdout?: string }).stdout ?? e), blocks, source)}`);
    }
    return { dir, output: (b) => join(dir, 'out', `${fileOf(b)}.js`), remove };
  } catch (e) {
    await remove();
    throw e;
  }
}

/** Rewrites `block-03.ts(4,7): error …` as `README.md:226:7 (block 3): error …`. */
function locate(diagnostics: string, blocks: CodeBlock[], source: string): string {
  return diagnostics.replace(/^block-(\d+)\.ts\((\d+),(\d+)\)/gm, (_, n: string, row: string, col: string) => {
    const block = blocks[Number(n) - 1]!;
    return `${source}:${block.line + Number(row) - 1}:${col} (block ${Number(n)})`;
  });
}

export interface BlockRun {
  stdout: string;
  stderr: string;
}

/** Runs a compiled block with node; rejects with its output if it fails or is still running after `deadlineMs`. */
export async function runBlock(app: BlockApp, block: CodeBlock, deadlineMs: number): Promise<BlockRun> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GOPHERDISCOVERY_')));
  try {
    const { stdout, stderr } = await exec(process.execPath, [app.output(block)], { cwd: app.dir, env, timeout: deadlineMs, killSignal: 'SIGKILL' });
    return { stdout, stderr };
  } catch (e) {
    const err = e as { killed?: boolean; code?: unknown; stdout?: string; stderr?: string };
    const how = err.killed ? `still running after ${deadlineMs} ms (killed)` : `exited with ${String(err.code)}`;
    throw new Error(`block ${block.index + 1} (line ${block.line}) ${how}\nstdout:\n${err.stdout ?? ''}\nstderr:\n${err.stderr ?? ''}`);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const source = process.argv[2] ?? 'README.md';
  const blocks = extractBlocks(await readFile(source, 'utf8'));
  const app = await compileBlocks(blocks, source);
  let failed = 0;
  try {
    for (const block of blocks) {
      if (block.notRun) {
        console.log(`block ${block.index + 1} (line ${block.line}): compiled; not run: ${block.notRun}`);
        continue;
      }
      const t0 = performance.now();
      try {
        await runBlock(app, block, 60_000);
        console.log(`block ${block.index + 1} (line ${block.line}): ran to completion in ${Math.round(performance.now() - t0)} ms`);
      } catch (e) {
        failed++;
        console.log((e as Error).message);
      }
    }
  } finally {
    await app.remove();
  }
  process.exitCode = failed ? 1 : 0;
}
