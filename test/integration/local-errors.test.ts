/**
 * Issue 15, findings 3-6: a local error (disk full, read-only, an unwritable backup dir, a file that is not
 * UTF-8) changes nothing, says so in one line, and is retried: the tag is never remembered as failed. Backups
 * are whole or absent, the backup of the current update survives pruning, and the state dir is private even
 * under umask 000. Disk full is a small tmpfs, read-only a read-only mount (the tests run as root and
 * unmount what they mount); the updates run on the real engine and registry.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ComposeProject, REGISTRY, ROOT, dosync, logLines, pushImage, sh, unique, type CliResult } from '../helpers/docker.js';

const repo = unique('i15-local/app');
const IMAGE = `${REGISTRY}/${repo}`;
const projects: ComposeProject[] = [];
const mounts: string[] = [];
const dirs: string[] = [];

before(async () => {
  for (const v of ['1.0.0', '1.1.0']) await pushImage(repo, v, { version: v, healthcheck: true });
});
after(async () => {
  // Projects first: their files (and the invariant destroy checks) live on the mounts.
  // A project dir that is itself a mount point cannot be removed (EBUSY) until it is unmounted, below.
  // Every project is removed even when one fails its invariant check; the first failure is reported after.
  const failures: unknown[] = [];
  for (const p of projects) await p.destroy().catch((err: NodeJS.ErrnoException) => { if (err.code !== 'EBUSY') failures.push(err); });
  for (const m of mounts.reverse()) await sh('umount', ['-l', m]).catch(() => undefined);
  for (const p of projects) await rm(p.dir, { recursive: true, force: true });
  for (const d of dirs) await rm(d, { recursive: true, force: true });
  if (failures.length > 0) throw failures[0];
});

async function mountTmpfs(dir: string, size: string, extra = ''): Promise<void> {
  await sh('mount', ['-t', 'tmpfs', '-o', `size=${size}${extra}`, 'tmpfs', dir]);
  mounts.push(dir);
}

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'i15-local-'));
  dirs.push(d);
  return d;
}

const SYNC = ['--once', '--no-prune', '--health-stable', '1s', '--health-timeout', '120s'];

async function sync(p: ComposeProject, extra: string[] = []): Promise<CliResult> {
  return dosync(['sync', '-f', p.file, ...extra, ...SYNC]);
}

/** The app service's error lines of a run. */
function errors(r: CliResult): string[] {
  return logLines(r.stdout).filter((l) => l.service === 'app' && l.level === 50).map((l) => String(l.msg));
}

async function failedTags(stateDir: string, p: ComposeProject): Promise<unknown[]> {
  const doc = JSON.parse(await readFile(join(stateDir, 'state.json'), 'utf8')) as { services: Record<string, { failed?: Array<{ tag: string }> }> };
  return (doc.services[`${p.name}/app`]?.failed ?? []).map((f) => f.tag);
}

async function assertInvariant(p: ComposeProject): Promise<void> {
  const config = JSON.parse(await p.compose(['config', '--format', 'json'])) as { services: Record<string, { image?: string }> };
  for (const id of await p.containers('app')) {
    assert.equal(await sh('docker', ['inspect', '-f', '{{.Config.Image}}', id]), config.services.app.image);
  }
}

const stackText = (padding = 0) => `services:\n  app:\n    image: ${IMAGE}:1.0.0\n${'# padding to make the file large\n'.repeat(padding)}`;

describe('local errors change nothing and are retried (issue 15)', () => {
  test('disk full while the backup is written: no partial backup, nothing changed, the tag not marked; once there is space the update goes through', async () => {
    const p = await ComposeProject.create(stackText(), 'i15-enospc');
    projects.push(p);
    // 16 blocks of 4 KiB; a 40 KB file takes 10, leaving 24,576 bytes: the partial backup of the issue.
    await mountTmpfs(p.dir, '64k');
    const text = stackText(1250).slice(0, 40_000);
    await writeFile(p.file, text);
    const stateDir = await tempDir();
    await p.compose(['up', '-d', '--wait']);

    const full = await sync(p, ['--state-dir', stateDir]);
    assert.equal(full.code, 1, full.stdout + full.stderr);
    assert.equal(errors(full).length, 1);
    assert.match(errors(full)[0], /^update failed: disk full writing the backup of docker-compose\.yml: free space; nothing was changed \(backup dir .*\/backups\)$/);
    assert.deepEqual(await readdir(join(p.dir, 'backups')), [], 'no partial .bak and no temp file');
    assert.equal(await readFile(p.file, 'utf8'), text);
    assert.deepEqual(await failedTags(stateDir, p), []);
    assert.deepEqual(await p.versions('app'), ['1.0.0']);
    await assertInvariant(p);

    await sh('mount', ['-o', 'remount,size=1m', p.dir]);
    const fixed = await sync(p, ['--state-dir', stateDir]);
    assert.equal(fixed.code, 0, fixed.stdout + fixed.stderr);
    assert.equal(await readFile(p.file, 'utf8'), text.replace(':1.0.0', ':1.1.0'));
    const backups = await readdir(join(p.dir, 'backups'));
    assert.equal(backups.length, 1);
    assert.equal(await readFile(join(p.dir, 'backups', backups[0]), 'utf8'), text, 'the backup is whole');
    assert.deepEqual(await p.versions('app'), ['1.1.0']);
    await assertInvariant(p);
  });

  test('a read-only compose dir, and an unwritable backup dir: one line each, no tag marked failed, and the update once it is writable', async () => {
    const p = await ComposeProject.create(stackText(), 'i15-erofs');
    projects.push(p);
    await mountTmpfs(p.dir, '1m');
    await writeFile(p.file, stackText());
    await p.compose(['up', '-d', '--wait']);
    const stateDir = await tempDir();
    await sh('mount', ['-o', 'remount,ro', p.dir]);

    const ro = await sync(p, ['--state-dir', stateDir]);
    assert.equal(ro.code, 1, ro.stdout + ro.stderr);
    assert.deepEqual(errors(ro).map((e) => e.replaceAll(p.dir, '<dir>')), [
      'update failed: read-only file system creating the backup dir <dir>/backups: the file system of <dir>/backups is mounted read-only; remount it read-write; nothing was changed',
    ]);
    assert.deepEqual(await failedTags(stateDir, p), []);
    assert.deepEqual(await p.versions('app'), ['1.0.0']);

    // The compose dir writable again, the backup dir (given with --backup-dir) read-only.
    await sh('mount', ['-o', 'remount,rw', p.dir]);
    const backupDir = await tempDir();
    await mountTmpfs(backupDir, '1m', ',ro');
    const unwritable = await sync(p, ['--state-dir', stateDir, '--backup-dir', backupDir]);
    assert.equal(unwritable.code, 1, unwritable.stdout + unwritable.stderr);
    assert.equal(errors(unwritable).length, 1);
    assert.match(errors(unwritable)[0], /^update failed: read-only file system writing the backup of docker-compose\.yml: .*; nothing was changed \(backup dir .*\)$/);
    assert.equal(await readFile(p.file, 'utf8'), stackText());
    assert.deepEqual(await failedTags(stateDir, p), []);

    const fixed = await sync(p, ['--state-dir', stateDir]);
    assert.equal(fixed.code, 0, fixed.stdout + fixed.stderr);
    assert.deepEqual(await p.versions('app'), ['1.1.0']);
    await assertInvariant(p);
  });

  test('a compose file with a byte that is not UTF-8 is refused with a line that says so, its bytes kept exactly, never "changed on disk"', async () => {
    const p = await ComposeProject.create(stackText(), 'i15-latin1');
    projects.push(p);
    const bytes = Buffer.concat([Buffer.from(`services:\n  app:\n    image: ${IMAGE}:1.0.0\n# caf`), Buffer.from([0xe9]), Buffer.from(' au lait\n')]);
    // Running (a stopped service is left alone), started from the UTF-8 file: Compose itself refuses the other.
    await p.compose(['up', '-d', '--wait']);
    await writeFile(p.file, bytes);
    const r = await sync(p);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.doesNotMatch(r.stdout, /changed on disk/);
    assert.equal(errors(r).length, 1);
    assert.match(errors(r)[0], /docker-compose\.yml:4: not valid UTF-8 \(byte 0xe9 at offset \d+\); dosync rewrites only UTF-8 files, so it is left as it is: convert it to UTF-8/);
    assert.ok((await readFile(p.file)).equals(bytes), 'the file is byte for byte as it was');
    assert.deepEqual(await failedTags(join(p.dir, 'backups'), p), []);
    assert.deepEqual(await readdir(join(p.dir, 'backups')).then((n) => n.filter((f) => f.endsWith('.bak'))), []);
    assert.deepEqual(await p.versions('app'), ['1.0.0']);
    await writeFile(p.file, stackText()); // Compose reads the file for the invariant check and for destroy
    await assertInvariant(p);
  });

  test('future-dated backups in the backup dir: the backup of this update is kept, and the log names a file that exists', async () => {
    const p = await ComposeProject.create(stackText(), 'i15-future');
    projects.push(p);
    const backups = join(p.dir, 'backups');
    await mkdir(backups);
    for (let i = 0; i < 10; i++) await writeFile(join(backups, `docker-compose.yml.2099010${i}T000000000Z.bak`), 'planted\n');
    await p.compose(['up', '-d', '--wait']);
    const r = await sync(p);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const updated = logLines(r.stdout).find((l) => l.service === 'app' && String(l.msg).startsWith('updated'));
    const backup = String(updated?.backup);
    assert.equal(await readFile(backup, 'utf8'), stackText(), `${backup} exists and holds the file as it was`);
    const left = (await readdir(backups)).filter((n) => n.endsWith('.bak'));
    assert.equal(left.length, 10, 'keep_backups (10) still holds');
    assert.ok(left.includes(backup.slice(backups.length + 1)));
    await assertInvariant(p);
  });

  test('umask 000: the state dir is created 0700, the lock, state and backups 0600; a world-writable state dir is refused in one line, a sticky one accepted', async () => {
    const p = await ComposeProject.create(stackText(), 'i15-umask');
    projects.push(p);
    const backups = join(p.dir, 'backups');
    await p.compose(['up', '-d', '--wait']);
    const child = spawn('sh', ['-c', 'umask 000 && exec "$0" "$@"', process.execPath, join(ROOT, 'bin/dosync.js'), 'sync', '-f', p.file, '--interval', '1h', '--no-prune'], {
      env: { ...process.env, DOSYNC_LOG_FORMAT: 'json' }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise((resolve) => child.on('close', resolve));
    try {
      for (const giveUp = Date.now() + 120_000; !out.includes('"cycle done"');) {
        if (Date.now() > giveUp || child.exitCode !== null) assert.fail(`no cycle done: ${out}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const mode = async (path: string) => ((await stat(path)).mode & 0o7777).toString(8);
      const names = await readdir(backups);
      const lock = names.find((n) => n.endsWith('.lock'));
      const bak = names.find((n) => n.endsWith('.bak'));
      assert.ok(lock && bak, `${names.join(', ')}: ${out}`);
      assert.deepEqual([await mode(backups), await mode(join(backups, lock)), await mode(join(backups, 'state.json')), await mode(join(backups, bak))], ['700', '600', '600', '600']);
    } finally {
      child.kill('SIGTERM');
      const hang = setTimeout(() => child.kill('SIGKILL'), 30_000); // a hang guard
      await exited;
      clearTimeout(hang);
    }
    await assertInvariant(p);

    await chmod(backups, 0o777);
    const refused = await dosync(['sync', '-f', p.file, '--once']);
    assert.equal(refused.code, 2, refused.stdout + refused.stderr);
    assert.equal(refused.stderr, `dosync: the state dir ${backups} is writable by every user (mode 0777), so anyone on this machine could plant its state, pause flag or backups; run chmod 700 ${backups} (or use another --state-dir)\n`);
    await chmod(backups, 0o1777);
    const sticky = await dosync(['sync', '-f', p.file, '--once']);
    assert.equal(sticky.code, 0, sticky.stdout + sticky.stderr);
  });
});
