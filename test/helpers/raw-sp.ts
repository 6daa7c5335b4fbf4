/**
 * SP over TCP written from the specification with node:net, independent of nanomsg: for
 * checking the exact bytes on the wire and for hostile peers that send what no SP
 * library would (garbage, truncated headers, forged survey ids, lying lengths).
 *
 * The SP TCP mapping: each side first sends an 8-byte header 0x00 'S' 'P' 0x00, the
 * 16-bit big-endian protocol id of its socket, and two reserved zero bytes; then every
 * message is a 64-bit big-endian length followed by that many bytes. Survey protocols
 * put a 4-byte big-endian survey id (high bit set) in front of the body.
 */
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { within } from './wait.js';

export const SP_PROTOCOL = { pair: 0x10, pub: 0x20, sub: 0x21, surveyor: 0x62, respondent: 0x63 } as const;

/** The 8-byte SP TCP header announcing `protocol`. */
export function spHeader(protocol: number): Buffer {
  const b = Buffer.from([0x00, 0x53, 0x50, 0x00, 0, 0, 0, 0]);
  b.writeUInt16BE(protocol, 4);
  return b;
}

/** One SP TCP message: 64-bit big-endian length, then the bytes. */
export function frame(body: Uint8Array): Buffer {
  const len = Buffer.alloc(8);
  len.writeBigUInt64BE(BigInt(body.byteLength));
  return Buffer.concat([len, body]);
}

/** A survey-protocol body: the 4-byte survey id, then the payload. */
export function withSurveyId(id: number, payload: Uint8Array | string): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(id >>> 0);
  return Buffer.concat([head, typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload]);
}

/** One TCP connection read as a byte stream, with deadline-bounded reads. */
export class RawConnection {
  private buffered = Buffer.alloc(0);
  private waiter: (() => void) | undefined;
  private ended = false;
  readonly closed: Promise<void>;

  constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, d]);
      this.waiter?.();
    });
    socket.on('error', () => {}); // a reset by the server is one of the outcomes tests look for
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.ended = true;
        this.waiter?.();
        resolve();
      }),
    );
  }

  static async connect(port: number, host = '127.0.0.1'): Promise<RawConnection> {
    const socket = connect(port, host);
    await once(socket, 'connect');
    socket.setNoDelay(true);
    return new RawConnection(socket);
  }

  /** Bytes received so far and not yet read. */
  get pending(): number {
    return this.buffered.byteLength;
  }

  get isClosed(): boolean {
    return this.ended;
  }

  write(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  /** Resolves with exactly `n` bytes, or rejects after `ms` (or if the connection closes first). */
  read(n: number, ms: number, what = `${n} bytes`): Promise<Buffer> {
    return within(
      ms,
      what,
      (async () => {
        while (this.buffered.byteLength < n) {
          if (this.ended) throw new Error(`connection closed while waiting for ${what} (have ${this.buffered.byteLength})`);
          await new Promise<void>((resolve) => (this.waiter = resolve));
          this.waiter = undefined;
        }
        const out = this.buffered.subarray(0, n);
        this.buffered = this.buffered.subarray(n);
        return Buffer.from(out);
      })(),
    );
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** An SP peer over raw TCP: sends its header, checks the other side's, then reads and writes framed messages. */
export class RawSpPeer extends RawConnection {
  /** The 8 header bytes the other side sent. */
  peerHeader: Buffer = Buffer.alloc(0);

  /** Connects, sends the header for `protocol` and reads the server's. */
  static async open(port: number, protocol: number, ms = 5000): Promise<RawSpPeer> {
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    socket.setNoDelay(true);
    const peer = new RawSpPeer(socket);
    await peer.handshake(protocol, ms);
    return peer;
  }

  async handshake(protocol: number, ms = 5000): Promise<Buffer> {
    this.write(spHeader(protocol));
    this.peerHeader = await this.read(8, ms, 'the SP header');
    return this.peerHeader;
  }

  /** The next message body (the 8-byte length is checked against a sanity bound). */
  async next(ms: number, what = 'a message'): Promise<Buffer> {
    const len = (await this.read(8, ms, `${what} (length)`)).readBigUInt64BE();
    if (len > 16n * 2n ** 20n) throw new Error(`implausible message length ${len}`);
    return this.read(Number(len), ms, `${what} (body)`);
  }

  send(body: Uint8Array): void {
    this.write(frame(body));
  }
}

/** A raw SP listener (our clients and subscribers dial it), handing out each accepted connection. */
export class RawSpListener {
  private readonly queue: RawSpPeer[] = [];
  private readonly all = new Set<Socket>();
  private waiter: (() => void) | undefined;
  readonly server: Server;

  private constructor() {
    this.server = createServer((socket) => {
      socket.setNoDelay(true);
      this.all.add(socket);
      socket.once('close', () => this.all.delete(socket));
      this.queue.push(new RawSpPeer(socket));
      this.waiter?.();
    });
  }

  static async listen(port: number): Promise<RawSpListener> {
    const listener = new RawSpListener();
    listener.server.listen(port, '127.0.0.1');
    await once(listener.server, 'listening');
    return listener;
  }

  /** The next accepted connection (not yet handshaken). */
  accept(ms: number): Promise<RawSpPeer> {
    return within(
      ms,
      'a connection',
      (async () => {
        while (this.queue.length === 0) {
          await new Promise<void>((resolve) => (this.waiter = resolve));
          this.waiter = undefined;
        }
        return this.queue.shift()!;
      })(),
    );
  }

  async close(): Promise<void> {
    for (const s of this.all) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * A rogue RESPONDENT over raw TCP: answers every survey it receives with whatever
 * `answer(id)` returns (any number of bodies, each sent with the given survey id), so it
 * can send what a real SP library would refuse to: many answers to one survey, late
 * answers, answers to surveys never sent.
 */
export class RogueRespondent {
  surveys = 0;
  readonly ids: number[] = [];
  private stopped = false;
  readonly done: Promise<void>;

  private constructor(
    readonly peer: RawSpPeer,
    answer: (id: number) => Array<{ id?: number; body: Uint8Array | string }> | Promise<Array<{ id?: number; body: Uint8Array | string }>>,
  ) {
    this.done = (async () => {
      while (!this.stopped && !peer.isClosed) {
        let survey: Buffer;
        try {
          survey = await peer.next(1000, 'a survey');
        } catch {
          continue; // no survey within a second (or the connection closed): look again
        }
        const id = survey.readUInt32BE(0);
        this.surveys++;
        this.ids.push(id);
        const replies = await answer(id);
        if (replies.length > 0 && !peer.isClosed) {
          peer.write(Buffer.concat(replies.map((r) => frame(withSurveyId(r.id ?? id, r.body)))));
        }
      }
    })();
  }

  static async open(
    port: number,
    answer: (id: number) => Array<{ id?: number; body: Uint8Array | string }> | Promise<Array<{ id?: number; body: Uint8Array | string }>>,
  ): Promise<RogueRespondent> {
    return new RogueRespondent(await RawSpPeer.open(port, SP_PROTOCOL.respondent), answer);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.peer.destroy();
    await this.done;
  }
}
