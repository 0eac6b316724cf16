/**
 * Where dosync keeps compose backups and its state (state file, lock, pause flag). Every command finds them
 * here, the same way, so `dosync pause`, `check`, `rollback` and `backups` see what a daemon started with the
 * same flags, environment (a systemd unit often sets only DOSYNC_BACKUP_DIR) and dosync.yaml uses.
 */
import { promises as fsp } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ConfigError, localError } from '../util/errors.js';
import { mkdirPrivate } from '../util/atomic-write.js';

export interface DirSources {
  /** `--state-dir` / `--backup-dir` as given on the command line (commands without one leave it out). */
  flags?: { stateDir?: string; backupDir?: string };
  env: Readonly<Record<string, string | undefined>>;
  /** dosync.yaml's `state_dir` / `backup_dir`. */
  config?: { state_dir?: string; backup_dir?: string };
  /** The compose files (the first one's `backups/` dir is the last resort). */
  files: readonly string[];
}

/** An empty variable counts as unset, as for every DOSYNC_* variable. */
function envDir(env: DirSources['env'], name: string): string | undefined {
  const v = env[name];
  return v === undefined || v === '' ? undefined : v;
}

/**
 * The backup dir: `--backup-dir`, DOSYNC_BACKUP_DIR, dosync.yaml `backup_dir`; absolute. Undefined means
 * `backups/` next to each file (where the compose writer puts them by default).
 */
export function resolveBackupDir(s: Omit<DirSources, 'files'>): string | undefined {
  const dir = s.flags?.backupDir ?? envDir(s.env, 'DOSYNC_BACKUP_DIR') ?? s.config?.backup_dir;
  return dir ? resolve(dir) : undefined;
}

/** A state dir named outright (`--state-dir`, DOSYNC_STATE_DIR): no config file is needed to find it. */
export function explicitStateDir(s: Pick<DirSources, 'flags' | 'env'>): string | undefined {
  return s.flags?.stateDir ?? envDir(s.env, 'DOSYNC_STATE_DIR');
}

/**
 * The state dir: `--state-dir`, DOSYNC_STATE_DIR, dosync.yaml `state_dir`, else the backup dir
 * (resolveBackupDir), else `backups/` next to the first compose file. Returns an absolute path.
 */
export function resolveStateDir(s: DirSources): string {
  const dir = explicitStateDir(s) ?? s.config?.state_dir ?? resolveBackupDir(s);
  if (dir) return resolve(dir);
  if (s.files.length === 0) throw new ConfigError('no state dir: pass --state-dir (or -f docker-compose.yml, whose backups/ dir is the default)');
  return join(dirname(resolve(s.files[0])), 'backups');
}

/**
 * Refuses a state dir any local user may write to (world-writable without the sticky bit): they could
 * plant state.json, the `paused` flag or a backup there. A missing dir is fine (it is created 0700).
 */
export async function assertPrivateDir(dir: string): Promise<void> {
  const stat = await fsp.stat(dir).catch(() => undefined);
  if (!stat?.isDirectory()) return;
  if ((stat.mode & 0o002) !== 0 && (stat.mode & 0o1000) === 0) {
    const mode = (stat.mode & 0o7777).toString(8).padStart(4, '0');
    throw new ConfigError(`the state dir ${dir} is writable by every user (mode ${mode}), so anyone on this machine could plant its state, pause flag or backups; run chmod 700 ${dir} (or use another --state-dir)`);
  }
}

/** Creates the state dir (0700: it names private images and holds the lock), after checking an existing one. */
export async function ensureStateDir(dir: string): Promise<void> {
  await assertPrivateDir(dir);
  try {
    await mkdirPrivate(dir);
  } catch (err) {
    throw localError(err, 'creating the state dir', dir, 'check --state-dir');
  }
}

/**
 * The state dir of a whole-host dosync (`--all`, `projects:`), which has no compose file to put it next to:
 * `--state-dir`, DOSYNC_STATE_DIR, dosync.yaml `state_dir`, the backup dir, else /var/lib/dosync for root
 * and $XDG_STATE_HOME/dosync (~/.local/state/dosync) for anyone else. Each project gets `projects/<name>/` in it.
 */
export function resolveHostStateDir(s: Omit<DirSources, 'files'>): string {
  const dir = explicitStateDir(s) ?? s.config?.state_dir ?? resolveBackupDir(s);
  if (dir) return resolve(dir);
  if (process.getuid?.() === 0) return '/var/lib/dosync';
  const xdg = envDir(s.env, 'XDG_STATE_HOME');
  return join(xdg ?? join(envDir(s.env, 'HOME') ?? '/tmp', '.local', 'state'), 'dosync');
}
