/**
 * One dosync per compose project: `<state-dir>/<project>.lock` holds the owner's pid, host and start time.
 * The file is created complete and exclusively (written to a temp file, then hard-linked to the lock name,
 * which fails with EEXIST like O_EXCL but never shows a half-written lock to another instance). A lock whose
 * process is gone from this host is taken over with a warning; a live one is refused with the holder's PID.
 *
 * "Gone" on Linux also covers a reused PID: the lock records the boot id and the process start time, so a
 * lock from before a reboot, or from a previous container run where dosync was PID 1 again, is stale.
 */
import { promises as fsp, readFileSync, unlinkSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { UserError, errorMessage, localError } from '../util/errors.js';
import { ensureStateDir } from './dirs.js';

export interface LockHolder {
  pid: number;
  hostname: string;
  startedAt: string;
  /** Linux: /proc/sys/kernel/random/boot_id of the holder's boot. */
  bootId?: string;
  /** Linux: the holder's start time in clock ticks since boot (/proc/<pid>/stat field 22). */
  processStart?: string;
  /** Random, tells our own lock apart from another with the same pid. */
  nonce: string;
}

export interface ProjectLock {
  readonly path: string;
  readonly holder: LockHolder;
  /** Warnings to log (a stale lock taken over). */
  readonly warnings: readonly string[];
  /** Removes the lock file if it is still ours; safe to call more than once and from an 'exit' handler. */
  release(): void;
}

export interface AcquireOptions {
  now?: () => Date;
  /** Release when the process exits (default true); SIGTERM handling must end in a normal exit or call `release()`. */
  releaseOnExit?: boolean;
}

/** Locks this process holds, by path: a second acquire of the same project in-process is refused too. */
const held = new Map<string, ProjectLock>();

export function lockPath(stateDir: string, project: string): string {
  // Compose project names are [a-z0-9_-]; anything else is replaced so it cannot leave the directory.
  return join(stateDir, `${project.replace(/[^A-Za-z0-9_.-]/g, '_')}.lock`);
}

function readProcFile(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

const bootId = (): string | undefined => readProcFile('/proc/sys/kernel/random/boot_id')?.trim();

/** Field 22 of /proc/<pid>/stat; the command name (field 2) may hold spaces and parentheses. */
function processStart(pid: number): string | undefined {
  const stat = readProcFile(`/proc/${pid}/stat`);
  if (!stat) return undefined;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[19];
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Why a lock file's holder no longer runs on this host, or undefined if it may still run. */
export function staleReason(holder: LockHolder, host = osHostname()): string | undefined {
  if (holder.hostname !== host) return undefined; // another host's processes cannot be seen from here
  const boot = bootId();
  if (holder.bootId && boot && holder.bootId !== boot) return 'the machine has restarted since';
  if (!pidAlive(holder.pid)) return `PID ${holder.pid} is not running`;
  if (holder.processStart) {
    const start = processStart(holder.pid);
    if (start && start !== holder.processStart) return `PID ${holder.pid} now belongs to another process`;
  }
  return undefined;
}

function parseHolder(text: string): LockHolder | undefined {
  try {
    const v = JSON.parse(text) as Partial<LockHolder>;
    if (typeof v.pid !== 'number' || typeof v.hostname !== 'string') return undefined;
    return { pid: v.pid, hostname: v.hostname, startedAt: String(v.startedAt ?? ''), bootId: v.bootId, processStart: v.processStart, nonce: String(v.nonce ?? '') };
  } catch {
    return undefined;
  }
}

function refusal(project: string, holder: LockHolder, path: string): UserError {
  const where = holder.hostname === osHostname() ? '' : ` on host ${holder.hostname}`;
  const hint = where ? `; if it no longer runs there, delete ${path}` : '';
  return new UserError(`another dosync (PID ${holder.pid}${where}) is already managing project ${project}; stop it or use another --state-dir${hint}`);
}

/** Takes the project's lock or throws a UserError naming the live holder. */
export async function acquireLock(stateDir: string, project: string, opts: AcquireOptions = {}): Promise<ProjectLock> {
  const path = lockPath(stateDir, project);
  const mine = held.get(path);
  if (mine) throw refusal(project, mine.holder, path);
  await ensureStateDir(stateDir);
  const holder: LockHolder = {
    pid: process.pid,
    hostname: osHostname(),
    startedAt: (opts.now?.() ?? new Date()).toISOString(),
    bootId: bootId(),
    processStart: processStart(process.pid),
    nonce: randomBytes(8).toString('hex'),
  };
  const temp = `${path}.${process.pid}-${holder.nonce}.tmp`;
  await fsp.writeFile(temp, `${JSON.stringify(holder)}\n`, { flag: 'wx', mode: 0o600 }).catch((err: unknown) => {
    throw localError(err, 'writing the lock', path, 'nothing was changed');
  });
  const warnings: string[] = [];
  try {
    // Bounded: each turn either takes the lock, refuses, or removes one stale file that another instance
    // may have replaced meanwhile.
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        await fsp.link(temp, path);
        const lock = makeLock(path, holder, warnings, opts.releaseOnExit !== false);
        held.set(path, lock);
        return lock;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const text = await fsp.readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return undefined; // released meanwhile: try again
        throw err;
      });
      if (text === undefined) continue;
      const existing = parseHolder(text);
      const why = existing ? staleReason(existing) : 'it is unreadable';
      if (existing && why === undefined) throw refusal(project, existing, path);
      // Remove it only if it is still the file we judged, so a fresh lock another instance just took survives.
      const again = await fsp.readFile(path, 'utf8').catch(() => undefined);
      if (again !== text) continue;
      await fsp.rm(path, { force: true });
      warnings.push(`took over the lock ${path} left by ${existing ? `PID ${existing.pid} (started ${existing.startedAt})` : 'an unknown process'}: ${why}`);
    }
    throw new UserError(`could not take the lock ${path}: it kept changing; is another dosync starting for project ${project}?`);
  } finally {
    await fsp.rm(temp, { force: true });
  }
}

function makeLock(path: string, holder: LockHolder, warnings: string[], onExit: boolean): ProjectLock {
  let released = false;
  const exitHandler = () => lock.release();
  const lock: ProjectLock = {
    path, holder, warnings,
    release() {
      if (released) return;
      released = true;
      held.delete(path);
      process.removeListener('exit', exitHandler);
      try {
        const current = parseHolder(readFileSync(path, 'utf8'));
        // Never delete a lock another instance took over (e.g. after we were judged stale).
        if (current?.nonce === holder.nonce) unlinkSync(path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') process.emitWarning(`dosync: could not remove lock ${path}: ${errorMessage(err)}`);
      }
    },
  };
  if (onExit) process.once('exit', exitHandler);
  return lock;
}

/** Releases every lock this process holds (for a SIGTERM/SIGINT path that may not reach a normal exit). */
export function release(): void {
  for (const lock of [...held.values()]) lock.release();
}
