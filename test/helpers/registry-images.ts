/**
 * Builds tiny images FROM dosync-test/base:1 and pushes them to the loopback registries with the
 * real docker CLI. Logins use a throw-away DOCKER_CONFIG so parallel tests never see (or log out)
 * each other's credentials. Commands run asynchronously: token servers in the same process must
 * keep answering while docker talks to them.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Runs a command to its end. Settled on 'close', not 'exit': on a busy machine 'exit' can come before the
 * last of stdout has been read. A child that exits before reading its stdin (docker refusing a login early)
 * makes the write fail with EPIPE: that error belongs to the child's exit code, not to the test process,
 * where an unhandled stream error used to fail the whole run.
 */
export async function run(cmd: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    if (child.stdin) {
      child.stdin.on('error', (e: NodeJS.ErrnoException) => { if (e.code !== 'EPIPE') err += `\nstdin: ${e.message}`; });
      child.stdin.end(opts.input);
    }
    child.on('error', reject);
    child.on('close', (code, signal) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')} exited ${code ?? signal}: ${err.trim()}`))));
  });
}

/**
 * Builds `tag` FROM the busybox test base with these extra Dockerfile lines (the classic builder: no buildx here).
 * --no-cache: the classic builder's cached steps are untagged parent images, which removing an image built on
 * them deletes too; with test files running in parallel, one test's prune used to delete a step another
 * test's build was about to use ("No such image: sha256:...").
 */
export async function buildFromBase(tag: string, lines: string[]): Promise<void> {
  const ctx = mkdtempSync(join(tmpdir(), 'dosync-img-'));
  try {
    writeFileSync(join(ctx, 'Dockerfile'), ['FROM dosync-test/base:1', ...lines].join('\n') + '\n');
    await run('docker', ['build', '-q', '--no-cache', '-t', tag, ctx], { env: { ...process.env, DOCKER_BUILDKIT: '0' } });
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
}

/** Builds `tag` with a distinct label so each build has its own digest. */
export async function buildImage(tag: string, version: string): Promise<void> {
  await buildFromBase(tag, [`ENV APP_VERSION=${version}`, `LABEL dosync.test.build="${tag}"`]);
}

export interface Login {
  host: string;
  username: string;
  password: string;
}

/** Tags `source` as each target and pushes it, logged in to `login.host` when given (then logged out). */
export async function pushAs(source: string, targets: string[], login?: Login): Promise<void> {
  const config = mkdtempSync(join(tmpdir(), 'dosync-docker-config-'));
  const env = { ...process.env, DOCKER_CONFIG: config };
  try {
    if (login) await run('docker', ['login', login.host, '-u', login.username, '--password-stdin'], { input: login.password, env });
    for (const target of targets) {
      await run('docker', ['tag', source, target]);
      await run('docker', ['push', '-q', target], { env });
    }
    if (login) await run('docker', ['logout', login.host], { env });
  } finally {
    rmSync(config, { recursive: true, force: true });
  }
}

/** The manifest digest docker recorded for `image` when it was pushed to `host/repository`. */
export async function repoDigest(image: string, hostAndRepository: string): Promise<string> {
  const digests = JSON.parse(await run('docker', ['image', 'inspect', '--format', '{{json .RepoDigests}}', image])) as string[];
  const entry = digests.find((d) => d.startsWith(`${hostAndRepository}@`));
  if (!entry) throw new Error(`no RepoDigest for ${hostAndRepository} in ${digests.join(', ')}`);
  return entry.slice(entry.indexOf('@') + 1);
}

/** Removes local tags (ignores those already gone). */
export async function removeImages(tags: string[]): Promise<void> {
  if (tags.length === 0) return;
  await run('docker', ['rmi', ...tags]).catch(() => undefined);
}
