/**
 * Helpers for integration tests against the real Docker engine and the real registry on 127.0.0.1:5000
 * (started by test/env/up.sh). Every test uses its own repository names and compose project names.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { buildFromBase, pushAs, type Login } from './registry-images.js';
import { assertStackConsistent } from './invariant.js';
import { existsSync } from 'node:fs';

const exec = promisify(execFile);
export const REGISTRY = '127.0.0.1:5000';
/** The htpasswd-protected registry started by test/env/up.sh. */
export const BASIC_REGISTRY = { host: '127.0.0.1:5001', username: 'dosync', password: 's3cret-pass' };
export const ROOT = new URL('../..', import.meta.url).pathname;

export function unique(prefix: string): string {
  return `${prefix}${randomBytes(4).toString('hex')}`;
}

export async function sh(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  const { stdout } = await exec(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, maxBuffer: 32 * 1024 * 1024 });
  return stdout.trim();
}

export interface ImageSpec {
  /** Served at http://:8080/ by the container and kept in the APP_VERSION env. */
  version: string;
  /** A Docker HEALTHCHECK that passes while the web server answers. */
  healthcheck?: boolean;
  /** The container exits at once with this code instead of serving. */
  exitCode?: number;
  /** The healthcheck always fails. */
  unhealthy?: boolean;
}

/**
 * Builds a tiny busybox image and pushes it as <registry>/repo:tag (default the anonymous registry);
 * removes the local tag so dosync must really pull.
 */
export async function pushImage(repo: string, tag: string, spec: ImageSpec, target: { registry?: string; login?: Login } = {}): Promise<string> {
  const lines = [`ENV APP_VERSION=${spec.version}`, `LABEL org.opencontainers.image.version=${spec.version} dosync.test.nonce=${randomBytes(4).toString('hex')}`];
  if (spec.exitCode !== undefined) lines.push(`CMD ["sh", "-c", "exit ${spec.exitCode}"]`);
  if (spec.healthcheck || spec.unhealthy) {
    // A healthy image tolerates a slow probe (wget on a loaded machine can take seconds): 5 misses in a row of
    // 10 s each before Docker calls it unhealthy, which a good release never reaches. A bad one fails at once.
    const check = spec.unhealthy ? '--timeout=2s --retries=2 CMD false' : '--timeout=10s --retries=5 CMD wget -q -O /dev/null http://127.0.0.1:8080/';
    lines.push(`HEALTHCHECK --interval=1s ${check}`);
  }
  const ref = `${target.registry ?? REGISTRY}/${repo}:${tag}`;
  await buildFromBase(ref, lines);
  await pushAs(ref, [ref], target.login);
  await sh('docker', ['rmi', ref]);
  return ref;
}

/** A compose project in its own temp dir with its own project name; `down` removes containers and networks. */
export class ComposeProject {
  readonly dir: string;
  readonly name: string;
  readonly file: string;
  /** Override files the test deploys with (`-f file -f extra`): the invariant check reads them too. */
  readonly extraFiles: string[] = [];
  /** --env-file files the test deploys with (in order): compose() and the invariant check pass them too. */
  readonly envFiles: string[] = [];
  private constructor(dir: string, name: string) {
    this.dir = dir;
    this.name = name;
    this.file = join(dir, 'docker-compose.yml');
  }
  /** `parentDir`: where the project's directory is made (default the system temp dir); whole-host tests scope discovery to it. */
  static async create(text: string, prefix = 'dsit', parentDir = tmpdir()): Promise<ComposeProject> {
    const name = unique(prefix);
    const dir = await mkdtemp(join(parentDir, `${name}-`));
    const project = new ComposeProject(dir, name);
    await writeFile(project.file, text);
    return project;
  }
  compose(args: string[]): Promise<string> {
    return sh('docker', ['compose', '-p', this.name, '-f', this.file, ...this.extraFiles.flatMap((f) => ['-f', f]), ...this.envFiles.flatMap((f) => ['--env-file', f]), ...args], { cwd: this.dir });
  }
  async up(): Promise<void> {
    await this.compose(['up', '-d', '--wait']);
  }
  /** Container IDs of a service, running or not. */
  async containers(service: string): Promise<string[]> {
    const out = await sh('docker', ['ps', '-aq', '--no-trunc', '--filter', `label=com.docker.compose.project=${this.name}`, '--filter', `label=com.docker.compose.service=${service}`]);
    return out ? out.split('\n') : [];
  }
  /** What each container of the service serves (its APP_VERSION). */
  async versions(service: string): Promise<string[]> {
    const ids = await this.containers(service);
    return Promise.all(ids.map((id) => sh('docker', ['exec', id, 'wget', '-qO-', 'http://127.0.0.1:8080/'])));
  }
  /** The invariant: what runs is what `docker compose config` names, and every image the file names exists. */
  assertConsistent(why = this.name): Promise<void> {
    return assertStackConsistent({ name: this.name, dir: this.dir, files: [this.file, ...this.extraFiles], ...(this.envFiles.length > 0 ? { envFile: this.envFiles } : {}) }, why);
  }
  /**
   * Checks the invariant (unless `skipInvariant` says why it cannot hold), then removes the project. A
   * violation fails the test after the cleanup.
   */
  async destroy(opts: { skipInvariant?: string } = {}): Promise<void> {
    let violation: unknown;
    if (!opts.skipInvariant && existsSync(this.file)) violation = await this.assertConsistent().then(() => undefined, (err: unknown) => err);
    await this.compose(['down', '-v', '--remove-orphans', '-t', '1']).catch(() => undefined);
    // When compose cannot read the project any more (a file the test broke or moved), its containers still go.
    const left = await sh('docker', ['ps', '-aq', '--filter', `label=com.docker.compose.project=${this.name}`]).catch(() => '');
    if (left) await sh('docker', ['rm', '-f', ...left.split('\n')]).catch(() => undefined);
    await rm(this.dir, { recursive: true, force: true });
    if (violation) throw violation;
  }
}

export async function imageExists(ref: string): Promise<boolean> {
  return sh('docker', ['image', 'inspect', ref]).then(() => true, () => false);
}

export interface CliResult { code: number; stdout: string; stderr: string }

/** Runs dosync's built CLI as a user would (node bin/dosync.js). */
export async function dosync(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [join(ROOT, 'bin/dosync.js'), ...args], {
      cwd: opts.cwd, env: { ...process.env, DOSYNC_LOG_FORMAT: 'json', ...opts.env }, maxBuffer: 32 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** pino JSON lines from stdout. */
export function logLines(stdout: string): Array<Record<string, unknown>> {
  return stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
}
