/**
 * Conformance helpers: a real SP peer socket in the test's own thread, driven without
 * blocking the event loop (each receive polls with a zero timeout and yields).
 */
import { setImmediate as yieldLoop } from 'node:timers/promises';
import { NnSocket, type SocketKind } from '../../src/transport.js';

export class Peer {
  readonly socket: NnSocket;
  constructor(kind: SocketKind) {
    this.socket = NnSocket.open(kind);
    this.socket.setOption('rcvmaxsize', -1);
  }
  static bind(kind: SocketKind, url: string): Peer {
    const p = new Peer(kind);
    p.socket.bind(url);
    return p;
  }
  static connect(kind: SocketKind, url: string): Peer {
    const p = new Peer(kind);
    p.socket.setOption('reconnectIvl', 10);
    p.socket.connect(url);
    return p;
  }
  send(data: Uint8Array | string): boolean {
    return this.socket.send(data);
  }
  /** Waits up to `ms` for a message without blocking the event loop; null on timeout. */
  async recv(ms: number): Promise<Buffer | null> {
    const end = performance.now() + ms;
    for (;;) {
      const m = this.socket.recv(0);
      if (m) return m;
      if (performance.now() >= end) return null;
      await yieldLoop();
    }
  }
  close(): void {
    this.socket.close();
  }
}
