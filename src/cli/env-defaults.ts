/**
 * Every flag also reads an environment variable: `DOSYNC_<FLAG>` first, then the names DOSync users
 * already set (CHECK_INTERVAL, VERBOSE). Flags on the command line win.
 */
export function envValue(env: NodeJS.ProcessEnv, ...names: string[]): string | undefined {
  for (const n of names) {
    const v = env[n];
    if (v !== undefined && v !== '') return v;
  }
  return undefined;
}

/** `1`, `true`, `yes`, `on` and DOSync's `VERBOSE=--verbose` count as set. */
export function envFlag(env: NodeJS.ProcessEnv, ...names: string[]): boolean | undefined {
  const v = envValue(env, ...names);
  if (v === undefined) return undefined;
  return /^(1|true|yes|on|--?[a-z-]+)$/i.test(v.trim());
}

/** Lists like DOSYNC_FILE=base.yml:prod.yml (Compose's COMPOSE_FILE separator) or comma-separated. */
export function envList(env: NodeJS.ProcessEnv, name: string): string[] | undefined {
  const v = envValue(env, name);
  return v === undefined ? undefined : v.split(/[:,]/).map((s) => s.trim()).filter(Boolean);
}
