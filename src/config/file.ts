import { readFile, access } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../util/errors.js';
import { durationMs, notADuration } from '../util/duration.js';
import { expandEnv } from '../registry/config.js';
import { parseVerifySetting } from '../verify/settings.js';

/** Where dosync.yaml is looked for when -c is not given (DOSync's locations). */
export const CONFIG_SEARCH_PATH = ['dosync.yaml', 'dosync.yml', '/etc/dosync/dosync.yaml', '/etc/dosync/dosync.yml'];

/** Seconds as a number, or a Go-style duration. The issue leaves the field out: the message adds its path once. */
const duration = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const ms = typeof v === 'number' ? v * 1000 : durationMs(v);
  if (ms !== undefined) return ms;
  ctx.addIssue({ code: z.ZodIssueCode.custom, message: notADuration(String(v)) });
  return z.NEVER;
});

const updateLevel = z.enum(['patch', 'minor', 'major', 'digest', 'none']);

export const serviceSettingsSchema = z.object({
  skip: z.boolean().optional(),
  update: updateLevel.optional(),
  imagePolicy: z.unknown().optional(),
  image_policy: z.unknown().optional(),
  health: z.object({ timeout: duration.optional(), stable: duration.optional() }).strict().optional(),
  paused: z.boolean().optional(),
  maintenance_window: z.string().optional(),
  min_age: duration.optional(),
  /** Signature verification for this service (src/verify/settings.ts checks the block). */
  verify: z.unknown().optional(),
  /** Update a service whose containers are stopped (its file only; nothing is started). */
  update_stopped: z.boolean().optional(),
  /** manual: a found update waits for `dosync approve` (or the dashboard, the API, MQTT). */
  approve: z.enum(['auto', 'manual']).optional(),
}).strict();

export const configFileSchema = z.object({
  /** DOSync's registry section: validated in detail by the registry module. */
  registry: z.record(z.unknown()).optional(),
  services: z.record(serviceSettingsSchema).optional(),
  interval: duration.optional(),
  backup_dir: z.string().optional(),
  state_dir: z.string().optional(),
  keep_backups: z.number().int().min(1).optional(),
  prune: z.boolean().optional(),
  /** Updates found outside these windows are reported and held until one opens: '02:00-04:00,14:00-15:30'. */
  maintenance_window: z.string().optional(),
  /** IANA zone for maintenance windows and cron schedules (default: the host's zone, TZ or /etc/localtime, for both). */
  timezone: z.string().optional(),
  /** A tag younger than this is held (publishers sometimes pull broken releases within hours). */
  min_age: duration.optional(),
  /** Stopped services are left alone unless this is set (or per service / label dosync.update_stopped). */
  update_stopped: z.boolean().optional(),
  schedule: z.string().optional(),
  jitter: duration.optional(),
  check_only: z.boolean().optional(),
  notify: z.array(z.string()).optional(),
  listen: z.string().optional(),
  api_token: z.string().optional(),
  /** A token that may read (status, dashboard) but change nothing. */
  api_token_readonly: z.string().optional(),
  /** The dashboard's address as users reach it (links in notifications): https://dosync.example.org */
  public_url: z.string().url().optional(),
  /** once (default): an available update is announced once per service and tag; cycle: every cycle. */
  notify_every: z.enum(['once', 'cycle']).optional(),
  /** manual: found updates wait for approval (per service: services.X.approve, label dosync.approve). */
  approve: z.enum(['auto', 'manual']).optional(),
  health: z.object({ timeout: duration.optional(), stable: duration.optional() }).strict().optional(),
  /** cosign signature verification before any update (src/verify/settings.ts checks the block). */
  verify: z.unknown().optional(),
  /** Whole host (`sync`/`check` without -f): the compose projects to keep updated, besides the ones `--all` finds. */
  projects: z.array(z.object({
    /** Default: the running containers' project for these files, else the directory name (as compose derives it). */
    name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'a compose project name: lowercase letters, digits, _ and -').optional(),
    files: z.array(z.string()).min(1).optional(),
    env_file: z.string().optional(),
    /** A directory: its compose.yaml / docker-compose.yml (and override) found as compose finds them. */
    dir: z.string().optional(),
    /** The files are a Swarm stack deployed under this name (`docker stack deploy -c FILE NAME`): updated through the swarm. */
    stack: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, 'a stack name: letters, digits, _ . -').optional(),
  }).strict().refine((p) => (p.files === undefined) !== (p.dir === undefined), { message: 'give files: or dir: (one of them)' })).optional(),
  /** Whole host: only projects whose working dir is under this directory (`--projects-root`). */
  projects_root: z.string().optional(),
  /** Whole host: project names never touched (`--exclude-project`). */
  exclude_projects: z.array(z.string()).optional(),
  /** false: only services labelled dosync.enable=true, com.centurylinklabs.watchtower.enable=true or wud.watch=true. */
  watch_by_default: z.boolean().optional(),
  /** Bounds on what one registry may cost: time per request, per tag listing and per cycle, bytes per listing. */
  limits: z.object({
    request_timeout: duration.optional(),
    tag_list_timeout: duration.optional(),
    tag_list_max_mib: z.number().positive().max(4096).optional(),
    cycle_timeout: duration.optional(),
  }).strict().optional(),
}).strict();

export type ConfigFile = z.infer<typeof configFileSchema>;
export type ServiceSettings = z.infer<typeof serviceSettingsSchema>;

function zodPath(path: Array<string | number>): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : p)).join('.').replace(/\.\[/g, '[');
}

export function parseConfigText(text: string, file: string, env: Record<string, string | undefined>): ConfigFile {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const pos = e.linePos?.[0];
    throw new ConfigError(`${file}${pos ? `:${pos.line}:${pos.col}` : ''}: invalid YAML: ${e.message.split('\n')[0]}`);
  }
  const raw = expandDeep(doc.toJS() ?? {}, env);
  const parsed = configFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = zodPath(issue.path);
    const what = issue.code === 'unrecognized_keys' ? `unknown key(s) ${issue.keys.join(', ')}` : issue.message;
    throw new ConfigError(`${file}: ${where ? `${where}: ` : ''}${what}`);
  }
  checkVerifySettings(parsed.data, file);
  return parsed.data;
}

/** The `verify:` blocks of the top level, `services.<name>` and `registry.<family>` (one line for the first bad one). */
export function checkVerifySettings(config: ConfigFile, file: string): void {
  for (const [where, value] of verifyBlocks(config)) parseVerifySetting(value, `${file}: ${where}`);
}

/** Each `verify:` block with its field path (`verify`, `services.web.verify`, `registry.ghcr.verify`, `registry.custom[1].verify`). */
export function verifyBlocks(config: { verify?: unknown; services?: Record<string, { verify?: unknown } | unknown>; registry?: Record<string, unknown> }): Array<[string, unknown]> {
  const out: Array<[string, unknown]> = [];
  if (config.verify !== undefined) out.push(['verify', config.verify]);
  for (const [name, s] of Object.entries(config.services ?? {})) {
    const v = (s as { verify?: unknown } | null)?.verify;
    if (v !== undefined) out.push([`services.${name}.verify`, v]);
  }
  for (const [family, entry] of Object.entries(config.registry ?? {})) {
    const entries = Array.isArray(entry) ? entry : [entry];
    entries.forEach((e, i) => {
      const v = (e as { verify?: unknown } | null)?.verify;
      if (v !== undefined) out.push([`registry.${family}${Array.isArray(entry) ? `[${i}]` : ''}.verify`, v]);
    });
  }
  return out;
}

/**
 * `${VAR}` expansion everywhere except where `$` means something else: image policies (`extract: '$ts'`)
 * and the registry section, which the registry module expands itself (it knows which values are secrets).
 */
const NOT_EXPANDED = new Set(['imagePolicy', 'image_policy', 'registry']);

export function expandDeep(value: unknown, env: Record<string, string | undefined>): unknown {
  if (typeof value === 'string') return expandEnv(value, env);
  if (Array.isArray(value)) return value.map((v) => expandDeep(v, env));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, NOT_EXPANDED.has(k) ? v : expandDeep(v, env)]));
  }
  return value;
}

/** Loads -c FILE, or the first dosync.yaml on the search path; none is fine (all defaults). */
export async function loadConfigFile(explicit: string | undefined, env: Record<string, string | undefined>): Promise<{ path?: string; config: ConfigFile }> {
  let path: string | undefined;
  if (explicit) {
    path = resolve(explicit);
    await access(path).catch(() => {
      throw new ConfigError(`config file ${explicit} does not exist; fix -c/--config or DOSYNC_CONFIG`);
    });
  } else {
    for (const candidate of CONFIG_SEARCH_PATH) {
      if (await access(candidate).then(() => true, () => false)) { path = resolve(candidate); break; }
    }
  }
  if (!path) return { config: {} };
  const text = await readFile(path, 'utf8').catch((err) => {
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  });
  return { path, config: parseConfigText(text, path, env) };
}
