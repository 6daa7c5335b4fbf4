/**
 * Idle members for `npm run bench:idle`, in plain JavaScript run by plain `node`: no
 * TypeScript loader in the process (nor, inherited, in the library's worker threads)
 * whose memory and threads would be measured with the members'.
 *
 * Request `start` with `kind`:
 * - 'library': `count` clients of this library (createClient with a subscription) from
 *   the built module at `lib` (dist/index.js of this checkout, or of another for a
 *   before/after run), with `supervision` (e.g. `{ sharedThreads: true }`) if given; ready
 *   once every client's peer list holds its own name.
 * - 'discover': `count` node-discover members on `port`, loopback only (address and
 *   broadcast 127.255.255.255, never its default 255.255.255.255); ready once each has
 *   seen `expectPeers` others (or after 15 s when it is alone).
 * - 'server': this library's server (createServer, defaults, or `supervision` if given) on
 *   `surveyUrl` / `pubsubUrl`.
 * - 'bare': nothing: a Node process at rest, the baseline.
 * - 'warm': a bare process that ran one hot loop first, so that V8's optimizing compiler
 *   ran once: its machine code, in the node binary, is then paged in (~4 MiB of RSS,
 *   file-backed and shared with every Node process), as in any process that has run real
 *   code for a while — the fairer baseline for what a library itself adds.
 * - 'import': the library at `lib` imported, nothing created (what the import costs).
 * - 'worker': a bare process with one idle worker thread (`new Worker`, V8's default
 *   heap sizing): what any worker thread costs, before it loads any code of ours.
 * Then it sits idle until `close` (closes the members one by one and answers how long each
 * close() took, in ms) or `exit` (or its parent goes away).
 */
const members = [];

async function startLibrary({ lib, count, surveyUrl, pubsubUrl, supervision }) {
  const { createClient } = await import(lib);
  const listed = [];
  for (let i = 0; i < count; i++) {
    const service = `idle-${process.pid}-${i}`;
    const client = await createClient({ surveyUrl, pubsubUrl, service, ...(supervision ? { supervision } : {}) });
    members.push(() => client.close());
    listed.push(
      new Promise((resolve) => {
        const check = (peers) => peers.includes(service) && resolve();
        client.on('peers', check);
      }),
    );
  }
  await Promise.all(listed);
}

async function startServer({ lib, surveyUrl, pubsubUrl, supervision }) {
  const { createServer } = await import(lib);
  const server = await createServer({ surveyUrl, pubsubUrl, ...(supervision ? { supervision } : {}) });
  members.push(() => server.close());
}

async function startDiscover({ count, port, expectPeers }) {
  const { default: Discover } = await import('node-discover');
  const seen = [];
  for (let i = 0; i < count; i++) {
    // ignoreProcess: false — node-discover ignores its own process's instances by default, so
    // members in one process would never hear each other (ours do).
    const d = new Discover({ address: '127.255.255.255', broadcast: '127.255.255.255', port, ignoreProcess: false });
    members.push(() => new Promise((resolve) => (d.stop(), resolve())));
    seen.push(
      new Promise((resolve) => {
        const timer = setTimeout(resolve, expectPeers > 0 ? 60_000 : 15_000);
        let n = 0;
        d.on('added', () => {
          if (++n >= expectPeers) {
            clearTimeout(timer);
            resolve();
          }
        });
      }),
    );
  }
  await Promise.all(seen);
}

function warmUp() {
  let x = 0;
  const step = (i) => (i * 31) ^ (x >>> 3);
  for (let i = 0; i < 5e6; i++) x = step(i) + (x & 0xffff);
  return x;
}

async function idleWorker() {
  const { Worker } = await import('node:worker_threads');
  const worker = new Worker("require('node:worker_threads').parentPort.postMessage('up'); setInterval(() => {}, 1 << 30);", { eval: true });
  await new Promise((resolve, reject) => worker.once('message', resolve).once('error', reject));
  members.push(() => worker.terminate());
}

const send = (m) => {
  try {
    process.send?.(m);
  } catch {}
};
const exit = async () => {
  await Promise.allSettled(members.map((close) => close()));
  process.exit(0);
};
process.on('disconnect', exit);
process.on('message', async (req) => {
  try {
    if (req.cmd === 'exit') {
      send({ id: req.id, ok: true });
      await exit();
    } else if (req.cmd === 'close') {
      const closeMs = [];
      for (const close of members.splice(0)) {
        const t0 = performance.now();
        await close();
        closeMs.push(performance.now() - t0);
      }
      send({ id: req.id, ok: true, closeMs });
    } else if (req.cmd === 'start') {
      if (req.kind === 'library') await startLibrary(req);
      else if (req.kind === 'discover') await startDiscover(req);
      else if (req.kind === 'server') await startServer(req);
      else if (req.kind === 'warm') warmUp();
      else if (req.kind === 'import') await import(req.lib);
      else if (req.kind === 'worker') await idleWorker();
      else if (req.kind !== 'bare') throw new Error(`unknown kind ${req.kind}`);
      send({ id: req.id, ok: true, pid: process.pid });
    } else {
      send({ id: req.id, ok: false, error: `unknown command ${req.cmd}` });
    }
  } catch (e) {
    send({ id: req.id, ok: false, error: e?.stack ?? String(e) });
  }
});
send({ ev: 'up', pid: process.pid });
