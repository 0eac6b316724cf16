/**
 * Throw-away CNCF registries (`docker-registry serve`) on free loopback ports for mirror tests and
 * the mirror bench: anonymous or htpasswd Basic, killable mid-copy and restartable on the same port
 * and storage. Also builds a real multi-platform index from two single-platform images.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegistryClient } from '../../src/registry/client.js';
import type { RepositoryRef } from '../../src/registry/types.js';
import { onFreePort } from './token-server.js';
import { buildImage, pushAs, removeImages } from './registry-images.js';

export interface RequestCount {
  total: number;
  byMethod: Record<string, number>;
}

export interface TestRegistry {
  host: string;
  auth?: { username: string; password: string };
  /** Requests the registry served since the last `resetRequests`, from its access log (so any client's requests count). */
  requests(): RequestCount;
  resetRequests(): void;
  /** SIGKILL, as a crash would (no graceful shutdown). */
  kill(): Promise<void>;
  /** Starts again on the same port and storage. */
  restart(): Promise<void>;
  /** Stops and removes the storage. */
  stop(): Promise<void>;
}

export function startRegistry(opts: { auth?: { username: string; password: string } } = {}): Promise<TestRegistry> {
  return onFreePort((port) => startRegistryOn(opts, port), 'docker-registry');
}

async function startRegistryOn(opts: { auth?: { username: string; password: string } }, port: number): Promise<TestRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'dosync-mirror-registry-'));
  mkdirSync(join(dir, 'data'));
  const host = `127.0.0.1:${port}`;
  const lines = [
    'version: 0.1',
    'log: { level: error }',
    'storage:',
    `  filesystem: { rootdirectory: ${join(dir, 'data')} }`,
    '  delete: { enabled: true }',
    'http:',
    `  addr: ${host}`,
  ];
  if (opts.auth) {
    const out = spawnSync('htpasswd', ['-Bbn', opts.auth.username, opts.auth.password], { encoding: 'utf8' });
    if (out.status !== 0) throw new Error(`htpasswd failed: ${out.stderr}`);
    writeFileSync(join(dir, 'htpasswd'), out.stdout);
    lines.push('auth:', `  htpasswd: { realm: dosync-mirror-test, path: ${join(dir, 'htpasswd')} }`);
  }
  writeFileSync(join(dir, 'config.yml'), lines.join('\n') + '\n');

  let child: ChildProcess | undefined;
  let counted: RequestCount = { total: 0, byMethod: {} };
  const launch = async () => {
    const c = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    // The access log (Apache combined format, one line per request) goes to stdout.
    let partial = '';
    c.stdout?.on('data', (d: Buffer) => {
      const lines = (partial + d.toString()).split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        const m = /"([A-Z]+) \/v2\//.exec(line);
        if (!m) continue;
        counted.total++;
        counted.byMethod[m[1]!] = (counted.byMethod[m[1]!] ?? 0) + 1;
      }
    });
    let stderr = '';
    c.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    // Its last words (a port already in use) may still be on their way when it has exited.
    const closed = new Promise((r) => c.once('close', r));
    // A hang guard, not a speed limit: on a loaded machine docker-registry can take many seconds to listen.
    for (const giveUp = Date.now() + 60_000; Date.now() < giveUp;) {
      if (c.exitCode !== null) {
        await Promise.race([closed, new Promise((r) => setTimeout(r, 5000))]);
        break;
      }
      try {
        const res = await fetch(`http://${host}/v2/`);
        await res.arrayBuffer();
        if (res.status === 200 || res.status === 401) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`docker-registry did not start on ${host}: ${stderr}`);
  };
  const kill = async () => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await exited;
  };
  try {
    await launch();
  } catch (err) {
    await kill();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    host,
    auth: opts.auth,
    requests: () => ({ total: counted.total, byMethod: { ...counted.byMethod } }),
    resetRequests: () => {
      counted = { total: 0, byMethod: {} };
    },
    kill,
    restart: launch,
    stop: async () => {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A client for test set-up that knows the test registries' passwords. */
export function setupClient(...registries: TestRegistry[]): RegistryClient {
  const creds = new Map(registries.filter((r) => r.auth).map((r) => [r.host, r.auth!]));
  return new RegistryClient({ credentials: async (host) => creds.get(host) });
}

export interface MultiPlatformImage {
  repo: RepositoryRef;
  tag: string;
  indexDigest: string;
  /** Child manifest digests by platform (`linux/amd64`, `linux/arm64`). */
  children: Record<string, string>;
}

/**
 * Builds two single-platform images FROM dosync-test/base:1, pushes them with docker, and PUTs an
 * OCI index listing them as linux/amd64 and linux/arm64 (busybox content both times: the platform
 * fields are what a mirror reads). `nonce` makes every build distinct.
 */
export async function pushMultiPlatform(registry: TestRegistry, repository: string, tag: string, nonce: string, client = setupClient(registry)): Promise<MultiPlatformImage> {
  const repo = { registry: registry.host, repository };
  const platforms = ['linux/amd64', 'linux/arm64'];
  const children: Record<string, string> = {};
  const entries: object[] = [];
  for (const platform of platforms) {
    const arch = platform.split('/')[1]!;
    const local = `dosync-mirror-test/${repository.replace(/\//g, '-')}:${arch}-${nonce}`;
    const remote = `${registry.host}/${repository}:build-${arch}-${nonce}`;
    await buildImage(local, `${nonce}-${arch}`);
    try {
      await pushAs(local, [remote], registry.auth ? { host: registry.host, ...registry.auth } : undefined);
    } finally {
      await removeImages([local, remote]);
    }
    const m = await client.getManifest(repo, `build-${arch}-${nonce}`);
    children[platform] = m.digest;
    entries.push({ mediaType: m.mediaType, digest: m.digest, size: m.bytes.length, platform: { architecture: arch, os: 'linux' } });
  }
  const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: entries }, null, 2));
  const indexDigest = await client.putManifest(repo, tag, index, 'application/vnd.oci.image.index.v1+json');
  return { repo, tag, indexDigest, children };
}
