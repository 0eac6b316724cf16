/**
 * mirror.yaml and the one-shot flags, validated into tasks (pure: text in, plan out).
 *
 *   registry: { ... }                       # optional: dosync.yaml's credentials section
 *   defaults: { interval: 1h, parallel: 4, maxErrors: 5, platforms: all }
 *   tasks:
 *     - name: base-images
 *       source: docker.io
 *       target: registry.example.com/mirror  # re-rooted under a prefix
 *       schedule: '0 3 * * *'                # cron instead of interval
 *       images:
 *         - from: library/nginx
 *           to: nginx                        # literal, regex:<re>,<repl> or {match, replace}
 *           tags: { semver: '>=1.25 <2', include: ['^stable$'], exclude: ['-rc'], latest: 5, maxAge: 90d }
 *           platforms: [linux/amd64, linux/arm64]
 *         - from: library/redis
 *           tags: ['7.2', '7.4']
 *
 * Unknown keys are errors: a typo must not silently widen what is copied.
 */
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { Cron } from 'croner';
import { expandEnv } from '../registry/config.js';
import { parseEcrHost } from '../registry/providers/ecr.js';
import { isStoreRoot } from './store-root.js';
import type { RepositoryRef } from '../registry/types.js';
import { ConfigError } from '../util/errors.js';
import { parseDuration } from '../util/duration.js';
import { parsePlatform, type PlatformSpec } from './manifest.js';
import { DEFAULT_PURGE_MAX, parsePurgeMax, type PurgeLimit } from './purge.js';
import { parseEndpoint, parseRename, sourceRepository, targetRepository, type Endpoint } from './naming.js';
import { compileTagSelector, type TagSelector, type TagSelectorInput } from './tags.js';

export interface MirrorImage {
  source: RepositoryRef;
  target: RepositoryRef;
  tags: TagSelector;
  /** 'all' copies indexes byte-exact; a list builds a platform subset (a new digest). */
  platforms: 'all' | PlatformSpec[];
  /** Delete target tags the source no longer has (or the filter no longer selects), within this cap; undefined = never. */
  purge?: PurgeLimit;
  /** Copy the signatures, SBOMs and attestations attached to each copied manifest (default true). */
  referrers: boolean;
  /** `mirror.yaml: tasks[0].images[1]`, for messages. */
  where: string;
}

export interface MirrorTask {
  name: string;
  source: Endpoint;
  target: Endpoint;
  /** Exactly one of them is set. */
  intervalMs?: number;
  cron?: string;
  /** Images copied at once. */
  parallel: number;
  /** Failed images after which the cycle stops and the command exits non-zero. */
  maxErrors: number;
  /** Upload blobs in PATCH chunks of this size instead of one PUT. */
  chunkSize?: number;
  /** ECR targets: create a missing target repository before the first push. */
  createRepositories: boolean;
  images: MirrorImage[];
}

export interface MirrorConfig {
  tasks: MirrorTask[];
  /** The raw `registry:` section (credentials), for the registry module. */
  registry?: Record<string, unknown>;
  /** `state:` the file that keeps blob locations and open upload sessions across runs. */
  state?: string;
}

export const DEFAULTS = { intervalMs: 3_600_000, parallel: 4, maxErrors: 5 };

const stringList = z.union([z.string(), z.array(z.string())]).transform((v) => (Array.isArray(v) ? v : [v]));
const durationText = z.union([z.string(), z.number()]).transform(String);
const size = z.union([z.number().int().positive(), z.string()]);

const tagsObject = z.object({
  names: stringList.optional(),
  semver: z.string().optional(),
  include: stringList.optional(),
  exclude: stringList.optional(),
  latest: z.number().int().positive().optional(),
  latestBy: z.enum(['version', 'time']).optional(),
  maxAge: durationText.optional(),
}).strict();

const tagsField = z.union([z.array(z.union([z.string(), z.number()]).transform(String)), tagsObject]);
const platformsField = z.union([z.literal('all'), stringList]);

const purgeMaxField = z.union([z.number(), z.string()]);

/** Set per image, per task or under defaults (the nearest wins). */
const copyFields = {
  purge: z.boolean().optional(),
  purge_max: purgeMaxField.optional(),
  referrers: z.boolean().optional(),
};

const imageSchema = z.object({
  from: z.string().min(1),
  to: z.union([z.string().min(1), z.object({ match: z.string(), replace: z.string() }).strict()]).optional(),
  tags: tagsField.optional(),
  platforms: platformsField.optional(),
  ...copyFields,
}).strict();

const commonFields = {
  ...copyFields,
  create_repositories: z.boolean().optional(),
  interval: durationText.optional(),
  schedule: z.string().optional(),
  parallel: z.number().int().min(1).max(64).optional(),
  maxErrors: z.number().int().min(1).optional(),
  platforms: platformsField.optional(),
  chunkSize: size.optional(),
};

const taskSchema = z.object({
  name: z.string().min(1).optional(),
  source: z.string().min(1),
  target: z.string().min(1),
  images: z.array(imageSchema).min(1),
  ...commonFields,
}).strict();

const fileSchema = z.object({
  registry: z.record(z.unknown()).optional(),
  state: z.string().min(1).optional(),
  defaults: z.object(commonFields).strict().optional(),
  tasks: z.array(taskSchema).min(1),
}).strict();

type RawTask = z.infer<typeof taskSchema>;
type RawImage = z.infer<typeof imageSchema>;
type Common = Partial<Pick<RawTask, 'interval' | 'schedule' | 'parallel' | 'maxErrors' | 'platforms' | 'chunkSize' | 'purge' | 'purge_max' | 'referrers' | 'create_repositories'>>;

/** Parses mirror.yaml text. `${VAR}` is expanded in `source` and `target` only (tag patterns and renames use `$`). */
export function parseMirrorConfig(text: string, file: string, env: Record<string, string | undefined> = {}): MirrorConfig {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const pos = e.linePos?.[0];
    throw new ConfigError(`${file}${pos ? `:${pos.line}:${pos.col}` : ''}: invalid YAML: ${e.message.split('\n')[0]}`);
  }
  const parsed = fileSchema.safeParse(doc.toJS() ?? {});
  if (!parsed.success) throw zodError(parsed.error, file);
  const defaults = parsed.data.defaults ?? {};
  const names = new Set<string>();
  const tasks = parsed.data.tasks.map((raw, i) => {
    const task = buildTask({ ...raw, source: expandEnv(raw.source, env), target: expandEnv(raw.target, env) }, defaults, `${file}: tasks[${i}]`, raw.name ?? `task-${i + 1}`);
    if (names.has(task.name)) throw new ConfigError(`${file}: tasks[${i}].name: "${task.name}" is used by another task; names must be unique`);
    names.add(task.name);
    return task;
  });
  return { tasks, registry: parsed.data.registry, ...(parsed.data.state !== undefined ? { state: parsed.data.state } : {}) };
}

function zodError(err: z.ZodError, file: string): ConfigError {
  const issue = deepest(err.issues[0]!);
  const where = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('').replace(/^\./, '');
  let what = issue.message;
  if (issue.code === 'unrecognized_keys') what = `unknown key(s) ${issue.keys.join(', ')}`;
  else if (issue.code === 'invalid_type' && issue.received === 'undefined') what = 'is required';
  return new ConfigError(`${file}: ${where ? `${where}: ` : ''}${what}`);
}

function deepest(issue: z.ZodIssue): z.ZodIssue {
  if (issue.code !== 'invalid_union') return issue;
  const inner = issue.unionErrors.map((e) => deepest(e.issues[0]!)).sort((a, b) => b.path.length - a.path.length)[0];
  return inner && inner.path.length > issue.path.length ? inner : issue;
}

function buildTask(raw: RawTask, defaults: Common, where: string, name: string): MirrorTask {
  const source = parseEndpoint(raw.source, `${where}.source`);
  if (isStoreRoot(source.registry)) throw new ConfigError(`${where}.source: an S3/R2 bucket can be a target only; the source must be a registry`);
  const target = parseEndpoint(raw.target, `${where}.target`);
  const pick = <K extends keyof Common>(k: K): Common[K] => (raw[k] !== undefined ? raw[k] : defaults[k]);
  const schedule = pick('schedule');
  const interval = pick('interval');
  const timing: Pick<MirrorTask, 'intervalMs' | 'cron'> = {};
  if (raw.schedule !== undefined && raw.interval !== undefined) throw new ConfigError(`${where}: set either interval or schedule, not both`);
  // The task's own setting wins over any default of the other kind.
  if (raw.schedule !== undefined || (raw.interval === undefined && schedule !== undefined)) timing.cron = checkCron(schedule!, `${where}.schedule`);
  else timing.intervalMs = interval !== undefined ? positiveDuration(interval, `${where}.interval`) : DEFAULTS.intervalMs;
  const chunk = pick('chunkSize');
  const task: MirrorTask = {
    name,
    source,
    target,
    ...timing,
    parallel: pick('parallel') ?? DEFAULTS.parallel,
    maxErrors: pick('maxErrors') ?? DEFAULTS.maxErrors,
    ...(chunk !== undefined ? { chunkSize: parseSize(chunk, `${where}.chunkSize`) } : {}),
    createRepositories: pick('create_repositories') ?? false,
    images: [],
  };
  if (task.createRepositories && !parseEcrHost(target.registry)) {
    throw new ConfigError(`${where}.create_repositories: ${target.registry} is not a private ECR registry (<account>.dkr.ecr.<region>.amazonaws.com); other registries create repositories on push`);
  }
  const taskPlatforms = pick('platforms');
  const inherited: CopyDefaults = { purge: pick('purge'), purge_max: pick('purge_max'), referrers: pick('referrers') };
  const seen = new Map<string, string>();
  raw.images.forEach((img, j) => {
    const image = buildImage(img, source, target, taskPlatforms, inherited, `${where}.images[${j}]`);
    const key = `${image.target.registry}/${image.target.repository}`;
    const other = seen.get(key);
    if (other) throw new ConfigError(`${image.where}: copies into ${key}, as ${other} does; give one of them another "to"`);
    seen.set(key, image.where);
    task.images.push(image);
  });
  return task;
}

type CopyDefaults = Pick<Common, 'purge' | 'purge_max' | 'referrers'>;

function buildImage(raw: RawImage, source: Endpoint, target: Endpoint, taskPlatforms: Common['platforms'], inherited: CopyDefaults, where: string): MirrorImage {
  const src = sourceRepository(raw.from, source, `${where}.from`);
  const rename = parseRename(raw.to, `${where}.to`);
  // Renames apply to the path as written under the source prefix (`library/nginx`, not a re-normalised one).
  const fromPath = raw.from.replace(/^\/+|\/+$/g, '');
  const dst = targetRepository(fromPath, rename, target, `${where}.to`);
  if (src.registry === dst.registry && src.repository === dst.repository) {
    throw new ConfigError(`${where}: source and target are the same repository (${src.registry}/${src.repository})`);
  }
  const purge = raw.purge ?? inherited.purge ?? false;
  const purgeMax = raw.purge_max ?? inherited.purge_max;
  if (!purge && raw.purge_max !== undefined) throw new ConfigError(`${where}.purge_max: only means something with purge: true`);
  return {
    source: src,
    target: dst,
    tags: compileTags(raw.tags, `${where}.tags`),
    platforms: compilePlatforms(raw.platforms ?? taskPlatforms, `${where}.platforms`),
    ...(purge ? { purge: parsePurgeMax(purgeMax ?? DEFAULT_PURGE_MAX, `${where}.purge_max`) } : {}),
    referrers: raw.referrers ?? inherited.referrers ?? true,
    where,
  };
}

function compileTags(raw: RawImage['tags'], where: string): TagSelector {
  if (raw === undefined) return compileTagSelector({}, where);
  if (Array.isArray(raw)) {
    if (raw.length === 0) throw new ConfigError(`${where}: an empty list copies nothing; leave tags out to copy every tag`);
    return compileTagSelector({ names: raw }, where);
  }
  const input: TagSelectorInput = {
    names: raw.names,
    semver: raw.semver,
    include: raw.include,
    exclude: raw.exclude,
    latest: raw.latest,
    latestBy: raw.latestBy,
    maxAgeMs: raw.maxAge !== undefined ? positiveDuration(raw.maxAge, `${where}.maxAge`) : undefined,
  };
  return compileTagSelector(input, where);
}

export function compilePlatforms(raw: 'all' | string[] | undefined, where: string): 'all' | PlatformSpec[] {
  if (raw === undefined || raw === 'all') return 'all';
  if (raw.length === 0) throw new ConfigError(`${where}: an empty list copies nothing; write all or list platforms such as linux/amd64`);
  if (raw.includes('all')) return 'all';
  return raw.map((p) => parsePlatform(p, where));
}

function positiveDuration(text: string, where: string): number {
  const ms = parseDuration(text, where);
  if (ms <= 0) throw new ConfigError(`${where}: must be longer than zero`);
  return ms;
}

function checkCron(expr: string, where: string): string {
  try {
    // Parsed only (paused): the scheduler makes the running job.
    new Cron(expr, { paused: true }).stop();
  } catch (err) {
    throw new ConfigError(`${where}: "${expr}" is not a cron expression (${(err as Error).message})`);
  }
  return expr;
}

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1000, kb: 1000, kib: 1024, m: 1e6, mb: 1e6, mib: 1024 ** 2, g: 1e9, gb: 1e9, gib: 1024 ** 3 };

/** `8MiB`, `5MB`, `1048576`. */
export function parseSize(value: number | string, where: string): number {
  if (typeof value === 'number') return value;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value);
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined || Number(m[1]) * unit < 1) throw new ConfigError(`${where}: "${value}" is not a size; write e.g. 8MiB or 5MB`);
  return Math.round(Number(m[1]) * unit);
}

export interface OneShotFlags {
  source: string;
  target: string;
  /** Comma-separated: literal tags, globs (`1.27.*`), `semver:<range>`, `regex:<re>`. */
  tags?: string;
  exclude?: string[];
  latest?: number;
  maxAge?: string;
  platforms?: string[];
  parallel?: number;
  maxErrors?: number;
  chunkSize?: string;
  interval?: string;
  schedule?: string;
  purge?: boolean;
  purgeMax?: string;
  referrers?: boolean;
}

/**
 * `--source docker.io/library/nginx --target registry.example.com/mirror/nginx`: full repository
 * names (Docker's short forms work: `nginx` is docker.io/library/nginx).
 */
export function oneShotTask(flags: OneShotFlags): MirrorTask {
  const source = repositoryFlag(flags.source, '--source');
  const target = repositoryFlag(flags.target, '--target');
  if (source.registry === target.registry && source.repository === target.repository) throw new ConfigError('--source and --target name the same repository');
  const input: TagSelectorInput = { names: [], include: [], exclude: flags.exclude };
  for (const entry of (flags.tags ?? '').split(',').map((t) => t.trim()).filter((t) => t !== '')) {
    if (entry.startsWith('semver:')) {
      if (input.semver !== undefined) throw new ConfigError('--tags: only one semver: range; combine constraints inside it (">=1.25 <2 || 3.x")');
      input.semver = entry.slice('semver:'.length);
    } else if (entry.startsWith('regex:')) input.include!.push(entry.slice('regex:'.length));
    else if (/[*?]/.test(entry)) input.include!.push(`glob:${entry}`);
    else input.names!.push(entry);
  }
  if (flags.latest !== undefined) input.latest = flags.latest;
  if (flags.maxAge !== undefined) input.maxAgeMs = positiveDuration(flags.maxAge, '--max-age');
  if (flags.interval !== undefined && flags.schedule !== undefined) throw new ConfigError('set either --interval or --schedule, not both');
  if (flags.purgeMax !== undefined && !flags.purge) throw new ConfigError('--purge-max: only means something with --purge');
  const timing: Pick<MirrorTask, 'intervalMs' | 'cron'> = flags.schedule !== undefined
    ? { cron: checkCron(flags.schedule, '--schedule') }
    : { intervalMs: flags.interval !== undefined ? positiveDuration(flags.interval, '--interval') : DEFAULTS.intervalMs };
  return {
    name: 'mirror',
    source: { registry: source.registry, prefix: '' },
    target: { registry: target.registry, prefix: '' },
    ...timing,
    parallel: flags.parallel ?? DEFAULTS.parallel,
    maxErrors: flags.maxErrors ?? DEFAULTS.maxErrors,
    ...(flags.chunkSize !== undefined ? { chunkSize: parseSize(flags.chunkSize, '--chunk-size') } : {}),
    createRepositories: false,
    images: [{
      source,
      target,
      tags: compileTagSelector(input, '--tags'),
      platforms: compilePlatforms(platformFlags(flags.platforms), '--platform'),
      ...(flags.purge ? { purge: parsePurgeMax(flags.purgeMax ?? DEFAULT_PURGE_MAX, '--purge-max') } : {}),
      referrers: flags.referrers ?? true,
      where: `${flags.source} -> ${flags.target}`,
    }],
  };
}

/** Repeated and comma-separated `--platform` values; none given means every platform. */
function platformFlags(values: string[] | undefined): string[] | undefined {
  const list = (values ?? []).flatMap((p) => p.split(',')).map((p) => p.trim()).filter((p) => p !== '');
  return list.length > 0 ? list : undefined;
}

function repositoryFlag(text: string, flag: string): RepositoryRef {
  if (isStoreRoot(text.trim())) throw new ConfigError(`${flag}: S3 and R2 targets go in mirror.yaml (target: s3://bucket/prefix), where the repository names under them are clear`);
  const t = text.trim().replace(/^[a-z]+:\/\//i, '');
  const first = t.split('/')[0]!;
  const hasHost = t.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (!hasHost) return sourceRepository(t, { registry: 'docker.io', prefix: '' }, flag);
  return sourceRepository(t.slice(first.length + 1), parseEndpoint(first, flag), flag);
}
