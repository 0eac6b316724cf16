/**
 * Every flag also reads an environment variable: `DOSYNC_<FLAG>` first, then the names DOSync users
 * already set (CHECK_INTERVAL, VERBOSE). Flags on the command line win. The rules live in src/settings
 * (one resolver for every command); these are the helpers for the flags that are not settings of a run.
 */
import { envValue, parseFlagText, parseListText } from '../settings/resolve.js';

export { envValue };

/** `1`, `true`, `yes`, `on` and DOSync's `VERBOSE=--verbose` count as set. */
export function envFlag(env: NodeJS.ProcessEnv, ...names: string[]): boolean | undefined {
  const v = envValue(env, ...names);
  return v === undefined ? undefined : parseFlagText(v);
}

/** Lists like DOSYNC_FILE=base.yml:prod.yml (Compose's COMPOSE_FILE separator) or comma-separated. */
export function envList(env: NodeJS.ProcessEnv, name: string): string[] | undefined {
  const v = envValue(env, name);
  return v === undefined ? undefined : parseListText(v);
}
