// Dashboard page load (issue 18: "loads in under 100 ms from the daemon with 300 services"). The daemon's API
// server runs in this process with a status document of N services (pending approvals, history, failed tags,
// release links), signed in. Measured in the same run, so the figures mean something on a loaded machine:
//   - server: the time to answer GET / (median, p95), next to a bare node:http server answering the same bytes;
//   - chromium (Debian's, when installed): navigation timing of the page (responseEnd, DOMContentLoaded end,
//     load event end; medians), loads taken in turn with the baselines: the same bytes (page, stylesheet,
//     script) from the bare server, the daemon's page with N/10 services, and a one-line page (the floor).
//
//   node --import tsx bench/dashboard.ts            (BENCH_SERVICES=1000 for another size, BENCH_LOADS=15)
//   BENCH_ONLY=12 npm run bench                     the same as item 12 of bench/run.ts
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { startApiServer, type ApiServer } from '../src/api/server.js';
import type { ServiceStatus, StatusDoc } from '../src/api/status-doc.js';
import { ASSET_CACHE } from '../src/dashboard/assets.js';

export interface DashboardFigures {
  services: number;
  pageBytes: number;
  smallServices: number;
  server: { medianMs: number; p95Ms: number; requests: number };
  staticServer: { medianMs: number; p95Ms: number };
  /** Medians of navigation timing per target; absent without chromium. */
  browser?: Record<'daemon' | 'static' | 'small' | 'floor', { responseEndMs: number; domContentLoadedMs: number; loadMs: number; loads: number }>;
  loadAverage: { before: number; after: number };
}

/** The floor: what any page costs chromium on this machine right now. */
const FLOOR_PAGE = '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>floor</title></head><body><p>floor</p></body></html>';

const at = new Date('2026-01-01T00:00:00Z').toISOString();

/** A document shaped like buildStatusDoc's: every fifth service in each status, links on the ones with a tag. */
export function benchDoc(n: number): StatusDoc {
  const services = Array.from({ length: n }, (_, i): ServiceStatus => {
    const kind = (['up-to-date', 'pending-approval', 'update-available', 'held', 'rolled-back'] as const)[i % 5];
    const tag = `1.${i % 20}.1`;
    const link = kind === 'up-to-date' ? undefined : `https://example.org/app-${i}/releases/${tag}`;
    return {
      name: `svc-${i}`, project: 'bench', image: `registry.example/app-${i}:1.${i % 20}.0`, currentTag: `1.${i % 20}.0`,
      availableTag: kind === 'up-to-date' || kind === 'rolled-back' ? undefined : tag, policy: 'semver ^1 (label dosync.policy)',
      status: { kind, at, current: `1.${i % 20}.0`, tag, reason: kind === 'up-to-date' ? `1.${i % 20}.0 is the newest allowed` : `${tag} found 2026-01-01`, link },
      link, lastCheck: at, lastCheckResult: 'up-to-date',
      history: Array.from({ length: 5 }, (_, h) => ({ from: `app:1.${h}.0`, to: `app:1.${h + 1}.0`, at, outcome: 'updated' as const })),
      failed: i % 7 === 0 ? [{ tag: '2.0.0', at, reason: 'unhealthy' }] : [], skipped: [],
    };
  });
  return { project: 'bench', services, cycle: { running: false, lastAt: at } };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(0.95 * xs.length))];

async function daemon(doc: StatusDoc): Promise<{ server: ApiServer; cookie: string }> {
  const token = 'bench-token-0123456789';
  const server = await startApiServer({
    listen: '127.0.0.1:0', token, metrics: { contentType: 'text/plain', render: async () => '' },
    status: () => doc, trigger: async () => ({ accepted: true }), onRegistryPush: async () => undefined, healthy: () => ({ ok: true }),
    act: async () => ({ ok: true, message: 'ok' }),
  });
  const login = await fetch(`${server.url}/login`, { method: 'POST', body: `token=${token}`, headers: { 'content-type': 'application/x-www-form-urlencoded' }, redirect: 'manual' });
  return { server, cookie: login.headers.get('set-cookie')!.split(';')[0] };
}

/** The baseline server: node:http answering fixed bytes per path, with the daemon's headers (assets kept by the browser); nothing else. */
async function staticServer(files: Record<string, { body: Buffer; type: string; cache?: string }>): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const f = files[new URL(req.url ?? '/', 'http://x').pathname];
    if (!f) { res.writeHead(204).end(); return; } // the event stream: a 204 tells EventSource to stop
    res.writeHead(200, { 'Content-Type': f.type, 'Content-Length': f.body.length, 'Cache-Control': f.cache ?? 'no-store', 'X-Content-Type-Options': 'nosniff' });
    res.end(f.body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

async function serverTimes(url: string, cookie: string | undefined, runs: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < runs + 5; i++) {
    const t = performance.now();
    const res = await fetch(url, { headers: cookie ? { cookie } : {} });
    await res.arrayBuffer();
    if (i >= 5) times.push(performance.now() - t); // the first few warm the JIT
  }
  return times;
}

export async function benchDashboard(opts: { services?: number; loads?: number; requests?: number; log?: (s: string) => void } = {}): Promise<DashboardFigures> {
  const n = opts.services ?? 300;
  const small = Math.max(1, Math.round(n / 10));
  const loads = opts.loads ?? 15;
  const requests = opts.requests ?? 50;
  const loadBefore = loadavg()[0];
  const big = await daemon(benchDoc(n));
  const little = await daemon(benchDoc(small));
  const fetchText = async (path: string) => Buffer.from(await (await fetch(`${big.server.url}${path}`, { headers: { cookie: big.cookie } })).arrayBuffer());
  const page = await fetchText('/');
  const bare = await staticServer({
    '/': { body: page, type: 'text/html; charset=utf-8' },
    '/floor': { body: Buffer.from(FLOOR_PAGE), type: 'text/html; charset=utf-8' },
    '/assets/dashboard.css': { body: await fetchText('/assets/dashboard.css'), type: 'text/css; charset=utf-8', cache: ASSET_CACHE },
    '/assets/dashboard.js': { body: await fetchText('/assets/dashboard.js'), type: 'text/javascript; charset=utf-8', cache: ASSET_CACHE },
  });
  try {
    const daemonTimes = await serverTimes(`${big.server.url}/`, big.cookie, requests);
    const staticTimes = await serverTimes(`${bare.url}/`, undefined, requests);
    opts.log?.(`server: daemon median ${median(daemonTimes).toFixed(1)} ms, bare server ${median(staticTimes).toFixed(1)} ms`);
    const figures: DashboardFigures = {
      services: n, pageBytes: page.length, smallServices: small,
      server: { medianMs: median(daemonTimes), p95Ms: p95(daemonTimes), requests },
      staticServer: { medianMs: median(staticTimes), p95Ms: p95(staticTimes) },
      loadAverage: { before: loadBefore, after: loadBefore },
    };
    if (existsSync(process.env.DOSYNC_TEST_CHROMIUM ?? '/usr/bin/chromium')) figures.browser = await browserTimes({ daemon: big, small: little, staticUrl: bare.url, loads });
    figures.loadAverage.after = loadavg()[0];
    return figures;
  } finally {
    await bare.close();
    await big.server.close();
    await little.server.close();
  }
}

async function browserTimes(t: { daemon: { server: ApiServer; cookie: string }; small: { server: ApiServer; cookie: string }; staticUrl: string; loads: number }): Promise<NonNullable<DashboardFigures['browser']>> {
  const { launchChromium } = await import('../test/helpers/browser.js');
  const chrome = await launchChromium();
  try {
    const targets = { daemon: t.daemon, static: undefined, small: t.small, floor: undefined } as const;
    const pages = {} as Record<keyof typeof targets, import('puppeteer-core').Page>;
    const samples = {} as Record<keyof typeof targets, Array<{ responseEnd: number; dcl: number; load: number }>>;
    for (const key of Object.keys(targets) as Array<keyof typeof targets>) {
      // A browser context per target: each one's session cookie stays its own (cookies ignore the port).
      pages[key] = await (await chrome.browser.createBrowserContext()).newPage();
      await pages[key].setViewport({ width: 1200, height: 900 });
      const target = targets[key];
      if (target) {
        const [name, value] = target.cookie.split('=');
        await pages[key].setCookie({ name, value, url: target.server.url });
      }
      samples[key] = [];
    }
    const urlOf = (key: keyof typeof targets) => (key === 'static' ? t.staticUrl : key === 'floor' ? `${t.staticUrl}/floor` : targets[key]!.server.url);
    // In turn, so that the machine's load falls on every target alike; the first round warms up.
    for (let round = 0; round <= t.loads; round++) {
      for (const key of Object.keys(targets) as Array<keyof typeof targets>) {
        const page = pages[key];
        await page.goto(urlOf(key), { waitUntil: 'load' });
        await page.waitForFunction(() => (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming | undefined)?.loadEventEnd);
        const nav = await page.evaluate(() => {
          const e = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
          return { responseEnd: e.responseEnd - e.startTime, dcl: e.domContentLoadedEventEnd - e.startTime, load: e.loadEventEnd - e.startTime };
        });
        if (round > 0) samples[key].push(nav);
      }
    }
    const summary = (key: keyof typeof targets) => ({
      responseEndMs: median(samples[key].map((s) => s.responseEnd)),
      domContentLoadedMs: median(samples[key].map((s) => s.dcl)),
      loadMs: median(samples[key].map((s) => s.load)),
      loads: samples[key].length,
    });
    return { daemon: summary('daemon'), static: summary('static'), small: summary('small'), floor: summary('floor') };
  } finally {
    await chrome.close();
  }
}

export function describeFigures(f: DashboardFigures): string[] {
  const ms = (x: number) => `${x.toFixed(1)} ms`;
  const lines = [
    `dashboard with ${f.services} services: ${(f.pageBytes / 1024).toFixed(1)} KiB; load average ${f.loadAverage.before.toFixed(1)} before, ${f.loadAverage.after.toFixed(1)} after`,
    `server GET /: daemon median ${ms(f.server.medianMs)} (p95 ${ms(f.server.p95Ms)}); bare node:http, same bytes: median ${ms(f.staticServer.medianMs)} (p95 ${ms(f.staticServer.p95Ms)}); ${f.server.requests} requests each`,
  ];
  if (!f.browser) return [...lines, 'chromium: not installed, browser timing skipped'];
  for (const [key, label] of [['daemon', `daemon, ${f.services} services`], ['static', 'same bytes from bare node:http'], ['small', `daemon, ${f.smallServices} services`], ['floor', 'a one-line page from bare node:http (the machine\'s floor)']] as const) {
    const b = f.browser[key];
    lines.push(`chromium, ${label}: responseEnd ${ms(b.responseEndMs)}, DOMContentLoaded ${ms(b.domContentLoadedMs)}, load ${ms(b.loadMs)} (medians of ${b.loads} loads)`);
  }
  return lines;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const figures = await benchDashboard({ services: Number(process.env.BENCH_SERVICES ?? 300), loads: Number(process.env.BENCH_LOADS ?? 15), log: (s) => console.error(s) });
  for (const line of describeFigures(figures)) console.log(line);
}
