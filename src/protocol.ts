/**
 * The gopherdiscovery wire format and its validation rules, in one place and free of I/O.
 *
 * - Survey: an empty body (0 bytes); respondents ignore whatever body arrives.
 * - Answer: the respondent's service string as raw UTF-8 bytes, nothing else.
 * - Published list: the member strings joined with `|` (0x7C); the empty set is the
 *   empty message. This is byte-for-byte what the Go original sends and expects.
 */
import { InvalidOptionError, InvalidServiceNameError, InvalidUrlError, MalformedMessageError } from './errors.js';
import { codePointLabel, quoted } from './printable.js';

export const SEPARATOR = '|';
const SEPARATOR_BYTE = 0x7c;

/** Default upper bound on a service string, in UTF-8 bytes. Names are URLs or host names in practice. */
export const DEFAULT_MAX_NAME_BYTES = 1024;
/** Default upper bound on members one server tracks; further distinct answers in a round are refused. */
export const DEFAULT_MAX_MEMBERS = 10_000;
/** The survey body the server sends: empty, as the original. */
export const SURVEY_BODY: Uint8Array = new Uint8Array(0);

/** The largest list message a subscriber accepts, derived from the member and name caps. */
export function maxListBytes(maxMembers = DEFAULT_MAX_MEMBERS, maxNameBytes = DEFAULT_MAX_NAME_BYTES): number {
  return maxMembers * (maxNameBytes + 1);
}

// ignoreBOM: a name that starts with U+FEFF keeps it. The default decoder strips a leading
// byte-order mark, which would list `\uFEFFbom` as `bom` (WHATWG Encoding, "UTF-8 decode").
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The characters no name may hold (rule 'control-character'): they would change how a
 * list reads in a log or terminal rather than be shown.
 * - C0 controls U+0000–U+001F, DEL U+007F and C1 controls U+0080–U+009F (Unicode
 *   category Cc; U+009B is CSI to some terminals, U+0085 is a line break to others);
 * - U+2028 LINE SEPARATOR and U+2029 PARAGRAPH SEPARATOR (line breaks in Unicode);
 * - the bidi embeddings, overrides and isolates U+202A–U+202E and U+2066–U+2069
 *   (Unicode TR #9), which reorder what follows them on screen ("Trojan Source", CVE-2021-42574).
 * Everything else in Unicode is allowed and kept byte for byte: no normalisation, no
 * trimming, a leading U+FEFF kept.
 */
export const FORBIDDEN_NAME_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

/** A UTF-16 surrogate not part of a pair (with the u flag a pair is one code point, not Cs). */
const LONE_SURROGATE = /\p{Cs}/u;

/** The first forbidden character of a name, as `U+0085 at index 3`, or undefined. */
function forbiddenCharacter(name: string): string | undefined {
  const m = FORBIDDEN_NAME_CHARACTERS.exec(name);
  return m ? `${codePointLabel(m[0].charCodeAt(0))} at index ${m.index}` : undefined;
}

/**
 * Checks a service string against the rules every list relies on, throwing an
 * InvalidServiceNameError that names the rule broken: 'type', 'empty', 'separator' (`|`),
 * 'control-character' (FORBIDDEN_NAME_CHARACTERS), 'not-utf8' (a lone surrogate, which has
 * no UTF-8 encoding) or 'too-long' (over maxNameBytes UTF-8 bytes). An accepted name is
 * sent, listed and yielded byte for byte as given.
 */
export function validateServiceName(name: unknown, maxNameBytes = DEFAULT_MAX_NAME_BYTES): string {
  if (typeof name !== 'string') throw new InvalidServiceNameError('type', `expected a string, got ${typeof name}`);
  if (name.length === 0) throw new InvalidServiceNameError('empty', 'a service name must not be empty');
  if (name.includes(SEPARATOR)) {
    throw new InvalidServiceNameError(
      'separator',
      `${quoted(name)} contains "|", the member-list separator, and would split into several members`,
    );
  }
  const forbidden = forbiddenCharacter(name);
  if (forbidden) {
    throw new InvalidServiceNameError('control-character', `${quoted(name)} contains a control, line-break or bidi-override character (${forbidden})`);
  }
  // A lone surrogate would be sent as U+FFFD (Buffer and TextEncoder replace it): listed under another name.
  if (LONE_SURROGATE.test(name)) {
    throw new InvalidServiceNameError('not-utf8', `${quoted(name)} contains a lone surrogate, which has no UTF-8 encoding`);
  }
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes > maxNameBytes) {
    throw new InvalidServiceNameError('too-long', `${bytes} UTF-8 bytes, the limit is ${maxNameBytes}`);
  }
  return name;
}

/** Encodes a member set as the original does: names joined by `|`, sorted so equal sets give equal bytes. */
export function encodeMembers(members: Iterable<string>): Buffer {
  return Buffer.from([...members].sort().join(SEPARATOR), 'utf8');
}

/**
 * Decodes a published list, each member byte for byte (a leading U+FEFF kept). Throws
 * MalformedMessageError on invalid UTF-8 or an empty member. Members are not checked
 * against the name rules: a foreign server (the Go original) may list any name, and a
 * subscriber reports what was published; whatever prints names escapes them (src/printable.ts).
 */
export function decodeMembers(data: Uint8Array): string[] {
  if (data.byteLength === 0) return [];
  let text: string;
  try {
    text = utf8.decode(data);
  } catch {
    throw new MalformedMessageError(`member list of ${data.byteLength} bytes is not valid UTF-8`);
  }
  const members = text.split(SEPARATOR);
  if (members.some((m) => m.length === 0)) {
    throw new MalformedMessageError(`member list ${quoted(text.slice(0, 80))} has an empty member`);
  }
  return members;
}

/**
 * Why an answer was refused: stable codes for counters and rate-limited logs. The first
 * four match the InvalidServiceNameError rules; 'not-accepted' is the server's `accept`
 * rule; 'unauthenticated', 'unknown-key' and 'bad-mac' are shared-secret mode's (src/admission.ts);
 * 'bad-announcement' is an announcement's, not an answer's.
 */
export type RefusalReason =
  | 'empty'
  | 'too-long'
  | 'separator'
  | 'control-character'
  | 'not-utf8'
  | 'member-cap'
  | 'not-accepted'
  | 'unauthenticated'
  | 'unknown-key'
  | 'bad-mac'
  /** An announcement (hello or bye, src/announcements.ts) that does not parse or names no valid service: dropped, never a survey. */
  | 'bad-announcement';

export const REFUSAL_REASONS: readonly RefusalReason[] = [
  'empty',
  'too-long',
  'separator',
  'control-character',
  'not-utf8',
  'member-cap',
  'not-accepted',
  'unauthenticated',
  'unknown-key',
  'bad-mac',
  'bad-announcement',
];

/**
 * Why a subscriber dropped a published message: 'malformed' (not a list), and in
 * shared-secret mode 'unsealed' (a plain message), 'unknown-key' (sealed with a key not
 * in the keyring), 'bad-seal' (altered, truncated or forged) and 'replayed' (older than a
 * list already accepted from the same publisher).
 */
export type ListRefusalReason = 'malformed' | 'unsealed' | 'unknown-key' | 'bad-seal' | 'replayed';

export const LIST_REFUSAL_REASONS: readonly ListRefusalReason[] = ['malformed', 'unsealed', 'unknown-key', 'bad-seal', 'replayed'];

export type AnswerResult = { ok: true; name: string } | { ok: false; code: RefusalReason; reason: string };

/**
 * Decodes one survey answer without throwing: hostile peers send anything. The rules are
 * validateServiceName's, applied to bytes (invalid UTF-8, encoded surrogates included, is 'not-utf8').
 */
export function decodeAnswer(data: Uint8Array, maxNameBytes = DEFAULT_MAX_NAME_BYTES): AnswerResult {
  if (data.byteLength === 0) return { ok: false, code: 'empty', reason: 'empty answer' };
  if (data.byteLength > maxNameBytes) {
    return { ok: false, code: 'too-long', reason: `answer of ${data.byteLength} bytes exceeds ${maxNameBytes}` };
  }
  if (data.includes(SEPARATOR_BYTE)) return { ok: false, code: 'separator', reason: 'answer contains "|"' };
  let name: string;
  try {
    name = utf8.decode(data);
  } catch {
    return { ok: false, code: 'not-utf8', reason: 'answer is not valid UTF-8' };
  }
  const forbidden = forbiddenCharacter(name);
  if (forbidden) return { ok: false, code: 'control-character', reason: `answer contains a control, line-break or bidi-override character (${forbidden})` };
  return { ok: true, name };
}

export function encodeAnswer(service: string): Buffer {
  return Buffer.from(service, 'utf8');
}

export type Endpoint =
  | { scheme: 'tcp'; url: string; host: string; port: number }
  | { scheme: 'ipc'; url: string; path: string }
  | { scheme: 'inproc'; url: string; name: string };

/** Unix socket paths are limited by sockaddr_un.sun_path (108 bytes with the NUL). */
export const MAX_IPC_PATH_BYTES = 107;
/** nanomsg refuses an address of NN_SOCKADDR_MAX (128) bytes or more, the NUL included. */
export const MAX_URL_BYTES = 127;
const HOSTNAME = /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/**
 * Which end of a connection a URL is for: a server binds its URLs (listens), clients and
 * subscribers connect to theirs. The host forms differ (see parseEndpoint).
 */
export type EndpointRole = 'bind' | 'connect';

/**
 * Parses and checks an SP endpoint URL, refusing with InvalidUrlError (saying why) every
 * form nanomsg cannot serve as written, before a socket is opened. The grammar:
 *
 * - `tcp://HOST:PORT`, PORT 1–65535 (nanomsg cannot report the port it picked for 0).
 *   To bind, HOST is an IPv4 address or `*` (every interface): nanomsg 1.x binds neither
 *   host names nor interface names (ENODEV). To connect, HOST is an IPv4 address or a DNS
 *   name, resolved by nanomsg (again at every reconnection); `*` is refused. IPv6
 *   (`[::1]`) is refused: the sockets are IPv4-only (nanomsg's NN_IPV4ONLY default).
 *   nanomsg's `tcp://iface;host:port` local-interface form is not supported.
 * - `ipc:///absolute/path`: an absolute path of at most 107 bytes (sockaddr_un). A
 *   relative path is refused: it would resolve against each process's working directory,
 *   so processes started in different directories would never meet.
 * - `inproc://NAME`: any non-empty name; reaches only sockets of this process (any thread).
 *
 * Every URL is at most 127 bytes (nanomsg's NN_SOCKADDR_MAX) and holds no control
 * characters or spaces. Without `role`, hosts valid for either role are accepted.
 */
export function parseEndpoint(url: unknown, role?: EndpointRole): Endpoint {
  if (typeof url !== 'string') throw new InvalidUrlError(String(url), `expected a string, got ${typeof url}`);
  if (/[\s\u0000-\u001f\u007f-\u009f]/.test(url)) throw new InvalidUrlError(url, 'a URL must not contain spaces or control characters');
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(.*)$/.exec(url);
  if (!m) throw new InvalidUrlError(url, 'expected scheme://address (tcp://host:port, ipc:///path or inproc://name)');
  const [, scheme, rest] = m as unknown as [string, string, string];
  if (scheme !== 'tcp' && scheme !== 'ipc' && scheme !== 'inproc') {
    throw new InvalidUrlError(url, `unsupported scheme ${quoted(scheme)}: use tcp, ipc or inproc (lowercase)`);
  }
  const bytes = Buffer.byteLength(url);
  if (bytes > MAX_URL_BYTES) throw new InvalidUrlError(url, `${bytes} bytes, nanomsg takes at most ${MAX_URL_BYTES}`);
  switch (scheme) {
    case 'tcp':
      return { scheme, url, ...parseTcpAddress(url, rest, role) };
    case 'ipc': {
      if (rest.length === 0) throw new InvalidUrlError(url, 'ipc URLs need a path, e.g. ipc:///tmp/discovery.ipc');
      if (!rest.startsWith('/')) {
        throw new InvalidUrlError(
          url,
          `ipc path ${quoted(rest)} is relative: it would resolve against each process's working directory; use an absolute path, e.g. ipc:///tmp/${rest}`,
        );
      }
      const pathBytes = Buffer.byteLength(rest);
      if (pathBytes > MAX_IPC_PATH_BYTES) throw new InvalidUrlError(url, `ipc path is ${pathBytes} bytes, a Unix socket path holds at most ${MAX_IPC_PATH_BYTES}`);
      return { scheme, url, path: rest };
    }
    case 'inproc': {
      if (rest.length === 0) throw new InvalidUrlError(url, 'inproc URLs need a name, e.g. inproc://discovery');
      return { scheme, url, name: rest };
    }
  }
}

function parseTcpAddress(url: string, rest: string, role: EndpointRole | undefined): { host: string; port: number } {
  if (rest.includes(';')) throw new InvalidUrlError(url, "nanomsg's local-interface form (tcp://iface;host:port) is not supported");
  const hp = /^(\[[^\]]*\]|[^:[\]/]+):(\d{1,5})$/.exec(rest);
  if (!hp) throw new InvalidUrlError(url, 'tcp URLs need host:port and nothing else, e.g. tcp://127.0.0.1:29400');
  const host = hp[1]!;
  const port = Number(hp[2]);
  if (port < 1 || port > 65535) throw new InvalidUrlError(url, `port ${hp[2]} is outside 1..65535 (nanomsg cannot report the port it picks for 0)`);
  if (host.startsWith('[')) throw new InvalidUrlError(url, 'IPv6 is not supported: the sockets are IPv4-only (nanomsg NN_IPV4ONLY); use an IPv4 address');
  if (host === '*') {
    if (role === 'connect') throw new InvalidUrlError(url, '* (every interface) is for listening; to connect, give the server\'s address, e.g. tcp://127.0.0.1:' + port);
    return { host, port };
  }
  if (IPV4.test(host)) return { host, port };
  if (/^[\d.]+$/.test(host)) throw new InvalidUrlError(url, `${quoted(host)} is not an IPv4 address (four numbers 0-255, no leading zeros)`);
  if (!HOSTNAME.test(host)) throw new InvalidUrlError(url, `${quoted(host)} is not an IPv4 address or DNS name`);
  if (role === 'bind') {
    throw new InvalidUrlError(
      url,
      `a listening URL needs an IPv4 address or *, not a host or interface name (nanomsg binds neither): e.g. tcp://127.0.0.1:${port} for this host only, tcp://*:${port} for every interface`,
    );
  }
  return { host, port };
}

/** Who joined and who left between two lists (as published, in any order). */
export function diffLists(previous: readonly string[], next: readonly string[]): { joined: string[]; left: string[] } {
  return diffMembers(new Set(previous), new Set(next));
}

/** The two sets differ: who joined and who left. Pure; the surveyor's change test. */
export function diffMembers(current: ReadonlySet<string>, fresh: ReadonlySet<string>): { joined: string[]; left: string[] } {
  const joined: string[] = [];
  const left: string[] = [];
  for (const m of fresh) if (!current.has(m)) joined.push(m);
  for (const m of current) if (!fresh.has(m)) left.push(m);
  return { joined: joined.sort(), left: left.sort() };
}

export interface ServerTiming {
  surveyTime: number;
  recvDeadline: number;
  pollTime: number;
}

/** The original's README defaults. */
export const DEFAULT_TIMING: ServerTiming = { surveyTime: 1000, recvDeadline: 1000, pollTime: 2000 };

/**
 * The bounds on the timing options, each for a reason:
 * - `minMs`: nanomsg deadlines and timeouts are whole milliseconds; a shorter duration
 *   cannot be expressed (0 would expire every survey at once, or survey in a busy loop).
 * - `maxSurveyMs`: one survey (and one wait for an answer) holds the whole round. A
 *   departure is noticed only when a round ends and a new client only at the next
 *   survey, so a survey open for more than a minute defeats discovery; no SP peer on a
 *   working network needs a minute to answer an empty survey.
 * - `maxMs`: Node's timers hold at most 2^31 − 1 ms; a longer pollTime would fire after 1 ms.
 */
export const TIMING_LIMITS = { minMs: 1, maxSurveyMs: 60_000, maxMs: 2 ** 31 - 1 } as const;

/**
 * When surveys go out. 'after-round' is the original's (and this server's): wait
 * pollTime after each round ends, so any surveyTime fits. 'fixed-rate' starts a survey
 * every pollTime: a survey must end before the next one is due, because SP keeps one
 * survey per SURVEYOR socket and a new survey cancels the one outstanding.
 */
export type RoundSchedule = 'after-round' | 'fixed-rate';

/** Refuses durations that cannot work: not a number, under 1 ms, or beyond `max`. Rounds to whole ms. */
export function validateDuration(name: string, value: unknown, max: number = TIMING_LIMITS.maxMs): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new InvalidOptionError(`${name} must be a positive number of milliseconds, got ${quoted(value)}`, { option: name });
  }
  if (value < TIMING_LIMITS.minMs) {
    throw new InvalidOptionError(`${name} must be at least ${TIMING_LIMITS.minMs} ms (nanomsg counts whole milliseconds), got ${value}`, { option: name });
  }
  if (value > max) throw new InvalidOptionError(`${name} must be at most ${max} ms, got ${value}`, { option: name });
  return Math.round(value);
}

/**
 * Validates the three durations together, refusing combinations that cannot work (see
 * TIMING_LIMITS and RoundSchedule). A recvDeadline longer than surveyTime is accepted: it
 * is harmless, the survey deadline ends the round first.
 */
export function validateTiming(t: Partial<ServerTiming>, schedule: RoundSchedule = 'after-round'): ServerTiming {
  const timing: ServerTiming = {
    surveyTime: validateDuration('surveyTime', t.surveyTime ?? DEFAULT_TIMING.surveyTime, TIMING_LIMITS.maxSurveyMs),
    recvDeadline: validateDuration('recvDeadline', t.recvDeadline ?? DEFAULT_TIMING.recvDeadline, TIMING_LIMITS.maxSurveyMs),
    pollTime: validateDuration('pollTime', t.pollTime ?? DEFAULT_TIMING.pollTime),
  };
  if (schedule === 'fixed-rate' && timing.surveyTime > timing.pollTime) {
    throw new InvalidOptionError(
      `surveyTime (${timing.surveyTime} ms) must not exceed pollTime (${timing.pollTime} ms) when a survey starts every pollTime: ` +
        'the next survey would cancel this one before its deadline',
      { option: 'surveyTime' },
    );
  }
  return timing;
}
