/**
 * Item 5: the daemon (`dosync sync --dry-run`, so nothing changes) over the 200-service stack, all
 * services up to date (idle cycles). Cycles are driven back to back with SIGHUP (the daemon's "reload
 * and run now"; its own interval is an hour), so 100 cycles take seconds. After cycles 1, 10, 50 and
 * 100 the bench lets the daemon sit idle as it does between real cycles (the default interval is 5
 * minutes) and reads resident memory then ("idle RSS", the issue's measure) as well as right after the
 * cycle ("busy RSS"). Back-to-back cycles are the worst case for memory: the heap grows for their
 * allocation rate. Memory and CPU time come from /proc.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import type { BenchContext, ItemResult } from '../lib/context.js';
import { DOSYNC, median, procSample } from '../lib/proc.js';

type Memory = ReturnType<typeof procSample>;
interface Sample { cycle: number; busy: Memory; idle: Memory; cycleMs: number }

/** What node alone holds when idle (a timer keeps it alive): the floor under any node daemon's RSS. */
async function idleNode(waitMs: number): Promise<Memory> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  try {
    await new Promise((r) => setTimeout(r, waitMs));
    return procSample(child.pid!);
  } finally {
    child.kill('SIGKILL');
  }
}

/** What the container image and the systemd unit set for the daemon (see Dockerfile, systemd/dosync.service). */
export const SHIPPED_ENV = { MALLOC_ARENA_MAX: '2' };

interface DaemonRun { samples: Sample[]; cycleMs: number[]; cpuAt: number[] }

/** One daemon over `file`, cycles driven by SIGHUP, sampled busy and idle after the `cycles` of the scale. */
async function measureDaemon(ctx: BenchContext, file: string, idleMs: number, env: Record<string, string>): Promise<DaemonRun> {
  const project = `dosyncbench${randomBytes(3).toString('hex')}`;
  const wanted = new Set(ctx.scale.cycles);
  const last = Math.max(...ctx.scale.cycles);
  const child = spawn(DOSYNC[0], [DOSYNC[1], 'sync', '-f', file, '-p', project, '--dry-run', '-i', '1h'], {
    env: { ...process.env, ...env, DOSYNC_LOG_FORMAT: 'json' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const samples: Sample[] = [];
  const cycleMs: number[] = [];
  const cpuAt: number[] = [];
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
        const busy = procSample(child.pid!);
        cpuAt[cycle] = busy.cpuMs;
        const next = () => (cycle >= last ? resolve() : child.kill('SIGHUP'));
        if (!wanted.has(cycle)) return next();
        setTimeout(() => {
          const idle = procSample(child.pid!);
          samples.push({ cycle, busy, idle, cycleMs: entry.durationMs ?? NaN });
          ctx.log(`daemon (${Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ') || 'node defaults'}) cycle ${cycle}: RSS ${busy.rssMb.toFixed(1)} MB right after, ${idle.rssMb.toFixed(1)} MB idle`);
          next();
        }, idleMs);
      });
    });
  } finally {
    child.kill('SIGTERM');
    const stopped = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 10_000))]);
    if (stopped === 'timeout') child.kill('SIGKILL');
  }
  // Node's own warning for listeners piling up on one emitter: a leak per cycle (fixed once, kept out).
  if (stderr.includes('MaxListenersExceededWarning')) throw new Error(`the daemon leaks listeners: ${stderr}`);
  return { samples, cycleMs, cpuAt };
}

export async function benchFootprint(ctx: BenchContext): Promise<ItemResult> {
  const repos = await ctx.scaleRepos();
  const file = ctx.writeStack('footprint', repos, ctx.scale.services);
  // The daemon collects garbage 1, 4 and 8 s into a long wait (src/util/idle-gc.ts); sample after that.
  const idleMs = ctx.scale.name === 'full' ? 12_000 : 1_500;
  const shipped = await measureDaemon(ctx, file, idleMs, SHIPPED_ENV);
  const plain = await measureDaemon(ctx, file, idleMs, {});
  const node = await idleNode(idleMs);
  const { samples, cycleMs, cpuAt } = shipped;
  const first = samples[0];
  const end = samples.at(-1)!;
  const second = samples[1] ?? first;
  // CPU per cycle from cycle 2 on (cycle 1 includes start-up and module loading), read right after each cycle.
  const cpuPerCycle = (cpuAt[end.cycle] - cpuAt[first.cycle]) / (end.cycle - first.cycle);
  const growth = end.idle.rssMb - second.idle.rssMb;
  const list = (run: Sample[], f: (s: Sample) => number) => run.map((s) => f(s).toFixed(0)).join(' / ');
  const cycles = samples.map((s) => s.cycle).join('/');
  const shippedNote = Object.entries(SHIPPED_ENV).map(([k, v]) => `${k}=${v}`).join(' ');
  return {
    rows: [
      {
        item: '5', measure: `idle daemon RSS, ${idleMs / 1000} s after cycles ${cycles} (${ctx.scale.services} up-to-date services, MB; as shipped: ${shippedNote}); baseline: idle node`,
        dosync: list(samples, (s) => s.idle.rssMb), baseline: `${node.rssMb.toFixed(0)} MB`, ratio: end.idle.rssMb / node.rssMb, target: '< 80 MB', met: Math.max(...samples.map((s) => s.idle.rssMb)) < 80,
      },
      { item: '5', measure: `idle RSS growth, cycle ${second.cycle} -> ${end.cycle}`, dosync: `${growth >= 0 ? '+' : ''}${growth.toFixed(1)} MB`, baseline: '-', target: 'flat (< 5 MB)', met: Math.abs(growth) < 5 },
      { item: '5', measure: `idle RSS at cycle ${end.cycle} = own memory (RssAnon) + mapped files (RssFile: node's binary, shared)`, dosync: `${end.idle.anonMb.toFixed(0)} + ${end.idle.fileMb.toFixed(0)} MB`, baseline: `${node.anonMb.toFixed(0)} + ${node.fileMb.toFixed(0)} MB` },
      { item: '5', measure: `idle daemon RSS with node's defaults (no ${shippedNote}: dosync run by hand), cycles ${cycles}, MB`, dosync: list(plain.samples, (s) => s.idle.rssMb), baseline: '-' },
      { item: '5', measure: `busy RSS right after cycles ${cycles} (MB; peak VmHWM ${end.idle.peakMb.toFixed(0)} MB)`, dosync: list(samples, (s) => s.busy.rssMb), baseline: '-' },
      { item: '5', measure: `CPU time per idle cycle (cycles ${first.cycle + 1}-${end.cycle}; cycle wall ${median(cycleMs.slice(1).length ? cycleMs.slice(1) : cycleMs).toFixed(0)} ms median)`, dosync: `${cpuPerCycle.toFixed(0)} ms`, baseline: '-' },
    ],
    data: { idleMs, shippedEnv: SHIPPED_ENV, samples, nodeDefaults: plain.samples, idleNode: node, cpuPerCycleMs: cpuPerCycle, cycleDurationsMs: cycleMs },
  };
}
