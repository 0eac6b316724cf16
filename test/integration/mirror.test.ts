/**
 * `dosync mirror` against real CNCF registries started here on free loopback ports: an anonymous
 * source and an htpasswd-protected target (plus throw-away ones for a crash and for chunked uploads).
 * The multi-platform image is a real OCI index over two images docker built and pushed.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { Registry } from 'prom-client';
import pLimit from 'p-limit';
import { RegistryClient } from '../../src/registry/client.js';
import { createLogger } from '../../src/util/logger.js';
import { RegistryError } from '../../src/util/errors.js';
import { createMirrorMetrics } from '../../src/mirror/metrics.js';
import { MirrorState, createMirrorRuntime, oneShotTask, parseMirrorConfig, runTask, type MirrorTask, type OneShotFlags } from '../../src/mirror/index.js';
import { run } from '../helpers/registry-images.js';
import { ROOT } from '../helpers/docker.js';
import { startTokenAuthRegistry, startTokenServer } from '../helpers/token-server.js';
import { pushMultiPlatform, setupClient, startRegistry, type MultiPlatformImage, type TestRegistry } from '../helpers/mirror-registries.js';

const USER = 'mirror-user';
const PASSWORD = 'mirr0r-s3cret';
const nonce = `m${process.pid.toString(36)}${Date.now().toString(36)}`;

let src: TestRegistry;
let dst: TestRegistry;
let web: MultiPlatformImage;
const logLines: string[] = [];

function logger() {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logLines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  return createLogger({ verbose: true, destination: sink });
}

function mirrorClient(): RegistryClient {
  return new RegistryClient({ credentials: async (host) => (host === dst.host ? { username: USER, password: PASSWORD } : undefined) });
}

function task(flags: Partial<OneShotFlags> & { source: string; target: string }): MirrorTask {
  return oneShotTask(flags);
}

async function tagsOf(client: RegistryClient, registry: string, repository: string): Promise<string[]> {
  return [...(await client.listTags({ registry, repository }))].sort();
}

before(async () => {
  src = await startRegistry();
  dst = await startRegistry({ auth: { username: USER, password: PASSWORD } });
  web = await pushMultiPlatform(src, 'app/web', '1.0.0', `${nonce}a`);
});

after(async () => {
  await src?.stop();
  await dst?.stop();
});

describe('copying a multi-platform index', () => {
  const client = mirrorClient();
  const state = new MirrorState(client);
  // Request counts of the copy itself: the referrers lookups (a tag listing per image) are counted in mirror-round2.test.ts.
  const oneTag = () => task({ source: `${src.host}/app/web`, target: `${dst.host}/mirror/web`, tags: '1.0.0', referrers: false });

  test('the target gets the index byte-exact: same digest, every child, and docker pulls it', async () => {
    const s = await runTask(oneTag(), { client, state, logger: logger() });
    assert.equal(s.failed, 0, JSON.stringify(s.items));
    assert.equal(s.copied, 1);
    assert.equal(s.items[0]!.targetDigest, web.indexDigest);
    const target = { registry: dst.host, repository: 'mirror/web' };
    const head = await client.headManifest(target, '1.0.0');
    assert.equal(head?.digest, web.indexDigest);
    assert.equal(head?.mediaType, 'application/vnd.oci.image.index.v1+json');
    for (const child of Object.values(web.children)) assert.equal((await client.headManifest(target, child))?.digest, child);
    // Two images on one base layer: the shared layer went up once, plus two configs.
    assert.equal(s.blobs.uploaded, 3);
    assert.equal(s.manifestsPushed, 3);
    assert.ok(s.bytes > 1_000_000);

    const config = mkdtempSync(join(tmpdir(), 'dosync-mirror-docker-'));
    const env = { ...process.env, DOCKER_CONFIG: config };
    const ref = `${dst.host}/mirror/web:1.0.0`;
    try {
      await run('docker', ['login', dst.host, '-u', USER, '--password-stdin'], { input: PASSWORD, env });
      await run('docker', ['pull', '-q', ref], { env });
      const digests = JSON.parse(await run('docker', ['image', 'inspect', '--format', '{{json .RepoDigests}}', ref])) as string[];
      assert.ok(digests.includes(`${dst.host}/mirror/web@${web.indexDigest}`), digests.join(', '));
    } finally {
      await run('docker', ['rmi', ref]).catch(() => undefined);
      rmSync(config, { recursive: true, force: true });
    }
  });

  test('a second run copies nothing and sends only two HEADs', async () => {
    const before = client.stats.requests;
    const s = await runTask(oneTag(), { client, state, logger: logger() });
    assert.equal(s.copied, 0);
    assert.equal(s.skipped, 1);
    assert.deepEqual(s.requests, { total: 2, byMethod: { HEAD: 2 } });
    assert.equal(client.stats.requests - before, 2);
  });

  test('a fresh process (new client, no caches) also only pings and HEADs', async () => {
    const fresh = mirrorClient();
    const s = await runTask(oneTag(), { client: fresh, state: new MirrorState(fresh), logger: logger() });
    assert.equal(s.skipped, 1);
    assert.deepEqual(fresh.stats.byKind, { ping: 2, token: 0, tags: 0, manifest: 2, other: 0 });
    assert.deepEqual(fresh.stats.byMethod, { GET: 2, HEAD: 2 });
  });

  test('a mutable tag is copied again when, and only when, its digest changed', async () => {
    const setup = setupClient(src);
    const first = await setup.getManifest(web.repo, web.indexDigest);
    await setup.putManifest(web.repo, 'latest', first.bytes, first.mediaType);
    const latest = () => task({ source: `${src.host}/app/web`, target: `${dst.host}/mirror/web`, tags: 'latest', referrers: false });
    let s = await runTask(latest(), { client, state, logger: logger() });
    assert.equal(s.copied, 1);
    // Same digest as 1.0.0, whose children and blobs are there: only the tag is new.
    assert.equal(s.blobs.uploaded, 0);
    assert.deepEqual(s.requests.byMethod, { HEAD: 4, GET: 1, PUT: 1 });

    const moved = await pushMultiPlatform(src, 'app/web', 'latest', `${nonce}b`, setup);
    assert.notEqual(moved.indexDigest, web.indexDigest);
    s = await runTask(latest(), { client, state, logger: logger() });
    assert.equal(s.copied, 1);
    assert.equal(s.items[0]!.targetDigest, moved.indexDigest);
    assert.equal(s.items[0]!.note, `target has ${web.indexDigest}`);
    assert.equal(s.blobs.uploaded, 2, 'two new configs; the base layer is already there');
    assert.equal((await client.headManifest({ registry: dst.host, repository: 'mirror/web' }, 'latest'))?.digest, moved.indexDigest);

    s = await runTask(latest(), { client, state, logger: logger() });
    assert.equal(s.skipped, 1);
  });

  test('the password never reaches the log', () => {
    assert.ok(logLines.length > 0);
    for (const line of logLines) assert.ok(!line.includes(PASSWORD), line);
  });
});

describe('mirror.yaml tasks', () => {
  test('re-rooting and renaming, credentials from the registry section, mounts between target repositories', async () => {
    const config = parseMirrorConfig(`
registry:
  custom:
    url: http://${dst.host}
    insecure: true
    username: ${USER}
    password: \${MIRROR_TEST_PASSWORD}
tasks:
  - name: reroot
    source: ${src.host}/app
    target: ${dst.host}/team/mirror
    parallel: 1
    images:
      - from: web
        tags: ['1.0.0']
      - from: web
        to: 'regex:^(.*)$,renamed-$1'
        tags: ['1.0.0']
`, 'mirror.yaml');
    const runtime = createMirrorRuntime(config, { env: { MIRROR_TEST_PASSWORD: PASSWORD, HOME: tmpdir() }, logger: logger() });
    const s = await runTask(config.tasks[0]!, { ...runtime, logger: logger() });
    assert.equal(s.failed, 0, JSON.stringify(s.items));
    assert.equal(s.copied, 2);
    const check = setupClient(dst);
    for (const repository of ['team/mirror/web', 'team/mirror/renamed-web']) {
      assert.equal((await check.headManifest({ registry: dst.host, repository }, '1.0.0'))?.digest, web.indexDigest, repository);
    }
    // The second repository got its blobs by mount from the first: no byte uploaded twice.
    assert.equal(s.blobs.uploaded, 3);
    assert.equal(s.blobs.mounted, 3);
  });

  test('tag filters: semver range ∪ include, minus exclude, latest N', async () => {
    const setup = setupClient(src);
    const child = await setup.getManifest(web.repo, web.children['linux/amd64']!);
    const tags = ['1.24.0', '1.25.0', '1.25.3', '1.26.0', '1.26.1-rc1', '2.0.0', 'stable', 'edge'];
    for (const t of tags) await setup.putManifest(web.repo, t, child.bytes, child.mediaType);
    const config = parseMirrorConfig(`
tasks:
  - source: ${src.host}
    target: ${dst.host}/filtered
    images:
      - from: app/web
        to: web
        tags: { semver: '>=1.25 <2', include: ['^stable$'], exclude: ['-rc'], latest: 2 }
`, 'mirror.yaml');
    const client = mirrorClient();
    const s = await runTask(config.tasks[0]!, { client, state: new MirrorState(client), logger: logger() });
    assert.equal(s.failed, 0, JSON.stringify(s.items));
    assert.deepEqual(await tagsOf(client, dst.host, 'filtered/web'), ['1.25.3', '1.26.0', 'stable']);
  });

  test('a platform subset pushes a new index of the chosen children only, says so, and is skipped when unchanged', async () => {
    const target = { registry: dst.host, repository: 'subset/web' };
    const make = () => task({ source: `${src.host}/app/web`, target: `${dst.host}/subset/web`, tags: '1.0.0', platforms: ['linux/arm64'], referrers: false });
    const client = mirrorClient();
    const state = new MirrorState(client);
    const s = await runTask(make(), { client, state, logger: logger() });
    assert.equal(s.copied, 1, JSON.stringify(s.items));
    const item = s.items[0]!;
    assert.notEqual(item.targetDigest, web.indexDigest);
    assert.equal(item.note, `platform subset: new index ${item.targetDigest} (source index ${web.indexDigest})`);
    const pushed = await client.getManifest(target, '1.0.0');
    assert.equal(pushed.digest, item.targetDigest);
    const doc = JSON.parse(pushed.bytes.toString()) as { manifests: Array<{ digest: string; platform: { architecture: string } }> };
    assert.deepEqual(doc.manifests.map((m) => [m.digest, m.platform.architecture]), [[web.children['linux/arm64'], 'arm64']]);
    assert.equal(await client.headManifest(target, web.children['linux/amd64']!), null, 'the amd64 image was not copied');

    const again = await runTask(make(), { client, state, logger: logger() });
    assert.equal(again.skipped, 1);
    assert.deepEqual(again.requests.byMethod, { HEAD: 2 });
    // After a restart the subset digest is recomputed from the source index: one GET, nothing pushed.
    const fresh = mirrorClient();
    const restarted = await runTask(make(), { client: fresh, state: new MirrorState(fresh), logger: logger() });
    assert.equal(restarted.skipped, 1);
    assert.equal(restarted.requests.byMethod.PUT, undefined);
  });

  test('a platform the source index does not have fails that image with a message naming what it has', async () => {
    const client = mirrorClient();
    const s = await runTask(task({ source: `${src.host}/app/web`, target: `${dst.host}/nosuch/web`, tags: '1.0.0', platforms: ['linux/s390x'] }), { client, state: new MirrorState(client), logger: logger() });
    assert.equal(s.failed, 1);
    assert.match(s.items[0]!.error!, /none of the platforms linux\/s390x is in the source index \(it has linux\/amd64, linux\/arm64\)/);
  });

  test('dry run: reports what would be copied, pushes nothing', async () => {
    const client = mirrorClient();
    const s = await runTask(task({ source: `${src.host}/app/web`, target: `${dst.host}/dry/web`, tags: '1.0.0,latest' }), { client, state: new MirrorState(client), logger: logger(), dryRun: true });
    assert.equal(s.planned, 2);
    assert.equal(s.copied, 0);
    assert.deepEqual(s.items.map((i) => i.note), ['missing on the target', 'missing on the target']);
    for (const m of ['PUT', 'POST', 'PATCH']) assert.equal(s.requests.byMethod[m], undefined, m);
    assert.equal(await client.headManifest({ registry: dst.host, repository: 'dry/web' }, '1.0.0'), null);
  });

  test('failures do not stop the others until maxErrors; then the cycle stops', async () => {
    const client = mirrorClient();
    const s = await runTask(task({ source: `${src.host}/app/web`, target: `${dst.host}/errors/web`, tags: 'nope-1,nope-2,nope-3,1.0.0', parallel: 1, maxErrors: 2 }), { client, state: new MirrorState(client), logger: logger() });
    assert.equal(s.failed, 2);
    assert.equal(s.aborted, true);
    assert.equal(s.copied, 0, 'nothing is started after maxErrors');
    assert.match(s.items[0]!.error!, /app\/web:nope-1: tag not found on the source \(HTTP 404\)/);

    const keepsGoing = await runTask(task({ source: `${src.host}/app/web`, target: `${dst.host}/errors/web`, tags: 'nope-1,1.0.0', parallel: 1, maxErrors: 5 }), { client, state: new MirrorState(client), logger: logger() });
    assert.equal(keepsGoing.failed, 1);
    assert.equal(keepsGoing.copied, 1);
    assert.equal(keepsGoing.aborted, false);
  });

  test('metrics count copied and failed tags and bytes', async () => {
    const registry = new Registry();
    const metrics = createMirrorMetrics(registry);
    const client = mirrorClient();
    await runTask(task({ source: `${src.host}/app/web`, target: `${dst.host}/metrics/web`, tags: '1.0.0,nope' }), { client, state: new MirrorState(client), logger: logger(), metrics });
    const text = await registry.metrics();
    assert.match(text, /dosync_mirror_images_total\{task="mirror",result="copied"\} 1/);
    assert.match(text, /dosync_mirror_images_total\{task="mirror",result="failed"\} 1/);
    assert.match(text, /dosync_mirror_errors_total\{task="mirror"\} 1/);
    assert.match(text, /dosync_mirror_bytes_total\{task="mirror"\} [1-9]\d{5,}/);
  });
});

describe('transfers', () => {
  test('within one registry, blobs are mounted across repositories instead of streamed', async () => {
    const client = new RegistryClient();
    const s = await runTask(task({ source: `${src.host}/app/web`, target: `${src.host}/copies/web`, tags: '1.0.0' }), { client, state: new MirrorState(client), logger: logger() });
    assert.equal(s.copied, 1, JSON.stringify(s.items));
    assert.equal(s.items[0]!.targetDigest, web.indexDigest);
    assert.equal(s.blobs.mounted, 3);
    assert.equal(s.blobs.uploaded, 0);
    assert.equal(s.bytes, 0);
  });

  test('a token-auth target: push scopes, and mounts with a token for both repositories', async () => {
    const tokens = await startTokenServer({ users: { [USER]: PASSWORD }, signing: 'x5c', alg: 'RS256' });
    const target = await startTokenAuthRegistry(tokens);
    try {
      const client = new RegistryClient({ credentials: async (host) => (host === target.host ? { username: USER, password: PASSWORD } : undefined) });
      const state = new MirrorState(client);
      const first = await runTask(task({ source: `${src.host}/app/web`, target: `${target.host}/tok/web`, tags: '1.0.0' }), { client, state, logger: logger() });
      assert.equal(first.copied, 1, JSON.stringify(first.items));
      assert.equal(first.items[0]!.targetDigest, web.indexDigest);
      const second = await runTask(task({ source: `${target.host}/tok/web`, target: `${target.host}/tok/copy`, tags: '1.0.0' }), { client, state, logger: logger() });
      assert.equal(second.copied, 1, JSON.stringify(second.items));
      assert.equal(second.blobs.mounted, 3);
      assert.equal(second.blobs.uploaded, 0);
      const scopes = tokens.requests.filter((r) => r.status === 200).map((r) => r.scopes.join(' '));
      assert.ok(scopes.includes('repository:tok/web:pull,push'), scopes.join(' | '));
      assert.ok(scopes.includes('repository:tok/copy:pull,push repository:tok/web:pull'), scopes.join(' | '));
      // One token per scope, reused for every request that needs it.
      assert.equal(new Set(scopes).size, scopes.length, scopes.join(' | '));
    } finally {
      await target.stop();
      await tokens.close();
    }
  });

  test('chunked uploads (PATCH pieces) give the same digests', async () => {
    const target = await startRegistry();
    try {
      const client = new RegistryClient();
      const t = task({ source: `${src.host}/app/web`, target: `${target.host}/chunked/web`, tags: '1.0.0', chunkSize: '256KiB' });
      const s = await runTask(t, { client, state: new MirrorState(client), logger: logger() });
      assert.equal(s.copied, 1, JSON.stringify(s.items));
      assert.equal(s.items[0]!.targetDigest, web.indexDigest);
      // The ~1 MB base layer takes at least four 256 KiB pieces.
      assert.ok((s.requests.byMethod.PATCH ?? 0) >= 4, JSON.stringify(s.requests));
      const layer = await client.openBlob({ registry: target.host, repository: 'chunked/web' }, (await baseLayer(client, target.host, 'chunked/web')));
      let n = 0;
      for await (const c of layer.stream) n += (c as Buffer).length;
      assert.ok(n > 1_000_000);
    } finally {
      await target.stop();
    }
  });

  test('bytes that do not hash to the digest are never stored, whole or chunked', async () => {
    const client = new RegistryClient();
    const repo = { registry: src.host, repository: 'verify/blob' };
    const good = Buffer.from('the real content '.repeat(20_000));
    const digest = `sha256:${createHash('sha256').update(good).digest('hex')}`;
    const bad = Buffer.from(good);
    bad[bad.length - 1] = 0x21;
    for (const chunkSize of [undefined, 64 * 1024]) {
      await assert.rejects(client.pushBlob(repo, digest, good.length, Readable.from([bad.subarray(0, 100_000), bad.subarray(100_000)]), { chunkSize }),
        (err: unknown) => err instanceof RegistryError && /hash to sha256:[0-9a-f]{64}, not sha256:/.test(err.message));
      assert.equal(await client.headBlob(repo, digest), null, `chunkSize ${chunkSize}`);
    }
    await assert.rejects(client.pushBlob(repo, digest, good.length, Readable.from([good.subarray(0, 1000)])), /sent 1000 bytes, its manifest declares/);
    assert.equal(await client.headBlob(repo, digest), null);
    assert.equal(await client.pushBlob(repo, digest, good.length, async () => Readable.from([good])), good.length);
    assert.equal(await client.headBlob(repo, digest), good.length);
  });

  test('a target killed mid-copy leaves no index pointing at missing children; the next run resumes and finishes', async () => {
    const target = await startRegistry();
    try {
      const client = new RegistryClient();
      let killing: Promise<void> | undefined;
      const state = new MirrorState(client, {
        streams: 1,
        onBlob: (e) => {
          if (e.outcome === 'uploaded' && !killing) killing = target.kill();
        },
      });
      const t = () => task({ source: `${src.host}/app/web`, target: `${target.host}/crash/web`, tags: '1.0.0', parallel: 1 });
      const failed = await runTask(t(), { client, state, logger: logger() });
      await killing;
      assert.equal(failed.failed, 1, JSON.stringify(failed.items));
      assert.equal(failed.copied, 0);
      assert.match(failed.items[0]!.error!, /cannot reach 127\.0\.0\.1:\d+|ECONNRE|socket|closed/i);

      await target.restart();
      const check = new RegistryClient();
      const repo = { registry: target.host, repository: 'crash/web' };
      assert.equal(await check.headManifest(repo, '1.0.0'), null, 'the index was never pushed');

      const resumed = new RegistryClient();
      const s = await runTask(t(), { client: resumed, state: new MirrorState(resumed), logger: logger() });
      assert.equal(s.copied, 1, JSON.stringify(s.items));
      assert.equal(s.items[0]!.targetDigest, web.indexDigest);
      // Three distinct blobs (two configs, one shared layer): what went up before the crash is not sent again.
      assert.ok(s.blobs.uploaded < 3 && s.blobs.present >= 1, `the blobs uploaded before the crash are reused: ${JSON.stringify(s.blobs)}`);
      assert.equal((await check.headManifest(repo, '1.0.0'))?.digest, web.indexDigest);
    } finally {
      await target.stop();
    }
  });

  test('a source repository with thousands of tags: the whole listing, a semver selection, only the chosen tags copied', async () => {
    const setup = setupClient(src);
    const many = { registry: src.host, repository: 'app/many' };
    const child = await setup.getManifest(web.repo, web.children['linux/amd64']!);
    const manifest = JSON.parse(child.bytes.toString()) as { config: { digest: string }; layers: Array<{ digest: string }> };
    for (const d of [manifest.config.digest, ...manifest.layers.map((l) => l.digest)]) {
      assert.deepEqual(await setup.mountBlob(many, d, 'app/web'), { mounted: true });
    }
    const tags = Array.from({ length: 2500 }, (_, i) => `1.${Math.floor(i / 100)}.${i % 100}`);
    const limit = pLimit(32);
    await Promise.all(tags.map((t) => limit(() => setup.putManifest(many, t, child.bytes, child.mediaType))));

    const client = mirrorClient();
    const t = task({ source: `${src.host}/app/many`, target: `${dst.host}/many/app`, tags: 'semver:>=1.24.90', latest: 5 });
    const s = await runTask(t, { client, state: new MirrorState(client), logger: logger() });
    assert.equal(s.failed, 0, JSON.stringify(s.items));
    assert.equal((await client.listTags(many)).length, 2500);
    assert.deepEqual(await tagsOf(client, dst.host, 'many/app'), ['1.24.95', '1.24.96', '1.24.97', '1.24.98', '1.24.99']);
  });
});

describe('dosync mirror (CLI)', () => {
  // The CLI keeps its state file under XDG_STATE_HOME: a directory of the test's own, not the home directory.
  const cliState = mkdtempSync(join(tmpdir(), 'dosync-mirror-cli-state-'));
  after(() => rmSync(cliState, { recursive: true, force: true }));
  function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test/helpers/mirror-cli.ts'), 'mirror', ...args], {
        cwd: ROOT,
        env: { ...process.env, DOSYNC_LOG_FORMAT: 'json', XDG_STATE_HOME: cliState, ...env },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('exit', (code) => resolve({ code, stdout, stderr }));
    });
  }

  test('-c mirror.yaml --once copies and exits 0; --dry-run then has nothing to do', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dosync-mirror-cli-'));
    try {
      const file = join(dir, 'mirror.yaml');
      writeFileSync(file, `
registry:
  custom: { url: 'http://${dst.host}', insecure: true, username: ${USER}, password: '\${PASS}' }
tasks:
  - name: cli
    source: ${src.host}/app
    target: ${dst.host}/cli
    images: [{ from: web, tags: ['1.0.0'] }]
`);
      const dry = await cli(['-c', file, '--dry-run'], { PASS: PASSWORD });
      assert.equal(dry.code, 0, dry.stderr + dry.stdout);
      assert.match(dry.stdout, /would copy/);
      const once = await cli(['-c', file, '--once'], { PASS: PASSWORD });
      assert.equal(once.code, 0, once.stderr + once.stdout);
      assert.match(once.stdout, /cli: copied 1, up to date 0, failed 0/);
      assert.ok(!once.stdout.includes(PASSWORD));
      const again = await cli(['-c', file, '--once'], { PASS: PASSWORD });
      // GET 4: the two pings, the source's tag list (where referrer tags would be) and one probe of its referrers API.
      assert.match(again.stdout, /cli: copied 0, up to date 1, failed 0; 0 B in 0 blobs uploaded \(0 mounted, 0 already there\); 6 requests \(GET 4, HEAD 2\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('one-shot flags; a failed tag exits 1; mistakes are one-line ConfigErrors with exit 2', async () => {
    const failed = await cli(['--source', `${src.host}/app/web`, '--target', `${src.host}/cli-flags/web`, '--tags', '1.0.0,missing-tag', '--once']);
    assert.equal(failed.code, 1, failed.stderr);
    assert.match(failed.stdout, /copied 1, up to date 0, failed 1/);

    const cases: Array<[string[], RegExp]> = [
      [[], /^dosync: nothing to mirror: pass -c mirror\.yaml, or --source and --target\n$/],
      [['--source', 'nginx'], /^dosync: --source and --target go together\n$/],
      [['-c', 'mirror.yaml', '--tags', '1.0'], /^dosync: --tags, --exclude, --platform and the other one-shot flags go with --source\/--target; with -c set them in the file\n$/],
      [['-c', 'mirror.yaml', '--source', 'nginx'], /^dosync: give either -c mirror\.yaml or --source\/--target, not both\n$/],
      [['-c', '/nonexistent/mirror.yaml'], /^dosync: cannot read \/nonexistent\/mirror\.yaml: no such file; fix -c\/--config\n$/],
      [['--source', 'nginx', '--target', `${src.host}/x`, '--platform', 'amd64'], /^dosync: --platform: "amd64" is not a platform; write os\/architecture\[\/variant\]/],
      [['--source', 'nginx', '--target', `${src.host}/x`, '--latest', 'two'], /^dosync: --latest: "two" is not a whole number of at least 1\n$/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
  });
});

async function baseLayer(client: RegistryClient, registry: string, repository: string): Promise<string> {
  const child = await client.getManifest({ registry, repository }, web.children['linux/amd64']!);
  return (JSON.parse(child.bytes.toString()) as { layers: Array<{ digest: string }> }).layers[0]!.digest;
}
