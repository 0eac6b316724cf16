/**
 * The one place that writes a compose or env file: backup first, then an atomic replace (temp file in the
 * same directory, fsync, rename, fsync of the directory). A single-file bind mount cannot be renamed over
 * (EBUSY) and a temp file may sit on another device (EXDEV); then the file is rewritten in place and read
 * back to verify.
 */
import { promises as fsp } from 'node:fs';
import { isUtf8 } from 'node:buffer';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { LocalError, UserError, localError } from '../util/errors.js';
import { fsyncDir, mkdirPrivate } from '../util/atomic-write.js';

export interface WriteResult {
  backupPath: string;
  mode: 'rename' | 'in-place';
}

/** The file on disk is no longer what the caller planned against: re-read and re-plan instead of overwriting. */
export class ComposeChangedError extends UserError {
  constructor(readonly path: string) {
    super(`${path} changed on disk since it was read; not overwriting it (it will be re-read and re-planned)`);
  }
}

/** File operations the writer uses; tests may replace `rename` to simulate a bind mount. */
export interface WriterFs {
  rename: (from: string, to: string) => Promise<void>;
}

export interface ReplaceOptions {
  expectedOriginal: string;
  /** Default `<dir of file>/backups`. */
  backupDir?: string;
  /** Newest backups of this file to keep, default 10. */
  keep?: number;
  /** Timestamp for the backup name, default the current time. */
  now?: Date;
  fs?: Partial<WriterFs>;
}

/** The one line for a file that is not UTF-8: where the first bad byte is, and what to do. */
function notUtf8(path: string, bytes: Buffer): LocalError {
  const text = bytes.toString('utf8');
  const at = Buffer.byteLength(text.slice(0, text.indexOf('\uFFFD')));
  const line = bytes.subarray(0, at).toString('latin1').split('\n').length;
  return new LocalError('not-utf8', path, `${path}:${line}: not valid UTF-8 (byte 0x${bytes[at]?.toString(16).padStart(2, '0')} at offset ${at}); dosync rewrites only UTF-8 files, so it is left as it is: convert it to UTF-8 (e.g. iconv -f latin1 -t utf-8) and it is updated next cycle`);
}

/** `20240102T030405678Z` */
export function backupTimestamp(date: Date): string {
  return date.toISOString().replace(/[-:.]/g, '');
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

async function writeAndSync(path: string, data: string | Buffer, flags: string, mode?: number): Promise<void> {
  const handle = await fsp.open(path, flags, mode);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Hard links cannot be made on this file system (vfat, some FUSE mounts): a plain rename is used instead. */
const NO_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);

/**
 * Copies `content` to `<backupDir>/<fileName>.<timestamp>.bak`, never overwriting an existing backup. Like
 * every other file, it is written to a temp name, fsynced, then linked to its name (which fails with
 * EEXIST rather than replace another backup), so a `.bak` is always whole; a failed write removes the
 * temp file. Errors from the disk come back as one line (LocalError).
 */
async function writeBackup(fileName: string, content: Buffer, backupDir: string, now: Date): Promise<string> {
  try {
    await mkdirPrivate(backupDir);
  } catch (err) {
    throw localError(err, 'creating the backup dir', backupDir);
  }
  const stem = `${fileName}.${backupTimestamp(now)}`;
  const temp = join(backupDir, `.${stem}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeAndSync(temp, content, 'wx', 0o600);
    for (let n = 0; ; n++) {
      const path = join(backupDir, n === 0 ? `${stem}.bak` : `${stem}-${n}.bak`);
      try {
        await fsp.link(temp, path);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') continue;
        if (!code || !NO_LINKS.has(code)) throw err;
        if (await fsp.lstat(path).then(() => true, () => false)) continue;
        await fsp.rename(temp, path);
      }
      await fsyncDir(backupDir);
      return path;
    }
  } catch (err) {
    throw localError(err, 'writing the backup of', fileName, `nothing was changed (backup dir ${backupDir})`);
  } finally {
    await fsp.rm(temp, { force: true });
  }
}

/**
 * Deletes all but the newest `keep` backups of `fileName` in `backupDir`. Newest by the file's own
 * modification time, not by the time in its name: a name from the future (a clock corrected backwards,
 * or a planted file) must not push real backups out. `current` (the backup of the update in progress)
 * is never deleted, whatever the others look like.
 */
export async function pruneBackups(backupDir: string, fileName: string, keep: number, current?: string): Promise<string[]> {
  const pattern = new RegExp(`^${escapeRegExp(fileName)}\\.\\d{8}T\\d{9}Z(?:-\\d+)?\\.bak$`);
  const names = (await fsp.readdir(backupDir)).filter((n) => pattern.test(n) && join(backupDir, n) !== current);
  const withTimes = await Promise.all(names.map(async (n) => ({ n, mtime: (await fsp.lstat(join(backupDir, n)).catch(() => undefined))?.mtimeMs ?? 0 })));
  withTimes.sort((a, b) => a.mtime - b.mtime || (a.n < b.n ? -1 : a.n > b.n ? 1 : 0));
  const others = Math.max(keep, 1) - (current ? 1 : 0);
  const doomed = withTimes.slice(0, Math.max(0, withTimes.length - others)).map((x) => x.n);
  for (const n of doomed) await fsp.rm(join(backupDir, n), { force: true });
  return doomed;
}

async function assertUnchanged(path: string, expected: Buffer, reportedPath: string): Promise<Buffer> {
  const current = await fsp.readFile(path);
  if (!current.equals(expected)) throw new ComposeChangedError(reportedPath);
  return current;
}

/**
 * Backs up the current file, keeps the newest `keep` backups, then replaces the file atomically; falls back to an
 * in-place rewrite (verified by reading back) when rename fails with EBUSY/EXDEV. Throws ComposeChangedError and
 * writes nothing when the file no longer equals `expectedOriginal`.
 */
export async function replaceFileSafely(path: string, newText: string, opts: ReplaceOptions): Promise<WriteResult> {
  const rename = opts.fs?.rename ?? fsp.rename;
  // Write through symlinks to the real file, so the link stays a link.
  const target = await fsp.realpath(path);
  const dir = dirname(target);
  const expected = Buffer.from(opts.expectedOriginal, 'utf8');
  const onDisk = await fsp.readFile(target);
  // Its text was decoded with replacement characters: re-encoding it would change bytes nobody edited.
  if (!isUtf8(onDisk)) throw notUtf8(path, onDisk);
  const original = await assertUnchanged(target, expected, path);
  const stat = await fsp.stat(target);

  const backupDir = opts.backupDir ?? join(dirname(path), 'backups');
  const backupPath = await writeBackup(basename(path), original, backupDir, opts.now ?? new Date());
  await pruneBackups(backupDir, basename(path), opts.keep ?? 10, backupPath).catch((err: unknown) => {
    throw localError(err, 'pruning the backups in', backupDir, `nothing was changed (the new backup ${backupPath} is kept)`);
  });

  const data = Buffer.from(newText, 'utf8');
  const temp = join(dir, `.${basename(target)}.dosync-${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
  let renameError: NodeJS.ErrnoException | undefined;
  try {
    await writeAndSync(temp, data, 'wx', stat.mode & 0o7777);
    await fsp.chmod(temp, stat.mode & 0o7777);
    await fsp.chown(temp, stat.uid, stat.gid).catch(() => undefined); // only root may give files away; keep ours otherwise
    // Narrow the window for a concurrent edit: check again right before replacing.
    await assertUnchanged(target, expected, path);
    await rename(temp, target);
    await fsyncDir(dir);
    return { backupPath, mode: 'rename' };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EBUSY' && code !== 'EXDEV') throw localError(err, 'writing', path, `nothing was changed (a backup is in ${backupPath})`);
    renameError = err as NodeJS.ErrnoException;
  } finally {
    await fsp.rm(temp, { force: true });
  }

  // A single-file bind mount (or a temp dir on another device): rewrite the file itself, then verify.
  await assertUnchanged(target, expected, path);
  const handle = await fsp.open(target, 'r+');
  try {
    // Write first, then cut: a crash in between leaves the new content followed by old bytes, never an empty file.
    await handle.write(data, 0, data.length, 0);
    await handle.truncate(data.length);
    await handle.sync();
  } finally {
    await handle.close();
  }
  const readBack = await fsp.readFile(target);
  if (!readBack.equals(data)) {
    throw new UserError(`${path}: in-place rewrite (rename failed with ${renameError.code}) did not read back as written; the original is in ${backupPath}`);
  }
  return { backupPath, mode: 'in-place' };
}
