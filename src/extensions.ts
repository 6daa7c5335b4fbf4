/**
 * This library's extensions to the gopherdiscovery wire format, in one place and free of I/O.
 *
 * The original's survey body is empty and its answer is the bare service string; both stay
 * exactly so unless a server opts into an extension. An extended survey body starts with
 * the 4-byte magic `GDX1`, then carries fields; a client of this library that sees the magic
 * may append its own fields to its answer after one NUL byte. Go, nanocat and nng
 * respondents answer any survey body with their service string, and a service string never
 * holds a NUL (control characters are refused), so the split is unambiguous and a plain
 * answer to an extended survey is still a plain answer.
 *
 *   extended survey body = "GDX1" field*
 *   extended answer      = name 0x00 field*
 *   field                = tag (1 byte) length (2 bytes, big endian) value (length bytes)
 *
 * Fields with a tag the reader does not know are skipped, so a newer server can add fields
 * that older clients ignore. A field block that does not parse (a length past the end) is
 * malformed as a whole.
 */
import { createHash } from 'node:crypto';
import { MalformedMessageError } from './errors.js';

/** The first bytes of an extended survey body. */
export const SURVEY_MAGIC: Buffer = Buffer.from('GDX1', 'latin1');

/** Where an answer's name ends and its fields begin. */
export const ANSWER_FIELDS_SEPARATOR = 0x00;

/** Field tags: one registry for survey and answer fields, so no tag means two things. */
export const FieldTag = {
  /** Survey: a digest of the list the server publishes now (state on connect). */
  listDigest: 0x01,
  /** Answer: "I do not hold the list this survey's digest names; publish it" (empty value). */
  needList: 0x02,
  /** Survey: a fresh nonce per survey (shared-secret mode). */
  nonce: 0x03,
  /** Answer: a MAC over the survey's nonce and the name (shared-secret mode). */
  mac: 0x04,
  /** Survey: the server's announce URL, UTF-8 (join and leave announcements). */
  announceUrl: 0x05,
  /** Survey and answer: the id of the key (keyring entry) a MAC or seal was made with. */
  keyId: 0x06,
  /**
   * Answer (to a survey that advertises an announce URL) and bye: the client's farewell
   * token, 8 random bytes made when its respondent starts. A bye counts as this member's
   * only when it carries the token of the member's latest answer, which only the member
   * (and whoever reads its connection) knows.
   */
  farewellToken: 0x07,
  /**
   * Survey: this is a join survey (README "Join survey"; empty value). A client that dialled
   * no join URL and gets one has a server's join URL as its survey URL: it would be listed
   * by the join survey and dropped at the next main round, so it says so (`misdialled`).
   */
  joinSurvey: 0x08,
} as const;
export type FieldTagName = keyof typeof FieldTag;

/** The longest value a field can hold (its length is 16 bits). */
export const MAX_FIELD_BYTES = 0xffff;

export type Fields = Map<number, Buffer>;

/** Encodes fields in the order given. Throws RangeError for a value over MAX_FIELD_BYTES or a tag outside 1..255. */
export function encodeFields(fields: Iterable<readonly [number, Uint8Array]>): Buffer {
  const parts: Buffer[] = [];
  for (const [tag, value] of fields) {
    if (!Number.isInteger(tag) || tag < 1 || tag > 0xff) throw new RangeError(`field tag ${tag} is outside 1..255`);
    if (value.byteLength > MAX_FIELD_BYTES) throw new RangeError(`field ${tag} holds ${value.byteLength} bytes, at most ${MAX_FIELD_BYTES} fit`);
    const head = Buffer.alloc(3);
    head.writeUInt8(tag, 0);
    head.writeUInt16BE(value.byteLength, 1);
    parts.push(head, Buffer.from(value.buffer, value.byteOffset, value.byteLength));
  }
  return Buffer.concat(parts);
}

/**
 * Decodes a field block. Throws MalformedMessageError when a field runs past the end or
 * a tag repeats (a repeated tag would let a peer smuggle a second value past a check).
 */
export function decodeFields(data: Uint8Array): Fields {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const fields: Fields = new Map();
  let at = 0;
  while (at < buf.byteLength) {
    if (buf.byteLength - at < 3) throw new MalformedMessageError(`field header truncated at byte ${at} of ${buf.byteLength}`);
    const tag = buf.readUInt8(at);
    const length = buf.readUInt16BE(at + 1);
    at += 3;
    if (at + length > buf.byteLength) throw new MalformedMessageError(`field ${tag} claims ${length} bytes, ${buf.byteLength - at} remain`);
    if (fields.has(tag)) throw new MalformedMessageError(`field ${tag} appears twice`);
    fields.set(tag, buf.subarray(at, at + length));
    at += length;
  }
  return fields;
}

/** An extended survey body: the magic, then the fields. */
export function encodeSurveyBody(fields: Iterable<readonly [number, Uint8Array]>): Buffer {
  return Buffer.concat([SURVEY_MAGIC, encodeFields(fields)]);
}

/**
 * The fields of a survey body, or undefined for a plain one (empty, or anything without
 * the magic: Go, nanocat and nng servers send empty surveys). Throws
 * MalformedMessageError for a body with the magic whose fields do not parse.
 */
export function decodeSurveyBody(body: Uint8Array): Fields | undefined {
  if (body.byteLength < SURVEY_MAGIC.byteLength) return undefined;
  for (let i = 0; i < SURVEY_MAGIC.byteLength; i++) if (body[i] !== SURVEY_MAGIC[i]) return undefined;
  return decodeFields(body.subarray(SURVEY_MAGIC.byteLength));
}

/** An answer: the name's bytes, then — only when there are fields — a NUL and the fields. */
export function encodeExtendedAnswer(name: Uint8Array, fields: Iterable<readonly [number, Uint8Array]>): Buffer {
  const block = encodeFields(fields);
  if (block.byteLength === 0) return Buffer.from(name);
  return Buffer.concat([name, Buffer.of(ANSWER_FIELDS_SEPARATOR), block]);
}

/**
 * Splits an answer into the name's bytes and its fields (an empty map for a plain
 * answer). Throws MalformedMessageError when the bytes after the NUL do not parse.
 * The name's bytes are not validated here: decodeAnswer (src/protocol.ts) does that.
 */
export function splitAnswer(data: Uint8Array): { name: Uint8Array; fields: Fields } {
  const at = data.indexOf(ANSWER_FIELDS_SEPARATOR);
  if (at < 0) return { name: data, fields: new Map() };
  return { name: data.subarray(0, at), fields: decodeFields(data.subarray(at + 1)) };
}

/** Bytes of a list digest: enough that two different lists collide with probability 2⁻⁶⁴. */
export const LIST_DIGEST_BYTES = 8;

/**
 * The digest a server puts in its survey (FieldTag.listDigest) and a client compares with
 * the lists it holds: the first 8 bytes of SHA-256 over the published list's exact bytes
 * (this library publishes names sorted, so equal sets give equal digests).
 */
export function listDigest(encodedList: Uint8Array): Buffer {
  return createHash('sha256').update(encodedList).digest().subarray(0, LIST_DIGEST_BYTES);
}

/**
 * Announcements: a client's short notice to the server's announce socket (a PUSH to the
 * server's PULL, at its `announceUrl`) that it has just connected ("hello") or has just
 * closed its respondent ("bye"). They are hints, never membership: a server only runs a
 * survey sooner because of one (src/announcements.ts), and lists only the names that
 * answer it. Not authenticated, in shared-secret mode either: README "Announcements"
 * gives the argument (a forged one costs at most one rate-limited survey, or one early
 * check of a member that then answers).
 *
 *   announcement = "GDA1" kind (1 byte: 0x01 hello, 0x02 bye) name [0x00 field*]
 *
 * name is the service string's UTF-8 bytes; a bye carries FieldTag.farewellToken.
 */
export const ANNOUNCE_MAGIC: Buffer = Buffer.from('GDA1', 'latin1');

/** An announcement's kind byte. */
export const AnnouncementKind = { hello: 0x01, bye: 0x02 } as const;
export type AnnouncementKindName = keyof typeof AnnouncementKind;

/** An announcement of `kind` for the service string `name` (its UTF-8 bytes, or the string), with `fields` after a NUL if any. */
export function encodeAnnouncement(kind: AnnouncementKindName, name: Uint8Array | string, fields: Iterable<readonly [number, Uint8Array]> = []): Buffer {
  const bytes = typeof name === 'string' ? Buffer.from(name, 'utf8') : name;
  return Buffer.concat([ANNOUNCE_MAGIC, Buffer.of(AnnouncementKind[kind]), encodeExtendedAnswer(bytes, fields)]);
}

/**
 * An announcement's kind, name bytes (not validated: decodeAnswer does that) and fields,
 * or undefined when `data` is not an announcement (no magic, an unknown kind byte, or
 * fields that do not parse).
 */
export function decodeAnnouncement(data: Uint8Array): { kind: AnnouncementKindName; name: Uint8Array; fields: Fields } | undefined {
  const head = ANNOUNCE_MAGIC.byteLength;
  if (data.byteLength <= head) return undefined;
  for (let i = 0; i < head; i++) if (data[i] !== ANNOUNCE_MAGIC[i]) return undefined;
  const kind = data[head] === AnnouncementKind.hello ? 'hello' : data[head] === AnnouncementKind.bye ? 'bye' : undefined;
  if (!kind) return undefined;
  try {
    return { kind, ...splitAnswer(data.subarray(head + 1)) };
  } catch {
    return undefined;
  }
}

/** Bytes of a farewell token (FieldTag.farewellToken). */
export const FAREWELL_TOKEN_BYTES = 8;
