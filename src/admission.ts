/**
 * Who may join, free of I/O: the server's `accept` rule, and shared-secret mode's survey
 * bodies and authenticated answers (src/keyring.ts holds the cryptography, src/extensions.ts
 * the field encoding).
 *
 * In secret mode a survey's body is the extension magic with a fresh nonce and the
 * server's key id; an answer is `name 0x00 mac keyId`, the MAC taken over that survey's
 * nonce and the name. An answer without a MAC (a plain client, nanocat, nng, Go) is
 * refused as 'unauthenticated'; one made with a key the server does not hold as
 * 'unknown-key'; one whose MAC does not match the survey (forged, or replayed from an
 * earlier survey) as 'bad-mac'.
 */
import { InvalidOptionError, MalformedMessageError } from './errors.js';
import { decodeSurveyBody, encodeExtendedAnswer, encodeSurveyBody, FieldTag, splitAnswer } from './extensions.js';
import { Keyring, NONCE_BYTES, type KeyMaterial } from './keyring.js';

// ------------------------------------------------------------------ accept rules

/** The server's `accept` option: the names allowed, a pattern they must match, or a predicate. */
export type AcceptOption = readonly string[] | RegExp | ((name: string) => boolean);

/**
 * The rule as it crosses into the surveyor's worker thread (structured clone): lists and
 * patterns are checked there; a predicate cannot cross, so the worker asks the main thread
 * about each newcomer ('ask') and caches the verdict.
 */
export type AcceptRule = { kind: 'names'; names: string[] } | { kind: 'pattern'; source: string; flags: string } | { kind: 'ask' };

/** Validates the option; throws InvalidOptionError for anything else. */
export function acceptRule(option: unknown): AcceptRule {
  if (option instanceof RegExp) {
    // 'g' and 'y' make test() stateful (lastIndex): the same name would pass, then fail.
    return { kind: 'pattern', source: option.source, flags: option.flags.replace(/[gy]/g, '') };
  }
  if (typeof option === 'function') return { kind: 'ask' };
  if (Array.isArray(option)) {
    option.forEach((n, i) => {
      if (typeof n !== 'string') throw new InvalidOptionError(`accept[${i}] must be a string, got ${typeof n}`, { option: 'accept' });
    });
    return { kind: 'names', names: [...option] };
  }
  throw new InvalidOptionError(`accept must be an array of names, a RegExp or a function (name) => boolean, got ${option === null ? 'null' : typeof option}`, { option: 'accept' });
}

/**
 * The check the surveyor runs on a newcomer's name: true (accepted), false (refused), or
 * undefined when only the main thread can tell ('ask').
 */
export function compileAccept(rule: AcceptRule): (name: string) => boolean | undefined {
  switch (rule.kind) {
    case 'names': {
      const names = new Set(rule.names);
      return (name) => names.has(name);
    }
    case 'pattern': {
      const re = new RegExp(rule.source, rule.flags);
      return (name) => re.test(name);
    }
    case 'ask':
      return () => undefined;
  }
}

/** Runs a user's predicate on names; one that throws or returns a non-boolean refuses the name. */
export function judge(accept: (name: string) => boolean, names: readonly string[]): { accepted: string[]; refused: string[] } {
  const accepted: string[] = [];
  const refused: string[] = [];
  for (const name of names) {
    let ok = false;
    try {
      ok = accept(name) === true;
    } catch {
      ok = false;
    }
    (ok ? accepted : refused).push(name);
  }
  return { accepted, refused };
}

// ------------------------------------------------------------------ secret mode: surveys and answers

/** A field of an extended survey body or answer (src/extensions.ts): tag, value. */
export type Field = readonly [number, Uint8Array];

/** Secret mode's survey fields: a fresh nonce and the server's (primary) key id. */
export function secretSurveyFields(keyring: Keyring, nonce: Uint8Array): Field[] {
  return [
    [FieldTag.nonce, nonce],
    [FieldTag.keyId, keyring.primary.id],
  ];
}

/**
 * A survey body in secret mode: the magic, `before` (other extensions' fields, such as the
 * list digest of state on connect), a fresh nonce, the server's (primary) key id.
 */
export function secretSurveyBody(keyring: Keyring, nonce: Uint8Array, before: readonly Field[] = []): Buffer {
  return encodeSurveyBody([...before, ...secretSurveyFields(keyring, nonce)]);
}

export type AnswerRefusal = 'unauthenticated' | 'unknown-key' | 'bad-mac';
export type OpenedAnswer = { ok: true; name: Uint8Array } | { ok: false; code: AnswerRefusal; reason: string };

/**
 * The server's side: checks an answer's MAC against the nonces still valid (the current
 * survey's; with late answers counted, also the previous one's). Never throws.
 */
export function openAnswer(keyring: Keyring, nonces: readonly Uint8Array[], data: Uint8Array): OpenedAnswer {
  let parts: ReturnType<typeof splitAnswer>;
  try {
    parts = splitAnswer(data);
  } catch (e) {
    return unparsedAnswer((e as Error).message);
  }
  return verifyAnswerParts(keyring, nonces, parts, data.byteLength);
}

/** The refusal of an answer whose fields do not parse (`why`: the parser's message). */
export function unparsedAnswer(why: string): OpenedAnswer {
  return { ok: false, code: 'unauthenticated', reason: `answer fields do not parse: ${why}` };
}

/**
 * openAnswer for an answer already split into its name and fields (by the surveyor, which
 * reads needList from the same fields): `bytes` is the whole answer's length, for the reason.
 */
export function verifyAnswerParts(keyring: Keyring, nonces: readonly Uint8Array[], parts: { name: Uint8Array; fields: ReadonlyMap<number, Uint8Array> }, bytes: number): OpenedAnswer {
  const mac = parts.fields.get(FieldTag.mac);
  const keyId = parts.fields.get(FieldTag.keyId);
  if (!mac || !keyId) return { ok: false, code: 'unauthenticated', reason: `answer of ${bytes} bytes carries no MAC (a client without the secret)` };
  switch (keyring.verifyAnswer(nonces, parts.name, keyId, mac)) {
    case 'ok':
      return { ok: true, name: parts.name };
    case 'unknown-key':
      return { ok: false, code: 'unknown-key', reason: `answer signed with key ${Buffer.from(keyId).toString('hex')}, which is not in the server's keyring` };
    case 'bad-mac':
      return { ok: false, code: 'bad-mac', reason: "answer's MAC does not match this survey (forged, or replayed from an earlier survey)" };
  }
}

/**
 * The client's side: the answer to one survey. Plain mode answers the bare name whatever
 * the body holds (as the original), followed by `extra` fields if any. Secret mode answers
 * only a survey that carries a nonce, with the name, `extra` (such as needList) and a MAC
 * over (nonce, name); it returns null for any other survey (a plain server, or a body that
 * does not parse), which is left unanswered. The MAC does not cover `extra`: a needList
 * only asks for a republication of what the server publishes anyway.
 */
export function answerTo(name: Buffer, keyring: Keyring | undefined, surveyBody: Uint8Array, extra: readonly Field[] = []): Buffer | null {
  if (!keyring) return extra.length > 0 ? encodeExtendedAnswer(name, extra) : name;
  let fields;
  try {
    fields = decodeSurveyBody(surveyBody);
  } catch (e) {
    if (e instanceof MalformedMessageError) return null;
    throw e;
  }
  const nonce = fields?.get(FieldTag.nonce);
  if (!nonce || nonce.byteLength !== NONCE_BYTES) return null;
  const { keyId, mac } = keyring.answerMac(nonce, name);
  return encodeExtendedAnswer(name, [
    ...extra,
    [FieldTag.mac, mac],
    [FieldTag.keyId, keyId],
  ]);
}

/** A keyring from key material that crossed a thread boundary, or undefined for plain mode. */
export function keyringOf(keys: readonly KeyMaterial[] | undefined): Keyring | undefined {
  return keys && keys.length > 0 ? new Keyring(keys) : undefined;
}
