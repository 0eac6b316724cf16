// Mirrors 20 multi-arch images (OCI index over linux/amd64 + linux/arm64, each child with its own
// 256 KiB layer over the shared busybox base) from one loopback registry into an empty one, then
// runs again with nothing to do; the same with `skopeo sync --all --preserve-digests` into another
// empty registry. Prints wall time and request counts (counted by the registries' access logs, so
// both tools are measured the same way; dosync's own count is shown next to it).
// Run: node --import tsx bench/mirror.ts            (needs docker, docker-registry, skopeo)
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pLimit from 'p-limit';
import { RegistryClient } from '../src/registry/client.js';
import { createLogger } from '../src/util/logger.js';
import { MirrorState, parseMirrorConfig, runTask, type TaskSummary } from '../src/mirror/index.js';
import { run, removeImages } from '../test/helpers/registry-images.js';
import { setupClient, startRegistry, type RequestCount, type TestRegistry } from '../test/helpers/mirror-registries.js';

const IMAGES = 20;
const LAYER_BYTES = 256 * 1024;
const PLATFORMS = ['amd64', 'arm64'];

async function buildAndPushChild(src: TestRegistry, repository: string, arch: string): Promise<{ digest: string; size: number; mediaType: string }> {
  const ctx = mkdtempSync(join(tmpdir(), 'dosync-bench-'));
  const local = `dosync-bench/${repository.replace(/\//g, '-')}:${arch}`;
  const remote = `${src.host}/${repository}:build-${arch}`;
  try {
    writeFileSync(join(ctx, 'payload'), randomBytes(LAYER_BYTES));
    writeFileSync(join(ctx, 'Dockerfile'), 'FROM dosync-test/base:1\nCOPY payload /payload\n');
    await run('docker', ['build', '-q', '-t', local, ctx], { env: { ...process.env, DOCKER_BUILDKIT: '0' } });
    await run('docker', ['tag', local, remote]);
    await run('docker', ['push', '-q', remote]);
  } finally {
    await removeImages([local, remote]);
    rmSync(ctx, { recursive: true, force: true });
  }
  const m = await setupClient(src).getManifest({ registry: src.host, repository }, `build-${arch}`);
  return { digest: m.digest, size: m.bytes.length, mediaType: m.mediaType };
}

async function seed(src: TestRegistry): Promise<string[]> {
  const client = setupClient(src);
  const limit = pLimit(4);
  const repos = Array.from({ length: IMAGES }, (_, i) => `bench/img-${i + 1}`);
  await Promise.all(repos.map((repository) => limit(async () => {
    const manifests = [];
    for (const arch of PLATFORMS) {
      const c = await buildAndPushChild(src, repository, arch);
      manifests.push({ mediaType: c.mediaType, digest: c.digest, size: c.size, platform: { architecture: arch, os: 'linux' } });
    }
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests }));
    await client.putManifest({ registry: src.host, repository }, '1.0', index, 'application/vnd.oci.image.index.v1+json');
  })));
  return repos;
}

interface Row {
  tool: string;
  run: string;
  ms: number;
  requests: RequestCount;
  note?: string;
}

async function counted(registries: TestRegistry[], work: () => Promise<string | undefined>): Promise<{ ms: number; requests: RequestCount; note?: string }> {
  for (const r of registries) r.resetRequests();
  const t0 = performance.now();
  const note = await work();
  const ms = performance.now() - t0;
  // The access log line is written as each response completes: let the last ones arrive.
  await new Promise((r) => setTimeout(r, 300));
  const requests: RequestCount = { total: 0, byMethod: {} };
  for (const r of registries) {
    const c = r.requests();
    requests.total += c.total;
    for (const [m, n] of Object.entries(c.byMethod)) requests.byMethod[m] = (requests.byMethod[m] ?? 0) + n;
  }
  return { ms, requests, note };
}

function skopeo(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('skopeo', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`skopeo ${args.join(' ')} exited ${code}: ${err.slice(-2000)}`))));
  });
}

function methods(c: RequestCount): string {
  return Object.entries(c.byMethod).sort((a, b) => b[1] - a[1]).map(([m, n]) => `${m} ${n}`).join(', ');
}

async function main(): Promise<void> {
  await run('skopeo', ['--version']).catch(() => {
    throw new Error('skopeo is not installed (Debian: apt-get install -y skopeo)');
  });
  const src = await startRegistry();
  const forDosync = await startRegistry();
  const forSkopeo = await startRegistry();
  const dir = mkdtempSync(join(tmpdir(), 'dosync-bench-mirror-'));
  try {
    const t0 = performance.now();
    const repos = await seed(src);
    console.log(`seeded ${IMAGES} multi-arch images (${PLATFORMS.length} platforms, ${LAYER_BYTES / 1024} KiB own layer each) in ${((performance.now() - t0) / 1000).toFixed(1)}s`);

    const yaml = `tasks:\n  - name: bench\n    source: ${src.host}\n    target: ${forDosync.host}/mirror\n    images:\n${repos.map((r) => `      - { from: ${r}, tags: ['1.0'] }`).join('\n')}\n`;
    const task = parseMirrorConfig(yaml, 'bench.yaml').tasks[0]!;
    const logger = createLogger({ destination: new (await import('node:stream')).Writable({ write: (_c, _e, done) => done() }) });
    const rows: Row[] = [];
    const dosync = async (label: string, client: RegistryClient, state: MirrorState) => {
      let summary: TaskSummary | undefined;
      const r = await counted([src, forDosync], async () => {
        summary = await runTask(task, { client, state, logger });
        if (summary.failed > 0) throw new Error(JSON.stringify(summary.items.filter((i) => i.status === 'failed')));
        return `copied ${summary.copied}, up to date ${summary.skipped}; client counted ${summary.requests.total}`;
      });
      rows.push({ tool: 'dosync mirror', run: label, ...r });
    };
    const client = new RegistryClient();
    const state = new MirrorState(client);
    await dosync('empty target', client, state);
    const fresh = new RegistryClient();
    await dosync('no-op (new process)', fresh, new MirrorState(fresh));
    await dosync('no-op (daemon, next cycle)', client, state);

    const skopeoYaml = join(dir, 'skopeo.yaml');
    writeFileSync(skopeoYaml, `${src.host}:\n  tls-verify: false\n  images:\n${repos.map((r) => `    ${r}: ['1.0']`).join('\n')}\n`);
    const skopeoArgs = ['sync', '--all', '--preserve-digests', '--src', 'yaml', '--dest', 'docker', '--dest-tls-verify=false', skopeoYaml, `${forSkopeo.host}/mirror`];
    rows.push({ tool: 'skopeo sync', run: 'empty target', ...(await counted([src, forSkopeo], async () => (await skopeo(skopeoArgs), undefined))) });
    rows.push({ tool: 'skopeo sync', run: 'no-op', ...(await counted([src, forSkopeo], async () => (await skopeo(skopeoArgs), undefined))) });

    // Both must have produced the source's digests.
    const check = new RegistryClient();
    for (const repo of repos) {
      const want = (await check.headManifest({ registry: src.host, repository: repo }, '1.0'))!.digest;
      // skopeo sync (without --scoped) keeps only the last path component.
      for (const [target, repository] of [[forDosync, `mirror/${repo}`], [forSkopeo, `mirror/${repo.split('/').pop()}`]] as const) {
        const got = (await check.headManifest({ registry: target.host, repository }, '1.0'))?.digest;
        if (got !== want) throw new Error(`${target.host}/${repository}:1.0 is ${got}, source is ${want}`);
      }
    }

    console.log(`\n${IMAGES} multi-arch images, loopback registries (requests counted by the registries' access logs)\n`);
    const header = ['tool', 'run', 'time', 'requests', 'by method', 'note'];
    const table = rows.map((r) => [r.tool, r.run, `${(r.ms / 1000).toFixed(2)}s`, String(r.requests.total), methods(r.requests), r.note ?? '']);
    const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
    const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
    console.log(line(header));
    console.log(widths.map((w) => '-'.repeat(w)).join('  '));
    for (const row of table) console.log(line(row));
    const pick = (tool: string, label: string) => rows.find((r) => r.tool === tool && r.run === label)!;
    const full = pick('skopeo sync', 'empty target').ms / pick('dosync mirror', 'empty target').ms;
    const noop = pick('skopeo sync', 'no-op').ms / pick('dosync mirror', 'no-op (new process)').ms;
    console.log(`\nskopeo/dosync time: ${full.toFixed(1)}x on the empty target, ${noop.toFixed(1)}x on the no-op run (dosync in-process: no node start-up; skopeo includes its process start)`);
    console.log('both targets verified: every image has the source index digest');
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await Promise.all([src.stop(), forDosync.stop(), forSkopeo.stop()]);
  }
}

await main();
