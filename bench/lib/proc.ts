/** Child processes timed from spawn to exit, /proc sampling, and small statistics for the benches. */
import { spawn, spawnSync, type SpawnOptions } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const DOSYNC = [process.execPath, `${ROOT}bin/dosync.js`] as const;

export interface Timed { ms: number; code: number; stdout: string; stderr: string }

/** Runs a command to its end; `ms` is wall time from spawn to exit. Never throws on a non-zero exit. */
export function timed(cmd: string, args: readonly string[], opts: SpawnOptions = {}): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ ms: performance.now() - t0, code: code ?? 1, stdout, stderr }));
  });
}

/** Like `timed`, but a non-zero exit (other than those in `okCodes`) is an error naming the command. */
export async function mustRun(cmd: string, args: readonly string[], opts: SpawnOptions = {}, okCodes = [0]): Promise<Timed> {
  const r = await timed(cmd, args, opts);
  if (!okCodes.includes(r.code)) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}: ${(r.stderr || r.stdout).trim().slice(-1500)}`);
  return r;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/**
 * Resident memory (VmRSS, VmHWM; RssAnon: the process's own memory, RssFile: mapped files, mostly the
 * node binary, shared with every other node process) and CPU time (user + system), from /proc.
 */
export function procSample(pid: number): { rssMb: number; anonMb: number; fileMb: number; peakMb: number; cpuMs: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  // Fields after the parenthesised command name; utime and stime are the 14th and 15th of the line.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(rest[11]) + Number(rest[12]);
  return { rssMb: kb('VmRSS') / 1024, anonMb: kb('RssAnon') / 1024, fileMb: kb('RssFile') / 1024, peakMb: kb('VmHWM') / 1024, cpuMs: (ticks * 1000) / CLK_TCK };
}

/** skopeo from Debian, installed when missing (the issue asks the bench to do this on a fresh machine). */
export async function ensureSkopeo(log: (s: string) => void): Promise<string> {
  const have = await timed('skopeo', ['--version']).catch(() => undefined);
  if (have?.code === 0) return have.stdout.trim();
  log('skopeo is missing: apt-get install -y skopeo');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await mustRun('apt-get', ['update', '-qq'], { env });
  await mustRun('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'skopeo'], { env });
  return (await mustRun('skopeo', ['--version'])).stdout.trim();
}

export const fmtMs = (ms: number) => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms < 10 ? 1 : 0)} ms`);
export const ratio = (a: number, b: number) => a / b;
