/** Waiting for events with deadlines: tests never sleep to synchronise. */
import { setTimeout as delay } from 'node:timers/promises';

export class DeadlineError extends Error {}

/** Resolves with the promise, or rejects naming `what` after `ms`. */
export async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  const ac = new AbortController();
  try {
    return await Promise.race([
      promise,
      delay(ms, undefined, { signal: ac.signal }).then(() => {
        throw new DeadlineError(`timed out after ${ms} ms waiting for ${what}`);
      }),
    ]);
  } finally {
    ac.abort();
  }
}

/** Reads an async iterator until a value satisfies `predicate`; returns that value and what came before. */
export async function until<T>(
  iterator: AsyncIterator<T>,
  predicate: (value: T) => boolean,
  ms: number,
  what: string,
): Promise<{ value: T; seen: T[] }> {
  const seen: T[] = [];
  return within(
    ms,
    what,
    (async () => {
      for (;;) {
        const r = await iterator.next();
        if (r.done) throw new Error(`iterator ended while waiting for ${what}; saw ${JSON.stringify(seen)}`);
        seen.push(r.value);
        if (predicate(r.value)) return { value: r.value, seen };
      }
    })(),
  ).catch((e) => {
    if (e instanceof DeadlineError) e.message += `; saw ${JSON.stringify(seen)}`;
    throw e;
  });
}

/**
 * Asserts that `iterator` yields nothing within `ms`. This is the assertion itself (the
 * scenario says "no list within 100 ms"), not a synchronising sleep. The pending read is
 * handed back so the next read does not lose a value.
 */
export async function nothingWithin<T>(iterator: AsyncIterator<T>, ms: number, pending?: Promise<IteratorResult<T>>): Promise<{ value?: T; pending: Promise<IteratorResult<T>> }> {
  const next = pending ?? iterator.next();
  const ac = new AbortController();
  const r = await Promise.race([next.then((v) => ({ got: v })), delay(ms, undefined, { signal: ac.signal }).then(() => null)]);
  ac.abort();
  if (r && !r.got.done) return { value: r.got.value, pending: iterator.next() };
  return { pending: next };
}

/** Polls a condition (cheap, in-memory) until true, with a deadline. */
export async function eventually(cond: () => boolean | Promise<boolean>, ms: number, what: string, everyMs = 5): Promise<void> {
  await within(
    ms,
    what,
    (async () => {
      while (!(await cond())) await delay(everyMs);
    })(),
  );
}

export const sameMembers = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && [...a].sort().every((v, i) => v === [...b].sort()[i]);
