import type Docker from 'dockerode';
import { listComposeContainers } from './docker.js';

export interface HealthOptions {
  /** Give up after this long. */
  timeoutMs: number;
  /** Without a HEALTHCHECK: how long a container must stay running, without restarts, to count as up. */
  stableMs: number;
  pollMs?: number;
  /** Injected for tests of the timing logic; real time otherwise. */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export type HealthResult = { healthy: true; containers: string[] } | { healthy: false; reason: string; containers: string[] };

interface Observed { name: string; status: string; health?: string; exitCode: number; restarts: number; startedAt: number }

/** Judges one poll: a verdict, or undefined to keep waiting. Pure, so the rules are unit-testable. */
export function judge(observed: Observed[], expected: number, now: number, stableMs: number): HealthResult | undefined {
  const names = observed.map((o) => o.name);
  for (const o of observed) {
    if (o.status === 'exited' || o.status === 'dead') return { healthy: false, reason: `${o.name} exited with code ${o.exitCode}`, containers: names };
    if (o.status === 'restarting' || o.restarts > 0) return { healthy: false, reason: `${o.name} is restarting (${o.restarts} restarts)`, containers: names };
    if (o.health === 'unhealthy') return { healthy: false, reason: `${o.name} reports unhealthy`, containers: names };
  }
  if (observed.length < expected) return undefined;
  const ready = observed.every((o) => o.status === 'running' && (o.health ? o.health === 'healthy' : now - o.startedAt >= stableMs));
  return ready ? { healthy: true, containers: names } : undefined;
}

/** Waits until every container of `service` running `imageId` is healthy (or stable), or something fails. */
export async function waitHealthy(docker: Docker, project: string, service: string, imageId: string, expected: number, opts: HealthOptions): Promise<HealthResult> {
  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));
  const deadline = now() + opts.timeoutMs;
  let last: Observed[] = [];
  for (;;) {
    const containers = (await listComposeContainers(docker, { project, service })).filter((c) => c.imageId === imageId && c.labels['com.docker.compose.oneoff'] !== 'True');
    last = await Promise.all(containers.map(async (c) => {
      const info = await docker.getContainer(c.id).inspect();
      return {
        name: c.name,
        status: info.State.Status,
        health: info.State.Health?.Status,
        exitCode: info.State.ExitCode,
        restarts: info.RestartCount ?? 0,
        startedAt: Date.parse(info.State.StartedAt),
      };
    }));
    const verdict = judge(last, expected, now(), opts.stableMs);
    if (verdict) return verdict;
    if (now() >= deadline) {
      const states = last.map((o) => `${o.name}: ${o.health ?? o.status}`).join(', ') || 'no container with the new image';
      return { healthy: false, reason: `not healthy after ${Math.round(opts.timeoutMs / 1000)}s (${states})`, containers: last.map((o) => o.name) };
    }
    await sleep(opts.pollMs ?? 500);
  }
}
