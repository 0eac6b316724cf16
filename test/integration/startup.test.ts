/**
 * Start-up cost (issue 7): each command loads only what it uses. The built CLI is one CommonJS bundle
 * whose modules run on first import; the process runs with V8 coverage (NODE_V8_COVERAGE), and a package
 * counts as loaded when a function of its part of the bundle ran (esbuild marks each module's start with a
 * `// node_modules/<pkg>/...` comment) or, for packages left outside the bundle, when its files ran.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ComposeProject, REGISTRY, ROOT, dosync, pushImage, unique } from '../helpers/docker.js';
// @ts-expect-error plain JavaScript next to bin/dosync.js, without types
import { WRAPPER_START } from '../../bin/load-bundle.js';

interface Loaded { files: string[]; packages: Set<string> }
interface ScriptCoverage { url: string; functions: Array<{ ranges: Array<{ startOffset: number; count: number }> }> }

const BUNDLE = join(ROOT, 'dist/dosync.cjs');

/** Which package's module each offset of the bundle belongs to ('' for dosync's own code). */
async function bundleRegions(): Promise<(offset: number) => string | undefined> {
  const source = await readFile(BUNDLE, 'utf8');
  const starts = [...source.matchAll(/^\/\/ (node_modules\/((?:@[^/]+\/)?[^/]+)\/|src\/)/gm)].map((m) => ({ at: m.index!, pkg: m[2] ?? '' }));
  return (offset) => {
    let found: string | undefined;
    for (const s of starts) {
      if (s.at > offset) break;
      found = s.pkg;
    }
    return found;
  };
}

async function traced(args: string[], env: NodeJS.ProcessEnv = {}, cwd?: string): Promise<Loaded & { code: number; out: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'dosync-trace-'));
  try {
    const r = await dosync(args, { cwd, env: { ...env, NODE_V8_COVERAGE: dir } });
    const regionOf = await bundleRegions();
    const files: string[] = [];
    const packages = new Set<string>();
    for (const name of await readdir(dir)) {
      const { result } = JSON.parse(await readFile(join(dir, name), 'utf8')) as { result: ScriptCoverage[] };
      for (const script of result) {
        const file = script.url.startsWith('file:') ? fileURLToPath(script.url) : script.url;
        files.push(file);
        const inNodeModules = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(file);
        if (inNodeModules) packages.add(inNodeModules[1]);
        if (file !== BUNDLE) continue;
        for (const fn of script.functions) {
          const own = fn.ranges[0];
          const pkg = own && own.count > 0 ? regionOf(own.startOffset - WRAPPER_START.length) : undefined;
          if (pkg) packages.add(pkg);
        }
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
  assert.ok(r.files.includes(BUNDLE), 'runs the bundle');
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

test('sync --once without --listen or email loads no mailer, no metrics library, no pretty printer and no cloud SDK', async () => {
  const repo = unique('it/startup');
  await pushImage(repo, '1.0.0', { version: '1.0.0' });
  const p = await ComposeProject.create(`services:\n  web:\n    image: ${REGISTRY}/${repo}:1.0.0\n`);
  try {
    const r = await traced(['sync', '-f', p.file, '-p', p.name, '--once', '--dry-run']);
    assert.equal(r.code, 0, r.out);
    for (const pkg of ['dockerode', 'undici', 'yaml', 'pino']) assert.ok(r.packages.has(pkg), `${pkg} is used by sync: ${[...r.packages].join(' ')}`);
    for (const pkg of ['nodemailer', 'prom-client', 'pino-pretty', ...CLOUD_SDKS, ...NEVER_WITH_A_LOCAL_SOCKET]) assert.ok(!r.packages.has(pkg), `${pkg} was loaded`);
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
    assert.match(r.out, /api\b.*error: .*cannot reach 123456789012\.dkr\.ecr\.eu-west-1\.amazonaws\.com/);
    for (const pkg of [...CLOUD_SDKS, ...NEVER_WITH_A_LOCAL_SOCKET]) assert.ok(!r.packages.has(pkg), `${pkg} was loaded`);
    assert.doesNotMatch(r.out, /not-a-real-secret/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
