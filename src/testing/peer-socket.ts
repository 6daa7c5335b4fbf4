/**
 * A real SP peer socket in the caller's thread, for talking to an actor from a test:
 * receives poll with a zero timeout and yield to the event loop, so waiting for a message
 * never blocks the thread (and the actor's messages keep arriving meanwhile).
 */
import { setImmediate as yieldLoop } from 'node:timers/promises';
import { NnSocket, type SocketKind } from '../transport.js';

export class PeerSocket {
  readonly socket: NnSocket;

  constructor(kind: SocketKind) {
    this.socket = NnSocket.open(kind);
    // A test peer accepts anything: limits are what the actor under test must enforce.
    this.socket.setOption('rcvmaxsize', -1);
  }

  /** A peer listening on `url` (e.g. a SURVEYOR that a respondent actor dials). */
  static bind(kind: SocketKind, url: string): PeerSocket {
    const p = new PeerSocket(kind);
    try {
      p.socket.bind(url);
    } catch (e) {
      p.close();
      throw e;
    }
    return p;
  }

  /** A peer dialling `url` (redialling every 10 ms until the actor listens). */
  static connect(kind: SocketKind, url: string): PeerSocket {
    const p = new PeerSocket(kind);
    p.socket.setOption('reconnectIvl', 10);
    p.socket.connect(url);
    return p;
  }

  /** For a SURVEYOR peer: the survey deadline in ms. */
  surveyDeadline(ms: number): this {
    this.socket.setSurveyDeadline(ms);
    return this;
  }

  /** Sends without blocking; false if the socket cannot take it now. */
  send(data: Uint8Array | string): boolean {
    return this.socket.send(data);
  }

  /** Waits up to `ms` for a message without blocking the event loop; null on timeout. */
  async recv(ms: number): Promise<Buffer | null> {
    const end = performance.now() + ms;
    for (;;) {
      let m: Buffer | null;
      try {
        m = this.socket.recv(0);
      } catch (e) {
        // A SURVEYOR whose survey expired has nothing more to receive.
        if ((e as { code?: string }).code === 'EFSM') return null;
        throw e;
      }
      if (m) return m;
      if (performance.now() >= end) return null;
      await yieldLoop();
    }
  }

  close(): void {
    this.socket.close();
  }
}
