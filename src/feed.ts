/**
 * Member lists to any number of async iterators, as Go's channels were in the original.
 * Each iterator starts with the latest list received (so a consumer that starts reading
 * late still learns the current membership), then gets every later list in order. A
 * consumer that falls behind by more than `bufferSize` lists loses the oldest ones:
 * every list is the full membership, so the newest is always the one that matters.
 */
export const DEFAULT_FEED_BUFFER = 16;

interface Reader {
  queue: string[][];
  wake: (() => void) | undefined;
}

export class ListFeed {
  private readonly readers = new Set<Reader>();
  private latestList: string[] | undefined;
  private ended = false;
  private error: Error | undefined;
  private readonly bufferSize: number;

  constructor(bufferSize = DEFAULT_FEED_BUFFER) {
    this.bufferSize = bufferSize;
  }

  get latest(): string[] | undefined {
    return this.latestList ? [...this.latestList] : undefined;
  }

  push(list: string[]): void {
    if (this.ended) return;
    this.latestList = list;
    for (const r of this.readers) {
      r.queue.push([...list]);
      if (r.queue.length > this.bufferSize) r.queue.shift();
      r.wake?.();
    }
  }

  /** Ends every iterator: normally, or with `error` thrown from their next(). */
  end(error?: Error): void {
    if (this.ended) return;
    this.ended = true;
    this.error = error;
    for (const r of this.readers) r.wake?.();
  }

  async *iterate(): AsyncGenerator<string[], void, undefined> {
    const reader: Reader = { queue: this.latestList ? [[...this.latestList]] : [], wake: undefined };
    this.readers.add(reader);
    try {
      for (;;) {
        const next = reader.queue.shift();
        if (next) {
          yield next;
          continue;
        }
        if (this.ended) {
          if (this.error) throw this.error;
          return;
        }
        await new Promise<void>((resolve) => (reader.wake = resolve));
        reader.wake = undefined;
      }
    } finally {
      this.readers.delete(reader);
    }
  }
}
