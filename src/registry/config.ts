/**
 * The `registry:` section of dosync.yaml, exactly as DOSync documents it (README "Multi-Registry
 * Support" and the field list of its internal/config/config.go), plus a few additions for what
 * DOSync could not express (several custom/Harbor/GitLab registries, plain-HTTP and CA settings,
 * usernames for GHCR/Quay robot accounts, ACR admin users).
 *
 * Unknown keys are not an error (a DOSync file must keep working) but they are reported, so a typo
 * like `pasword:` does not silently mean "anonymous".
 */
import { z } from 'zod';
import { ConfigError } from '../util/errors.js';

export type Env = Record<string, string | undefined>;

/** Policies are validated by the policy module; here they are carried through untouched. */
const imagePolicyFields = {
  imagePolicy: z.unknown().optional(),
  image_policy: z.unknown().optional(),
  /** Old DOSync releases documented a per-registry `tag_pattern`; carried for the policy module. */
  tag_pattern: z.string().optional(),
  /** Signature verification for this registry's images (checked by src/verify/settings.ts). */
  verify: z.unknown().optional(),
};

const httpUrl = z.string().refine((v) => {
  try {
    const u = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(v) ? v : `https://${v}`);
    return (u.protocol === 'https:' || u.protocol === 'http:') && u.hostname !== '';
  } catch {
    return false;
  }
}, 'must be a registry URL such as https://registry.example.com');

/** Fields shared by the registries that are addressed by URL (custom, Harbor, GitLab). */
const urlRegistryFields = {
  url: httpUrl,
  username: z.string().optional(),
  password: z.string().optional(),
  /** A bearer token sent as-is (registries that hand out long-lived tokens). */
  token: z.string().optional(),
  /** Plain HTTP. Never inferred: an https registry is never silently downgraded. */
  insecure: z.boolean().optional(),
  /** PEM file with the CA that signed the registry's certificate. */
  ca_file: z.string().optional(),
  ...imagePolicyFields,
};

const dockerhub = z.object({ username: z.string().optional(), password: z.string().optional(), ...imagePolicyFields });
const gcr = z.object({ credentials_file: z.string().optional(), ...imagePolicyFields });
const ghcr = z.object({ token: z.string().optional(), username: z.string().optional(), ...imagePolicyFields });
const acr = z.object({
  tenant_id: z.string().optional(),
  client_id: z.string().optional(),
  client_secret: z.string().optional(),
  registry: z.string().optional(),
  /** Admin user or a repository-scoped token, sent as Basic. */
  username: z.string().optional(),
  password: z.string().optional(),
  ...imagePolicyFields,
});
const quay = z.object({ token: z.string().optional(), username: z.string().optional(), ...imagePolicyFields });
const harbor = z.object(urlRegistryFields);
const docr = z.object({ token: z.string().optional(), username: z.string().optional(), password: z.string().optional(), ...imagePolicyFields });
const ecr = z.object({
  aws_access_key_id: z.string().optional(),
  aws_secret_access_key: z.string().optional(),
  aws_session_token: z.string().optional(),
  region: z.string().optional(),
  registry: z.string().optional(),
  ...imagePolicyFields,
});
const custom = z.object(urlRegistryFields);
const gitlab = z.object(urlRegistryFields);

/** DOSync allows one custom/Harbor registry; a list of them is accepted too. */
const oneOrMany = <T extends z.ZodTypeAny>(entry: T) => z.union([entry, z.array(entry)]).transform((v) => (Array.isArray(v) ? v : [v]) as Array<z.output<T>>);

const sectionShape = {
  dockerhub,
  gcr,
  ghcr,
  acr,
  quay,
  harbor: oneOrMany(harbor),
  docr,
  ecr,
  custom: oneOrMany(custom),
  gitlab: oneOrMany(gitlab),
};

const section = z.object({
  dockerhub: dockerhub.optional(),
  gcr: gcr.optional(),
  ghcr: ghcr.optional(),
  acr: acr.optional(),
  quay: quay.optional(),
  harbor: sectionShape.harbor.optional(),
  docr: docr.optional(),
  ecr: ecr.optional(),
  custom: sectionShape.custom.optional(),
  gitlab: sectionShape.gitlab.optional(),
});

export type DockerHubConfig = z.infer<typeof dockerhub>;
export type GcrConfig = z.infer<typeof gcr>;
export type GhcrConfig = z.infer<typeof ghcr>;
export type AcrConfig = z.infer<typeof acr>;
export type QuayConfig = z.infer<typeof quay>;
export type HarborConfig = z.infer<typeof harbor>;
export type DocrConfig = z.infer<typeof docr>;
export type EcrConfig = z.infer<typeof ecr>;
export type CustomRegistryConfig = z.infer<typeof custom>;
export type GitlabConfig = z.infer<typeof gitlab>;
export type UrlRegistryConfig = CustomRegistryConfig;

/** The parsed section: `harbor`, `custom` and `gitlab` are always lists here. */
export type RegistryConfig = z.infer<typeof section>;

export const registryConfigSchema: z.ZodType<RegistryConfig, z.ZodTypeDef, unknown> = section;

/** Which registry families the section may name (used for the unknown-key report). */
export const REGISTRY_FAMILIES = Object.keys(sectionShape) as Array<keyof typeof sectionShape>;

export interface ParsedRegistryConfig {
  config: RegistryConfig;
  /** One line each: unknown keys, `${VAR}`s that are not set, `imagePolicy` given twice. */
  warnings: string[];
  /** `host[:port]` of registries marked `insecure: true` (plain HTTP), for the OCI client. */
  insecureRegistries: string[];
  /**
   * `host[:port]` of registries the config says use TLS (an `https://` url, or a `ca_file`): the
   * OCI client reaches them over https even on loopback, where it would otherwise assume plain http.
   */
  httpsRegistries: string[];
}

export interface ParseOptions {
  env?: Env;
  /** Names the file in messages (default `dosync.yaml`). */
  file?: string;
}

/**
 * Validates the raw `registry:` value (as loaded from YAML), expands `${VAR}` in its strings
 * (never inside image policies, whose `$name` references are not variables), and reports unknown
 * keys as warnings. Throws ConfigError naming the field, never its value (values are often secrets).
 */
export function parseRegistryConfig(raw: unknown, opts: ParseOptions = {}): ParsedRegistryConfig {
  const file = opts.file ?? 'dosync.yaml';
  const warnings: string[] = [];
  if (raw === undefined || raw === null) return { config: {}, warnings, insecureRegistries: [], httpsRegistries: [] };
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(`${file}: registry: must be a mapping of registry names (dockerhub, ghcr, ecr, ...)`);

  collectUnknownKeys(raw, section, 'registry', warnings);
  const expanded = opts.env ? expandSection(raw, opts.env, 'registry', warnings) : raw;
  const parsed = section.safeParse(expanded);
  if (!parsed.success) {
    const issue = deepestIssue(parsed.error.issues[0]!);
    throw new ConfigError(`${file}: ${['registry', ...issue.path].map(String).join('.')}: ${describeIssue(issue)}`);
  }
  const config = parsed.data;
  for (const family of ['custom', 'harbor', 'gitlab'] as const) {
    for (const [i, entry] of (config[family] ?? []).entries()) {
      if (/^http:\/\//i.test(entry.url) && entry.insecure !== true) {
        const where = (config[family]?.length ?? 0) > 1 ? `registry.${family}[${i}]` : `registry.${family}`;
        throw new ConfigError(`${file}: ${where}.url: uses plain http; add "insecure: true" to this registry if it really has no TLS`);
      }
    }
  }
  for (const [family, value] of Object.entries(config)) {
    for (const [i, entry] of (Array.isArray(value) ? value : [value]).entries()) {
      const e = entry as { imagePolicy?: unknown; image_policy?: unknown; tag_pattern?: string } | undefined;
      const where = Array.isArray(value) && value.length > 1 ? `registry.${family}[${i}]` : `registry.${family}`;
      if (e && e.imagePolicy !== undefined && e.image_policy !== undefined) {
        warnings.push(`${file}: ${where}: both imagePolicy and image_policy are set; imagePolicy is used`);
      }
      if (e?.tag_pattern && policyFiltersTags(entryImagePolicy(e))) {
        warnings.push(`${file}: ${where}.tag_pattern: ignored, the imagePolicy already filters tags; keep one of them`);
      }
    }
  }
  const insecureRegistries: string[] = [];
  const httpsRegistries: string[] = [];
  for (const family of ['custom', 'harbor', 'gitlab'] as const) {
    for (const [i, entry] of (config[family] ?? []).entries()) {
      const where = (config[family]?.length ?? 0) > 1 ? `registry.${family}[${i}]` : `registry.${family}`;
      const saysHttps = /^https:\/\//i.test(entry.url);
      if (entry.insecure === true && saysHttps) {
        // Never downgrade what the url asks for: the url wins.
        warnings.push(`${where}.insecure: ignored, the url says https://; write http:// to use plain http`);
      } else if (entry.insecure === true) {
        if (entry.ca_file) warnings.push(`${where}.ca_file: ignored, insecure: true means plain http`);
        insecureRegistries.push(urlHost(entry.url));
        continue;
      }
      if (saysHttps || entry.ca_file) httpsRegistries.push(urlHost(entry.url));
    }
  }
  return { config, warnings: warnings.map((w) => (w.startsWith(`${file}: `) ? w : `${file}: ${w}`)), insecureRegistries, httpsRegistries };
}

/** `host[:port]` of a registry URL written with or without a scheme. */
export function urlHost(url: string): string {
  return new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(url) ? url : `https://${url}`).host.toLowerCase();
}

/** Whether an imagePolicy block sets a tag filter (`filterTags.pattern/extract` or `tagPattern`; keys loose as the policy module reads them). */
function policyFiltersTags(policy: unknown): boolean {
  const loose = (v: unknown): Record<string, unknown> => (v && typeof v === 'object'
    ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k.toLowerCase().replace(/[_-]/g, ''), x])) : {});
  const p = loose(policy);
  const f = loose(p.filtertags);
  return [p.tagpattern, f.pattern, f.extract].some((v) => v !== undefined && v !== null && v !== '');
}

/** The image policy an entry carries, whichever of DOSync's two spellings was used. */
export function entryImagePolicy(entry: { imagePolicy?: unknown; image_policy?: unknown } | undefined): unknown {
  return entry?.imagePolicy ?? entry?.image_policy;
}

/**
 * `${VAR}`, `${VAR:-default}` (default when unset or empty) and `${VAR-default}` (default when
 * unset); `$${` is a literal `${`. A bare `$name` is left alone: passwords and Harbor robot names
 * (`robot$ci`) contain `$`. Names of variables that are not set are pushed to `missing`.
 */
export function expandEnv(text: string, env: Env, missing?: string[]): string {
  return text.replace(/\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}/g, (m, name: string | undefined, op: string | undefined, def: string | undefined) => {
    if (m === '$${') return '${';
    const value = env[name!];
    if (op === ':-') return value !== undefined && value !== '' ? value : def!;
    if (op === '-') return value !== undefined ? value : def!;
    if (value === undefined) {
      missing?.push(name!);
      return '';
    }
    return value;
  });
}

/** expandEnv over every string of a YAML value (objects and lists included). */
export function expandEnvDeep<T>(value: T, env: Env, missing?: string[]): T {
  if (typeof value === 'string') return expandEnv(value, env, missing) as T;
  if (Array.isArray(value)) return value.map((v) => expandEnvDeep(v, env, missing)) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expandEnvDeep(v, env, missing)])) as T;
  }
  return value;
}

const POLICY_KEYS = new Set(['imagePolicy', 'image_policy', 'tag_pattern']);

function expandSection(raw: object, env: Env, path: string, warnings: string[]): unknown {
  const walk = (value: unknown, where: string): unknown => {
    if (typeof value === 'string') {
      const missing: string[] = [];
      const out = expandEnv(value, env, missing);
      for (const name of missing) warnings.push(`${where}: \${${name}} is not set in the environment or the env file; using an empty value`);
      return out;
    }
    if (Array.isArray(value)) return value.map((v, i) => walk(v, `${where}[${i}]`));
    if (value && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, POLICY_KEYS.has(k) ? v : walk(v, `${where}.${k}`)]));
    }
    return value;
  };
  return walk(raw, path);
}

/** Walks the raw value along the schema and reports keys the schema does not know. */
function collectUnknownKeys(value: unknown, schema: z.ZodTypeAny, path: string, warnings: string[]): void {
  const s = unwrap(schema);
  if (s instanceof z.ZodObject) {
    if (!value || typeof value !== 'object' || Array.isArray(value)) return;
    const shape = s.shape as Record<string, z.ZodTypeAny>;
    for (const [key, v] of Object.entries(value)) {
      const child = shape[key];
      if (!child) {
        warnings.push(`${path}.${key}: unknown key, ignored${suggestion(key, Object.keys(shape))}`);
        continue;
      }
      if (!POLICY_KEYS.has(key)) collectUnknownKeys(v, child, `${path}.${key}`, warnings);
    }
    return;
  }
  if (s instanceof z.ZodUnion) {
    const options = s.options as z.ZodTypeAny[];
    const pick = options.find((o) => (unwrap(o) instanceof z.ZodArray) === Array.isArray(value)) ?? options[0]!;
    collectUnknownKeys(value, pick, path, warnings);
    return;
  }
  if (s instanceof z.ZodArray && Array.isArray(value)) {
    value.forEach((v, i) => collectUnknownKeys(v, s.element as z.ZodTypeAny, `${path}[${i}]`, warnings));
  }
}

function unwrap(schema: z.ZodTypeAny): z.ZodTypeAny {
  let s = schema;
  for (;;) {
    if (s instanceof z.ZodOptional || s instanceof z.ZodNullable) s = s.unwrap();
    else if (s instanceof z.ZodEffects) s = s.innerType();
    else return s;
  }
}

function suggestion(key: string, known: string[]): string {
  const near = known.find((k) => editDistance(k.toLowerCase(), key.toLowerCase()) <= 2);
  return near ? ` (did you mean "${near}"?)` : '';
}

export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

/** For a mapping-or-list field, the issue of the branch that got furthest (the one the user meant). */
function deepestIssue(issue: z.ZodIssue): z.ZodIssue {
  if (issue.code !== 'invalid_union') return issue;
  const inner = issue.unionErrors.map((e) => deepestIssue(e.issues[0]!)).sort((a, b) => b.path.length - a.path.length)[0];
  return inner && inner.path.length > issue.path.length ? inner : issue;
}

function describeIssue(issue: z.ZodIssue): string {
  if (issue.code === 'invalid_type') return issue.received === 'undefined' ? 'is required' : `must be ${article(issue.expected)}, not ${article(issue.received)}`;
  if (issue.code === 'invalid_union') return 'must be a mapping (or a list of mappings)';
  // Every other message here is one of ours or zod's generic text; none contains the value.
  return issue.message;
}

function article(type: string): string {
  if (type === 'object') return 'a mapping';
  if (type === 'array') return 'a list';
  if (type === 'boolean') return 'true or false';
  if (type === 'null') return 'empty';
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}
