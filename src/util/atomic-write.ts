/**
 * Replaces a small file (state, flags) atomically: a temp file in the same directory, fsync, rename over
 * the target, fsync of the directory. A crash leaves either the old or the new content, never a mix, and
 * no temp file survives a failed write. (compose/writer.ts does the same for compose files but adds
 * backups, change detection and a bind-mount fallback that state files do not need; write-file-atomic
 * would skip the directory fsync that makes the rename itself durable.)
 */
import { constants, promises as fsp } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';

export interface AtomicWriteOptions {
  /** File mode of a newly created file (default 0o600: state may name private images). */
  mode?: number;
  /** Create the parent directory when it is missing (default true). */
  mkdir?: boolean;
}

/** Makes a rename or create inside `dir` durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await fsp.open(dir, constants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Temp files are named `.<name>.<pid>-<random>.tmp` next to the target. */
export function isAtomicTempName(name: string, target: string): boolean {
  return name.startsWith(`.${target}.`) && name.endsWith('.tmp');
}

export async function writeFileAtomic(path: string, data: string | Buffer, opts: AtomicWriteOptions = {}): Promise<void> {
  const dir = dirname(path);
  // 0700: these files live in the state dir, which only dosync's user may write to.
  if (opts.mkdir !== false) await mkdirPrivate(dir);
  const temp = join(dir, `.${basename(path)}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
  let renamed = false;
  try {
    const handle = await fsp.open(temp, 'wx', opts.mode ?? 0o600);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fsp.rename(temp, path);
    renamed = true;
    await fsyncDir(dir);
  } finally {
    if (!renamed) await fsp.rm(temp, { force: true });
  }
}

/**
 * `mkdir -p` with mode 0700 for new directories. Node's recursive mkdir reports ENOENT for a directory it
 * could not create on a read-only file system; asking once more without recursion gives the real cause (EROFS).
 */
export async function mkdirPrivate(dir: string): Promise<void> {
  try {
    await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    const again = await fsp.mkdir(dir, { mode: 0o700 }).then(() => undefined, (e: NodeJS.ErrnoException) => e);
    if (again === undefined || again.code === 'EEXIST') return;
    throw again.code === 'ENOENT' ? err : again;
  }
}
