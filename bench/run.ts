// dosync benchmarks (issue 8): check cycle at scale, large tag lists, policy engine, end-to-end
// update, daemon footprint and start-up, cosign verification in a check cycle (issue 21), memory and time under
// misbehaving registries (issue 15, items 8-9; BENCH_BASELINE_ROOT=<checkout with dist/> runs another build
// beside), the dashboard's load in chromium (issue 18, item 12), each next to its baseline. Prints one table and writes
// bench/results.json. Needs the test environment (`bash test/env/up.sh`) and a build (`npm run bench`
// builds first). Everything runs against a registry of its own on a free loopback port (the same
// docker-registry as :5000), so the access log counts every tool's requests and the shared test
// registry is left alone; it is removed at the end.
//
//   npm run bench                              everything, full size (4-5 minutes on 2 CPUs)
//   BENCH_ONLY=1,6 npm run bench               some items
//   BENCH_SCALE=tiny BENCH_OUT=/tmp/r.json ... tiny sizes (the smoke test)
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRegistry } from '../test/helpers/mirror-registries.js';
import { BenchContext, SCALES, type ItemResult, type Row } from './lib/context.js';
import { ROOT, ensureSkopeo, timed } from './lib/proc.js';
import { benchCheckCycle } from './items/check-cycle.js';
import { benchLargeTags } from './items/large-tags.js';
import { benchPolicyEngine } from './items/policy.js';
import { benchEndToEndUpdate } from './items/e2e-update.js';
import { benchFootprint } from './items/footprint.js';
import { benchStartup } from './items/startup.js';
import { benchVerifyCycle } from './items/verify-cycle.js';
import { benchRepushed } from './items/repushed.js';
import { benchFaultDaemon, benchMillionTags } from './items/faults.js';
import { benchHostProjects } from './items/host.js';
import { benchDashboardItem } from './items/dashboard.js';

const ITEMS: Record<string, { name: string; run: (ctx: BenchContext) => Promise<ItemResult>; needs: Array<'registry' | 'skopeo' | 'docker'> }> = {
  1: { name: 'check cycle at scale', run: benchCheckCycle, needs: ['registry', 'skopeo', 'docker'] },
  2: { name: 'large tag list', run: benchLargeTags, needs: ['registry', 'skopeo', 'docker'] },
  3: { name: 'policy engine', run: benchPolicyEngine, needs: [] },
  4: { name: 'end-to-end update', run: benchEndToEndUpdate, needs: ['registry', 'docker'] },
  5: { name: 'daemon footprint', run: benchFootprint, needs: ['registry', 'docker'] },
  6: { name: 'start-up', run: benchStartup, needs: ['registry', 'docker'] },
  7: { name: 'signature verification in a check cycle', run: benchVerifyCycle, needs: ['registry', 'docker'] },
  8: { name: 'a 1,000,000-tag repository (fault fixture)', run: benchMillionTags, needs: ['docker'] },
  9: { name: 'daemon among 17 misbehaving registries (fault fixtures)', run: benchFaultDaemon, needs: ['docker'] },
  10: { name: 're-pushed tags: digest comparison', run: benchRepushed, needs: ['registry', 'docker'] },
  11: { name: 'whole host: 30 projects vs one project of the same services', run: benchHostProjects, needs: ['registry', 'docker'] },
  12: { name: 'dashboard with 300 services: server and chromium load', run: benchDashboardItem, needs: [] },
};

const TABLE_HEADER = ['#', 'measure', 'dosync', 'baseline', 'ratio', 'target', 'met'];

function renderTable(rows: Row[]): string {
  const cells = rows.map((r) => [r.item, r.measure, r.dosync, r.baseline, r.ratio === undefined ? '-' : `${r.ratio.toFixed(2)}x`, r.target ?? '-', r.met === undefined ? '-' : r.met ? 'yes' : 'NO']);
  const widths = TABLE_HEADER.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((v, i) => (i === 4 ? v.padStart(widths[i]) : v.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(TABLE_HEADER), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}

function selectedItems(): string[] {
  const only = process.env.BENCH_ONLY?.split(',').map((s) => s.trim()).filter(Boolean);
  const keys = only ?? Object.keys(ITEMS);
  for (const k of keys) if (!ITEMS[k]) throw new Error(`BENCH_ONLY: no item "${k}" (items are ${Object.keys(ITEMS).join(', ')})`);
  return keys;
}

async function requireTestEnv(needs: Set<string>): Promise<Record<string, string>> {
  const versions: Record<string, string> = { node: process.version };
  if (needs.has('docker') && !existsSync(join(ROOT, 'dist/dosync.cjs'))) throw new Error('dist/ is missing: run `npm run build` (or `npm run bench`, which builds)');
  if (needs.has('docker')) {
    const v = await timed('docker', ['version', '-f', '{{.Server.Version}}']).catch(() => undefined);
    if (v?.code !== 0) throw new Error('the Docker engine is not reachable: run `bash test/env/up.sh` first');
    versions.docker = v.stdout.trim();
    const base = await timed('docker', ['image', 'inspect', 'dosync-test/base:1']);
    if (base.code !== 0) throw new Error('image dosync-test/base:1 is missing: run `bash test/env/up.sh` first');
  }
  if (needs.has('registry')) {
    const reg = await timed('docker-registry', ['--version']).catch(() => undefined);
    if (reg?.code !== 0) throw new Error('docker-registry is not installed: run `bash test/env/up.sh` first');
    versions.registry = reg.stdout.trim();
  }
  if (needs.has('skopeo')) versions.skopeo = await ensureSkopeo((s) => console.error(s));
  return versions;
}

async function main(): Promise<void> {
  const scaleName = (process.env.BENCH_SCALE ?? 'full') as keyof typeof SCALES;
  const scale = SCALES[scaleName];
  if (!scale) throw new Error(`BENCH_SCALE: "${scaleName}" is not one of ${Object.keys(SCALES).join(', ')}`);
  const out = process.env.BENCH_OUT ?? join(ROOT, 'bench/results.json');
  const keys = selectedItems();
  const needs = new Set(keys.flatMap((k) => ITEMS[k].needs));
  const versions = await requireTestEnv(needs);
  const log = (s: string) => console.error(`bench: ${s}`);
  // Other work on the machine skews wall times; the load average goes in the header and the results.
  const loadBefore = loadavg()[0];
  const dir = mkdtempSync(join(tmpdir(), 'dosync-bench-'));
  const registry = needs.has('registry') ? await startRegistry() : undefined;
  const rows: Row[] = [];
  const items: Record<string, unknown> = {};
  try {
    // Item 3 needs no registry; a placeholder keeps the context's type simple.
    const ctx = new BenchContext(registry ?? ({ host: 'unused' } as never), scale, dir, log);
    for (const k of keys) {
      log(`item ${k}: ${ITEMS[k].name} ...`);
      const t0 = performance.now();
      const result = await ITEMS[k].run(ctx);
      log(`item ${k} done in ${((performance.now() - t0) / 1000).toFixed(1)}s`);
      rows.push(...result.rows);
      items[k] = { name: ITEMS[k].name, rows: result.rows, ...result.data };
    }
  } finally {
    await registry?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const commit = (await timed('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT }).catch(() => undefined))?.stdout.trim();
  const load = { before: loadBefore, after: loadavg()[0] };
  console.log(`\ndosync benchmarks (${scale.name} size; ${cpus().length} CPUs ${cpus()[0]?.model.trim()}; node ${process.version}; commit ${commit}; load average ${load.before.toFixed(1)} before, ${load.after.toFixed(1)} after)\n`);
  console.log(renderTable(rows));
  const missed = rows.filter((r) => r.met === false);
  console.log(missed.length ? `\ntargets missed: ${missed.length} (see the NO rows)` : '\nall targets met');
  writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), commit, scale, machine: { cpus: cpus().length, model: cpus()[0]?.model.trim(), loadAverage1m: load }, versions, rows, items }, null, 2) + '\n');
  console.log(`results written to ${out}`);
}

await main();
