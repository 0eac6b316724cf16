/**
 * Helpers for tests where dosync runs as a container of the stack it updates (sidecar mode): the dosync
 * image pushed to the loopback registry under a test's own repository, variants of it, and polling.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REGISTRY, sh } from './docker.js';
import { ensureDosyncImage } from './image.js';
import { run } from './registry-images.js';

/**
 * Pushes the dosync test image as `<registry>/<repo>:<tag>`. With `lines`, a variant is built FROM it
 * (extra Dockerfile lines: a label gives another digest, a bad ENTRYPOINT a broken release). The local tag
 * is removed so dosync must pull it, unless `keepLocal` (the stack's first `up` runs it).
 */
export async function pushDosyncImage(repo: string, tag: string, opts: { lines?: string[]; keepLocal?: boolean } = {}): Promise<string> {
  const base = (await ensureDosyncImage()).tag;
  const ref = `${REGISTRY}/${repo}:${tag}`;
  if (opts.lines) {
    const ctx = mkdtempSync(join(tmpdir(), 'dosync-variant-'));
    try {
      writeFileSync(join(ctx, 'Dockerfile'), [`FROM ${base}`, ...opts.lines].join('\n') + '\n');
      // --no-cache: see buildFromBase (a cached step is a parent image another test's prune may delete).
      await run('docker', ['build', '-q', '--no-cache', '-t', ref, ctx], { env: { ...process.env, DOCKER_BUILDKIT: '0' } });
    } finally {
      rmSync(ctx, { recursive: true, force: true });
    }
  } else {
    await run('docker', ['tag', base, ref]);
  }
  await run('docker', ['push', '-q', ref]);
  if (!opts.keepLocal) await run('docker', ['rmi', ref]);
  return ref;
}

/** Polls `probe` until it returns a value (not undefined); fails with `what` and the last state after `limitMs` (a hang guard, not a timing assertion). */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, limitMs = 240_000, describe?: () => Promise<string>): Promise<T> {
  const deadline = Date.now() + limitMs;
  let lastError: unknown;
  for (;;) {
    const value = await probe().catch((err) => { lastError = err; return undefined; });
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      const error = lastError ? `; last error: ${String(lastError)}` : '';
      throw new Error(`gave up waiting for ${what}${error}${describe ? `; state: ${await describe().catch((e) => String(e))}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

export interface ContainerInfo {
  id: string;
  image: string;
  imageId: string;
  status: string;
  health?: string;
  mounts: Array<{ Type: string; Source: string; Destination: string }>;
  env: string[];
}

export async function inspectContainer(id: string): Promise<ContainerInfo> {
  const info = JSON.parse(await sh('docker', ['inspect', id]))[0] as {
    Id: string; Image: string; Config: { Image: string; Env: string[] }; State: { Status: string; Health?: { Status: string } };
    Mounts: ContainerInfo['mounts'];
  };
  return { id: info.Id, image: info.Config.Image, imageId: info.Image, status: info.State.Status, health: info.State.Health?.Status, mounts: info.Mounts, env: info.Config.Env };
}

/** pino JSON lines a container wrote (stdout and stderr). */
export async function containerLog(id: string): Promise<Array<Record<string, unknown>>> {
  const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
    import('node:child_process').then(({ execFile }) => execFile('docker', ['logs', id], { maxBuffer: 32 * 1024 * 1024 }, (err, out, errOut) => (err ? reject(err) : resolve({ stdout: out, stderr: errOut }))));
  });
  return `${stdout}\n${stderr}`.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Removes local images by reference, ignoring those already gone. */
export async function removeImages(refs: string[]): Promise<void> {
  for (const ref of refs) await sh('docker', ['rmi', '-f', ref]).catch(() => undefined);
}
