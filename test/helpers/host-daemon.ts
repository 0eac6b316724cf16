/**
 * Whole-host tests (issue-18b): a `sync --all` daemon of the test's own with its API, and two compose projects
 * under a root of the test's own, each `approve: manual` its own way (a label; the project's own dosync.yaml).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ComposeProject, pushImage, unique, logLines, REGISTRY, ROOT } from './docker.js';
import { until } from './wait.js';

export const TOKEN = 'i18b-host-api-token-0123';
export const auth = { authorization: `Bearer ${TOKEN}` };

export interface Svc { name: string; currentTag?: string; status?: { kind: string; tag?: string }; pending?: { tag: string }; skipped: string[] }
export interface HostDoc { project: string; projects: Array<{ project: string; paused?: boolean; services: Svc[] }> }

/** A whole-host daemon of the test's own (`env`: e.g. another engine's DOCKER_HOST); `stop` sends SIGTERM and waits for the exit. */
export function startHostDaemon(args: string[], env: NodeJS.ProcessEnv = {}) {
  const child: ChildProcess = spawn(process.execPath, [join(ROOT, 'bin/dosync.js'), 'sync', '--all', '-i', '1h', '--health-stable', '1s', '--health-timeout', '60s',
    '--listen', '127.0.0.1:0', '--api-token', TOKEN, ...args], { env: { ...process.env, ...env, DOSYNC_LOG_FORMAT: 'json' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<number | null>((r) => child.once('exit', r));
  return {
    log: () => out,
    url: () => until('the endpoint', () => logLines(out).find((l) => l.msg === 'HTTP endpoint listening')?.url as string | undefined),
    async stop() { child.kill('SIGTERM'); return exited; },
  };
}

export const statusOf = async (url: string): Promise<HostDoc> => (await (await fetch(`${url}/v1/status`, { headers: auth })).json()) as HostDoc;
export const svcOf = (doc: HostDoc, project: string, service = 'web') => doc.projects.find((p) => p.project === project)?.services.find((s) => s.name === service);
/** What web serves now; nothing while its container is being replaced (an exec then fails). */
export const serving = async (p: ComposeProject) => (await p.versions('web').catch(() => []))[0];
export const post = (url: string, path: string, body: Record<string, string>) => fetch(`${url}${path}`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(body) });

export async function twoManualProjects(prefix: string) {
  const root = await mkdtemp(join(tmpdir(), `${prefix}-`));
  const stateDir = join(root, '.state');
  const repos = { a: unique(`${prefix}/a`), b: unique(`${prefix}/b`) };
  for (const repo of Object.values(repos)) for (const v of ['1.0.0', '1.1.0']) await pushImage(repo, v, { version: v, healthcheck: true });
  // a: manual by its label; b: manual by its own dosync.yaml next to its compose file.
  const a = await ComposeProject.create(`services:\n  web:\n    image: ${REGISTRY}/${repos.a}:1.0.0\n    labels:\n      dosync.approve: manual\n`, `${prefix}a`, root);
  const b = await ComposeProject.create(`services:\n  web:\n    image: ${REGISTRY}/${repos.b}:1.0.0\n`, `${prefix}b`, root);
  await writeFile(join(b.dir, 'dosync.yaml'), 'approve: manual\n');
  await Promise.all([a.up(), b.up()]);
  return {
    root, stateDir, repos, a, b,
    scope: ['--projects-root', root, '--state-dir', stateDir],
    async cleanup() {
      const errors: unknown[] = [];
      for (const p of [a, b]) await p.destroy().catch((e: unknown) => errors.push(e));
      await rm(root, { recursive: true, force: true });
      if (errors.length > 0) throw errors[0];
    },
  };
}

