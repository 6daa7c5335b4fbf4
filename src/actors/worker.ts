/**
 * The piscina task that hosts one actor in a worker thread for as long as it lives; a
 * thread may run several such tasks at once (co-hosted actors, src/pool.ts).
 * It serves the control API (comlink) on the task's control port, runs the actor's
 * loop, and reports how it ended: a start failure is a resolved report with status
 * 'error' (so the supervisor does not retry a bad URL); a failure after start rejects
 * the task (so the supervisor restarts the actor).
 */
import { expose } from 'comlink/dist/esm/comlink.mjs';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { performance } from 'node:perf_hooks';
import { threadId } from 'node:worker_threads';
import { serializeError } from '../errors.js';
import { ActorContext } from './context.js';
import type { ActorArgs, ActorControl, ActorOut, ActorReport, ActorTask, HostedMessage } from './messages.js';
import { runPublisher } from './publisher.js';
import { runRespondent } from './respondent.js';
import { runSubscriber } from './subscriber.js';
import { runSurveyor } from './surveyor.js';
import { afterActorEnded, watchHeapGrowth } from './thread-collect.js';
import { probeTask } from './thread-probe.js';

type Runner = (args: never, ctx: ActorContext<never>) => Promise<void>;
const RUNNERS: Record<ActorArgs['kind'], Runner> = {
  surveyor: runSurveyor as Runner,
  publisher: runPublisher as Runner,
  respondent: runRespondent as Runner,
  subscriber: runSubscriber as Runner,
};

export default function runActorTask(task: ActorTask): Promise<ActorReport> {
  // Its end leaves garbage on a thread that is kept for reuse, and a long-lived actor's
  // leftovers pile up in its thread's old generation: both collected (thread-collect.ts).
  watchHeapGrowth();
  return probeTask(task.args.kind, () => runActor(task)).finally(afterActorEnded);
}

async function runActor(task: ActorTask): Promise<ActorReport> {
  // Several actors may share this thread (src/pool.ts): nothing here is per-thread state.
  task.mailbox.postMessage({ type: 'hosted', threadId } satisfies HostedMessage);
  const ctx = new ActorContext<ActorOut>(task);
  let finished!: () => void;
  const done = new Promise<void>((resolve) => (finished = resolve));
  const control: ActorControl = {
    status: () => ctx.report(),
    stop: async () => {
      ctx.requestStop();
      await done;
      return ctx.report();
    },
    ping: () => performance.now(),
    injectFault: (fault) => ctx.inject(fault),
  };
  expose(control, nodeEndpoint(task.control));
  try {
    await RUNNERS[task.args.kind](task.args as never, ctx as ActorContext<never>);
    ctx.status = ctx.stopping ? 'stopped' : 'done';
    return ctx.report();
  } catch (error) {
    ctx.status = 'error';
    if (!ctx.ready) {
      const serialized = serializeError(error);
      ctx.emit({ type: 'start-failed', error: serialized });
      return { ...ctx.report(), error: serialized };
    }
    throw error;
  } finally {
    ctx.closePorts();
    finished();
  }
}
