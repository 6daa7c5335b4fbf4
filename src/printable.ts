/**
 * Names on a terminal. A member list may hold any name a foreign server published (the Go
 * original lists whatever its clients answered), so whatever writes names to a terminal
 * escapes the characters a terminal would act on instead of showing: C0 and C1 controls
 * (ESC starts a control sequence, U+009B is CSI to some terminals), DEL, the line breaks
 * U+2028/U+2029, the bidi embeddings, overrides and isolates, and lone surrogates. The
 * rest of Unicode is written as is.
 */

/** `U+202E` for a code point. */
export function codePointLabel(cp: number): string {
  return `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** What a terminal would act on; the u flag makes a surrogate pair one code point, so \p{Cs} is a lone surrogate. */
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]|\p{Cs}/gu;

/**
 * A name as one safe run of text: each unprintable character as `\u{XXXX}` and a backslash
 * as `\\`, so the text stays unambiguous (`a\u{1B}b` is the name a, ESC, b). A name without
 * such characters or backslashes is returned unchanged.
 */
export function printable(text: string): string {
  return escapeUnprintable(text.replace(/\\/g, '\\\\'));
}

/** Text (a log message, an error message) with each unprintable character as `\u{XXXX}`; backslashes as they are. */
export function escapeUnprintable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => `\\u{${codePointLabel(c.charCodeAt(0)).slice(2)}}`);
}

/** The same set, for JSON text: JSON.stringify leaves C1 controls, U+2028/U+2029 and bidi controls raw. */
const RAW_IN_JSON = /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * JSON text with every character a terminal would act on written as a `\uXXXX` escape. The
 * value is unchanged (any JSON parser reads the same strings back): these characters can
 * only occur inside JSON strings, where the escape means the same character.
 */
export function terminalSafeJson(json: string): string {
  return json.replace(RAW_IN_JSON, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** JSON.stringify, then terminalSafeJson: one line a terminal shows as is. */
export function jsonLine(value: unknown): string {
  return terminalSafeJson(JSON.stringify(value));
}

/**
 * A value a caller gave, as an error message quotes it: a string as a JSON string literal
 * with every character a terminal would act on escaped (jsonLine: a URL or name holding
 * U+202E shows `"\u202e"`, never the raw override); anything else as String() shows it.
 */
export function quoted(value: unknown): string {
  return typeof value === 'string' ? jsonLine(value) : String(value);
}
