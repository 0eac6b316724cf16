/**
 * The settings of a run, resolved once with their sources (flag > env > dosync.yaml > default). `dosync sync`
 * runs with them, `check`, `pause` and the other commands take the directories from them, and
 * `dosync config print` prints them: one table, so what is printed is what runs. Pure.
 */
import type { ConfigFile } from '../config/file.js';
import { ConfigError } from '../util/errors.js';
import { parseDuration } from '../util/duration.js';
import { asText, parseCommaText, parseFlagText, resolveSetting, type Setting } from './resolve.js';

export { envValue, resolveSetting, parseFlagText, parseListText, type Setting } from './resolve.js';

export const DEFAULT_INTERVAL = '5m';
export const DEFAULT_KEEP_BACKUPS = 10;
export const DEFAULT_HEALTH_TIMEOUT_MS = 120_000;
export const DEFAULT_HEALTH_STABLE_MS = 10_000;

/** The flags that carry settings (the subset of every command's flags the resolver reads; all optional). */
export interface SettingFlags {
  interval?: string; schedule?: string; jitter?: string; keepBackups?: string; backupDir?: string; stateDir?: string;
  checkOnly?: boolean; dryRun?: boolean; rollingUpdate?: boolean;
  /** commander's `--no-prune`: false when given, true (or absent) otherwise. */
  prune?: boolean;
  listen?: string; apiToken?: string; notify?: string[]; healthTimeout?: string; healthStable?: string;
  projectsRoot?: string; excludeProject?: string[];
}

export interface ResolvedSettings {
  schedule?: Setting<string>;
  /** A duration text (flag, env, default) or milliseconds (dosync.yaml). Absent when a schedule replaces it. */
  interval?: Setting<string | number>;
  jitter?: Setting<string | number>;
  keepBackups: Setting<string | number>;
  backupDir?: Setting<string>;
  stateDir?: Setting<string>;
  checkOnly: Setting<boolean>;
  dryRun: Setting<boolean>;
  rollingUpdate: Setting<boolean>;
  prune: Setting<boolean>;
  listen?: Setting<string>;
  apiToken?: Setting<string>;
  /** Every channel from dosync.yaml, the flags and DOSYNC_NOTIFY (they add up, not override). */
  notify?: Setting<string[]>;
  healthTimeout: Setting<string | number>;
  healthStable: Setting<string | number>;
  /** Whole host: only projects whose working dir is under this directory. */
  projectsRoot?: Setting<string>;
  /** Whole host: projects never touched. */
  excludeProjects?: Setting<string[]>;
  /** Whole host: false = only services labelled dosync.enable=true (or Watchtower's / WUD's opt-in labels). */
  watchByDefault: Setting<boolean>;
}

const numberOrText = (raw: string): string | number => (/^\d+$/.test(raw) ? Number(raw) : raw);

export function resolveSettings(flags: SettingFlags, env: Readonly<Record<string, string | undefined>>, config: ConfigFile, file = 'dosync.yaml'): ResolvedSettings {
  const f = <T>(value: T | undefined) => ({ value, name: file });
  const flag = <T>(value: T | undefined, name: string) => ({ value, name });
  const envText = (...names: string[]) => ({ names, parse: asText });
  const envBool = (...names: string[]) => ({ names, parse: parseFlagText });
  const schedule = resolveSetting(env, { flag: flag(flags.schedule, '--schedule'), env: envText('DOSYNC_SCHEDULE'), file: f(config.schedule) });
  // A schedule replaces the interval of the file and the default; an interval flag or variable given too is an error where it is parsed.
  const interval = resolveSetting<string | number>(env, {
    flag: flag(flags.interval, '--interval'), env: envText('DOSYNC_INTERVAL', 'CHECK_INTERVAL'),
    ...(schedule ? {} : { file: f(config.interval), fallback: DEFAULT_INTERVAL }),
  });
  const envNotify = resolveSetting(env, { env: { names: ['DOSYNC_NOTIFY'], parse: parseCommaText } });
  const notifyParts: Array<[string[], string]> = [[config.notify ?? [], file], [flags.notify ?? [], 'flag --notify'], [envNotify?.value ?? [], 'env DOSYNC_NOTIFY']];
  const notifyGiven = notifyParts.filter(([list]) => list.length > 0);
  return {
    schedule,
    interval,
    jitter: resolveSetting<string | number>(env, { flag: flag(flags.jitter, '--jitter'), env: envText('DOSYNC_JITTER'), file: f(config.jitter) }),
    keepBackups: resolveSetting<string | number>(env, { flag: flag(flags.keepBackups, '--keep-backups'), env: { names: ['DOSYNC_KEEP_BACKUPS'], parse: numberOrText }, file: f(config.keep_backups), fallback: DEFAULT_KEEP_BACKUPS })!,
    backupDir: resolveSetting(env, { flag: flag(flags.backupDir, '--backup-dir'), env: envText('DOSYNC_BACKUP_DIR'), file: f(config.backup_dir) }),
    stateDir: resolveSetting(env, { flag: flag(flags.stateDir, '--state-dir'), env: envText('DOSYNC_STATE_DIR'), file: f(config.state_dir) }),
    checkOnly: resolveSetting(env, { flag: flag(flags.checkOnly, '--check-only'), env: envBool('DOSYNC_CHECK_ONLY'), file: f(config.check_only), fallback: false })!,
    dryRun: resolveSetting(env, { flag: flag(flags.dryRun, '--dry-run'), env: envBool('DOSYNC_DRY_RUN'), fallback: false })!,
    rollingUpdate: resolveSetting(env, { flag: flag(flags.rollingUpdate, '--rolling-update'), env: envBool('DOSYNC_ROLLING_UPDATE'), fallback: false })!,
    prune: resolveSetting(env, { flag: flag(flags.prune === false ? false : undefined, '--no-prune'), file: f(config.prune), fallback: true })!,
    listen: resolveSetting(env, { flag: flag(flags.listen, '--listen'), env: envText('DOSYNC_LISTEN'), file: f(config.listen) }),
    apiToken: resolveSetting(env, { flag: flag(flags.apiToken, '--api-token'), env: envText('DOSYNC_API_TOKEN'), file: f(config.api_token) }),
    notify: notifyGiven.length > 0 ? { value: notifyGiven.flatMap(([list]) => list), source: notifyGiven.map(([, s]) => s).join(' + ') } : undefined,
    healthTimeout: resolveSetting<string | number>(env, { flag: flag(flags.healthTimeout, '--health-timeout'), file: f(config.health?.timeout), fallback: DEFAULT_HEALTH_TIMEOUT_MS })!,
    healthStable: resolveSetting<string | number>(env, { flag: flag(flags.healthStable, '--health-stable'), file: f(config.health?.stable), fallback: DEFAULT_HEALTH_STABLE_MS })!,
    projectsRoot: resolveSetting(env, { flag: flag(flags.projectsRoot, '--projects-root'), env: envText('DOSYNC_PROJECTS_ROOT'), file: f(config.projects_root) }),
    excludeProjects: resolveSetting(env, {
      flag: flag(flags.excludeProject?.length ? flags.excludeProject : undefined, '--exclude-project'),
      env: { names: ['DOSYNC_EXCLUDE_PROJECTS'], parse: parseCommaText }, file: f(config.exclude_projects),
    }),
    watchByDefault: resolveSetting(env, { env: envBool('DOSYNC_WATCH_BY_DEFAULT'), file: f(config.watch_by_default), fallback: true })!,
  };
}

/** `keep_backups` as a number, or one line naming where the bad value came from. */
export function keepBackupsOf(s: Pick<ResolvedSettings, 'keepBackups'>): number {
  const n = Number(s.keepBackups.value);
  if (!Number.isInteger(n) || n < 1) throw new ConfigError(`--keep-backups: "${s.keepBackups.value}" is not a whole number of at least 1 (${s.keepBackups.source})`);
  return n;
}

/** The health gate's timings in milliseconds (flag texts parsed, dosync.yaml values already are). */
export function healthOf(s: Pick<ResolvedSettings, 'healthTimeout' | 'healthStable'>): { timeoutMs: number; stableMs: number } {
  const ms = (v: string | number, field: string) => (typeof v === 'number' ? v : parseDuration(v, field));
  return { timeoutMs: ms(s.healthTimeout.value, '--health-timeout'), stableMs: ms(s.healthStable.value, '--health-stable') };
}
