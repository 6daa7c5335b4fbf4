/**
 * The liveness decision (src/liveness.ts), pure, and the process-wide watch over fake
 * actor runs with a clock the test sets: one ping per silent thread (not per actor), none to
 * a thread whose actors spoke, every watched actor of a hung thread reported, none of a live
 * one. Real threads: test/liveness-pings.test.ts; real hangs: supervision-faults and
 * actor-threads.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { performance } from 'node:perf_hooks';
import { checkThread, LivenessWatch, type LivenessTarget } from '../src/liveness.js';

const bounds = { intervalMs: 1000, timeoutMs: 3000 };

test('checkThread: heard within the interval is alive; silent for it is pinged; a ping unanswered for the timeout is hung; anything heard after the ping answers it', () => {
  assert.deepEqual(checkThread({ heardAt: 0, pingSentAt: undefined }, 999, bounds), { action: 'alive', dueAt: 1000 });
  assert.deepEqual(checkThread({ heardAt: 0, pingSentAt: undefined }, 1000, bounds), { action: 'ping', dueAt: 2000 });
  assert.deepEqual(checkThread({ heardAt: 0, pingSentAt: undefined }, 1000, { intervalMs: 1000, timeoutMs: 500 }), { action: 'ping', dueAt: 1500 });
  assert.deepEqual(checkThread({ heardAt: 0, pingSentAt: 1000 }, 1500, bounds), { action: 'waiting', dueAt: 2000 });
  assert.deepEqual(checkThread({ heardAt: 0, pingSentAt: 1000 }, 3999, bounds), { action: 'waiting', dueAt: 4000 });
  assert.deepEqual(checkThread({ heardAt: 0, pingSentAt: 1000 }, 3200, { intervalMs: 1000, timeoutMs: 2500 }), { action: 'waiting', dueAt: 3500 });
  assert.deepEqual(checkThread({ heardAt: 0, pingSentAt: 1000 }, 4000, bounds), { action: 'hung' });
  // The pong (or any message) arrived after the ping: alive, due again an interval after it.
  assert.deepEqual(checkThread({ heardAt: 1500, pingSentAt: 1000 }, 4000, bounds), { action: 'ping', dueAt: 5000 });
  assert.deepEqual(checkThread({ heardAt: 3500, pingSentAt: 1000 }, 4000, bounds), { action: 'alive', dueAt: 4500 });
  // Heard at the very moment the ping went: that counts as an answer.
  assert.deepEqual(checkThread({ heardAt: 1000, pingSentAt: 1000 }, 1500, bounds), { action: 'alive', dueAt: 2000 });
});

class FakeRun implements LivenessTarget {
  pings = 0;
  hasExited = false;
  constructor(
    public heardAt: number,
    public threadId: number | undefined,
    readonly inline = false,
  ) {}
  sendPing(): void {
    this.pings++;
  }
}

/** A watch whose own timer never fires during the test (intervals of ~11 days): the test calls check(now). */
const LONG = { intervalMs: 1e9, timeoutMs: 3e9 };

/**
 * A new watch over fake runs on the given threads (undefined: inline), heard at t0, each
 * with `LONG` bounds unless given; `hung` collects the runs reported hung. Ends the watches
 * after `body`.
 */
function watching(threads: Array<number | undefined>, body: (f: { watch: LivenessWatch; t0: number; runs: FakeRun[]; hung: FakeRun[] }) => void, bounds = threads.map(() => LONG)): void {
  const watch = new LivenessWatch();
  const t0 = performance.now();
  const runs = threads.map((thread) => new FakeRun(t0, thread, thread === undefined));
  const hung: FakeRun[] = [];
  const stops = runs.map((r, i) => watch.watch(r, bounds[i]!, () => hung.push(r)));
  try {
    body({ watch, t0, runs, hung });
  } finally {
    stops.forEach((stop) => stop());
  }
}

test('the watch pings each silent thread once, whatever the number of actors on it, and no thread whose actors spoke', () => {
  watching([1, 1, 1, 2], ({ watch, t0, runs: [a1, a2, a3, b1], hung }) => {
    watch.check(t0 + LONG.intervalMs - 1);
    assert.equal(watch.pingsSent, 0, 'nothing is due within the interval');
    // Thread 1's actors spoke (one of them is enough); thread 2's did not.
    a2.heardAt = t0 + 10;
    watch.check(t0 + LONG.intervalMs + 5);
    assert.deepEqual([a1.pings + a2.pings + a3.pings, b1.pings], [0, 1], 'only the silent thread is pinged');
    // Both silent now: thread 1 gets one ping for its three actors; thread 2's ping is still out.
    watch.check(t0 + LONG.intervalMs + 20);
    assert.deepEqual([a1.pings + a2.pings + a3.pings, b1.pings], [1, 1]);
    watch.check(t0 + LONG.intervalMs + 30);
    assert.equal(watch.pingsSent, 2, 'a ping out is not repeated');
    assert.deepEqual(hung, []);
  });
});

test('the watch reports every watched actor of a thread not heard from within the timeout after its ping, and only those', () => {
  watching([1, 1, 2], ({ watch, runs: [a1, a2, b1], t0, hung }) => {
    const pingAt = t0 + LONG.intervalMs;
    watch.check(pingAt);
    assert.equal(watch.pingsSent, 2);
    b1.heardAt = pingAt + 1; // thread 2's pong
    watch.check(pingAt + LONG.timeoutMs - 1);
    assert.deepEqual(hung, [], 'not before the timeout');
    watch.check(pingAt + LONG.timeoutMs);
    assert.deepEqual(new Set(hung), new Set([a1, a2]), 'both actors of the hung thread, not the live one');
    b1.heardAt = pingAt + 2 * LONG.timeoutMs - 1; // thread 2 still speaks
    watch.check(pingAt + 2 * LONG.timeoutMs);
    assert.equal(hung.length, 2, 'reported once: a reported actor is no longer watched');
  });
});

test('a ping lost with an actor that exited is sent again to a neighbour, not taken for a hang; inline actors are never watched', () => {
  watching([1, 1, undefined], ({ watch, runs: [a1, a2, inline], t0, hung }) => {
    const pingAt = t0 + LONG.intervalMs;
    watch.check(pingAt);
    const first = a1.pings === 1 ? a1 : a2;
    const other = first === a1 ? a2 : a1;
    assert.equal(first.pings + other.pings, 1);
    first.hasExited = true; // stopped: its mailbox, and the ping in it, are gone
    watch.check(pingAt + 10);
    assert.equal(other.pings, 1, 'pinged through the actor still there');
    other.heardAt = pingAt + 20;
    watch.check(pingAt + LONG.timeoutMs + 5);
    assert.deepEqual(hung, []);
    assert.equal(inline.pings, 0, 'the main thread does not ping itself');
  });
});

test('watch bounds: a thread shared by actors of supervisors with different bounds is checked by the shortest of each', () => {
  watching([1, 1], ({ watch, runs: [slow, fast], t0, hung }) => {
    watch.check(t0 + LONG.intervalMs);
    assert.equal(watch.pingsSent, 1, "pinged at the fast supervisor's interval");
    watch.check(t0 + LONG.intervalMs + LONG.timeoutMs);
    assert.deepEqual(new Set(hung), new Set([slow, fast]), 'found hung at its timeout: the whole thread is');
  }, [{ intervalMs: 4e9, timeoutMs: 9e9 }, LONG]);
});
