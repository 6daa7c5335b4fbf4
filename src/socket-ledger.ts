/**
 * Where a thread writes the ids of the nanomsg sockets it holds, so that the
 * supervisor in the main thread can close them if the thread dies: nanomsg's socket
 * table is process-wide and outlives the worker. Writes are synchronous
 * (SharedArrayBuffer), so they land even when the worker is killed a moment later.
 *
 * Apart from src/transport.ts so that the main thread, which only keeps ledgers, loads
 * nanomsg only once it has a dead actor's sockets to close (README "At rest").
 */
export class SocketLedger {
  static readonly SLOTS = 8;
  readonly buffer: SharedArrayBuffer;
  private readonly slots: Int32Array;

  constructor(buffer?: SharedArrayBuffer) {
    this.buffer = buffer ?? new SharedArrayBuffer(SocketLedger.SLOTS * 4);
    this.slots = new Int32Array(this.buffer);
    if (!buffer) this.slots.fill(-1);
  }

  record(id: number): void {
    for (let i = 0; i < this.slots.length; i++) {
      if (Atomics.compareExchange(this.slots, i, -1, id) === -1) return;
    }
    throw new Error(`socket ledger full (${SocketLedger.SLOTS} sockets per actor)`);
  }

  /**
   * Forgets an id before closing it; false if it was not recorded (the supervisor has
   * closed it already, and the id may by now belong to another actor's socket).
   */
  release(id: number): boolean {
    for (let i = 0; i < this.slots.length; i++) {
      if (Atomics.compareExchange(this.slots, i, id, -1) === id) return true;
    }
    return false;
  }

  ids(): number[] {
    return [...this.slots].filter((id) => id >= 0);
  }

  /** Forgets every recorded id and returns them: the caller closes them (transport.ts closeLeftovers). */
  takeAll(): number[] {
    const ids: number[] = [];
    for (let i = 0; i < this.slots.length; i++) {
      const id = Atomics.exchange(this.slots, i, -1);
      if (id >= 0) ids.push(id);
    }
    return ids;
  }
}
