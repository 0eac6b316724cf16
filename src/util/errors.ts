/**
 * Errors a user can cause (bad config, unreachable registry, missing file...). The CLI renders
 * them as one line without a stack trace; anything else is a programming error and keeps its stack.
 */
export class UserError extends Error {
  /** Process exit code when this error ends a command. */
  readonly exitCode: number;
  constructor(message: string, options?: { cause?: unknown; exitCode?: number }) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = new.target.name;
    this.exitCode = options?.exitCode ?? 1;
  }
}

/** Invalid flags, config files or compose files: exit code 2. */
export class ConfigError extends UserError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, { ...options, exitCode: 2 });
  }
}

/**
 * What went wrong with a registry, for code that decides (retry, report, fail fast): `timeout` a deadline
 * passed, `too-large` a byte budget was used up, `stopped` dosync is shutting down, `invalid` the answer
 * is not what the protocol says.
 */
export type RegistryErrorCode = 'unauthorized' | 'not-found' | 'rate-limited' | 'unreachable' | 'timeout' | 'too-large' | 'stopped' | 'invalid';

/** A registry that cannot be reached, refuses us, or answers nonsense. */
export class RegistryError extends UserError {
  readonly status?: number;
  readonly code?: RegistryErrorCode;
  constructor(message: string, options?: { cause?: unknown; status?: number; code?: RegistryErrorCode }) {
    super(message, options);
    this.status = options?.status;
    this.code = options?.code ?? codeOfStatus(options?.status);
  }
}

function codeOfStatus(status: number | undefined): RegistryErrorCode | undefined {
  if (status === 401 || status === 403) return 'unauthorized';
  if (status === 404) return 'not-found';
  if (status === 429) return 'rate-limited';
  return undefined;
}

/** The Docker engine or the compose CLI failed or cannot be reached. */
export class EngineError extends UserError {}

export function isUserError(err: unknown): err is UserError {
  return err instanceof UserError;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * What went wrong on this machine rather than with an image: `disk-full` (ENOSPC, EDQUOT), `read-only`
 * (EROFS), `permission` (EACCES, EPERM), `missing` (ENOENT, ENOTDIR), `not-utf8` (a file dosync will not
 * rewrite). A local error never marks a tag as failed: the same update is tried again next cycle.
 */
export type LocalErrorCode = 'disk-full' | 'read-only' | 'permission' | 'missing' | 'not-utf8' | 'io';

export class LocalError extends UserError {
  constructor(readonly code: LocalErrorCode, readonly path: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

const LOCAL_CODES: Record<string, LocalErrorCode> = {
  ENOSPC: 'disk-full', EDQUOT: 'disk-full', EROFS: 'read-only', EACCES: 'permission', EPERM: 'permission',
  ENOENT: 'missing', ENOTDIR: 'missing', EIO: 'io', EMFILE: 'io', ENFILE: 'io',
};

/** What to do about each kind of local error, for the one line the user reads. */
const LOCAL_ADVICE: Record<LocalErrorCode, (path: string) => string> = {
  'disk-full': () => 'free space',
  'read-only': (p) => `the file system of ${p} is mounted read-only; remount it read-write`,
  permission: (p) => `dosync may not write there; check the owner and mode of ${p} and its directory`,
  missing: (p) => `${p} (or its directory) does not exist; check the path`,
  'not-utf8': () => 'convert it to UTF-8',
  io: () => 'check the disk',
};

const LOCAL_WHAT: Record<LocalErrorCode, string> = {
  'disk-full': 'disk full', 'read-only': 'read-only file system', permission: 'permission denied', missing: 'no such file or directory', 'not-utf8': 'not UTF-8', io: 'I/O error',
};

/**
 * A file system error as one line: `disk full writing <path>: free space; nothing was changed`. Errors
 * without a known errno code are returned unchanged (a programming error keeps its stack).
 */
export function localError(err: unknown, action: string, path: string, outcome = 'nothing was changed'): unknown {
  if (err instanceof LocalError) return err;
  const errno = (err as NodeJS.ErrnoException | undefined)?.code;
  const code = errno === undefined ? undefined : LOCAL_CODES[errno];
  if (!code) return err;
  return new LocalError(code, path, `${LOCAL_WHAT[code]} ${action} ${path}: ${LOCAL_ADVICE[code](path)}${outcome ? `; ${outcome}` : ''}`, { cause: err });
}

export function isLocalError(err: unknown): err is LocalError {
  return err instanceof LocalError;
}

const SYSCALL_ACTIONS: Record<string, string> = {
  open: 'opening', mkdir: 'creating the directory', write: 'writing', rename: 'renaming', unlink: 'removing', rmdir: 'removing',
  link: 'linking', read: 'reading', scandir: 'listing', stat: 'reading', lstat: 'reading', chmod: 'changing the mode of', fsync: 'writing', copyfile: 'copying',
};

/**
 * A Node system error from the file system (with `syscall` and `path`), as the one line of a LocalError
 * (`permission denied creating the directory /x: ...`) instead of raw errno text; anything else unchanged.
 */
export function asLocalError(err: unknown): unknown {
  const e = err as (NodeJS.ErrnoException & { dest?: string }) | undefined;
  if (!(err instanceof Error) || isUserError(err) || typeof e?.syscall !== 'string' || typeof e.path !== 'string') return err;
  return localError(err, SYSCALL_ACTIONS[e.syscall] ?? e.syscall, e.path, '');
}
