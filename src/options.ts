/**
 * Unknown option names are refused, not ignored: TypeScript catches a misspelt
 * `missedRound` only for typed callers, while configuration read from files or the
 * environment, and JavaScript callers, would start with the option silently missing.
 *
 * Each options type lists its names once, with `optionNames<T>()`: the list fails to
 * compile when it misses a property of T or names one T does not have, so a new option
 * is one line in the interface and one in its list.
 */
import { InvalidOptionError } from './errors.js';
import { quoted } from './printable.js';

/**
 * The names of T's properties, checked at compile time against T both ways. Usage:
 * `export const SERVER_OPTION_NAMES = optionNames<ServerOptions>()(['surveyUrl', ...]);`
 */
export function optionNames<T>() {
  return <const K extends readonly (keyof T & string)[]>(
    names: K & ([Exclude<keyof T, K[number]>] extends [never] ? unknown : { 'missing option names': Exclude<keyof T, K[number]> }),
  ): readonly (keyof T & string)[] => names;
}

/** Levenshtein distance (insertions, deletions, substitutions), for suggestions. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/**
 * The known name closest to `name` (case-insensitive edit distance), if it is close enough
 * to be a likely slip: at most a third of the name's length, and at least 2, edits away.
 */
export function closestName(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = editDistance(name.toLowerCase(), k.toLowerCase());
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

/**
 * Refuses an options object that is not an object, or that has a property `known` does not
 * list (own enumerable string keys; a property set to undefined counts too). `what` names
 * the options in the message, e.g. 'createServer'. Throws InvalidOptionError with
 * `option` (the unknown name) and `suggestion` (the closest known one, if any).
 * `nested` lists the names an option object inside takes (e.g. `{ supervision: [...] }`):
 * such a name given one level too high is told where it belongs.
 */
export function checkOptionNames(what: string, options: unknown, known: readonly string[], nested: Readonly<Record<string, readonly string[]>> = {}): void {
  if (options === undefined) return;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new InvalidOptionError(`${what}: options must be an object, got ${options === null ? 'null' : Array.isArray(options) ? 'an array' : typeof options}`);
  }
  for (const name of Object.keys(options)) {
    if (known.includes(name)) continue;
    const home = Object.entries(nested).find(([, names]) => names.includes(name))?.[0];
    if (home !== undefined) {
      throw new InvalidOptionError(`${what}: ${JSON.stringify(name)} is an option of ${JSON.stringify(home)}: give it as { ${home}: { ${name}: ... } }`, { option: name, suggestion: home });
    }
    const suggestion = closestName(name, known);
    throw new InvalidOptionError(
      `${what}: unknown option ${quoted(name)}${suggestion ? `; did you mean ${quoted(suggestion)}?` : ''} (known: ${[...known].sort().join(', ')})`,
      { option: name, ...(suggestion ? { suggestion } : {}) },
    );
  }
}
