/**
 * S library subscribers (subscribe()) of one server, in one process: they tell the parent
 * when every one of them holds a list with (or without) a watched name.
 *
 * Requests: start {url, count, secret?}; watch {name, present} → registered at once; an event
 * `{ ev: 'watched', name, present, times }` follows when all S lists satisfy it (times: wall
 * clock of the first such list at each subscriber); sizes → {sizes}; mem → {rss}.
 */
import { subscribe, type Subscriber } from '../../src/index.js';
import { maxListBytes } from '../../src/protocol.js';
import { emitEvent, serve, wallNow } from '../ipc.js';

interface Watch {
  name: string;
  present: boolean;
  times: Array<number | undefined>;
}

const subscribers: Subscriber[] = [];
const latest: string[][] = [];
const watches = new Map<string, Watch>();
let lists = 0;

function check(w: Watch, i: number, at: number): void {
  if (w.times[i] !== undefined) return;
  if (latest[i]!.includes(w.name) !== w.present) return;
  w.times[i] = at;
  if (w.times.every((t) => t !== undefined)) {
    watches.delete(key(w.name, w.present));
    emitEvent({ ev: 'watched', name: w.name, present: w.present, times: w.times as number[] });
  }
}

const key = (name: string, present: boolean) => `${present ? '+' : '-'}${name}`;

serve(
  {
    async start(req) {
      const url = req.url as string;
      const count = req.count as number;
      for (let i = 0; i < count; i++) {
        // Lists of 20,000 long names must fit: the cap follows the servers' member cap.
        const secret = req.secret as string | undefined;
        const sub = await subscribe({ pubsubUrl: url, maxListBytes: maxListBytes(20_000, 64), ...(secret ? { secret } : {}) });
        latest.push([]);
        sub.on('change', (members) => {
          const at = wallNow();
          lists++;
          latest[i] = members;
          for (const w of watches.values()) check(w, i, at);
        });
        subscribers.push(sub);
      }
      return {};
    },
    watch(req) {
      const w: Watch = { name: req.name as string, present: req.present as boolean, times: subscribers.map(() => undefined) };
      watches.set(key(w.name, w.present), w);
      return {};
    },
    sizes() {
      return { sizes: latest.map((l) => l.length), lists };
    },
    mem() {
      return { rss: process.memoryUsage().rss };
    },
  },
  async () => {
    await Promise.all(subscribers.map((s) => s.close()));
  },
);
