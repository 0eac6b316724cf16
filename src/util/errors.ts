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

/** A registry that cannot be reached, refuses us, or answers nonsense. */
export class RegistryError extends UserError {
  readonly status?: number;
  constructor(message: string, options?: { cause?: unknown; status?: number }) {
    super(message, options);
    this.status = options?.status;
  }
}

/** The Docker engine or the compose CLI failed or cannot be reached. */
export class EngineError extends UserError {}

export function isUserError(err: unknown): err is UserError {
  return err instanceof UserError;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
