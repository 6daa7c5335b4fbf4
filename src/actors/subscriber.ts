/**
 * The subscriber actor: a SUB socket dialled to a publisher, subscribed to everything,
 * that decodes each published list and forwards it to its owner. Between lists it
 * receives in slices, or with waitOnReadiness does not run at all (ActorContext.receive).
 */
import { keyringOf } from '../admission.js';
import { listDigest } from '../extensions.js';
import { MIN_SEALED_BYTES, ReplayGuard, type KeyMaterial } from '../keyring.js';
import { decodeMembers, type ListRefusalReason } from '../protocol.js';
import { NnSocket } from '../transport.js';
import type { ActorContext } from './context.js';
import { RECONNECT_IVL_MS } from './respondent.js';
import type { SubscriberArgs, SubscriberOut } from './messages.js';

export type OpenedList = { ok: true; list: Buffer } | { ok: false; code: ListRefusalReason; reason: string };

/**
 * The first step after a message arrives: in shared-secret mode it must be a list sealed
 * by a key of the keyring and newer than any list already accepted from its publisher
 * (ReplayGuard); in plain mode it is taken as it is. Never throws.
 */
export function listOpening(args: Pick<SubscriberArgs, 'keys'>): {
  open(data: Buffer): OpenedList;
  /** Rotation: the new keyring opens lists from now on; what was accepted before still counts against replays. */
  rekey(keys: KeyMaterial[]): void;
} {
  let keyring = keyringOf(args.keys);
  if (!keyring) return { open: (list) => ({ ok: true, list }), rekey: () => {} };
  const replays = new ReplayGuard();
  const open = (data: Buffer): OpenedList => {
    const opened = keyring!.open(data);
    if (!opened.ok) return opened;
    if (!replays.accept(opened.epoch, opened.seq)) return { ok: false, code: 'replayed', reason: `a sealed list (number ${opened.seq}) no newer than one already received from its publisher` };
    return { ok: true, list: opened.list };
  };
  return { open, rekey: (keys) => (keyring = keyringOf(keys) ?? keyring) };
}

/** An opened list's members, or its refusal as 'malformed'. */
function decodeList(list: Buffer): { ok: true; list: Buffer; members: string[] } | { ok: false; code: ListRefusalReason; reason: string } {
  try {
    return { ok: true, list, members: decodeMembers(list) };
  } catch (e) {
    return { ok: false, code: 'malformed', reason: (e as Error).message };
  }
}

export async function runSubscriber(args: SubscriberArgs, ctx: ActorContext<SubscriberOut>): Promise<void> {
  const socket = NnSocket.open('sub', ctx.ledger);
  try {
    // Lists can be large (10,000 members); nanomsg's 1 MiB default would drop them and the connection with them.
    // A sealed list carries MIN_SEALED_BYTES more than the list itself.
    socket.setOption('rcvmaxsize', args.maxListBytes + (args.keys ? MIN_SEALED_BYTES : 0));
    socket.setOption('reconnectIvl', RECONNECT_IVL_MS);
    socket.connect(args.url);
    const opening = listOpening(args);
    ctx.onInbox((msg) => {
      if (msg.type === 'rekey') opening.rekey(msg.keys);
    });
    ctx.markReady();
    while (!ctx.stopping) {
      const data = await ctx.receive(socket);
      if (data) {
        const opened = opening.open(data);
        const read = opened.ok ? decodeList(opened.list) : opened;
        if (!read.ok) {
          ctx.count('refused');
          ctx.emit({ type: 'refused', code: read.code, reason: read.reason, count: 1 });
          await ctx.maybeYield();
          continue;
        }
        ctx.count('lists');
        // Digested here, off the main thread: the client's respondent compares it with the
        // survey's, which names the list as published before sealing (the opened bytes).
        ctx.emit({ type: 'list', members: read.members, digest: listDigest(read.list).toString('hex') });
        await ctx.maybeYield();
      }
    }
  } finally {
    socket.close();
  }
}
