/**
 * Start-up cost (issue 7): each command loads only what it uses. The built CLI runs under a preload that
 * records every module the process loads (test/helpers/trace-loads.mjs); the bundle's chunks say which
 * packages they hold in esbuild's `// node_modules/<pkg>/...` comments.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ComposeProject, REGISTRY, ROOT, dosync, pushImage, unique } from '../helpers/docker.js';

interface Loaded { files: string[]; packages: Set<string> }

async function traced(args: string[], env: NodeJS.ProcessEnv = {}, cwd?: string): Promise<Loaded & { code: number; out: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'dosync-trace-'));
  try {
    const out = join(dir, 'loads.json');
    const r = await dosync(args, { cwd, env: { ...env, TRACE_LOADS_OUT: out, NODE_OPTIONS: `--import ${join(ROOT, 'test/helpers/trace-loads.mjs')}` } });
    const { esm, cjs } = JSON.parse(await readFile(out, 'utf8')) as { esm: string[]; cjs: string[] };
    const files = [...esm.filter((u) => u.startsWith('file:')).map((u) => fileURLToPath(u)), ...cjs];
    const packages = new Set<string>();
    for (const f of files) {
      const inNodeModules = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(f);
      if (inNodeModules) packages.add(inNodeModules[1]);
      else if (f.startsWith(join(ROOT, 'dist'))) {
        // A bundled chunk: the packages whose code it carries.
        for (const m of (await readFile(f, 'utf8')).matchAll(/^\/\/ node_modules\/((?:@[^/]+\/)?[^/]+)\//gm)) packages.add(m[1]);
      }
    }
    return { files, packages, code: r.code, out: r.stdout + r.stderr };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const CLOUD_SDKS = ['@aws-sdk/client-ecr', 'google-auth-library', '@azure/identity'];
const NEVER_WITH_A_LOCAL_SOCKET = ['ssh2', '@grpc/grpc-js', 'protobufjs'];

test('--version loads the bundle entry and commander only: no docker client, HTTP client, YAML, schema or logger code', async () => {
  const r = await traced(['--version']);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /^\d+\.\d+\.\d+/);
  assert.ok(r.files.some((f) => f === join(ROOT, 'dist/dosync.js')), 'runs the bundle');
  assert.deepEqual([...r.packages].sort(), ['commander']);
});

test('check on a stack of the local registry loads no cloud SDK, no ssh2 and no gRPC', async () => {
  const repo = unique('it/startup');
  await pushImage(repo, '1.0.0', { version: '1.0.0' });
  const p = await ComposeProject.create(`services:\n  web:\n    image: ${REGISTRY}/${repo}:1.0.0\n`);
  try {
    const r = await traced(['check', '-f', p.file, '--json']);
    assert.equal(r.code, 0, r.out);
    for (const pkg of ['dockerode', 'undici', 'yaml']) assert.ok(r.packages.has(pkg), `${pkg} is used by check: ${[...r.packages].join(' ')}`);
    for (const pkg of [...CLOUD_SDKS, ...NEVER_WITH_A_LOCAL_SOCKET]) assert.ok(!r.packages.has(pkg), `${pkg} was loaded`);
  } finally {
    await p.destroy();
  }
});

test('an unreachable ECR host is one error line, and the AWS SDK is not even loaded: credentials are fetched only when a registry asks for them', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dosync-ecr-'));
  try {
    const file = join(dir, 'docker-compose.yml');
    await writeFile(file, 'services:\n  api:\n    image: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/api:1.0.0\n');
    const r = await traced(['check', '-f', file, '-p', unique('ecrstartup')], {
      AWS_ACCESS_KEY_ID: 'AKIAEXAMPLEEXAMPLE00', AWS_SECRET_ACCESS_KEY: 'not-a-real-secret', AWS_EC2_METADATA_DISABLED: 'true',
    });
    assert.equal(r.code, 2, r.out);
    assert.match(r.out, /api .*error: .*cannot reach 123456789012\.dkr\.ecr\.eu-west-1\.amazonaws\.com/);
    for (const pkg of [...CLOUD_SDKS, ...NEVER_WITH_A_LOCAL_SOCKET]) assert.ok(!r.packages.has(pkg), `${pkg} was loaded`);
    assert.doesNotMatch(r.out, /not-a-real-secret/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
