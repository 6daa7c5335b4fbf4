/**
 * The README is also the registry's package page, where a relative link resolves against
 * the registry, not the repository: every link and image is absolute or an in-page anchor,
 * and links into this repository use package.json's `repository` URL.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO } from './helpers/child.js';

test('every README link is absolute or an anchor, and links into this repository use its repository URL', async () => {
  const readme = await readFile(join(REPO, 'README.md'), 'utf8');
  const pkg = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as { repository: { url: string }; homepage: string; bugs: { url: string } };
  const repository = pkg.repository.url.replace(/^git\+/, '').replace(/\.git$/, '');
  assert.match(repository, /^https:\/\/github\.com\/[^/]+\/[^/]+$/);
  assert.equal(pkg.homepage, `${repository}#readme`);
  assert.equal(pkg.bugs.url, `${repository}/issues`);

  // Inline links and images [text](target), and reference definitions [label]: target.
  const targets = [...readme.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g), ...readme.matchAll(/^\s*\[[^\]]+\]:\s*(\S+)/gm)].map((m) => m[1]!);
  assert.ok(targets.length > 5, `found ${targets.length} links`);
  const relative = targets.filter((t) => !/^(https?:\/\/|mailto:|#)/.test(t));
  assert.deepEqual(relative, [], 'relative links');
  const name = repository.split('/').pop()!;
  const stray = targets.filter((t) => t.includes(`/${name}/`) && !t.startsWith(`${repository}/`));
  assert.deepEqual(stray, [], `links into this repository use ${repository}`);
});
