/**
 * The dashboard in a real browser (Debian chromium through puppeteer-core) against a real daemon, engine and
 * registry: sign in, approve a pending update and watch it complete without a reload, see it in the history,
 * roll it back; a failing update shows as rolled back with its reason; phone width and keyboard only; axe-core.
 * Saves docs/images/dashboard.png (the README shows it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'puppeteer-core';
import { ComposeProject, pushImage, unique, logLines, ROOT, REGISTRY } from '../helpers/docker.js';
import { axeViolations, launchChromium } from '../helpers/browser.js';
import { until } from '../helpers/wait.js';


const statusOf = (page: Page, service: string) => page.$eval(`li[data-service="${service}"] [data-role="status"]`, (el) => el.textContent ?? '').catch(() => '');
const attrOf = (page: Page, service: string) => page.$eval(`li[data-service="${service}"]`, (el) => el.getAttribute('data-status') ?? '').catch(() => '');

test('dashboard: sign in, approve and watch it complete, history, roll back, a failing update rolled back with its reason, phone + keyboard, axe', async () => {
  const repo = unique('i18/dash');
  const badRepo = unique('i18/dashbad');
  await Promise.all([
    pushImage(repo, '1.0.0', { version: '1.0.0', healthcheck: true }).then(() => pushImage(repo, '1.1.0', { version: '1.1.0', healthcheck: true })),
    pushImage(badRepo, '1.0.0', { version: '1.0.0', healthcheck: true }).then(() => pushImage(badRepo, '1.1.0', { version: '1.1.0', unhealthy: true })),
  ]);
  const p = await ComposeProject.create(`services:
  web:
    image: ${REGISTRY}/${repo}:1.0.0
    labels:
      dosync.approve: manual
      dosync.link.template: "https://example.org/releases/$\${tag}"
  worker:
    image: ${REGISTRY}/${badRepo}:1.0.0
    labels:
      dosync.approve: manual
`, 'i18');
  const stateDir = await mkdtemp(join(tmpdir(), 'i18-dash-state-'));
  const chrome = await launchChromium();
  await p.up();
  const token = 'i18-dashboard-token-0123';
  const child = spawn(process.execPath, [join(ROOT, 'bin/dosync.js'), 'sync', '-f', p.file, '-i', '1h', '--health-stable', '1s', '--health-timeout', '30s',
    '--listen', '127.0.0.1:0', '--api-token', token, '--state-dir', stateDir], { env: { ...process.env, DOSYNC_LOG_FORMAT: 'json', DOSYNC_API_TOKEN_READONLY: 'i18-readonly-token-0123' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.on('exit', r));
  try {
    const url = await until('the endpoint', () => logLines(out).find((l) => l.msg === 'HTTP endpoint listening')?.url as string | undefined);
    await until('the first cycle', () => logLines(out).some((l) => l.msg === 'cycle done'));
    assert.deepEqual(await p.versions('web'), ['1.0.0'], 'manual approval: nothing applied yet');

    const page = await chrome.browser.newPage();
    await page.setViewport({ width: 1200, height: 900 });
    await page.goto(url, { waitUntil: 'domcontentloaded' });
    // Sign in with the API token: the page keeps a session cookie that scripts cannot read.
    await page.type('#token', token);
    await Promise.all([page.waitForNavigation({ waitUntil: 'domcontentloaded' }), page.click('button[type=submit]')]);
    assert.equal(await page.evaluate(() => document.cookie), '', 'the session cookie is HttpOnly');
    const cookie = (await page.cookies()).find((c) => c.name === 'dosync_session');
    assert.ok(cookie?.httpOnly && cookie.sameSite === 'Strict', JSON.stringify(cookie));

    assert.equal(await statusOf(page, 'web'), 'Waiting for approval: 1.1.0');
    assert.equal(await statusOf(page, 'worker'), 'Waiting for approval: 1.1.0');
    assert.equal(await page.$eval('li[data-service="web"] a[href^="https://example.org"]', (a) => a.getAttribute('href')), 'https://example.org/releases/1.1.0');
    assert.deepEqual(await axeViolations(page), [], 'axe: no serious or critical violations (desktop)');
    // The README's picture: a stack with updates waiting for approval.
    await page.screenshot({ path: join(ROOT, 'docs/images/dashboard.png'), fullPage: true });

    // CSRF: the cookie alone cannot change anything.
    const forged = await page.evaluate(async () => (await fetch('/v1/approve', { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' }, body: 'service=web' })).status);
    assert.equal(forged, 403);

    // Approve: the update runs through the health gate and the page follows it live (no reload).
    await page.evaluate(() => { (window as unknown as { marker: number }).marker = 1; });
    await page.click('li[data-service="web"] form[action="/v1/approve"] button');
    await until('web updated on the page', async () => ((await attrOf(page, 'web')) === 'up-to-date' ? true : undefined));
    assert.equal(await page.evaluate(() => (window as unknown as { marker?: number }).marker), 1, 'no reload happened');
    assert.equal(await page.$eval('li[data-service="web"] [data-role="current"]', (el) => el.textContent), '1.1.0');
    assert.deepEqual(await p.versions('web'), ['1.1.0']);
    await page.click('li[data-service="web"] details[data-role="history"] summary');
    const history = await page.$eval('li[data-service="web"] details[data-role="history"] tbody', (el) => el.textContent ?? '');
    assert.match(history, /updated/);
    assert.match(history, /1\.1\.0/);

    // Roll back from the page.
    await page.click('li[data-service="web"] form[action="/v1/rollback"] button');
    await until('web rolled back on the page', async () => ((await attrOf(page, 'web')) === 'rolled-back' ? true : undefined));
    assert.deepEqual(await p.versions('web'), ['1.0.0']);

    // Keyboard only: Tab to the worker's Approve button and press Enter; its image fails the health gate.
    let reached = false;
    for (let i = 0; i < 80 && !reached; i++) {
      await page.keyboard.press('Tab');
      reached = await page.evaluate(() => {
        const el = document.activeElement;
        return !!el && el.tagName === 'BUTTON' && el.closest('li')?.getAttribute('data-service') === 'worker' && el.closest('form')?.getAttribute('action') === '/v1/approve';
      });
    }
    assert.ok(reached, 'the Approve button of worker is reachable with Tab');
    await page.keyboard.press('Enter');
    await until('worker rolled back on the page', async () => ((await attrOf(page, 'worker')) === 'rolled-back' ? true : undefined), 180_000);
    assert.equal(await statusOf(page, 'worker'), 'Rolled back from 1.1.0');
    const reason = await page.$eval('li[data-service="worker"] .reason', (el) => el.textContent ?? '');
    assert.match(reason, /health|unhealthy/i);
    assert.deepEqual(await p.versions('worker'), ['1.0.0']);


    // Phone width: nothing wider than the screen, and still no serious violation.
    await page.setViewport({ width: 375, height: 800 });
    await page.reload({ waitUntil: 'domcontentloaded' });
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 375), 'no horizontal scrolling at 375 px');
    assert.deepEqual(await axeViolations(page), [], 'axe: no serious or critical violations (phone)');

    // Without JavaScript the reading views still work.
    const plain = await chrome.browser.newPage();
    await plain.setJavaScriptEnabled(false);
    await plain.setCookie({ name: 'dosync_session', value: cookie.value, url });
    await plain.goto(url, { waitUntil: 'domcontentloaded' });
    assert.equal(await statusOf(plain, 'worker'), 'Rolled back from 1.1.0');

    // The read-only token reads and changes nothing.
    const ro = await fetch(`${url}/v1/approve?service=web`, { method: 'POST', headers: { Authorization: 'Bearer i18-readonly-token-0123' } });
    assert.equal(ro.status, 403);
    const roStatus = await fetch(`${url}/v1/status`, { headers: { Authorization: 'Bearer i18-readonly-token-0123' } });
    assert.equal(roStatus.status, 200);
    const doc = await roStatus.json() as { services: Array<{ name: string; status: { kind: string } }> };
    assert.deepEqual(doc.services.map((s) => [s.name, s.status.kind]), [['web', 'rolled-back'], ['worker', 'rolled-back']]);
  } catch (err) {
    process.stderr.write(`daemon log (last lines):\n${out.split('\n').slice(-40).join('\n')}\n`);
    throw err;
  } finally {
    child.kill('SIGTERM');
    await exited;
    await chrome.close();
    await p.destroy();
    await rm(stateDir, { recursive: true, force: true });
  }
});
