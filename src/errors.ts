/**
 * Every error this library raises. Each carries a stable `code` so callers can branch
 * on it, and each survives a trip across a worker-thread boundary through
 * `serializeError` / `deserializeError` (structured clone keeps only name and message).
 */
import { escapeUnprintable, quoted } from './printable.js';

export interface SerializedError {
  name: string;
  message: string;
  code: string;
  url?: string;
  rule?: string;
  /** An InvalidOptionError's `option`. */
  option?: string;
  stack?: string;
}

export class GopherDiscoveryError extends Error {
  readonly code: string;
  /**
   * `message` reaches terminals and logs: untrusted text in it (a URL, a name, an option's
   * value) is quoted by `quoted` (src/printable.ts) where it is put in, and any control,
   * line-break or bidi character left is escaped here, so no message acts on a terminal.
   */
  constructor(message: string, code: string, options?: { cause?: unknown }) {
    super(escapeUnprintable(message), options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A URL that is not `tcp://host:port`, `ipc:///absolute/path` or `inproc://name` (the grammar: parseEndpoint, src/protocol.ts). */
export class InvalidUrlError extends GopherDiscoveryError {
  readonly url: string;
  constructor(url: string, reason: string) {
    super(`invalid URL ${quoted(url)}: ${reason}`, 'ERR_INVALID_URL');
    this.url = url;
  }
}

export type ServiceNameRule = 'type' | 'empty' | 'separator' | 'too-long' | 'control-character' | 'not-utf8';

/** A service string that would corrupt or cannot travel in a member list. */
export class InvalidServiceNameError extends GopherDiscoveryError {
  readonly rule: ServiceNameRule;
  constructor(rule: ServiceNameRule, message: string) {
    super(`invalid service name: ${message}`, 'ERR_INVALID_SERVICE_NAME');
    this.rule = rule;
  }
}

/**
 * An option out of its documented range (a duration of zero, a survey that cannot fit...),
 * or an unknown option name. `option` names the option refused, either way: the one whose
 * value is refused (`pollTime`; a supervision option by its own name, `sharedThreads`), or
 * the unknown name, with `suggestion` the closest known one. Undefined only when the options
 * argument itself is not an object.
 */
export class InvalidOptionError extends GopherDiscoveryError {
  readonly option?: string;
  readonly suggestion?: string;
  constructor(message: string, about?: { option: string; suggestion?: string }) {
    super(message, 'ERR_INVALID_OPTION');
    if (about) {
      this.option = about.option;
      if (about.suggestion !== undefined) this.suggestion = about.suggestion;
    }
  }
}

/** A nanomsg call failed; `code` is the errno name (EADDRINUSE, EINVAL, ...). */
export class SocketError extends GopherDiscoveryError {
  readonly url?: string;
  readonly errno: number;
  constructor(operation: string, code: string, errno: number, detail: string, url?: string) {
    super(`${operation}${url ? ` ${url}` : ''} failed: ${code} (${detail})`, code);
    this.url = url;
    this.errno = errno;
  }
}

/** Bytes from a peer that are not a valid message of the protocol. */
export class MalformedMessageError extends GopherDiscoveryError {
  constructor(message: string) {
    super(message, 'ERR_MALFORMED_MESSAGE');
  }
}

/** A control call to an actor did not answer within its deadline. */
export class ActorTimeoutError extends GopherDiscoveryError {
  constructor(actor: string, call: string, ms: number) {
    super(`actor ${actor} did not answer ${call}() within ${ms} ms`, 'ERR_ACTOR_TIMEOUT');
  }
}

/** An actor's worker went away (crash, exit, termination) while something waited on it. */
export class ActorExitedError extends GopherDiscoveryError {
  constructor(actor: string, detail: string, options?: { cause?: unknown }) {
    super(`actor ${actor} exited: ${detail}`, 'ERR_ACTOR_EXITED', options);
  }
}

/** A supervisor exceeded its restart intensity and stopped its children. */
export class SupervisorGiveUpError extends GopherDiscoveryError {
  constructor(supervisor: string, detail: string, options?: { cause?: unknown }) {
    super(`supervisor ${supervisor} gave up: ${detail}`, 'ERR_SUPERVISOR_GIVEUP', options);
  }
}

/** The server, client or subscriber was closed. */
export class ClosedError extends GopherDiscoveryError {
  constructor(what: string) {
    super(`${what} is closed`, 'ERR_CLOSED');
  }
}

/** `peers()` on a client created without a `pubsubUrl` (the original's `Peers()` error). */
export class NoPubSubError extends GopherDiscoveryError {
  constructor() {
    super('this client has no pubsubUrl: create it with { pubsubUrl } to receive peer lists', 'ERR_NO_PUBSUB');
  }
}

/**
 * nanomsg's native addon cannot be loaded: its install script did not run (`npm install
 * --ignore-scripts`, pnpm 10's default) or it was built for another Node.js version.
 * Thrown by the first call that needs a socket (importing the library still works).
 */
export class NativeBuildMissingError extends GopherDiscoveryError {
  /** The fix when nanomsg's addon is missing (its bindings). */
  static readonly FIX = 'npm rebuild nanomsg';
  /** The fix when this package's own addon is missing (the readiness watcher, native/readiness.c). */
  static readonly READINESS_FIX = 'npm rebuild gopherdiscovery';
  /** The fix when both are missing (`npm install --ignore-scripts`). */
  static readonly BOTH_FIX = 'npm rebuild nanomsg gopherdiscovery';
  /** `addon`: whose build is missing: nanomsg's (default), this package's readiness watcher, or both. */
  constructor(options?: { cause?: unknown; addon?: 'nanomsg' | 'readiness' | 'both' }) {
    super(
      options?.addon === 'readiness'
        ? `gopherdiscovery's native addon (the readiness watcher) is not built (its install script was skipped, or it was built for another Node.js version); run: ${NativeBuildMissingError.READINESS_FIX}`
        : options?.addon === 'both'
          ? `nanomsg's native addon and gopherdiscovery's (the readiness watcher) are not built (their install scripts were skipped, or they were built for another Node.js version); run: ${NativeBuildMissingError.BOTH_FIX}`
          : `nanomsg's native addon is not built (its install script was skipped, or it was built for another Node.js version); run: ${NativeBuildMissingError.FIX}`,
      'ERR_NATIVE_BUILD_MISSING',
      options,
    );
  }
}

/**
 * A feature needs an optional peer dependency that is not installed (prom-client for
 * /metrics; pino, pino-pretty for the command line's logs). `packages` are what to install.
 */
export class MissingPeerError extends GopherDiscoveryError {
  readonly packages: readonly string[];
  constructor(feature: string, packages: readonly string[], cause?: unknown) {
    super(`${feature} needs ${packages.join(', ')} (optional peer ${packages.length > 1 ? 'dependencies' : 'dependency'}); install: npm install ${packages.join(' ')}`, 'ERR_MISSING_PEER', { cause });
    this.packages = packages;
  }
}

/**
 * The MissingPeerError for a failed import of an optional peer dependency (the error is
 * ERR_MODULE_NOT_FOUND and names one of `packages`), or undefined for any other error.
 */
export function missingPeer(error: unknown, feature: string, packages: readonly string[]): MissingPeerError | undefined {
  const e = error as NodeJS.ErrnoException | undefined;
  const named = e?.code === 'ERR_MODULE_NOT_FOUND' && packages.some((p) => String(e.message).includes(`'${p}'`));
  return named ? new MissingPeerError(feature, packages, error) : undefined;
}

export function serializeError(error: unknown): SerializedError {
  if (error instanceof Error) {
    const e = error as Error & { code?: unknown; url?: unknown; rule?: unknown; option?: unknown };
    return {
      name: e.name,
      message: e.message,
      code: typeof e.code === 'string' ? e.code : 'ERR_UNKNOWN',
      ...(typeof e.url === 'string' ? { url: e.url } : {}),
      ...(typeof e.rule === 'string' ? { rule: e.rule } : {}),
      ...(typeof e.option === 'string' ? { option: e.option } : {}),
      ...(e.stack ? { stack: e.stack } : {}),
    };
  }
  return { name: 'Error', message: String(error), code: 'ERR_UNKNOWN' };
}

/** Rebuilds an error from the other side of a thread boundary, keeping its class where known. */
export function deserializeError(s: SerializedError): GopherDiscoveryError {
  let error: GopherDiscoveryError;
  switch (s.name) {
    case 'InvalidUrlError':
      error = Object.assign(Object.create(InvalidUrlError.prototype), { url: s.url });
      break;
    case 'InvalidServiceNameError':
      error = Object.assign(Object.create(InvalidServiceNameError.prototype), { rule: s.rule });
      break;
    case 'InvalidOptionError':
      error = Object.assign(Object.create(InvalidOptionError.prototype), s.option !== undefined ? { option: s.option } : {});
      break;
    case 'SocketError':
      error = Object.assign(Object.create(SocketError.prototype), { url: s.url });
      break;
    case 'MalformedMessageError':
      error = Object.create(MalformedMessageError.prototype);
      break;
    case 'NativeBuildMissingError':
      error = Object.create(NativeBuildMissingError.prototype);
      break;
    default:
      error = Object.create(GopherDiscoveryError.prototype);
  }
  Object.defineProperties(error, {
    name: { value: s.name, writable: true, configurable: true },
    message: { value: s.message, writable: true, configurable: true },
    code: { value: s.code, enumerable: true },
    stack: { value: s.stack ?? `${s.name}: ${s.message}`, writable: true, configurable: true },
  });
  return error;
}
