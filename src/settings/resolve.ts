/**
 * The one precedence every dosync command applies to a setting: the command-line flag, then the
 * environment (DOSYNC_* first, then the names DOSync users already set), then dosync.yaml, then the
 * default. Each value keeps where it came from, so `config print` can say it. Pure: callers pass the
 * flags, the environment and the parsed file.
 */
export interface Setting<T> {
  value: T;
  /** `flag --interval`, `env CHECK_INTERVAL`, `dosync.yaml`, `default`. */
  source: string;
}

export interface SettingSpec<T> {
  /** The flag's value as commander gave it (undefined: not given) and how it is spelled. */
  flag?: { value: T | undefined; name: string };
  /** Environment variables, first wins; `parse` turns the text into the value. */
  env?: { names: readonly string[]; parse: (raw: string, name: string) => T };
  /** The dosync.yaml value (undefined: not set) and the file's name for the source. */
  file?: { value: T | undefined; name: string };
  fallback?: T;
}

/** An empty variable counts as unset, as for every DOSYNC_* variable. */
export function envValue(env: Readonly<Record<string, string | undefined>>, ...names: string[]): string | undefined {
  for (const n of names) {
    const v = env[n];
    if (v !== undefined && v !== '') return v;
  }
  return undefined;
}

export function resolveSetting<T>(env: Readonly<Record<string, string | undefined>>, spec: SettingSpec<T>): Setting<T> | undefined {
  if (spec.flag && spec.flag.value !== undefined) return { value: spec.flag.value, source: `flag ${spec.flag.name}` };
  if (spec.env) {
    for (const name of spec.env.names) {
      const raw = envValue(env, name);
      if (raw !== undefined) return { value: spec.env.parse(raw, name), source: `env ${name}` };
    }
  }
  if (spec.file && spec.file.value !== undefined) return { value: spec.file.value, source: spec.file.name };
  if (spec.fallback !== undefined) return { value: spec.fallback, source: 'default' };
  return undefined;
}

/** `1`, `true`, `yes`, `on` and DOSync's `VERBOSE=--verbose` count as set. */
export const parseFlagText = (raw: string): boolean => /^(1|true|yes|on|--?[a-z-]+)$/i.test(raw.trim());
/** Lists like DOSYNC_FILE=base.yml:prod.yml (Compose's COMPOSE_FILE separator) or comma-separated. */
export const parseListText = (raw: string): string[] => raw.split(/[:,]/).map((s) => s.trim()).filter(Boolean);
/** Comma-separated only (URLs and names hold colons). */
export const parseCommaText = (raw: string): string[] => raw.split(/\s*,\s*/).filter(Boolean);
export const asText = (raw: string): string => raw;
