/**
 * Item 5: the daemon (`dosync sync --dry-run -i 1s`, so nothing changes) over the 200-service stack,
 * all services up to date (idle cycles). Resident memory and CPU time are read from /proc when the
 * log says cycle 1, 10, 50 and 100 are done ("dry run done" lines).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import type { BenchContext, ItemResult } from '../lib/context.js';
import { DOSYNC, median, procSample } from '../lib/proc.js';

interface Sample { cycle: number; rssMb: number; peakMb: number; cpuMs: number; cycleMs: number }

export async function benchFootprint(ctx: BenchContext): Promise<ItemResult> {
  const repos = await ctx.scaleRepos();
  const file = ctx.writeStack('footprint', repos, ctx.scale.services);
  const project = `dosyncbench${randomBytes(3).toString('hex')}`;
  const wanted = new Set(ctx.scale.cycles);
  const last = Math.max(...ctx.scale.cycles);
  const child = spawn(DOSYNC[0], [DOSYNC[1], 'sync', '-f', file, '-p', project, '--dry-run', '-i', '1s'], {
    env: { ...process.env, DOSYNC_LOG_FORMAT: 'json' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const samples: Sample[] = [];
  const cycleMs: number[] = [];
  const rssByCycle: number[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      child.on('exit', (code) => reject(new Error(`dosync sync exited ${code} after ${cycleMs.length} cycles: ${stderr}`)));
      const lines = createInterface({ input: child.stdout });
      lines.on('line', (line) => {
        if (!line.startsWith('{')) return;
        const entry = JSON.parse(line) as { msg?: string; durationMs?: number; errors?: number; services?: number; upToDate?: number; level?: number };
        if (entry.level !== undefined && entry.level >= 50) return reject(new Error(`dosync logged an error: ${line}`));
        if (entry.msg !== 'dry run done') return;
        if (entry.errors || entry.upToDate !== ctx.scale.services) return reject(new Error(`cycle ${cycleMs.length + 1} was not idle: ${line}`));
        cycleMs.push(entry.durationMs ?? NaN);
        const cycle = cycleMs.length;
        const now = procSample(child.pid!);
        rssByCycle.push(+now.rssMb.toFixed(1));
        if (wanted.has(cycle)) {
          samples.push({ cycle, ...now, cycleMs: entry.durationMs ?? NaN });
          ctx.log(`daemon cycle ${cycle}: RSS ${samples.at(-1)!.rssMb.toFixed(1)} MB`);
        }
        if (cycle >= last) resolve();
      });
    });
  } finally {
    child.kill('SIGTERM');
    const stopped = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 10_000))]);
    if (stopped === 'timeout') child.kill('SIGKILL');
  }
  const first = samples[0];
  const end = samples.at(-1)!;
  // CPU per cycle over the steady part (cycle 1 includes start-up and module loading).
  const cpuPerCycle = (end.cpuMs - first.cpuMs) / (end.cycle - first.cycle);
  const second = samples[1] ?? first;
  const growth = end.rssMb - second.rssMb;
  const rssList = samples.map((s) => `${s.rssMb.toFixed(0)}`).join(' / ');
  return {
    rows: [
      { item: '5', measure: `daemon RSS after cycles ${samples.map((s) => s.cycle).join('/')} (${ctx.scale.services} idle services, MB)`, dosync: rssList, baseline: '-', target: '< 80 MB', met: Math.max(...samples.map((s) => s.rssMb)) < 80 },
      { item: '5', measure: `RSS growth cycle ${second.cycle} -> ${end.cycle} (peak VmHWM ${end.peakMb.toFixed(0)} MB)`, dosync: `${growth >= 0 ? '+' : ''}${growth.toFixed(1)} MB`, baseline: '-', target: 'flat (< 5 MB)', met: growth < 5 },
      { item: '5', measure: `CPU time per idle cycle (cycles ${first.cycle + 1}-${end.cycle}; cycle wall ${median(cycleMs.slice(1).length ? cycleMs.slice(1) : cycleMs).toFixed(0)} ms median)`, dosync: `${cpuPerCycle.toFixed(0)} ms`, baseline: '-' },
    ],
    data: { samples, cpuPerCycleMs: cpuPerCycle, cycleDurationsMs: cycleMs, rssMbByCycle: rssByCycle },
  };
}

