// Dashboard page load with 300 services (issue 18): the daemon's API server in this process with a status
// document of 300 services (history, failed tags, pending approvals), signed in; prints the time to serve
// GET / (median and p95 of 50) and, with Debian's chromium, the browser's time to the load event.
//
//   node --import tsx bench/dashboard.ts            (BENCH_SERVICES=1000 for another size)
import { startApiServer } from '../src/api/server.js';
import type { ServiceStatus, StatusDoc } from '../src/api/status-doc.js';
import { existsSync } from 'node:fs';

const N = Number(process.env.BENCH_SERVICES ?? 300);
const at = new Date('2026-01-01T00:00:00Z').toISOString();
const services: ServiceStatus[] = Array.from({ length: N }, (_, i): ServiceStatus => {
  const kind = (['up-to-date', 'pending-approval', 'update-available', 'held', 'rolled-back'] as const)[i % 5];
  return {
    name: `svc-${i}`, project: 'bench', image: `registry.example/app-${i}:1.${i % 20}.0`, currentTag: `1.${i % 20}.0`,
    availableTag: kind === 'up-to-date' ? undefined : `1.${i % 20}.1`, policy: 'semver ^1 (label dosync.policy)',
    status: { kind, at, current: `1.${i % 20}.0`, tag: `1.${i % 20}.1`, reason: 'because the bench says so', link: 'https://example.org/releases' },
    lastCheck: at, lastCheckResult: 'up-to-date',
    history: Array.from({ length: 5 }, (_, h) => ({ from: `app:1.${h}.0`, to: `app:1.${h + 1}.0`, at, outcome: 'updated' as const })),
    failed: i % 7 === 0 ? [{ tag: '2.0.0', at, reason: 'unhealthy' }] : [], skipped: [],
  };
});
const doc: StatusDoc = { project: 'bench', services, cycle: { running: false, lastAt: at } };
const token = 'bench-token-0123456789';
const server = await startApiServer({
  listen: '127.0.0.1:0', token, metrics: { contentType: 'text/plain', render: async () => '' },
  status: () => doc, trigger: async () => ({ accepted: true }), onRegistryPush: async () => undefined, healthy: () => ({ ok: true }),
  act: async () => ({ ok: true, message: 'ok' }),
});
try {
  const login = await fetch(`${server.url}/login`, { method: 'POST', body: `token=${token}`, headers: { 'content-type': 'application/x-www-form-urlencoded' }, redirect: 'manual' });
  const cookie = login.headers.get('set-cookie')!.split(';')[0];
  const times: number[] = [];
  let bytes = 0;
  for (let i = 0; i < 55; i++) {
    const t = performance.now();
    const res = await fetch(`${server.url}/`, { headers: { cookie } });
    bytes = (await res.arrayBuffer()).byteLength;
    if (i >= 5) times.push(performance.now() - t); // the first few warm the JIT
  }
  times.sort((a, b) => a - b);
  const pct = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))].toFixed(1);
  console.log(`dashboard GET / with ${N} services: median ${pct(0.5)} ms, p95 ${pct(0.95)} ms, ${(bytes / 1024).toFixed(0)} KiB (server, ${times.length} requests)`);
  if (existsSync('/usr/bin/chromium')) {
    const { launchChromium } = await import('../test/helpers/browser.js');
    const chrome = await launchChromium();
    try {
      const page = await chrome.browser.newPage();
      const [name, value] = cookie.split('=');
      await page.setCookie({ name, value, url: server.url });
      const loads: number[] = [];
      for (let i = 0; i < 6; i++) {
        await page.goto(server.url, { waitUntil: 'load' });
        const ms = await page.evaluate(() => { const n = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming; return n.loadEventEnd - n.startTime; });
        if (i > 0) loads.push(ms);
      }
      loads.sort((a, b) => a - b);
      console.log(`dashboard in chromium with ${N} services: load event median ${loads[Math.floor(loads.length / 2)].toFixed(0)} ms (of ${loads.length} loads)`);
    } finally {
      await chrome.close();
    }
  }
} finally {
  await server.close();
}
