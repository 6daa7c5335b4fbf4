/** The shared-secret flags of every command, and the server's --accept. */
import { readFileSync } from 'node:fs';
import { UsageError, type OptionSpec, type Parsed } from './args.js';

export const SECRET_OPTIONS: OptionSpec[] = [
  {
    flag: 'secret',
    value: 'SECRET',
    multiple: true,
    help: 'shared-secret mode (not Go-compatible): at least 16 characters; repeat it for a keyring, the first signs and seals (prefer the variable or --secret-file: arguments show in ps)',
  },
  { flag: 'secret-file', value: 'PATH', help: 'shared-secret mode, the keyring from a file: one secret per line, the first signs and seals (# comments, blank lines ignored)' },
];

export const ACCEPT_OPTION: OptionSpec = {
  flag: 'accept',
  value: 'REGEX',
  help: 'admission rule: list only names matching this JavaScript regular expression (anchor it: ^web-[0-9]+$); others are refused as not-accepted',
};

/** The `secret` option from --secret or --secret-file (never both), or undefined for plain mode. */
export function secretOption(o: Parsed): string[] | undefined {
  const given = o.strings('secret');
  const file = o.string('secret-file');
  if (given.length > 0 && file !== undefined) throw new UsageError(`${o.from['secret']} and ${o.from['secret-file']} both give secrets: use one`);
  if (file === undefined) return given.length > 0 ? given : undefined;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`${o.from['secret-file']}: cannot read ${JSON.stringify(file)} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const secrets = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  if (secrets.length === 0) throw new UsageError(`${o.from['secret-file']}: ${JSON.stringify(file)} holds no secret`);
  return secrets;
}

/** The --accept pattern as a RegExp, or undefined. */
export function acceptOption(o: Parsed): RegExp | undefined {
  const text = o.string('accept');
  if (text === undefined) return undefined;
  try {
    return new RegExp(text);
  } catch (e) {
    throw new UsageError(`${o.from['accept']}: ${JSON.stringify(text)} is not a regular expression (${(e as Error).message})`);
  }
}
