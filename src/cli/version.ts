/** The package's version, from its package.json (found from the package root: built, this code sits in a bundle chunk). */
import { readFileSync } from 'node:fs';
import { packagePath } from '../package-root.js';

export const VERSION: string = (JSON.parse(readFileSync(packagePath('package.json'), 'utf8')) as { version: string }).version;
