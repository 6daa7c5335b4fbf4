/**
 * `nanocat` (Debian's nanomsg-utils) as an independent SP peer in a child process. Its
 * `--msgpack` output frames every message as a msgpack binary or string, so the exact
 * bytes of each message, including an empty one, can be read back.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { within } from './wait.js';

/** The SP command-line peers the tests run, and the Debian package of each. */
const PROGRAMS = { nanocat: 'nanomsg-utils', nngcat: 'nng-utils' } as const;
export type SpCat = keyof typeof PROGRAMS;
const checked = new Set<SpCat>();

/** Fails (never skips) with the way to install the program when it is missing. */
export function requireNanocat(program: SpCat = 'nanocat'): void {
  if (checked.has(program)) return;
  try {
    // nngcat --help exits with 1; --version exits with 0. nanocat has no --version.
    execFileSync(program, [program === 'nngcat' ? '--version' : '--help'], { stdio: 'ignore' });
  } catch {
    throw new Error(`${program} is not installed: apt-get install ${PROGRAMS[program]} (the interoperability tests need it)`);
  }
  checked.add(program);
}

/** Splits nanocat's --msgpack output into messages: bin 8/16/32 (0xc4–0xc6) and str (fixstr, 0xd9–0xdb). */
export function parseMsgpackStream(data: Buffer): { messages: Buffer[]; rest: Buffer } {
  const messages: Buffer[] = [];
  let off = 0;
  for (;;) {
    if (off >= data.length) break;
    const tag = data[off]!;
    let len: number;
    let head: number;
    if (tag >= 0xa0 && tag <= 0xbf) [len, head] = [tag & 0x1f, 1];
    else if (tag === 0xc4 || tag === 0xd9) {
      if (off + 2 > data.length) break;
      [len, head] = [data[off + 1]!, 2];
    } else if (tag === 0xc5 || tag === 0xda) {
      if (off + 3 > data.length) break;
      [len, head] = [data.readUInt16BE(off + 1), 3];
    } else if (tag === 0xc6 || tag === 0xdb) {
      if (off + 5 > data.length) break;
      [len, head] = [data.readUInt32BE(off + 1), 5];
    } else throw new Error(`unexpected msgpack tag 0x${tag.toString(16)} in nanocat output`);
    if (off + head + len > data.length) break;
    messages.push(Buffer.from(data.subarray(off + head, off + head + len)));
    off += head + len;
  }
  return { messages, rest: Buffer.from(data.subarray(off)) };
}

export class Nanocat {
  readonly child: ChildProcess;
  /** Every message printed so far (with --msgpack). */
  readonly messages: Buffer[] = [];
  stderr = '';
  private rest: Buffer = Buffer.alloc(0);
  private waiters = new Set<() => void>();
  readonly exited: Promise<number | null>;

  private constructor(args: string[], program: SpCat) {
    requireNanocat(program);
    this.child = spawn(program, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (d: Buffer) => {
      const parsed = parseMsgpackStream(Buffer.concat([this.rest, d]));
      this.rest = parsed.rest;
      this.messages.push(...parsed.messages);
      for (const w of this.waiters) w();
    });
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  /** `nanocat` with these arguments; `--msgpack` is added for sockets that print what they receive. */
  static start(...args: string[]): Nanocat {
    return new Nanocat(args, 'nanocat');
  }

  /** `nngcat` (nng's, Debian's nng-utils) with these arguments: the same msgpack output. */
  static startNngcat(...args: string[]): Nanocat {
    return new Nanocat(args, 'nngcat');
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Waits until some printed message satisfies `predicate`; returns it. */
  waitFor(predicate: (m: Buffer, index: number) => boolean, ms: number, what: string): Promise<Buffer> {
    return within(
      ms,
      `${what} from nanocat (got ${this.messages.length} messages${this.stderr ? `, stderr: ${this.stderr.trim()}` : ''})`,
      new Promise<Buffer>((resolve) => {
        const check = () => {
          const found = this.messages.find(predicate);
          if (found) {
            this.waiters.delete(check);
            resolve(found);
          }
        };
        this.waiters.add(check);
        check();
      }),
    );
  }

  /** Kills this nanocat (SIGKILL: it stops without any goodbye) and waits for it to be gone. */
  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }
}
