/** A server-sent events reader over fetch, for tests: events as an async iterator. */

export interface SseEvent {
  event: string;
  data: string;
}

export interface SseStream {
  status: number;
  headers: Headers;
  events: AsyncIterator<SseEvent>;
  close(): void;
}

export async function openSse(url: string | URL): Promise<SseStream> {
  const ac = new AbortController();
  // undici says only "fetch failed"; the cause (ECONNREFUSED, EADDRNOTAVAIL when another
  // process has used up loopback's ephemeral ports, ...) is what a failure report needs.
  const res = await fetch(url, { signal: ac.signal, headers: { accept: 'text/event-stream' } }).catch((e: Error & { cause?: { code?: string; message?: string } }) => {
    throw new Error(`GET ${String(url)} failed: ${e.cause?.code ?? ''} ${e.cause?.message ?? e.message}`.trim(), { cause: e });
  });
  const body = res.body!.pipeThrough(new TextDecoderStream());
  async function* events(): AsyncGenerator<SseEvent> {
    let buffer = '';
    try {
      for await (const chunk of body) {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let event = 'message';
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) continue;
            const colon = line.indexOf(':');
            const field = colon < 0 ? line : line.slice(0, colon);
            const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
            if (field === 'event') event = value;
            else if (field === 'data') data.push(value);
          }
          if (data.length) yield { event, data: data.join('\n') };
        }
      }
    } catch (e) {
      if (!ac.signal.aborted) throw e;
    }
  }
  return { status: res.status, headers: res.headers, events: events(), close: () => ac.abort() };
}
