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


const statusOf = (page: Page, service: string) => page.$eval(`.list [data-service="${service}"] .b`, (el) => el.textContent ?? '').catch(() => '');
const attrOf = (page: Page, service: string) => page.$eval(`.list [data-service="${service}"]`, (el) => el.getAttribute('data-status') ?? '').catch(() => '');
/** The one-service view: its status kind. */
const viewStatus = (page: Page) => page.$eval('#view[data-service]', (el) => el.getAttribute('data-status') ?? '').catch(() => '');
const marker = (page: Page, value?: number) => page.evaluate((v) => {
  const w = window as unknown as { marker?: number };
  if (v !== null) w.marker = v;
  return w.marker;
}, value ?? null);

test('dashboard: sign in, approve and watch it complete, history, roll back, a failing update rolled back with its reason, no-JS actions, phone + keyboard, axe', async () => {
  const repo = unique('i18a/dash');
  const badRepo = unique('i18a/dashbad');
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
`, 'i18a');
  const stateDir = await mkdtemp(join(tmpdir(), 'i18a-dash-state-'));
  const chrome = await launchChromium();
  await p.up();
  const token = 'i18a-dashboard-token-0123';
  const child = spawn(process.execPath, [join(ROOT, 'bin/dosync.js'), 'sync', '-f', p.file, '-i', '1h', '--health-stable', '1s', '--health-timeout', '30s',
    '--listen', '127.0.0.1:0', '--api-token', token, '--state-dir', stateDir], { env: { ...process.env, DOSYNC_LOG_FORMAT: 'json', DOSYNC_API_TOKEN_READONLY: 'i18a-readonly-token-0123' }, stdio: ['ignore', 'pipe', 'pipe'] });
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
    await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('button[type=submit]')]);
    assert.equal(await page.evaluate(() => document.cookie), '', 'the session cookie is HttpOnly');
    const cookie = (await page.cookies()).find((c) => c.name === 'dosync_session');
    assert.ok(cookie?.httpOnly && cookie.sameSite === 'Strict', JSON.stringify(cookie));

    // The list: one row per service, the CSRF token once on the page.
    assert.equal(await statusOf(page, 'web'), 'Waiting for approval: 1.1.0');
    assert.equal(await statusOf(page, 'worker'), 'Waiting for approval: 1.1.0');
    assert.equal(await page.$$eval('input[name=csrf]', (els) => els.length), 1);
    assert.deepEqual(await axeViolations(page), [], 'axe: no serious or critical violations (list, desktop)');
    // The README's picture: a stack with updates waiting for approval.
    await page.screenshot({ path: join(ROOT, 'docs/images/dashboard.png'), fullPage: true });

    // The view of one service, reached from its row: the release notes link and every action.
    await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('.list [data-service="web"] [role=rowheader] a')]);
    assert.equal(new URL(page.url()).pathname, '/service');
    assert.equal(await page.$eval('#view a[href^="https://example.org"]', (a) => a.getAttribute('href')), 'https://example.org/releases/1.1.0');
    const actions = await page.$$eval('#view button', (bs) => bs.map((b) => (b.getAttribute('formaction') ?? b.closest('form')?.getAttribute('action') ?? '').replace(/\?.*/, '')));
    assert.deepEqual(actions, ['/v1/approve', '/v1/skip', '/v1/check', '/v1/pause', '/v1/update']);
    assert.deepEqual(await axeViolations(page), [], 'axe: no serious or critical violations (service view, desktop)');
    await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('#view a[href="/"]')]);

    // CSRF: the cookie alone cannot change anything.
    const forged = await page.evaluate(async () => (await fetch('/v1/approve', { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' }, body: 'service=web' })).status);
    assert.equal(forged, 403);

    // Approve from the list: the update runs through the health gate and the page follows it live (no reload);
    // the live region says what runs meanwhile (server-sent events).
    await marker(page, 1);
    await page.evaluate(() => {
      const w = window as unknown as { said: string[] };
      w.said = [];
      new MutationObserver(() => w.said.push(document.getElementById('live')?.textContent ?? '')).observe(document.getElementById('live')!, { childList: true, characterData: true, subtree: true });
    });
    await page.click('.list [data-service="web"] button[formaction^="/v1/approve"]');
    await until('web updated on the page', async () => ((await attrOf(page, 'web')) === 'up-to-date' ? true : undefined));
    assert.equal(await marker(page), 1, 'no reload happened');
    const said = await page.evaluate(() => (window as unknown as { said: string[] }).said);
    assert.ok(said.some((t) => /^web: updating to .*1\.1\.0/.test(t)), `live progress shown: ${JSON.stringify(said)}`);
    assert.equal(await page.$eval('.list [data-service="web"] [role=cell]', (el) => el.textContent), '1.1.0');
    assert.deepEqual(await p.versions('web'), ['1.1.0']);

    // History, in the service's view; roll back from there.
    await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('.list [data-service="web"] [role=rowheader] a')]);
    const history = await page.$eval('tbody[data-role="history"]', (el) => el.textContent ?? '');
    assert.match(history, /updated/);
    assert.match(history, /1\.1\.0/);
    await marker(page, 2);
    await page.click('#view button[formaction^="/v1/rollback"]');
    await until('web rolled back on the page', async () => ((await viewStatus(page)) === 'rolled-back' ? true : undefined));
    assert.equal(await marker(page), 2, 'no reload happened');
    assert.match(await page.$eval('tbody[data-role="history"]', (el) => el.textContent ?? ''), /rolled-back|rollback/);
    assert.deepEqual(await p.versions('web'), ['1.0.0']);

    // Keyboard only, on the list: Tab to the worker's Approve button and press Enter; its image fails the health gate.
    await page.goto(url, { waitUntil: 'load' });
    let reached = false;
    for (let i = 0; i < 80 && !reached; i++) {
      await page.keyboard.press('Tab');
      reached = await page.evaluate(() => {
        const el = document.activeElement;
        return !!el && el.tagName === 'BUTTON' && el.closest('[data-service]')?.getAttribute('data-service') === 'worker' && (el.getAttribute('formaction') ?? '').startsWith('/v1/approve');
      });
    }
    assert.ok(reached, 'the Approve button of worker is reachable with Tab');
    await page.keyboard.press('Enter');
    await until('worker rolled back on the page', async () => ((await attrOf(page, 'worker')) === 'rolled-back' ? true : undefined), 180_000);
    assert.equal(await statusOf(page, 'worker'), 'Rolled back from 1.1.0');
    const reason = await page.$eval('.list [data-service="worker"] .reason', (el) => el.textContent ?? '');
    assert.match(reason, /health|unhealthy/i);
    assert.deepEqual(await p.versions('worker'), ['1.0.0']);

    // Phone width: nothing wider than the screen, and still no serious violation, on both views.
    await page.setViewport({ width: 375, height: 800 });
    for (const path of ['/', '/service?service=worker']) {
      await page.goto(`${url}${path}`, { waitUntil: 'load' });
      assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 375), `no horizontal scrolling at 375 px: ${path}`);
      assert.deepEqual(await axeViolations(page), [], `axe: no serious or critical violations (phone): ${path}`);
    }

    // Without JavaScript the reading views work, and so do the actions (a plain post, answered with the view again).
    const plain = await chrome.browser.newPage();
    await plain.setJavaScriptEnabled(false);
    await plain.setCookie({ name: 'dosync_session', value: cookie.value, url });
    await plain.goto(url, { waitUntil: 'domcontentloaded' });
    assert.equal(await statusOf(plain, 'worker'), 'Rolled back from 1.1.0');
    await plain.goto(`${url}/service?service=worker`, { waitUntil: 'domcontentloaded' });
    assert.match(await plain.$eval('#view .reason', (el) => el.textContent ?? ''), /health|unhealthy/i);
    await Promise.all([plain.waitForNavigation({ waitUntil: 'domcontentloaded' }), plain.click('#view button[formaction="/v1/pause?service=worker"]')]);
    assert.equal(`${new URL(plain.url()).pathname}${new URL(plain.url()).searchParams.get('service')}`, '/serviceworker', 'back on the service view');
    assert.match(await plain.$eval('#live', (el) => el.textContent ?? ''), /paused/i);
    assert.ok(await plain.$('#view button[formaction="/v1/resume?service=worker"]'), 'the view now offers Resume');

    // The read-only token reads and changes nothing.
    const ro = await fetch(`${url}/v1/approve?service=web`, { method: 'POST', headers: { Authorization: 'Bearer i18a-readonly-token-0123' } });
    assert.equal(ro.status, 403);
    const roStatus = await fetch(`${url}/v1/status`, { headers: { Authorization: 'Bearer i18a-readonly-token-0123' } });
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
