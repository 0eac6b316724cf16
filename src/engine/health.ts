import type Docker from 'dockerode';
import { connect } from 'node:net';
import { Agent } from '../net/undici-core.js';
import { listComposeContainers, type ContainerSummary } from './docker.js';

export interface HealthOptions {
  /** HTTP or TCP probe against each container's own address, for images without a HEALTHCHECK. */
  probe?: { url?: string; tcpPort?: number };
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

interface Observed { name: string; status: string; health?: string; exitCode: number; restarts: number; startedAt: number; probe?: boolean }

/** Judges one poll: a verdict, or undefined to keep waiting. Pure, so the rules are unit-testable. */
export function judge(observed: Observed[], expected: number, now: number, stableMs: number): HealthResult | undefined {
  const names = observed.map((o) => o.name);
  for (const o of observed) {
    if (o.status === 'exited' || o.status === 'dead') return { healthy: false, reason: `${o.name} exited with code ${o.exitCode}`, containers: names };
    if (o.status === 'restarting' || o.restarts > 0) return { healthy: false, reason: `${o.name} is restarting (${o.restarts} restarts)`, containers: names };
    if (o.health === 'unhealthy') return { healthy: false, reason: `${o.name} reports unhealthy`, containers: names };
  }
  if (observed.length < expected) return undefined;
  const ready = observed.every((o) => o.status === 'running' && (o.health ? o.health === 'healthy' : now - o.startedAt >= stableMs) && o.probe !== false);
  return ready ? { healthy: true, containers: names } : undefined;
}

/** Which containers of the service are being judged (the new ones). */
export type ContainerFilter = (c: ContainerSummary) => boolean;

/** Waits until every selected container of `service` is healthy (or stable, and passing the probe), or something fails. */
export async function waitHealthy(docker: Docker, project: string, service: string, select: ContainerFilter, expected: number, opts: HealthOptions): Promise<HealthResult> {
  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));
  const deadline = now() + opts.timeoutMs;
  let last: Observed[] = [];
  for (;;) {
    const containers = (await listComposeContainers(docker, { project, service })).filter((c) => select(c) && c.labels['com.docker.compose.oneoff'] !== 'True');
    last = await Promise.all(containers.map(async (c) => {
      const info = await docker.getContainer(c.id).inspect();
      return {
        name: c.name,
        status: info.State.Status,
        health: info.State.Health?.Status,
        exitCode: info.State.ExitCode,
        restarts: info.RestartCount ?? 0,
        startedAt: Date.parse(info.State.StartedAt),
        probe: opts.probe && info.State.Status === 'running' ? await probe(containerAddress(info), opts.probe) : undefined,
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

function containerAddress(info: Docker.ContainerInspectInfo): string | undefined {
  const networks = Object.values(info.NetworkSettings?.Networks ?? {});
  return networks.map((n) => n.IPAddress).find(Boolean);
}

let probeAgent: Agent | undefined;

/** One probe: an HTTP answer below 400, or an accepted TCP connection, within 2s. */
async function probe(address: string | undefined, p: { url?: string; tcpPort?: number }): Promise<boolean> {
  if (!address) return false;
  if (p.url) {
    const url = new URL(p.url.replace(/^(https?:\/\/)(:|\/|$)/, `$1${address}$2`));
    if (url.hostname === 'container') url.hostname = address;
    try {
      probeAgent ??= new Agent();
      const res = await probeAgent.request({ origin: url.origin, path: `${url.pathname}${url.search}`, method: 'GET', headersTimeout: 2000, bodyTimeout: 2000 });
      await res.body.dump();
      return res.statusCode < 400;
    } catch {
      return false;
    }
  }
  return new Promise((resolve) => {
    const socket = connect({ host: address, port: p.tcpPort!, timeout: 2000 });
    const done = (ok: boolean) => { socket.destroy(); resolve(ok); };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}
