/**
 * Shared-secret mode's cryptography, free of I/O: key derivation, answer MACs and sealed
 * lists, all from `node:crypto` (scrypt, HKDF-SHA-256, HMAC-SHA-256, AES-256-GCM). No
 * primitive is written here; this module only fixes what goes into each one.
 *
 * - A secret (a passphrase or a random string) is stretched with scrypt (N = 2^14, r = 8,
 *   p = 1, a fixed salt) into a 32-byte master key, from which HKDF-SHA-256 derives three
 *   independent values: the MAC key, the sealing key and a 4-byte public key id (the id
 *   names the key on the wire; it reveals nothing about the key).
 * - Answer MAC = HMAC-SHA-256(macKey, "gopherdiscovery/answer/v1" 0x00 nonce name), the
 *   nonce being the survey's 16 random bytes: an answer is valid for one survey only.
 * - Sealed list = "GDS1" keyId(4) iv(12) AES-256-GCM(sealKey, iv, plaintext, aad = the
 *   first 8 bytes) tag(16); plaintext = epoch(8) seq(8, big endian) list. The epoch is
 *   random per publisher start, the sequence number counts its publications, so a
 *   subscriber refuses a list older than one it already accepted from that publisher.
 *
 * A keyring is an ordered list of keys: it accepts (verifies, opens) with any of them and
 * signs and seals with the first, which is what makes rotation possible one node at a time.
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import { InvalidOptionError } from './errors.js';

/** Bytes of a key id on the wire. */
export const KEY_ID_BYTES = 4;
/** Bytes of a survey nonce (random per survey). */
export const NONCE_BYTES = 16;
/** Bytes of an answer MAC (HMAC-SHA-256, untruncated). */
export const MAC_BYTES = 32;
/** The shortest secret accepted, in characters: a short one falls to a dictionary despite scrypt. */
export const MIN_SECRET_LENGTH = 16;
/** The first bytes of a sealed list. */
export const SEALED_MAGIC: Buffer = Buffer.from('GDS1', 'latin1');

const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = SEALED_MAGIC.byteLength + KEY_ID_BYTES + IV_BYTES;
const EPOCH_BYTES = 8;
const SEQ_BYTES = 8;
/** The smallest sealed list: header, epoch and sequence number, tag (the list itself may be empty). */
export const MIN_SEALED_BYTES = HEADER_BYTES + EPOCH_BYTES + SEQ_BYTES + TAG_BYTES;

const SCRYPT_SALT = Buffer.from('gopherdiscovery/secret/v1');
const SCRYPT_PARAMS = { N: 2 ** 14, r: 8, p: 1, maxmem: 64 * 1024 * 1024 } as const;
const ANSWER_CONTEXT = Buffer.from('gopherdiscovery/answer/v1\0');

/** One key, as derived from a secret: plain bytes, so it crosses into a worker thread by structured clone. */
export interface KeyMaterial {
  /** The public id naming this key on the wire (KEY_ID_BYTES). */
  id: Uint8Array;
  /** HMAC-SHA-256 key for answers (32 bytes). */
  mac: Uint8Array;
  /** AES-256-GCM key for lists (32 bytes). */
  seal: Uint8Array;
}

const derived = new Map<string, KeyMaterial>();

/**
 * Derives a key from a secret (scrypt, then HKDF; about 40 ms of CPU, once per distinct
 * secret in a process: the result is cached, so many clients with one secret pay once).
 */
export function deriveKey(secret: string): KeyMaterial {
  const cached = derived.get(secret);
  if (cached) return cached;
  const master = scryptSync(secret, SCRYPT_SALT, 32, SCRYPT_PARAMS);
  const expand = (info: string, bytes: number) => new Uint8Array(hkdfSync('sha256', master, Buffer.alloc(0), `gopherdiscovery ${info}`, bytes));
  const key = { id: expand('key id', KEY_ID_BYTES), mac: expand('answer mac', 32), seal: expand('list seal', 32) };
  derived.set(secret, key);
  return key;
}

/**
 * Checks a `secret` option: a string, or a non-empty array of strings (a keyring, the
 * first one used to sign and seal), each at least MIN_SECRET_LENGTH characters, no two
 * alike. Returns the array. Throws InvalidOptionError naming the problem (never the secret).
 */
export function validateSecrets(name: string, value: unknown): string[] {
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.length === 0) throw new InvalidOptionError(`${name} must be a string or a non-empty array of strings (a keyring)`, { option: name });
  list.forEach((s, i) => {
    if (typeof s !== 'string') throw new InvalidOptionError(`${name}[${i}] must be a string, got ${typeof s}`, { option: name });
    if (s.length < MIN_SECRET_LENGTH) {
      throw new InvalidOptionError(`${name}[${i}] is ${s.length} characters; at least ${MIN_SECRET_LENGTH} are needed (e.g. openssl rand -base64 32)`, { option: name });
    }
  });
  if (new Set(list).size !== list.length) throw new InvalidOptionError(`${name} lists the same secret twice`, { option: name });
  return list as string[];
}

/** Derives every key of a validated `secret` option; throws InvalidOptionError if two keys share an id. */
export function keysFromSecrets(name: string, value: unknown): KeyMaterial[] {
  const keys = validateSecrets(name, value).map(deriveKey);
  const ids = new Set(keys.map((k) => Buffer.from(k.id).toString('hex')));
  if (ids.size !== keys.length) throw new InvalidOptionError(`${name}: two secrets derive the same key id; use other secrets`, { option: name });
  return keys;
}

export type AnswerCheck = 'ok' | 'unknown-key' | 'bad-mac';
export type OpenRefusal = 'unsealed' | 'unknown-key' | 'bad-seal';
export type OpenResult = { ok: true; epoch: Buffer; seq: bigint; list: Buffer } | { ok: false; code: OpenRefusal; reason: string };

export class Keyring {
  readonly keys: readonly KeyMaterial[];
  private readonly byId = new Map<string, KeyMaterial>();

  constructor(keys: readonly KeyMaterial[]) {
    if (keys.length === 0) throw new InvalidOptionError('a keyring needs at least one key', { option: 'secret' });
    this.keys = keys;
    for (const k of keys) this.byId.set(Buffer.from(k.id).toString('hex'), k);
  }

  /** The key that signs and seals. */
  get primary(): KeyMaterial {
    return this.keys[0]!;
  }

  find(id: Uint8Array): KeyMaterial | undefined {
    return id.byteLength === KEY_ID_BYTES ? this.byId.get(Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('hex')) : undefined;
  }

  /** The MAC of an answer `name` to a survey with `nonce`, by the primary key. */
  answerMac(nonce: Uint8Array, name: Uint8Array): { keyId: Uint8Array; mac: Buffer } {
    return { keyId: this.primary.id, mac: mac(this.primary, nonce, name) };
  }

  /** Checks an answer's MAC against each nonce given (the current survey's, and for late answers the previous one). */
  verifyAnswer(nonces: readonly Uint8Array[], name: Uint8Array, keyId: Uint8Array, given: Uint8Array): AnswerCheck {
    const key = this.find(keyId);
    if (!key) return 'unknown-key';
    if (given.byteLength !== MAC_BYTES) return 'bad-mac';
    for (const nonce of nonces) if (timingSafeEqual(mac(key, nonce, name), given)) return 'ok';
    return 'bad-mac';
  }

  /** Seals a list for publication with the primary key, a random IV, and the publisher's epoch and sequence number. */
  seal(list: Uint8Array, epoch: Uint8Array, seq: bigint): Buffer {
    const key = this.primary;
    const iv = randomBytes(IV_BYTES);
    const header = Buffer.concat([SEALED_MAGIC, key.id, iv]);
    const cipher = createCipheriv('aes-256-gcm', key.seal, iv);
    cipher.setAAD(header.subarray(0, SEALED_MAGIC.byteLength + KEY_ID_BYTES));
    const counter = Buffer.alloc(SEQ_BYTES);
    counter.writeBigUInt64BE(seq);
    const body = Buffer.concat([cipher.update(Buffer.concat([epoch, counter, list])), cipher.final()]);
    return Buffer.concat([header, body, cipher.getAuthTag()]);
  }

  /** Opens a sealed list; never throws: anything that is not a list sealed by a key of this ring is refused with a reason. */
  open(data: Uint8Array): OpenResult {
    const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    if (buf.byteLength < SEALED_MAGIC.byteLength || !buf.subarray(0, SEALED_MAGIC.byteLength).equals(SEALED_MAGIC)) {
      return { ok: false, code: 'unsealed', reason: `a message of ${buf.byteLength} bytes that is not a sealed list (a publisher without the secret?)` };
    }
    if (buf.byteLength < MIN_SEALED_BYTES) return { ok: false, code: 'bad-seal', reason: `sealed list truncated to ${buf.byteLength} bytes` };
    const idEnd = SEALED_MAGIC.byteLength + KEY_ID_BYTES;
    const key = this.find(buf.subarray(SEALED_MAGIC.byteLength, idEnd));
    if (!key) return { ok: false, code: 'unknown-key', reason: `sealed with key ${buf.subarray(SEALED_MAGIC.byteLength, idEnd).toString('hex')}, which is not in this keyring` };
    try {
      const decipher = createDecipheriv('aes-256-gcm', key.seal, buf.subarray(idEnd, HEADER_BYTES));
      decipher.setAAD(buf.subarray(0, idEnd));
      decipher.setAuthTag(buf.subarray(buf.byteLength - TAG_BYTES));
      const plain = Buffer.concat([decipher.update(buf.subarray(HEADER_BYTES, buf.byteLength - TAG_BYTES)), decipher.final()]);
      return { ok: true, epoch: plain.subarray(0, EPOCH_BYTES), seq: plain.readBigUInt64BE(EPOCH_BYTES), list: plain.subarray(EPOCH_BYTES + SEQ_BYTES) };
    } catch {
      return { ok: false, code: 'bad-seal', reason: `sealed list of ${buf.byteLength} bytes failed authentication (altered, or forged)` };
    }
  }
}

function mac(key: KeyMaterial, nonce: Uint8Array, name: Uint8Array): Buffer {
  return createHmac('sha256', key.mac).update(ANSWER_CONTEXT).update(nonce).update(name).digest();
}

/** A publisher's sealing state: a random epoch per start and a sequence number per publication. */
export class ListSealer {
  private readonly epoch = randomBytes(EPOCH_BYTES);
  private seq = 0n;
  constructor(private keyring: Keyring) {}

  /** Seals with another keyring's first key from now on (rotation), keeping the epoch and the sequence. */
  use(keyring: Keyring): void {
    this.keyring = keyring;
  }

  seal(list: Uint8Array): Buffer {
    return this.keyring.seal(list, this.epoch, ++this.seq);
  }
}

/** How many publisher epochs a subscriber remembers the last sequence number of. */
export const REMEMBERED_EPOCHS = 16;

/**
 * A subscriber's replay check: per publisher epoch, the highest sequence number accepted;
 * a list whose number is not higher is a replay. Bounded: the oldest epochs are forgotten.
 */
export class ReplayGuard {
  private readonly last = new Map<string, bigint>();

  /** True (and remembered) when the list is newer than anything seen from its epoch. */
  accept(epoch: Uint8Array, seq: bigint): boolean {
    const key = Buffer.from(epoch.buffer, epoch.byteOffset, epoch.byteLength).toString('hex');
    const previous = this.last.get(key);
    if (previous !== undefined && seq <= previous) return false;
    this.last.delete(key);
    this.last.set(key, seq);
    if (this.last.size > REMEMBERED_EPOCHS) this.last.delete(this.last.keys().next().value!);
    return true;
  }
}

/** A fresh survey nonce. */
export function surveyNonce(): Buffer {
  return randomBytes(NONCE_BYTES);
}
