/**
 * A real SP peer socket in the caller's thread, for talking to an actor from a test.
 * Waiting for a message never blocks the thread and never spins: the thread's own event
 * loop watches the socket's receive descriptor (NnSocket.whenReadable, on the main thread
 * or in a worker alike), and the actor's messages and the test's own timers carry on
 * meanwhile.
 */
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

  /**
   * Waits up to `ms` for a message without blocking the event loop or spinning; null on
   * timeout, and for a SURVEYOR as soon as its survey has expired (nothing more can come).
   */
  async recv(ms: number): Promise<Buffer | null> {
    const now = this.take();
    if (now !== undefined) return now;
    return new Promise<Buffer | null>((resolve, reject) => {
      let stop = () => {};
      const finish = (m: Buffer | null) => {
        stop();
        clearTimeout(timer);
        resolve(m);
      };
      // One-shot watch, re-armed while the socket turns out empty (a spurious wake-up).
      const check = () => {
        try {
          const m = this.take();
          if (m !== undefined) finish(m);
          else stop = this.socket.whenReadable(check);
        } catch (e) {
          stop();
          clearTimeout(timer);
          reject(e);
        }
      };
      stop = this.socket.whenReadable(check);
      // The last look at the deadline: a message that came with it still counts.
      const timer = setTimeout(() => {
        try {
          finish(this.take() ?? null);
        } catch (e) {
          stop();
          reject(e);
        }
      }, ms);
    });
  }

  /** A queued message; null when a SURVEYOR's survey is over; undefined when there is nothing yet. */
  private take(): Buffer | null | undefined {
    try {
      return this.socket.recvNow() ?? undefined;
    } catch (e) {
      // A SURVEYOR whose survey expired (or that never sent one) has nothing more to receive.
      if ((e as { code?: string }).code === 'EFSM') return null;
      throw e;
    }
  }

  close(): void {
    this.socket.close();
  }
}
