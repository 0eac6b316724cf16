/**
 * The contenders, each run as the separate process a user would run: dosync's built CLI, the
 * plain-fetch floor script, and a skopeo loop. Each checks its own answer so a fast wrong run is
 * never reported as a fast run.
 */
import { DOSYNC, ROOT, mustRun, timed } from './proc.js';

const DOSYNC_ENV = { ...process.env, DOSYNC_LOG_FORMAT: 'json' };

export interface CheckRun {
  ms: number;
  /** Requests dosync's own client counted (its JSON `requests`). */
  clientRequests: number;
  statuses: Record<string, number>;
}

/** `dosync check --json`: exit 0 (all up to date) or 10 (updates), and no service in error. */
export async function dosyncCheck(file: string, project: string): Promise<CheckRun> {
  const r = await mustRun(DOSYNC[0], [DOSYNC[1], 'check', '-f', file, '-p', project, '--json'], { env: DOSYNC_ENV }, [0, 10]);
  const out = JSON.parse(r.stdout) as { services: Array<{ service: string; status: string; reason: string }>; requests: number };
  const statuses: Record<string, number> = {};
  for (const s of out.services) {
    statuses[s.status] = (statuses[s.status] ?? 0) + 1;
    if (s.status === 'error') throw new Error(`dosync check: ${s.service}: ${s.reason}`);
  }
  return { ms: r.ms, clientRequests: out.requests, statuses };
}

/** `dosync sync --once --dry-run`: wall time and the cycle's own durationMs (its "dry run done" log line). */
export async function dosyncDryCycle(file: string, project: string): Promise<{ ms: number; cycleMs: number }> {
  const r = await mustRun(DOSYNC[0], [DOSYNC[1], 'sync', '-f', file, '-p', project, '--once', '--dry-run'], { env: DOSYNC_ENV });
  const done = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg?: string; durationMs?: number; errors?: number })
    .find((l) => l.msg === 'dry run done');
  if (!done || typeof done.durationMs !== 'number') throw new Error(`dosync sync --dry-run --once logged no "dry run done": ${r.stdout.slice(-1500)}`);
  if (done.errors) throw new Error(`dosync sync --dry-run --once: ${done.errors} errors: ${r.stdout.slice(-1500)}`);
  return { ms: r.ms, cycleMs: done.durationMs };
}

export interface FloorRun { ms: number; innerMs: number; tags: number; requests: number }

/** bench/lib/floor.mjs with dosync's defaults: 6 requests at once per registry, pages of 1000. */
export async function floor(host: string, repos: string[]): Promise<FloorRun> {
  const arg = JSON.stringify({ registry: host, repos, concurrency: 6, pageSize: 1000 });
  const r = await mustRun(process.execPath, [`${ROOT}bench/lib/floor.mjs`, arg], { cwd: ROOT });
  const out = JSON.parse(r.stdout) as { ms: number; tags: number; requests: number };
  return { ms: r.ms, innerMs: out.ms, tags: out.tags, requests: out.requests };
}

/** `skopeo list-tags` for every repository, one after the other, as a shell-script updater does. */
export async function skopeoLoop(host: string, repos: string[]): Promise<{ ms: number; tags: number }> {
  const t0 = performance.now();
  let tags = 0;
  for (const repo of repos) {
    const r = await mustRun('skopeo', ['list-tags', '--tls-verify=false', `docker://${host}/${repo}`]);
    tags += (JSON.parse(r.stdout) as { Tags: string[] }).Tags.length;
  }
  return { ms: performance.now() - t0, tags };
}

/** Any command, wall time only (startup comparisons). */
export async function wall(cmd: string, args: string[], okCodes = [0], env: Record<string, string> = {}): Promise<number> {
  const r = await timed(cmd, args, { env: { ...DOSYNC_ENV, ...env } });
  if (!okCodes.includes(r.code)) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}: ${r.stderr.slice(-1000)}`);
  return r.ms;
}
