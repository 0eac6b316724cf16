/**
 * The dashboard of a whole-host daemon in a real browser (Debian chromium): both projects are shown, each
 * service card acts on its own project (approve in one leaves the other waiting), the page follows the
 * update live without a reload, and axe finds no serious or critical violation on the grouped page. The backups
 * list names each backup's project, and a signed-in browser stays signed in across a daemon restart.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { launchChromium, axeViolations } from '../helpers/browser.js';
import { until } from '../helpers/wait.js';
import { TOKEN, serving, startHostDaemon, statusOf, svcOf, twoManualProjects } from '../helpers/host-daemon.js';

test('dashboard in --all mode: both projects listed; Approve in one project applies that project only, followed live; backups by project; sessions survive a restart', async () => {
  const h = await twoManualProjects('i18bui');
  const { a, b } = h;
  const daemon = startHostDaemon(h.scope);
  let restarted: ReturnType<typeof startHostDaemon> | undefined;
  const chrome = await launchChromium();
  try {
    const url = await daemon.url();
    await until('both pending', async () => { const d = await statusOf(url); return svcOf(d, a.name)?.pending && svcOf(d, b.name)?.pending ? true : undefined; });
    const page = await chrome.browser.newPage();
    await page.setViewport({ width: 1200, height: 900 });
    await page.goto(url, { waitUntil: 'domcontentloaded' });
    await page.type('#token', TOKEN);
    await Promise.all([page.waitForNavigation({ waitUntil: 'domcontentloaded' }), page.click('button[type=submit]')]);
    // The list has one row per service; a row names its project in its link (a whole-host list is grouped by project).
    const card = (project: string) => `div[role="row"][data-service="web"]:has(a[href="/service?service=web&project=${project}"])`;
    const statusAttr = (project: string) => page.$eval(card(project), (el) => el.getAttribute('data-status')).catch(() => undefined);
    assert.deepEqual(await page.$$eval('div[role="row"].group [role="rowheader"]', (els) => els.map((e) => e.textContent)), [a.name, b.name].sort().map((n) => `Project ${n}`));
    // Each project's heading pauses that project only.
    assert.deepEqual(await page.$$eval('div[role="row"].group button', (els) => els.map((e) => e.getAttribute('formaction'))), [a.name, b.name].sort().map((n) => `/v1/pause?project=${n}`));
    assert.equal(await statusAttr(a.name), 'pending-approval');
    assert.equal(await statusAttr(b.name), 'pending-approval');
    assert.deepEqual(await axeViolations(page), [], 'axe: no serious or critical violations on the grouped page');

    await page.evaluate(() => { (window as unknown as { marker: number }).marker = 1; });
    await page.click(`${card(b.name)} button[formaction^="/v1/approve"]`);
    await until('b up to date on the page', async () => ((await statusAttr(b.name)) === 'up-to-date' ? true : undefined), 180_000);
    assert.equal(await page.evaluate(() => (window as unknown as { marker?: number }).marker), 1, 'no reload happened');
    assert.equal(await page.$eval(`${card(b.name)} p[role="cell"]`, (el) => el.textContent), '1.1.0', 'the current tag');
    assert.equal(await serving(b), '1.1.0');
    assert.equal(await serving(a), '1.0.0', 'the other project still waits');
    assert.equal(await statusAttr(a.name), 'pending-approval');
    // The backups list names each backup's project: b's compose file was backed up before its update, a's never.
    await page.goto(url, { waitUntil: 'domcontentloaded' });
    assert.deepEqual(await page.$$eval('ul.backups li span.muted', (els) => els.map((e) => e.textContent)), [`of docker-compose.yml (project ${b.name})`]);

    // The whole-host dashboard keeps its sessions across a restart, as a single-project one does: the
    // same browser is still signed in to the next daemon (a cookie is not bound to a port).
    await daemon.stop();
    restarted = startHostDaemon(h.scope);
    await page.goto(await restarted.url(), { waitUntil: 'domcontentloaded' });
    assert.equal(await page.$('#token'), null, 'no sign-in form after the restart');
    // The list fills in live once the new daemon's first cycle ends (the bound is for a hang only).
    await page.waitForSelector(card(a.name), { timeout: 180_000 });
    assert.equal(await statusAttr(a.name), 'pending-approval', 'a still waits after the restart');
  } catch (err) {
    process.stderr.write(`daemon log (last lines):\n${daemon.log().split('\n').slice(-40).join('\n')}\n`);
    if (restarted) process.stderr.write(`restarted daemon log:\n${restarted.log().split('\n').slice(-40).join('\n')}\n`);
    throw err;
  } finally {
    await chrome.close();
    await daemon.stop();
    await restarted?.stop();
    await h.cleanup();
  }
});
