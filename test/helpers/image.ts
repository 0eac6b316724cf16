/**
 * The dosync container image for integration tests, built from the Dockerfile on the local engine.
 * Docker Hub cannot be reached here, so it builds FROM the stand-ins of test/env/build-base-image.sh
 * (made on first use, then cached). Several test files may call this at once: one build per process,
 * and the engine's layer cache makes a second process's build quick.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { ROOT } from './docker.js';

const exec = promisify(execFile);

export const BASE_IMAGE = 'dosync-base/node:20';
export const DOCKER_CLI_IMAGE = 'dosync-base/docker-cli:local';
/** DOSYNC_TEST_IMAGE: another tag, so sessions building different Dockerfiles at once do not share one. */
export const TEST_IMAGE = process.env.DOSYNC_TEST_IMAGE || 'dosync:integration';

export interface BuiltImage {
  tag: string;
  /** Seconds the `docker build` took (without making the base). */
  buildSeconds: number;
  /** Seconds spent making the stand-in base images (0 when they were there). */
  baseSeconds: number;
}

async function imageExists(ref: string): Promise<boolean> {
  return exec('docker', ['image', 'inspect', ref]).then(() => true, () => false);
}

/** A lock across test processes: a directory made atomically, taken over when its holder is gone (bounded wait). */
async function withBuildLock<T>(fn: () => Promise<T>): Promise<T> {
  const dir = join(tmpdir(), `dosync-image-build-${TEST_IMAGE.replace(/[^a-z0-9]/gi, '_')}.lock`);
  const deadline = Date.now() + 15 * 60_000; // a hang, not a slow build, ends this wait
  for (;;) {
    try {
      await mkdir(dir);
      await writeFile(join(dir, 'pid'), String(process.pid));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number(await readFile(join(dir, 'pid'), 'utf8').catch(() => '0'));
      const alive = holder > 0 && (() => { try { process.kill(holder, 0); return true; } catch { return false; } })();
      if (!alive && holder > 0) { await rm(dir, { recursive: true, force: true }); continue; }
      if (Date.now() > deadline) throw new Error(`image build lock ${dir} held by PID ${holder} for 15 minutes`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    return await fn();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

let building: Promise<BuiltImage> | undefined;

export function ensureDosyncImage(): Promise<BuiltImage> {
  building ??= (async () => {
    let baseSeconds = 0;
    if (!(await imageExists(BASE_IMAGE)) || !(await imageExists(DOCKER_CLI_IMAGE))) {
      const t = Date.now();
      await exec('bash', [join(ROOT, 'test/env/build-base-image.sh')], { maxBuffer: 16 * 1024 * 1024 });
      baseSeconds = (Date.now() - t) / 1000;
    }
    const t = Date.now();
    // The classic builder: this engine's client has no buildx plugin; the Dockerfile needs no BuildKit.
    const version = (JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    const revision = await exec('git', ['rev-parse', 'HEAD'], { cwd: ROOT }).then((r) => r.stdout.trim(), () => 'unknown');
    const build = () => exec('docker', ['build', '-q', '--build-arg', `BASE_IMAGE=${BASE_IMAGE}`, '--build-arg', `DOCKER_CLI_IMAGE=${DOCKER_CLI_IMAGE}`,
      '--build-arg', `VERSION=${version}`, '--build-arg', `REVISION=${revision}`, '-t', TEST_IMAGE, ROOT], {
      env: { ...process.env, DOCKER_BUILDKIT: '0' },
      maxBuffer: 64 * 1024 * 1024,
    });
    // Test files in other processes build the same tag: one build at a time (the next one is then all cache).
    // Under load a clean-clone CI run saw the classic builder lose a stage image another process's build had
    // just replaced ("unable to find image sha256:…" at COPY --from); that build is run once more.
    await withBuildLock(async () => {
      try {
        await build();
      } catch (err) {
        if (!/unable to find image/.test(String((err as { stderr?: string }).stderr ?? err))) throw err;
        await build();
      }
    });
    return { tag: TEST_IMAGE, buildSeconds: (Date.now() - t) / 1000, baseSeconds };
  })();
  return building;
}
