import { describe, test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, readdir, rm, stat, symlink, writeFile, chmod, lstat, readlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backupTimestamp, ComposeChangedError, replaceFileSafely } from '../../../src/compose/writer.js';
import { LocalError } from '../../../src/util/errors.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dosync-writer-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const ORIGINAL = '# stack\nservices:\n  web:\n    image: nginx:1.25.3   # pinned\n';
const UPDATED = ORIGINAL.replace('1.25.3', '1.26.0');
const at = (ms: number) => new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 0) + ms);
const tempFiles = async (d: string) => (await readdir(d)).filter((n) => n.endsWith('.tmp'));
const fail = (code: string) => async () => {
  throw Object.assign(new Error(`simulated ${code}`), { code });
};

describe('replaceFileSafely', () => {
  test('backs up the original under backups/ with a UTC timestamp, then renames the new content in place', async () => {
    const file = join(dir, 'docker-compose.yml');
    await writeFile(file, ORIGINAL);
    const result = await replaceFileSafely(file, UPDATED, { expectedOriginal: ORIGINAL, now: new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 678)) });
    assert.deepEqual(result, { backupPath: join(dir, 'backups', 'docker-compose.yml.20240102T030405678Z.bak'), mode: 'rename' });
    assert.equal(await readFile(file, 'utf8'), UPDATED);
    assert.equal(await readFile(result.backupPath, 'utf8'), ORIGINAL);
    assert.deepEqual(await tempFiles(dir), []);
  });

  test('timestamp format', () => {
    assert.equal(backupTimestamp(new Date(Date.UTC(2031, 11, 31, 23, 59, 58, 7))), '20311231T235958007Z');
  });

  test('keeps the newest N backups of that file and leaves other files\' backups alone', async () => {
    const file = join(dir, 'compose.yml');
    const backups = join(dir, 'bk');
    await mkdir(backups);
    await writeFile(join(backups, 'other.yml.20200101T000000000Z.bak'), 'other');
    await writeFile(join(backups, 'compose.yml.notes.txt'), 'keep me');
    let content = 'v0\n';
    await writeFile(file, content);
    for (let i = 1; i <= 12; i++) {
      const next = `v${i}\n`;
      await replaceFileSafely(file, next, { expectedOriginal: content, backupDir: backups, keep: 3, now: at(i * 1000) });
      content = next;
    }
    const names = (await readdir(backups)).sort();
    const ours = names.filter((n) => n.startsWith('compose.yml.') && n.endsWith('.bak'));
    assert.deepEqual(ours, ['compose.yml.20240102T030415000Z.bak', 'compose.yml.20240102T030416000Z.bak', 'compose.yml.20240102T030417000Z.bak']);
    assert.deepEqual(await Promise.all(ours.map((n) => readFile(join(backups, n), 'utf8'))), ['v9\n', 'v10\n', 'v11\n']);
    assert.ok(names.includes('other.yml.20200101T000000000Z.bak'));
    assert.ok(names.includes('compose.yml.notes.txt'));
    assert.equal(await readFile(file, 'utf8'), 'v12\n');
  });

  test('two writes in the same millisecond keep both backups', async () => {
    const file = join(dir, 'c.yml');
    await writeFile(file, 'a\n');
    const first = await replaceFileSafely(file, 'b\n', { expectedOriginal: 'a\n', now: at(0) });
    const second = await replaceFileSafely(file, 'c\n', { expectedOriginal: 'b\n', now: at(0) });
    assert.notEqual(first.backupPath, second.backupPath);
    assert.equal(await readFile(first.backupPath, 'utf8'), 'a\n');
    assert.equal(await readFile(second.backupPath, 'utf8'), 'b\n');
  });

  test('a file changed on disk since it was read: ComposeChangedError, nothing written, no backup', async () => {
    const file = join(dir, 'compose.yml');
    await writeFile(file, ORIGINAL + '# edited by the user\n');
    await assert.rejects(replaceFileSafely(file, UPDATED, { expectedOriginal: ORIGINAL }), (e: unknown) => e instanceof ComposeChangedError && e.path === file && /changed on disk/.test(e.message));
    assert.equal(await readFile(file, 'utf8'), ORIGINAL + '# edited by the user\n');
    assert.deepEqual(await readdir(dir), ['compose.yml']);
  });

  for (const code of ['EBUSY', 'EXDEV']) {
    test(`rename failing with ${code} falls back to a verified in-place rewrite of the same inode`, async () => {
      const file = join(dir, 'compose.yml');
      await writeFile(file, ORIGINAL);
      const inode = (await stat(file)).ino;
      const shorter = 'services: {}\n';
      const result = await replaceFileSafely(file, shorter, { expectedOriginal: ORIGINAL, fs: { rename: fail(code) }, now: at(0) });
      assert.equal(result.mode, 'in-place');
      assert.equal(await readFile(file, 'utf8'), shorter);
      assert.equal((await stat(file)).ino, inode);
      assert.equal(await readFile(result.backupPath, 'utf8'), ORIGINAL);
      assert.deepEqual(await tempFiles(dir), []);
    });
  }

  test('any other rename failure propagates as one line (a LocalError), removes the temp file and leaves the original', async () => {
    const file = join(dir, 'compose.yml');
    await writeFile(file, ORIGINAL);
    await assert.rejects(replaceFileSafely(file, UPDATED, { expectedOriginal: ORIGINAL, fs: { rename: fail('EACCES') } }),
      (e: unknown) => e instanceof LocalError && e.code === 'permission' && e.message.startsWith(`permission denied writing ${file}: `) && /nothing was changed \(a backup is in .*\.bak\)$/.test(e.message));
    assert.equal(await readFile(file, 'utf8'), ORIGINAL);
    assert.deepEqual(await tempFiles(dir), []);
  });

  test('keeps the file mode', async () => {
    const file = join(dir, 'compose.yml');
    await writeFile(file, ORIGINAL);
    await chmod(file, 0o640);
    await replaceFileSafely(file, UPDATED, { expectedOriginal: ORIGINAL });
    assert.equal((await stat(file)).mode & 0o777, 0o640);
  });

  test('writes through a symlink, which stays a symlink', async () => {
    const real = join(dir, 'real.yml');
    const link = join(dir, 'compose.yml');
    await writeFile(real, ORIGINAL);
    await symlink('real.yml', link);
    const result = await replaceFileSafely(link, UPDATED, { expectedOriginal: ORIGINAL, now: at(0) });
    assert.ok((await lstat(link)).isSymbolicLink());
    assert.equal(await readlink(link), 'real.yml');
    assert.equal(await readFile(real, 'utf8'), UPDATED);
    assert.equal(result.backupPath, join(dir, 'backups', 'compose.yml.20240102T030405000Z.bak'));
  });

  test('keeps bytes exactly (CRLF, BOM, non-ASCII)', async () => {
    const file = join(dir, 'compose.yml');
    const original = '\uFEFFservices:\r\n  web:\r\n    image: "nginx:1" # café\r\n';
    await writeFile(file, original);
    const updated = original.replace('nginx:1', 'nginx:2');
    const result = await replaceFileSafely(file, updated, { expectedOriginal: original });
    assert.deepEqual(await readFile(file), Buffer.from(updated, 'utf8'));
    assert.deepEqual(await readFile(result.backupPath), Buffer.from(original, 'utf8'));
  });

  test('a missing file is an error and creates nothing', async () => {
    await assert.rejects(replaceFileSafely(join(dir, 'nope.yml'), 'x', { expectedOriginal: '' }), { code: 'ENOENT' });
    assert.deepEqual(await readdir(dir), []);
  });
});

describe('backups under faults (issue 15)', () => {
  test('future-dated names (a clock corrected backwards, or planted files) do not push out the backup just taken', async () => {
    const file = join(dir, 'compose.yml');
    const backups = join(dir, 'bk');
    await mkdir(backups);
    const planted = Array.from({ length: 5 }, (_, i) => `compose.yml.2099010${i}T000000000Z.bak`);
    for (const n of planted) await writeFile(join(backups, n), 'planted');
    await writeFile(file, ORIGINAL);
    const { backupPath } = await replaceFileSafely(file, UPDATED, { expectedOriginal: ORIGINAL, backupDir: backups, keep: 3, now: at(0) });
    assert.equal(await readFile(backupPath, 'utf8'), ORIGINAL);
    const left = (await readdir(backups)).sort();
    // Newest by the files' own times: the new backup and the two planted files written last.
    assert.deepEqual(left, [...planted.slice(3), 'compose.yml.20240102T030405000Z.bak'].sort());
  });

  test('with keep 1 the only backup kept is the current one', async () => {
    const file = join(dir, 'compose.yml');
    const backups = join(dir, 'bk');
    await mkdir(backups);
    await writeFile(join(backups, 'compose.yml.20990101T000000000Z.bak'), 'planted');
    await writeFile(file, ORIGINAL);
    const { backupPath } = await replaceFileSafely(file, UPDATED, { expectedOriginal: ORIGINAL, backupDir: backups, keep: 1, now: at(0) });
    assert.deepEqual(await readdir(backups), [backupPath.slice(backups.length + 1)]);
  });

  test('a backup is written to a temp name and linked into place: no temp file is left, and the .bak is 0600 under any umask', async () => {
    const file = join(dir, 'compose.yml');
    await writeFile(file, ORIGINAL);
    const old = process.umask(0);
    try {
      const { backupPath } = await replaceFileSafely(file, UPDATED, { expectedOriginal: ORIGINAL, now: at(0) });
      assert.equal((await stat(backupPath)).mode & 0o777, 0o600);
      assert.equal((await stat(join(dir, 'backups'))).mode & 0o777, 0o700);
      assert.deepEqual((await readdir(join(dir, 'backups'))).filter((n) => n.startsWith('.')), []);
    } finally {
      process.umask(old);
    }
  });

  test('a file that is not UTF-8 is refused as such (LocalError not-utf8), not as a concurrent change, and nothing is written', async () => {
    const file = join(dir, 'compose.yml');
    const bytes = Buffer.concat([Buffer.from('services:\n  web:\n    image: nginx:1\n# caf'), Buffer.from([0xe9]), Buffer.from('\n')]);
    await writeFile(file, bytes);
    await assert.rejects(replaceFileSafely(file, 'x', { expectedOriginal: bytes.toString('utf8') }), (e: unknown) => {
      assert.ok(e instanceof LocalError && !(e instanceof ComposeChangedError));
      assert.equal(e.code, 'not-utf8');
      assert.equal(e.message, `${file}:4: not valid UTF-8 (byte 0xe9 at offset 41); dosync rewrites only UTF-8 files, so it is left as it is: convert it to UTF-8 (e.g. iconv -f latin1 -t utf-8) and it is updated next cycle`);
      return true;
    });
    assert.ok((await readFile(file)).equals(bytes));
    await assert.rejects(stat(join(dir, 'backups')), { code: 'ENOENT' });
  });
});
