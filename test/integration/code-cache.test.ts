// bin/load-bundle.js: the bundle is compiled with a V8 code cache that the first run of a command
// writes and later runs reuse. Runs against a copy of the built bundle in a temp dir (the real dist/
// is shared by the whole suite); only the bundle's entry is evaluated, which needs no other file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, copyFile, mkdir, mkdtemp, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { ROOT } from '../helpers/docker.js';
import { setupClient, startRegistry } from '../helpers/mirror-registries.js';
import { pushTinyImage } from '../helpers/tiny-images.js';

const exec = promisify(execFile);

async function copyOfDist(): Promise<{ root: string; dist: string }> {
  const root = await mkdtemp(join(tmpdir(), 'dosync-cache-'));
  const dist = join(root, 'dist');
  await mkdir(dist);
  for (const f of ['dosync.cjs', 'build.json']) await copyFile(join(ROOT, 'dist', f), join(dist, f));
  return { root, dist };
}

/** Loads the bundle in a fresh node as bin/dosync.js does; prints what became of the cache. */
async function load(dist: string, command: string, env: NodeJS.ProcessEnv = {}, as?: { uid: number; gid: number }, exitCode = 0, after = ''): Promise<string> {
  const script = `const { loadBundle } = await import(${JSON.stringify(pathToFileURL(join(ROOT, 'bin/load-bundle.js')).href)});
    const r = loadBundle(new URL(${JSON.stringify(pathToFileURL(dist).href + '/')}), ${JSON.stringify(command)});
    if (typeof r.exports.main !== 'function') throw new Error('no main');
    ${after}
    console.log(r.cache);
    process.exitCode = ${exitCode};`;
  const r = await exec(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, ...env }, ...as }).catch((err: { code?: number; stdout?: string }) => {
    if (err.code === exitCode) return { stdout: err.stdout ?? '' };
    throw err;
  });
  return r.stdout.trim();
}

const cacheFiles = async (dir: string) => (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.cache')).sort();

test('the first run of a command writes its cache, the next ones use it; each command has its own', async () => {
  const { root, dist } = await copyOfDist();
  try {
    assert.equal(await load(dist, 'check'), 'missing');
    const written = await cacheFiles(join(dist, '.cache'));
    assert.equal(written.length, 1);
    assert.match(written[0], new RegExp(`^dosync-[0-9a-f]{16}-node${process.versions.node.replace(/\./g, '\\.')}-${process.arch}-check\\.cache$`));
    assert.equal(await load(dist, 'check'), 'accepted');
    assert.equal(await load(dist, 'sync'), 'missing');
    assert.equal(await load(dist, '--version'), 'missing');
    assert.deepEqual((await cacheFiles(join(dist, '.cache'))).map((f) => f.replace(/^.*-/, '')), ['check.cache', 'cli.cache', 'sync.cache']);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('a run that fails writes no cache (it may have stopped before the command\'s code ran); check\'s exit 10 does', async () => {
  const { root, dist } = await copyOfDist();
  try {
    assert.equal(await load(dist, 'check', {}, undefined, 2), 'missing');
    assert.deepEqual(await cacheFiles(join(dist, '.cache')), []);
    assert.equal(await load(dist, 'check', {}, undefined, 10), 'missing');
    assert.equal((await cacheFiles(join(dist, '.cache'))).length, 1);
    assert.equal(await load(dist, 'check'), 'accepted');
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('a damaged cache is refused by V8 and rewritten; the program still loads', async () => {
  const { root, dist } = await copyOfDist();
  try {
    await load(dist, 'check');
    const [name] = await cacheFiles(join(dist, '.cache'));
    await writeFile(join(dist, '.cache', name), Buffer.alloc(4096, 7));
    assert.equal(await load(dist, 'check'), 'rejected');
    assert.equal(await load(dist, 'check'), 'accepted');
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('a dist/ the user cannot write puts the cache under XDG_CACHE_HOME; DOSYNC_CODE_CACHE=0 writes none', async () => {
  const { root, dist } = await copyOfDist();
  const xdg = join(root, 'xdg');
  try {
    // Root may write anywhere: as root, the loads run as nobody, for whom dist/ (root's, 755) is read-only.
    const as = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : undefined;
    await mkdir(join(dist, '.cache'));
    await chmod(join(dist, '.cache'), 0o555);
    await mkdir(xdg, { mode: 0o777 });
    await chmod(xdg, 0o777);
    await chmod(root, 0o755);
    const env = { XDG_CACHE_HOME: xdg, HOME: xdg };
    assert.equal(await load(dist, 'check', env, as), 'missing');
    assert.deepEqual(await cacheFiles(join(dist, '.cache')), []);
    assert.equal((await cacheFiles(join(xdg, 'dosync'))).length, 1);
    assert.equal(await load(dist, 'check', env, as), 'accepted');
    assert.equal(await load(dist, 'policy', { ...env, DOSYNC_CODE_CACHE: '0' }, as), 'off');
    assert.equal((await cacheFiles(join(xdg, 'dosync'))).length, 1);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('writing a cache removes the caches of other builds', async () => {
  const { root, dist } = await copyOfDist();
  try {
    await mkdir(join(dist, '.cache'));
    const stale = `dosync-0123456789abcdef-node${process.versions.node}-${process.arch}-check.cache`;
    await writeFile(join(dist, '.cache', stale), 'old');
    await load(dist, 'check');
    const left = await cacheFiles(join(dist, '.cache'));
    assert.equal(left.length, 1);
    assert.notEqual(left[0], stale);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('a V8 flag the program sets while it runs (gc exposed for the GC pacer) does not make the next run refuse the cache', async () => {
  const { root, dist } = await copyOfDist();
  try {
    // What v8Gc (src/util/idle-gc.ts) does for the GC pacer and the idle collections, the first time.
    const exposeGc = `(await import('node:v8')).default.setFlagsFromString('--expose-gc');`;
    assert.equal(await load(dist, 'mirror', {}, undefined, 0, exposeGc), 'missing');
    assert.equal(await load(dist, 'mirror', {}, undefined, 0, exposeGc), 'accepted');
    assert.equal(await load(dist, 'mirror'), 'accepted');
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('`dosync mirror --once` streaming a blob writes its cache once: the next runs use it and leave it as it is', async () => {
  const { root, dist } = await copyOfDist();
  const src = await startRegistry();
  const dst = await startRegistry();
  try {
    await mkdir(join(root, 'bin'));
    for (const f of ['dosync.js', 'load-bundle.js']) await copyFile(join(ROOT, 'bin', f), join(root, 'bin', f));
    // The packages the bundle leaves outside it resolve from the copy as from the checkout.
    await symlink(join(ROOT, 'node_modules'), join(root, 'node_modules'));
    await writeFile(join(root, 'package.json'), '{"type":"module"}');
    // A layer of 6 MiB: the copy goes through the GC pacer, which exposes gc on its first collection (every 2 MiB).
    const client = setupClient(src);
    const { layer } = await pushTinyImage(client, { registry: src.host, repository: 'cache/big' }, 'v1', 6 * 1024 * 1024);
    const mirror = (n: number) => exec(process.execPath, [join(root, 'bin/dosync.js'), 'mirror', '--source', `${src.host}/cache/big`, '--target', `${dst.host}/copy/r${n}`, '--tags', 'v1', '--once', '--state', join(root, `state-${n}.json`)]);
    await mirror(1);
    const [name, ...others] = (await cacheFiles(join(dist, '.cache'))).filter((f) => f.endsWith('-mirror.cache'));
    assert.ok(name, 'the first run wrote a mirror cache');
    assert.deepEqual(others, []);
    const first = await stat(join(dist, '.cache', name));
    for (const n of [2, 3]) {
      await mirror(n);
      assert.equal((await client.headBlob({ registry: dst.host, repository: `copy/r${n}` }, layer.digest)), layer.size, `run ${n} copied the layer`);
      const now = await stat(join(dist, '.cache', name));
      // Rewritten means refused: a cache is written (to a new file, renamed over) only when missing or refused.
      assert.deepEqual([now.ino, now.mtimeMs], [first.ino, first.mtimeMs], `run ${n} used the cache the first one wrote`);
    }
  } finally {
    await Promise.all([src.stop(), dst.stop()]);
    await rm(root, { recursive: true, force: true });
  }
});
