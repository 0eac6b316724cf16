/**
 * Items 8 and 9 (issue 15): memory and time under registries that misbehave, measured on the fault fixtures
 * of test/helpers/fault-registry.ts (local HTTP servers that drip, stall, loop, grow, flood on purpose).
 *
 *  8. `dosync check` of one service whose repository lists 1,000,000 tags in one page (~12 MB of JSON):
 *     peak RSS (VmHWM) and wall time.
 *  9. The daemon (`sync --dry-run`) over 20 services on 20 registries, 17 of them misbehaving: RSS after 3
 *     cycles (sampled idle, after the daemon's idle collections), peak RSS, and how long the cycles took.
 *
 * Baseline: the same runs with another build of dosync, `BENCH_BASELINE_ROOT=<checkout with dist/ built>`
 * (e.g. a worktree of main); without it the baseline column shows the figures issue 15 recorded on main.
 * A baseline build that knows the `limits:` key (main since issue 15) runs with the same dosync.yaml; an older
 * one runs with its defaults. Either gets at most
 * `baselineCapMs` for its 3 cycles (on main a dripping registry stalls a cycle for good).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { BenchContext, ItemResult, Row } from '../lib/context.js';
import { DOSYNC, fmtMs, procSample } from '../lib/proc.js';
import { startFaultRegistry, type Fault, type FaultRegistry } from '../../test/helpers/fault-registry.js';

const DOSYNC_ENV = { ...process.env, DOSYNC_LOG_FORMAT: 'json', MALLOC_ARENA_MAX: '2' };

/** The dosync programs compared: this build, and the baseline build when one is given. */
function programs(): Array<{ name: 'dosync' | 'baseline'; argv: readonly string[] }> {
  const base = process.env.BENCH_BASELINE_ROOT;
  return [{ name: 'dosync', argv: DOSYNC }, ...(base ? [{ name: 'baseline' as const, argv: [process.execPath, join(base, 'bin/dosync.js')] }] : [])];
}

/** Whether the baseline build reads `limits:` in dosync.yaml (an older one refuses the key). */
function baselineKnowsLimits(): boolean {
  const base = process.env.BENCH_BASELINE_ROOT;
  return base !== undefined && readFileSync(join(base, 'dist/dosync.cjs'), 'utf8').includes('tag_list_timeout');
}

/** VmHWM of a running process, 0 once it is gone (a zombie's status has no memory lines). */
function peakOf(pid: number): number {
  try {
    const v = procSample(pid).peakMb;
    return Number.isFinite(v) ? v : 0;
  } catch {
    return 0;
  }
}

interface Watched { code: number | null; ms: number; peakMb: number; stdout: string }

/** Runs a command to its end, reading its peak RSS (VmHWM) from /proc while it runs. */
function watched(argv: readonly string[], args: string[], capMs = 600_000): Promise<Watched> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(argv[0], [...argv.slice(1), ...args], { env: DOSYNC_ENV, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let peakMb = 0;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', () => undefined);
    const poll = setInterval(() => {
      peakMb = Math.max(peakMb, peakOf(child.pid!));
    }, 25);
    const cap = setTimeout(() => child.kill('SIGKILL'), capMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearInterval(poll);
      clearTimeout(cap);
      resolve({ code, ms: performance.now() - t0, peakMb, stdout });
    });
  });
}

const MILLION = 1_000_000;

/** A compose file of one service on the fixture's repository `bench/<name>`, and a project name for it. */
function oneServiceStack(ctx: BenchContext, name: string, fx: FaultRegistry): { file: string; project: string } {
  const dir = join(ctx.dir, name);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'docker-compose.yml');
  writeFileSync(file, `services:\n  app:\n    image: ${fx.host}/bench/${name}:1.0.0\n`);
  return { file, project: `dosyncbench${randomBytes(3).toString('hex')}` };
}

export async function benchMillionTags(ctx: BenchContext): Promise<ItemResult> {
  const count = ctx.scale.name === 'full' ? MILLION : 20_000;
  const tags = Array.from({ length: count }, (_, i) => `1.${Math.floor(i / 1000)}.${i % 1000}`);
  const fx = await startFaultRegistry('healthy', { tags });
  const { file, project } = oneServiceStack(ctx, 'million', fx);
  const results: Record<string, { ms: number; peakMb: number; code: number | null; status?: string }> = {};
  try {
    for (const p of programs()) {
      const r = await watched(p.argv, ['check', '-f', file, '-p', project, '--json']);
      const status = (() => { try { return (JSON.parse(r.stdout) as { services: Array<{ status: string; newest?: string }> }).services[0]; } catch { return undefined; } })();
      // The service has no container, so it is `held` (left alone); `newest` shows the whole list was read and ranked.
      if (p.name === 'dosync' && status?.newest !== tags[tags.length - 1]) throw new Error(`dosync check on ${count} tags: ${r.stdout.slice(-1000)}`);
      results[p.name] = { ms: r.ms, peakMb: r.peakMb, code: r.code, status: status?.status };
      ctx.log(`${p.name}: check of ${count} tags: ${fmtMs(r.ms)}, peak RSS ${r.peakMb.toFixed(0)} MB (${status?.status ?? `exit ${r.code}`})`);
    }
  } finally {
    await fx.stop();
  }
  const paging = await pagingForever(ctx);
  const d = results.dosync;
  const b = results.baseline;
  const recorded = 'issue 15 on main: 640-650 MB';
  return {
    rows: [
      { item: '8', measure: `dosync check, one repository of ${count.toLocaleString('en')} tags in one page (~${(Buffer.byteLength(JSON.stringify(tags)) / 1e6).toFixed(0)} MB JSON): peak RSS`, dosync: `${d.peakMb.toFixed(0)} MB`, baseline: b ? `${b.peakMb.toFixed(0)} MB` : recorded, ratio: b ? d.peakMb / b.peakMb : undefined, target: '< 200 MB', met: d.peakMb < 200 },
      { item: '8', measure: `same, wall time of the check (baseline: ${b?.status ?? 'not run'})`, dosync: fmtMs(d.ms), baseline: b ? fmtMs(b.ms) : '-', ratio: b ? d.ms / b.ms : undefined },
      ...paging.rows,
    ],
    data: { tags: count, results, paging: paging.data },
  };
}

/**
 * The issue's second reproduction: a Link header that never ends. 5,000 tags a page (~60 KB), so the 200-page
 * cap comes before the listing's byte budget (16 MiB): a million tags read, then refused at page 201.
 */
async function pagingForever(ctx: BenchContext): Promise<{ rows: Row[]; data: unknown }> {
  const pageTags = ctx.scale.name === 'full' ? 5000 : 100;
  const fx = await startFaultRegistry('grow', { pageTags });
  const { file, project } = oneServiceStack(ctx, 'paging', fx);
  const results: Record<string, { ms: number; peakMb: number; pages: number; reason?: string }> = {};
  try {
    for (const p of programs()) {
      const before = fx.tagRequests;
      const r = await watched(p.argv, ['check', '-f', file, '-p', project, '--json']);
      const reason = (() => { try { return (JSON.parse(r.stdout) as { services: Array<{ reason?: string }> }).services[0]?.reason; } catch { return undefined; } })();
      results[p.name] = { ms: r.ms, peakMb: r.peakMb, pages: fx.tagRequests - before, reason };
      ctx.log(`${p.name}: check of endless Link pages: ${fmtMs(r.ms)}, ${fx.tagRequests - before} pages, peak RSS ${r.peakMb.toFixed(0)} MB (${reason ?? `exit ${r.code}`})`);
    }
  } finally {
    await fx.stop();
  }
  const d = results.dosync;
  const b = results.baseline;
  return {
    rows: [
      { item: '8', measure: `dosync check, Link pages that never end (${pageTags.toLocaleString('en')} tags a page; ${d.pages} pages read): peak RSS`, dosync: `${d.peakMb.toFixed(0)} MB`, baseline: b ? `${b.peakMb.toFixed(0)} MB (${b.pages} pages)` : 'issue 15 on main: 569 MB', ratio: b ? d.peakMb / b.peakMb : undefined, target: '< 200 MB', met: d.peakMb < 200 },
    ],
    data: { pageTags, results },
  };
}

/** 17 misbehaving registries and 3 healthy ones, as in the issue's reproduction. */
const FAULT_MIX: Fault[] = [
  'drip', 'drip', 'drip', 'stall', 'stall', 'loop', 'loop', 'grow', 'grow', 'slow-pages',
  'flood', 'flood', 'flood', 'huge-header', 'huge-header', 'bad-tags', 'bad-tags',
  'healthy', 'healthy', 'healthy',
];

interface DaemonResult { cycles: number[]; idleRssMb?: number; rssMb: number; peakMb: number; wallMs: number; capped: boolean }

/** The daemon over the stack, cycles driven by SIGHUP; RSS read `idleMs` after the third cycle (or at the cap). */
function faultDaemon(argv: readonly string[], args: string[], idleMs: number, capMs: number): Promise<DaemonResult> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(argv[0], [...argv.slice(1), ...args], { env: DOSYNC_ENV, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stderr.on('data', () => undefined);
    const cycles: number[] = [];
    let peakMb = 0;
    let done = false;
    const poll = setInterval(() => { peakMb = Math.max(peakMb, peakOf(child.pid!)); }, 50);
    const finish = (idle: boolean) => {
      if (done) return;
      done = true;
      clearInterval(poll);
      clearTimeout(cap);
      let sample: ReturnType<typeof procSample> | undefined;
      try { sample = procSample(child.pid!); } catch { /* exited */ }
      child.kill('SIGKILL');
      if (!sample) return reject(new Error(`the daemon exited after ${cycles.length} cycles`));
      resolve({ cycles, idleRssMb: idle ? sample.rssMb : undefined, rssMb: sample.rssMb, peakMb: Math.max(peakMb, sample.peakMb), wallMs: performance.now() - t0, capped: !idle });
    };
    const cap = setTimeout(() => finish(false), capMs);
    child.on('error', reject);
    child.on('exit', () => { if (!done) finish(false); });
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (!line.startsWith('{')) return;
      const entry = JSON.parse(line) as { msg?: string; durationMs?: number };
      if (entry.msg !== 'dry run done') return;
      cycles.push(entry.durationMs ?? NaN);
      if (cycles.length < 3) child.kill('SIGHUP');
      else setTimeout(() => finish(true), idleMs);
    });
  });
}

export async function benchFaultDaemon(ctx: BenchContext): Promise<ItemResult> {
  const fixtures: FaultRegistry[] = [];
  const dir = join(ctx.dir, 'faults');
  mkdirSync(dir, { recursive: true });
  const idleMs = ctx.scale.name === 'full' ? 12_000 : 1_500;
  const baselineCapMs = ctx.scale.name === 'full' ? 180_000 : 20_000;
  const results: Record<string, DaemonResult> = {};
  try {
    for (const fault of FAULT_MIX) fixtures.push(await startFaultRegistry(fault));
    const file = join(dir, 'docker-compose.yml');
    writeFileSync(file, `services:\n${fixtures.map((f, i) => `  s${i}-${f.fault}:\n    image: ${f.host}/bench/${f.fault}:1.0.0\n`).join('')}`);
    // Deadlines shorter than the defaults (60 s / 2 m / 5 m) so that three cycles fit in a bench run.
    const config = join(dir, 'dosync.yaml');
    writeFileSync(config, 'limits:\n  request_timeout: 10s\n  tag_list_timeout: 20s\n  cycle_timeout: 30s\n');
    for (const p of programs()) {
      const project = `dosyncbench${randomBytes(3).toString('hex')}`;
      const args = ['sync', '-f', file, '-p', project, '--dry-run', '-i', '1h', ...(p.name === 'dosync' || baselineKnowsLimits() ? ['-c', config] : [])];
      const r = await faultDaemon(p.argv, args, idleMs, p.name === 'dosync' ? 600_000 : baselineCapMs);
      results[p.name] = r;
      ctx.log(`${p.name}: fault daemon: ${r.cycles.length} cycles (${r.cycles.map((c) => fmtMs(c)).join(', ')}) in ${fmtMs(r.wallMs)}; RSS ${r.rssMb.toFixed(0)} MB${r.capped ? ' (at the cap)' : ' idle'}, peak ${r.peakMb.toFixed(0)} MB`);
    }
  } finally {
    for (const f of fixtures) await f.stop();
  }
  const d = results.dosync;
  const b = results.baseline;
  const rows: Row[] = [
    {
      item: '9', measure: `daemon, 20 registries (17 misbehaving): RSS ${idleMs / 1000} s after cycle 3 (baseline: ${b ? (b.capped ? `after ${fmtMs(baselineCapMs)}, ${b.cycles.length} cycles done` : 'after cycle 3') : 'issue 15 on main'})`,
      dosync: `${(d.idleRssMb ?? d.rssMb).toFixed(0)} MB`, baseline: b ? `${b.rssMb.toFixed(0)} MB` : '1.40 GB after 3 cycles', ratio: b ? (d.idleRssMb ?? d.rssMb) / b.rssMb : undefined, target: '< 150 MB', met: !d.capped && (d.idleRssMb ?? d.rssMb) < 150,
    },
    { item: '9', measure: 'same, peak RSS (VmHWM)', dosync: `${d.peakMb.toFixed(0)} MB`, baseline: b ? `${b.peakMb.toFixed(0)} MB` : '1.46 GB', ratio: b ? d.peakMb / b.peakMb : undefined },
    { item: '9', measure: `same, cycles finished and their durations (limits: request 10 s, listing 20 s, cycle 30 s; baseline: ${baselineKnowsLimits() ? 'the same' : 'its defaults'})`, dosync: `${d.cycles.length}: ${d.cycles.map((c) => fmtMs(c)).join(', ')}`, baseline: b ? `${b.cycles.length}${b.cycles.length ? `: ${b.cycles.map((c) => fmtMs(c)).join(', ')}` : ''} in ${fmtMs(b.wallMs)}` : '0 in 120 s' },
  ];
  return { rows, data: { mix: FAULT_MIX, idleMs, baselineCapMs, results } };
}
