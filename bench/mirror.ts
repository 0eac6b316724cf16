// `dosync mirror` against skopeo and the copy floor, all in one run on loopback registries.
//
// 1. The copy floor: one image with a single 200 MB layer, copied into a fresh repository of
//    another registry by `curl GET | curl PUT` of the blob (the floor: one stream, no checks), by
//    `dosync mirror --once` (the CLI process: start-up, HEADs, digest check, config and manifest
//    included) and by `skopeo copy`, in interleaved rounds (floor, dosync, skopeo, floor, ...) so that
//    each round's tools see the same machine load. Per process: wall time, CPU time (user + system,
//    children included: the floor's bash and three curls) and peak RSS, median of RUNS. On a loaded
//    machine wall time follows CPU time and swings with the other load; the CPU ratio is the steadier
//    figure. The load average is printed before and after.
// 2. 20 repositories x 5 tags (each tag an OCI index over linux/amd64 + linux/arm64, each child
//    with its own 256 KiB layer): `dosync mirror --once` into an empty registry and again with
//    nothing to do, against `skopeo sync --all --preserve-digests`; wall time, peak RSS, and the
//    requests the registries served (their access logs, so both tools are counted the same way).
//
// Run: node scripts/bundle.mjs && BENCH_MIRROR_RUNS=5 node --import tsx bench/mirror.ts
//      (needs docker-registry, curl, skopeo). BENCH_MIRROR_PARTS=1 runs the copy floor alone.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import pLimit from 'p-limit';
import { RegistryClient } from '../src/registry/client.js';
import type { RepositoryRef } from '../src/registry/types.js';
import { ensureSkopeo, median, DOSYNC } from './lib/proc.js';
import { startRegistry, type RequestCount, type TestRegistry } from '../test/helpers/mirror-registries.js';

const RUNS = Number(process.env.BENCH_MIRROR_RUNS ?? 3);
const PARTS = (process.env.BENCH_MIRROR_PARTS ?? '1,2').split(',');
const LAYER_MB = 200;
const REPOS = 20;
const TAGS = 5;
const OWN_LAYER = 256 * 1024;
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function pushBytes(client: RegistryClient, repo: RepositoryRef, bytes: Buffer): Promise<string> {
  const digest = sha256(bytes);
  if ((await client.headBlob(repo, digest)) === null) await client.pushBlob(repo, digest, bytes.length, Readable.from([bytes]));
  return digest;
}

/** An image manifest over `layers` (pushed here) and a small config; returns its descriptor. */
async function pushImage(client: RegistryClient, repo: RepositoryRef, layers: Buffer[], arch: string, reference?: string) {
  const layerDescs = [];
  for (const l of layers) layerDescs.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: await pushBytes(client, repo, l), size: l.length });
  const config = Buffer.from(JSON.stringify({ architecture: arch, os: 'linux', rootfs: { type: 'layers', diff_ids: layerDescs.map((d) => d.digest) } }));
  const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: await pushBytes(client, repo, config), size: config.length }, layers: layerDescs }));
  const digest = await client.putManifest(repo, reference ?? sha256(bytes), bytes, OCI_MANIFEST);
  return { mediaType: OCI_MANIFEST, digest, size: bytes.length, platform: { os: 'linux', architecture: arch } };
}

interface Proc { ms: number; cpuMs: number; peakMb: number }

const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');

/** Runs a command under GNU time: wall time, CPU time (user + system, waited-for children included) and peak RSS (VmHWM). */
function measured(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Proc> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn('/usr/bin/time', ['-f', 'BENCH-RSS-KB %M CPU %U %S', cmd, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-8000)));
    child.on('error', reject);
    child.on('exit', (code) => {
      const ms = performance.now() - t0;
      const m = /BENCH-RSS-KB (\d+) CPU ([\d.]+) ([\d.]+)/.exec(err);
      if (code !== 0 || !m) reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err.slice(-1500)}`));
      else resolve({ ms, cpuMs: (Number(m[2]) + Number(m[3])) * 1000, peakMb: Number(m[1]) / 1024 });
    });
  });
}

function counted(registries: TestRegistry[]): () => Promise<RequestCount> {
  for (const r of registries) r.resetRequests();
  return async () => {
    // The access log line is written as each response completes: let the last ones arrive.
    await new Promise((r) => setTimeout(r, 300));
    const out: RequestCount = { total: 0, byMethod: {} };
    for (const r of registries) {
      const c = r.requests();
      out.total += c.total;
      for (const [m, n] of Object.entries(c.byMethod)) out.byMethod[m] = (out.byMethod[m] ?? 0) + n;
    }
    return out;
  };
}

const methods = (c: RequestCount) => Object.entries(c.byMethod).sort((a, b) => b[1] - a[1]).map(([m, n]) => `${m} ${n}`).join(', ');

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** Part 1: one 200 MiB layer, by the floor, dosync and skopeo in interleaved rounds. */
async function copyFloor(client: RegistryClient, src: TestRegistry, dst: TestRegistry, dir: string, skopeoEnv: (n: string) => NodeJS.ProcessEnv, skopeoVersion: string): Promise<void> {
  const big = { registry: src.host, repository: 'bench/big' };
  const layer = randomBytes(LAYER_MB * 1024 * 1024);
  const layerDigest = sha256(layer);
  await pushImage(client, big, [layer], 'amd64', 'big');
  console.log(`seeded one image with a ${LAYER_MB} MiB layer; ${RUNS} interleaved rounds (${skopeoVersion}); load average ${load()}`);
  const floorScript = join(dir, 'floor.sh');
  writeFileSync(floorScript, [
    'set -euo pipefail',
    `loc=$(curl -sS -X POST -D - -o /dev/null "http://${dst.host}/v2/$1/blobs/uploads/" | tr -d '\\r' | sed -n 's/^[Ll]ocation: //p')`,
    `curl -sS "http://${src.host}/v2/bench/big/blobs/${layerDigest}" | curl -sS -f -X PUT -H 'content-type: application/octet-stream' -T - "$loc&digest=${layerDigest}" -o /dev/null`,
  ].join('\n'));
  const floor: Proc[] = [];
  const dosync: Proc[] = [];
  const skopeo: Proc[] = [];
  for (let i = 0; i < RUNS; i++) {
    floor.push(await measured('bash', [floorScript, `floor/r${i}`]));
    dosync.push(await measured(DOSYNC[0], [DOSYNC[1], 'mirror', '--source', `${src.host}/bench/big`, '--target', `${dst.host}/dosync/r${i}`, '--tags', 'big', '--once', '--state', join(dir, `state-big-${i}.json`), '--log-format', 'json']));
    // A registry of its own per run: as root, skopeo's blob-info cache is /var/lib/containers/cache
    // whatever $HOME says, and it would mount the layer from the previous run's repository.
    const fresh = await startRegistry();
    try {
      skopeo.push(await measured('skopeo', ['copy', '-q', '--preserve-digests', '--src-tls-verify=false', '--dest-tls-verify=false', `docker://${src.host}/bench/big:big`, `docker://${fresh.host}/skopeo/r${i}:big`], skopeoEnv(`big${i}`)));
      if ((await client.headBlob({ registry: fresh.host, repository: `skopeo/r${i}` }, layerDigest)) !== layer.length) throw new Error(`skopeo/r${i} has no ${LAYER_MB} MiB layer`);
    } finally {
      await fresh.stop();
    }
    const f = floor[i]!;
    const d = dosync[i]!;
    const k = skopeo[i]!;
    console.log(`  round ${i + 1}: floor ${s(f.ms)} wall ${s(f.cpuMs)} CPU; dosync ${s(d.ms)} / ${s(d.cpuMs)}; skopeo ${s(k.ms)} / ${s(k.cpuMs)}; load ${load()}`);
  }
  for (let i = 0; i < RUNS; i++) {
    const got = await client.headBlob({ registry: dst.host, repository: `dosync/r${i}` }, layerDigest);
    if (got !== layer.length) throw new Error(`dosync/r${i} has no ${LAYER_MB} MiB layer (${got})`);
  }
  const med = (xs: Proc[], k: keyof Proc) => median(xs.map((x) => x[k]));
  // The ratio of each round (same moment, same load), then the median of those.
  const ratio = (xs: Proc[], k: 'ms' | 'cpuMs') => `${median(xs.map((x, i) => x[k] / floor[i]![k])).toFixed(2)}x`;
  const rowOf = (name: string, xs: Proc[], rss: string) => [name, s(med(xs, 'ms')), s(med(xs, 'cpuMs')), ratio(xs, 'ms'), ratio(xs, 'cpuMs'), rss];
  const rows = [
    rowOf('curl GET | curl PUT (floor)', floor, `${med(floor, 'peakMb').toFixed(0)} MB (curl)`),
    rowOf('dosync mirror --once', dosync, `${med(dosync, 'peakMb').toFixed(0)} MB (max ${Math.max(...dosync.map((d) => d.peakMb)).toFixed(0)})`),
    rowOf('skopeo copy', skopeo, `${med(skopeo, 'peakMb').toFixed(0)} MB`),
  ];
  console.log(`\n1. one ${LAYER_MB} MiB layer between two loopback registries (whole processes, median of ${RUNS}; ratios: median of each round's ratio to that round's floor)\n`);
  console.log(table(['copy', 'wall', 'CPU (user+sys)', 'wall vs floor', 'CPU vs floor', 'peak RSS'], rows));
  console.log(`load average after part 1: ${load()}`);
}

const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

async function main(): Promise<void> {
  const skopeoVersion = await ensureSkopeo((s) => console.log(s));
  const dir = mkdtempSync(join(tmpdir(), 'dosync-bench-mirror-'));
  const src = await startRegistry();
  const dst = await startRegistry();
  const forSkopeo = await startRegistry();
  const client = new RegistryClient();
  // skopeo's blob-info cache lives under $HOME for other users: a fresh one per run.
  const skopeoEnv = (n: string) => {
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: mkdtempSync(join(dir, `home-${n}-`)) };
    delete env.XDG_DATA_HOME;
    delete env.XDG_CONFIG_HOME;
    return env;
  };
  try {
    // --- 1. the copy floor -------------------------------------------------------------------
    if (PARTS.includes('1')) await copyFloor(client, src, dst, dir, skopeoEnv, skopeoVersion);

    // --- 2. 20 repositories x 5 tags ---------------------------------------------------------
    if (!PARTS.includes('2')) return;
    const t0 = performance.now();
    const limit = pLimit(4);
    const repos = Array.from({ length: REPOS }, (_, i) => `bench/img-${i + 1}`);
    const base = randomBytes(OWN_LAYER);
    await Promise.all(repos.flatMap((repository) => Array.from({ length: TAGS }, (_, t) => limit(async () => {
      const repo = { registry: src.host, repository };
      const children = [];
      for (const arch of ['amd64', 'arm64']) children.push(await pushImage(client, repo, [base, randomBytes(OWN_LAYER)], arch));
      const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: children }));
      await client.putManifest(repo, `1.${t}`, index, OCI_INDEX);
    }))));
    console.log(`\nseeded ${REPOS} repositories x ${TAGS} tags in ${((performance.now() - t0) / 1000).toFixed(1)}s`);
    const yaml = join(dir, 'mirror.yaml');
    writeFileSync(yaml, `tasks:\n  - name: bench\n    source: ${src.host}\n    target: ${dst.host}/mirror\n    images:\n${repos.map((r) => `      - { from: ${r} }`).join('\n')}\n`);
    const skopeoYaml = join(dir, 'skopeo.yaml');
    writeFileSync(skopeoYaml, `${src.host}:\n  tls-verify: false\n  images:\n${repos.map((r) => `    ${r}: [${Array.from({ length: TAGS }, (_, t) => `'1.${t}'`).join(', ')}]`).join('\n')}\n`);
    const rows2: string[][] = [];
    const row = async (tool: string, runName: string, registries: TestRegistry[], cmd: string, args: string[], env?: NodeJS.ProcessEnv) => {
      const done = counted(registries);
      const p = await measured(cmd, args, env);
      const c = await done();
      rows2.push([tool, runName, `${(p.ms / 1000).toFixed(2)} s`, `${p.peakMb.toFixed(0)} MB`, String(c.total), methods(c)]);
      return p;
    };
    const state = join(dir, 'state-20x5.json');
    const dArgs = [DOSYNC[1], 'mirror', '-c', yaml, '--once', '--state', state, '--log-format', 'json'];
    const dFull = await row('dosync mirror', 'empty target', [src, dst], DOSYNC[0], dArgs);
    await row('dosync mirror', 'no-op', [src, dst], DOSYNC[0], dArgs);
    const sArgs = ['sync', '--all', '--preserve-digests', '--src', 'yaml', '--dest', 'docker', '--dest-tls-verify=false', skopeoYaml, `${forSkopeo.host}/mirror`];
    const sEnv = skopeoEnv('sync');
    const sFull = await row('skopeo sync', 'empty target', [src, forSkopeo], 'skopeo', sArgs, sEnv);
    await row('skopeo sync', 'no-op', [src, forSkopeo], 'skopeo', sArgs, sEnv);
    for (const repository of repos) {
      for (let t = 0; t < TAGS; t++) {
        const want = (await client.headManifest({ registry: src.host, repository }, `1.${t}`))!.digest;
        for (const [target, name] of [[dst, `mirror/${repository}`], [forSkopeo, `mirror/${repository.split('/').pop()}`]] as const) {
          const got = (await client.headManifest({ registry: target.host, repository: name }, `1.${t}`))?.digest;
          if (got !== want) throw new Error(`${target.host}/${name}:1.${t} is ${got}, source is ${want}`);
        }
      }
    }
    console.log(`\n2. ${REPOS} repositories x ${TAGS} tags (multi-arch), processes; requests from the registries' access logs; load average ${load()}\n`);
    console.log(table(['tool', 'run', 'time', 'peak RSS', 'requests', 'by method'], rows2));
    console.log(`\ndosync/skopeo time on the empty target: ${(dFull.ms / sFull.ms).toFixed(2)}x; every target tag has the source's digest`);
  } finally {
    await Promise.all([src.stop(), dst.stop(), forSkopeo.stop()]);
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
