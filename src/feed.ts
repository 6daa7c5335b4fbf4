/**
 * Member lists to any number of async iterators, as Go's channels were in the original.
 * Each iterator starts with the latest list received (so a consumer that starts reading
 * late still learns the current membership), then gets every later list in order. A
 * consumer that falls behind by more than `bufferSize` lists loses the oldest ones:
 * every list is the full membership, so the newest is always the one that matters.
 *
 * Readers cannot leak: the lists live once, in a ring of the last `bufferSize` shared by
 * every reader, and a reader is only a position in it. The feed holds a reader only while
 * it waits inside next() (it must be woken); a reader parked between two next() calls is
 * not referenced by the feed at all, so one that is dropped unfinished costs no work per
 * list and is garbage-collected with its iterator. end() wakes and ends every waiting
 * reader and drops them; a parked reader ends at its next next(), after the lists it had
 * not read yet.
 */
export const DEFAULT_FEED_BUFFER = 16;

export class ListFeed {
  /** The last `bufferSize` lists; the list numbered `seq` is at `ring[seq % bufferSize]`. */
  private readonly ring: string[][] = [];
  /** The number of the latest list pushed (0: none yet); lists are numbered from 1. */
  private seq = 0;
  /** Readers waiting inside next(), each woken by the next push or by end(). */
  private readonly waiting = new Set<() => void>();
  private ended = false;
  private error: Error | undefined;
  private readonly bufferSize: number;

  constructor(bufferSize = DEFAULT_FEED_BUFFER) {
    this.bufferSize = bufferSize;
  }

  get latest(): string[] | undefined {
    return this.seq > 0 ? [...this.listAt(this.seq)] : undefined;
  }

  /** Readers waiting for the next list (readers between two next() calls are not counted: the feed does not hold them). */
  get waitingReaders(): number {
    return this.waiting.size;
  }

  push(list: string[]): void {
    if (this.ended) return;
    this.seq++;
    // A copy: the caller hands the same array to event listeners, which may change it.
    this.ring[this.seq % this.bufferSize] = [...list];
    this.wakeAll();
  }

  /** Ends every iterator: normally, or with `error` thrown from their next(). */
  end(error?: Error): void {
    if (this.ended) return;
    this.ended = true;
    this.error = error;
    this.wakeAll();
  }

  async *iterate(): AsyncGenerator<string[], void, undefined> {
    // The next list this reader reads: the latest one, if any, else the first to come.
    let next = Math.max(1, this.seq);
    for (;;) {
      if (next <= this.seq) {
        // Fallen behind by more than the ring holds: skip to the oldest list still held.
        next = Math.max(next, this.seq - this.bufferSize + 1);
        yield [...this.listAt(next++)];
        continue;
      }
      if (this.ended) {
        if (this.error) throw this.error;
        return;
      }
      await new Promise<void>((resolve) => this.waiting.add(resolve));
    }
  }

  private listAt(seq: number): string[] {
    return this.ring[seq % this.bufferSize]!;
  }

  private wakeAll(): void {
    const woken = [...this.waiting];
    this.waiting.clear();
    for (const wake of woken) wake();
  }
}
