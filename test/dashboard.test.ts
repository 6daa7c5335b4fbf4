/**
 * The dashboard in a real headless browser, against the real `gopherdiscovery server`
 * process: a client that starts appears on the open page without a reload, and
 * disappears when it stops. A screenshot is saved to test-artifacts/dashboard.png.
 */
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { Cli, serverPorts, STEADY_FLAGS } from './helpers/cli.js';
import { launchBrowser } from './helpers/browser.js';

const ARTIFACTS = fileURLToPath(new URL('../test-artifacts/', import.meta.url));
const WAIT = { timeout: 20_000 };

test('a client appears on the open dashboard without a reload and disappears when it stops', async () => {
  const ports = await serverPorts();
  const server = new Cli(['server', ...ports.flags, ...STEADY_FLAGS]);
  const procs = [server];
  const browser = await launchBrowser();
  try {
    await server.log(/^server running/, 'the server to start');
    const page = await browser.context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await page.goto(ports.httpUrl);
    await page.locator('#connection[data-state="live"]').waitFor(WAIT);
    assert.equal(await page.locator('#survey-url').textContent(), ports.surveyUrl);
    assert.equal(await page.locator('#members li').count(), 0);
    await page.locator('#actors tr[data-actor="surveyor"] .state.running').waitFor(WAIT);
    // A mark on the window: if the page reloaded, it would be gone.
    await page.evaluate(() => ((window as unknown as { __notReloaded: boolean }).__notReloaded = true));

    const web = new Cli(['client', '--name', 'web-1', '--survey-url', ports.surveyUrl]);
    const api = new Cli(['client', '--name', 'api.internal:8080', '--survey-url', ports.surveyUrl]);
    procs.push(web, api);
    await page.locator('#members li[data-name="web-1"]').waitFor(WAIT);
    await page.locator('#members li[data-name="api.internal:8080"]').waitFor(WAIT);
    assert.equal(await page.locator('#member-count').textContent(), '2');

    assert.deepEqual(await api.stop('SIGTERM'), { code: 0, signal: null });
    await page.locator('#members li[data-name="api.internal:8080"]').waitFor({ state: 'detached', ...WAIT });
    assert.deepEqual(await page.locator('#members li .name').allTextContents(), ['web-1']);
    await page.locator('#timeline .tag.leave', { hasText: 'api.internal:8080' }).waitFor(WAIT);
    await page.locator('#round-number').filter({ hasText: /^\d+$/ }).waitFor(WAIT);
    assert.equal(await page.evaluate(() => (window as unknown as { __notReloaded?: boolean }).__notReloaded), true, 'the page was not reloaded');

    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: `${ARTIFACTS}dashboard.png`, fullPage: true });

    assert.deepEqual(await web.stop('SIGTERM'), { code: 0, signal: null });
    await page.locator('#members li').first().waitFor({ state: 'detached', ...WAIT });
    assert.equal(await page.locator('#member-count').textContent(), '0');
    assert.deepEqual(errors, [], 'no errors in the page');

    // The server going away shows on the page as a lost connection.
    assert.deepEqual(await server.stop('SIGTERM'), { code: 0, signal: null });
    await page.locator('#connection:not([data-state="live"])').waitFor(WAIT);
  } finally {
    await browser.close();
    await Promise.all(procs.map((p) => p.kill()));
  }
});
