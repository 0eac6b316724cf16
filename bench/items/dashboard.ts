/**
 * Item 12 (issue 18): the dashboard with 300 services (bench/dashboard.ts): page size, the daemon's time to
 * answer GET / next to a bare node:http server with the same bytes, and chromium's navigation timing
 * (load event; target under 100 ms) next to the same bytes from the bare server, the page with 30 services
 * and a one-line page (what any page costs this machine now). Loads are taken in turn, so the machine's
 * load falls on all alike; without chromium only the server rows are given.
 */
import type { BenchContext, ItemResult, Row } from '../lib/context.js';
import { fmtMs } from '../lib/proc.js';
import { benchDashboard } from '../dashboard.js';

export async function benchDashboardItem(ctx: BenchContext): Promise<ItemResult> {
  const full = ctx.scale.name === 'full';
  const f = await benchDashboard({ services: full ? 300 : 30, loads: full ? 15 : 2, requests: full ? 50 : 5, log: ctx.log });
  const n = f.services;
  const la = `load avg ${f.loadAverage.before.toFixed(1)}-${f.loadAverage.after.toFixed(1)}`;
  const rows: Row[] = [
    { item: '12', measure: `dashboard page size, ${n} services`, dosync: `${(f.pageBytes / 1024).toFixed(1)} KiB`, baseline: '-', target: '< 150 KiB', met: f.pageBytes < 150 * 1024 },
    { item: '12', measure: `dashboard GET / server time, ${n} services, median (p95) vs bare node:http, same bytes`, dosync: `${fmtMs(f.server.medianMs)} (${fmtMs(f.server.p95Ms)})`, baseline: `${fmtMs(f.staticServer.medianMs)} (${fmtMs(f.staticServer.p95Ms)})`, ratio: f.server.medianMs / f.staticServer.medianMs },
  ];
  if (f.browser) {
    const b = f.browser;
    rows.push(
      { item: '12', measure: `dashboard in chromium, ${n} services, load event median (${b.daemon.loads} loads; ${la}) vs same bytes from bare node:http`, dosync: fmtMs(b.daemon.loadMs), baseline: fmtMs(b.static.loadMs), ratio: b.daemon.loadMs / b.static.loadMs, target: '< 100 ms', met: b.daemon.loadMs < 100 },
      { item: '12', measure: `dashboard in chromium, ${n} services, load event vs the page with ${f.smallServices} services`, dosync: fmtMs(b.daemon.loadMs), baseline: fmtMs(b.small.loadMs), ratio: b.daemon.loadMs / b.small.loadMs },
      { item: '12', measure: `dashboard in chromium, ${n} services, load event vs a one-line page (this machine's floor now)`, dosync: fmtMs(b.daemon.loadMs), baseline: fmtMs(b.floor.loadMs), ratio: b.daemon.loadMs / b.floor.loadMs },
      { item: '12', measure: `dashboard in chromium, ${n} services, responseEnd / DOMContentLoaded medians`, dosync: `${fmtMs(b.daemon.responseEndMs)} / ${fmtMs(b.daemon.domContentLoadedMs)}`, baseline: `${fmtMs(b.static.responseEndMs)} / ${fmtMs(b.static.domContentLoadedMs)}` },
    );
  }
  return { rows, data: { figures: f } };
}
