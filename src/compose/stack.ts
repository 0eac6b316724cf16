/**
 * Reads a compose stack from file texts (pure): parses every file, interpolates like compose, resolves
 * same-file `extends`, merges override files in order and reduces each service to what dosync needs.
 */
import { ConfigError } from '../util/errors.js';
import { parseEnvFile } from './envfile.js';
import { describeImageVariable, type ImagePart } from './image-source.js';
import { InterpolationError, interpolate } from './interpolate.js';
import { RESET, parseComposeDocument, toPlain } from './yaml.js';

export { parseEnvFile, scanEnvFile, type EnvEntry, type ParseEnvOptions } from './envfile.js';

export interface ComposeFileText {
  path: string;
  text: string;
}

export type VariableOrigin = 'env-file' | 'default' | 'environment';

export interface StackService {
  name: string;
  /** Interpolated image reference (undefined for build-only services). */
  image?: string;
  /** As written in the file that defines it (may contain ${VAR}). */
  rawImage?: string;
  /** Path of the compose file whose value wins (last -f that sets image). */
  imageFile?: string;
  /** Key under `services:` in `imageFile` whose `image:` holds the value; differs from `name` when inherited through `extends`. */
  imageService?: string;
  /** When the tag comes from ${VAR}. */
  imageVariable?: { name: string; definedIn: VariableOrigin; envFile?: string };
  /** Where each part of `image` comes from (literal text, variables, defaults); used by planImageEdit. */
  imageParts?: ImagePart[];
  labels: Record<string, string>;
  /** scale / deploy.replicas, default 1. */
  replicas: number;
  containerName?: string;
  /** True when a port publishes a host port (single or range); only container-only ports allow scaling up side by side. */
  hasFixedHostPorts: boolean;
  profiles: string[];
  /** `condition` is compose's default `service_started` for the list form. */
  dependsOn: Array<{ service: string; condition?: string }>;
  healthcheck?: unknown;
}

export interface IncludeEntry {
  /** Compose file that contains the `include:`. */
  fromFile: string;
  paths: string[];
  envFiles: string[];
  projectDirectory?: string;
}

export interface Stack {
  services: StackService[];
  /** Top-level `name:`. */
  projectName?: string;
  /** `include:` entries; they are not followed (their services are not in `services`). */
  includes: IncludeEntry[];
  /** Things compose would warn about (unset variables, unfollowed includes or `extends.file`). */
  warnings: string[];
}

export interface EnvFileText {
  path: string;
  text: string;
}

export interface ReadStackOptions {
  /** Env files for interpolation in order (`--env-file`, or the project's `.env`); later files win, the shell env wins over all. */
  envFiles?: EnvFileText[];
}

type Plain = Record<string, unknown>;

interface FileService {
  dict: Plain;
  /** Service key whose own `image:` provides the image (after `extends`), if any. */
  imageService?: string;
}

const isPlainObject = (v: unknown): v is Plain => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Parses and merges `files` in order (compose override semantics for the fields of StackService), interpolating
 * like compose. `env` is the process environment; env files from `options.envFiles` fill in what it does not set.
 * Throws ConfigError on invalid YAML (file:line:col), invalid interpolation, a missing required variable,
 * a non-mapping `services`, or conflicting `scale` / `deploy.replicas`.
 */
export function readStack(files: ComposeFileText[], env: Record<string, string | undefined>, options: ReadStackOptions = {}): Stack {
  const fromFiles: Record<string, { value: string; file: string }> = {};
  for (const envFile of options.envFiles ?? []) {
    const values = parseEnvFile(envFile.text, {
      file: envFile.path,
      lookup: (name) => env[name] ?? fromFiles[name]?.value,
    });
    for (const [k, value] of Object.entries(values)) fromFiles[k] = { value, file: envFile.path };
  }
  const lookup = (name: string) => env[name] ?? fromFiles[name]?.value;
  const originOf = (name: string): { definedIn: VariableOrigin; envFile?: string } | undefined => {
    if (env[name] !== undefined) return { definedIn: 'environment' };
    const f = fromFiles[name];
    return f ? { definedIn: 'env-file', envFile: f.file } : undefined;
  };

  const warnings = new Set<string>();
  const includes: IncludeEntry[] = [];
  let projectName: string | undefined;
  const order: string[] = [];
  const merged = new Map<string, Plain>();
  const imageSource = new Map<string, { file: string; service: string; raw: string }>();

  for (const file of files) {
    const doc = parseComposeDocument(file.text, file.path);
    const rawImages = new Map<string, string>();
    const overrides = new WeakSet<object>();
    const root = toPlain(
      doc.contents,
      {
        doc,
        text: file.text,
        overrides,
        onString: (raw, path) => {
          if (path.length === 3 && path[0] === 'services' && path[2] === 'image') rawImages.set(path[1], raw);
          try {
            const result = interpolate(raw, lookup);
            for (const name of result.unset) warnings.add(`The "${name}" variable is not set. Defaulting to a blank string.`);
            return result.value;
          } catch (err) {
            if (err instanceof InterpolationError) throw new ConfigError(`${file.path}: ${path.join('.')}: ${err.message}`);
            throw err;
          }
        },
      },
      file.path,
    );
    if (root === null) continue; // an empty file adds nothing
    if (!isPlainObject(root)) throw new ConfigError(`${file.path}: the top level of a compose file must be a mapping`);
    if (typeof root.name === 'string' || typeof root.name === 'number') projectName = String(root.name);
    collectIncludes(root.include, file.path, includes, warnings);

    const services = root.services;
    if (services === undefined || services === null || services === RESET) continue;
    if (!isPlainObject(services)) throw new ConfigError(`${file.path}: services must be a mapping of service names to definitions`);
    for (const [name, def] of Object.entries(services)) {
      if (!isPlainObject(def)) throw new ConfigError(`${file.path}: services.${name} must be a mapping`);
    }
    const resolved = resolveExtends(services as Record<string, Plain>, file.path, warnings, overrides);
    for (const [name, service] of resolved) {
      const dict = normalizeService(service.dict, overrides);
      const previous = merged.get(name);
      if (!previous) order.push(name);
      merged.set(name, previous ? mergeValues(previous, dict, overrides) as Plain : dict);
      if ('image' in dict) {
        if (dict.image === RESET || dict.image === null) imageSource.delete(name);
        else if (service.imageService !== undefined) {
          imageSource.set(name, { file: file.path, service: service.imageService, raw: rawImages.get(service.imageService) ?? String(dict.image) });
        }
      }
    }
  }

  const services = order.map((name) => buildService(name, merged.get(name)!, imageSource.get(name), lookup, originOf));
  return { services, projectName, includes, warnings: [...warnings] };
}

function collectIncludes(include: unknown, fromFile: string, out: IncludeEntry[], warnings: Set<string>): void {
  if (include === undefined || include === null || include === RESET) return;
  const entries = Array.isArray(include) ? include : [include];
  for (const entry of entries) {
    const asList = (v: unknown) => (v === undefined || v === null ? [] : Array.isArray(v) ? v.map(String) : [String(v)]);
    if (typeof entry === 'string') out.push({ fromFile, paths: [entry], envFiles: [] });
    else if (isPlainObject(entry)) {
      out.push({
        fromFile,
        paths: asList(entry.path),
        envFiles: asList(entry.env_file),
        ...(typeof entry.project_directory === 'string' ? { projectDirectory: entry.project_directory } : {}),
      });
    } else throw new ConfigError(`${fromFile}: include entries must be paths or mappings with a path`);
  }
  for (const entry of out.filter((e) => e.fromFile === fromFile)) {
    warnings.add(`${fromFile}: include of ${entry.paths.join(', ')} is not followed; services defined there are not updated`);
  }
}

/** Resolves `extends: {service: X}` within one file (compose applies it per file, before merging files). */
function resolveExtends(
  services: Record<string, Plain>,
  file: string,
  warnings: Set<string>,
  overrides: WeakSet<object>,
): Map<string, FileService> {
  const done = new Map<string, FileService>();
  const resolving = new Set<string>();
  const resolve = (name: string): FileService => {
    const hit = done.get(name);
    if (hit) return hit;
    if (resolving.has(name)) throw new ConfigError(`${file}: services.${name}: extends forms a cycle`);
    resolving.add(name);
    const own = { ...services[name] };
    const ext = own.extends;
    delete own.extends;
    let result: FileService = { dict: own, imageService: 'image' in own ? name : undefined };
    if (ext !== undefined && ext !== null && ext !== RESET) {
      const base = typeof ext === 'string' ? { service: ext } : isPlainObject(ext) ? ext : undefined;
      if (!base || typeof base.service !== 'string') throw new ConfigError(`${file}: services.${name}.extends must name a service`);
      if (base.file !== undefined && base.file !== null) {
        warnings.add(`${file}: services.${name} extends ${base.service} from ${String(base.file)}, which is not followed; only what ${name} defines itself is seen`);
      } else {
        if (!services[base.service]) throw new ConfigError(`${file}: services.${name} extends unknown service ${base.service}`);
        const parent = resolve(base.service);
        result = {
          dict: mergeValues(normalizeService(parent.dict, overrides), normalizeService(own, overrides), overrides) as Plain,
          imageService: 'image' in own ? name : parent.imageService,
        };
      }
    }
    resolving.delete(name);
    done.set(name, result);
    return result;
  };
  for (const name of Object.keys(services)) resolve(name);
  return done;
}

/** Brings list forms to the map forms compose merges by key. */
function normalizeService(dict: Plain, overrides: WeakSet<object>): Plain {
  const out: Plain = { ...dict };
  // Keep `!override` on a list that becomes a map.
  const carry = (from: unknown, to: object) => {
    if (typeof from === 'object' && from !== null && overrides.has(from)) overrides.add(to);
    return to;
  };
  if (Array.isArray(out.labels)) {
    const labels: Record<string, unknown> = {};
    for (const item of out.labels) {
      const s = String(item ?? '');
      const eq = s.indexOf('=');
      if (eq < 0) labels[s] = '';
      else labels[s.slice(0, eq)] = s.slice(eq + 1);
    }
    out.labels = carry(out.labels, labels);
  }
  if (Array.isArray(out.depends_on)) {
    const deps: Record<string, unknown> = {};
    for (const item of out.depends_on) deps[String(item)] = { condition: 'service_started' };
    out.depends_on = carry(out.depends_on, deps);
  }
  return out;
}

/** Sequences compose appends (without duplicates) when merging; other sequences are replaced. */
const APPENDED_SEQUENCES = new Set(['ports', 'profiles', 'expose', 'dns', 'dns_search', 'env_file', 'volumes', 'secrets', 'configs', 'cap_add', 'cap_drop', 'devices', 'extra_hosts', 'security_opt', 'tmpfs', 'volumes_from', 'external_links', 'links', 'group_add']);

/** Compose override semantics: mappings merge, listed sequences append, scalars replace; `!reset` removes, `!override` replaces. */
function mergeValues(base: unknown, over: unknown, overrides: WeakSet<object>, key?: string): unknown {
  if (over === RESET) return RESET;
  if (typeof over === 'object' && over !== null && overrides.has(over)) return over;
  if (isPlainObject(base) && isPlainObject(over)) {
    const out: Plain = { ...base };
    for (const [k, v] of Object.entries(over)) {
      if (v === RESET) delete out[k];
      else out[k] = k in out ? mergeValues(out[k], v, overrides, k) : v;
    }
    return out;
  }
  if (Array.isArray(base) && Array.isArray(over) && key !== undefined && APPENDED_SEQUENCES.has(key)) {
    const seen = new Set(base.map((v) => JSON.stringify(v)));
    return [...base, ...over.filter((v) => !seen.has(JSON.stringify(v)))];
  }
  return over;
}

function wholeNumber(value: unknown, where: string): number | undefined {
  if (value === undefined || value === null || value === RESET) return undefined;
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return value;
  if (typeof value === 'string' && /^\d+$/.test(value.trim())) return Number(value.trim());
  throw new ConfigError(`${where} must be a whole number, got ${JSON.stringify(value)}`);
}

/** Whether a `ports:` entry binds a host port (`8080:80`, `127.0.0.1:8080:80`, `{published: 8080}`); `80` and `127.0.0.1::80` do not. */
export function publishesHostPort(entry: unknown): boolean {
  if (typeof entry === 'number') return false;
  if (isPlainObject(entry)) {
    const p = entry.published;
    return p !== undefined && p !== null && String(p) !== '' && String(p) !== '0';
  }
  if (typeof entry !== 'string') return false;
  const spec = entry.replace(/\/[a-z]+$/i, '');
  let rest = spec;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    rest = close >= 0 ? rest.slice(close + 1).replace(/^:/, '') : rest;
    const [host] = rest.split(':');
    return rest.includes(':') && host !== '';
  }
  const parts = rest.split(':');
  if (parts.length === 1) return false;
  const host = parts.length === 2 ? parts[0] : parts[parts.length - 2];
  return host !== '' && host !== '0';
}

/** Services compose starts first without a depends_on entry: `network_mode`/`ipc`/`pid: service:X`, `links`, `volumes_from`. */
function implicitDependencies(dict: Plain): string[] {
  const out: string[] = [];
  for (const key of ['network_mode', 'ipc', 'pid']) {
    const v = dict[key];
    if (typeof v === 'string' && v.startsWith('service:')) out.push(v.slice('service:'.length));
  }
  for (const link of Array.isArray(dict.links) ? dict.links : []) out.push(String(link).split(':')[0]);
  for (const from of Array.isArray(dict.volumes_from) ? dict.volumes_from : []) {
    const v = String(from);
    if (!v.startsWith('container:')) out.push(v.split(':')[0]);
  }
  return out;
}

function buildService(
  name: string,
  dict: Plain,
  source: { file: string; service: string; raw: string } | undefined,
  lookup: (name: string) => string | undefined,
  originOf: (name: string) => { definedIn: VariableOrigin; envFile?: string } | undefined,
): StackService {
  const where = `services.${name}`;
  const scale = wholeNumber(dict.scale, `${where}.scale`);
  const deploy = isPlainObject(dict.deploy) ? dict.deploy : {};
  const replicasField = wholeNumber(deploy.replicas, `${where}.deploy.replicas`);
  if (scale !== undefined && replicasField !== undefined && scale !== replicasField) {
    throw new ConfigError(`${where}: can't set distinct values on 'scale' (${scale}) and 'deploy.replicas' (${replicasField})`);
  }
  const labels: Record<string, string> = {};
  if (isPlainObject(dict.labels)) {
    for (const [k, v] of Object.entries(dict.labels)) labels[k] = v === null || v === undefined ? '' : String(v);
  }
  const dependsOn: StackService['dependsOn'] = [];
  if (isPlainObject(dict.depends_on)) {
    for (const [service, spec] of Object.entries(dict.depends_on)) {
      const condition = isPlainObject(spec) && typeof spec.condition === 'string' ? spec.condition : 'service_started';
      dependsOn.push({ service, condition });
    }
  }
  for (const service of implicitDependencies(dict)) {
    if (!dependsOn.some((d) => d.service === service)) dependsOn.push({ service, condition: 'service_started' });
  }
  const ports = Array.isArray(dict.ports) ? dict.ports : [];
  const service: StackService = {
    name,
    labels,
    replicas: replicasField ?? scale ?? 1,
    hasFixedHostPorts: ports.some(publishesHostPort),
    profiles: Array.isArray(dict.profiles) ? dict.profiles.map(String) : [],
    dependsOn,
  };
  if (typeof dict.container_name === 'string') service.containerName = dict.container_name;
  if (dict.healthcheck !== undefined && dict.healthcheck !== null && dict.healthcheck !== RESET) service.healthcheck = dict.healthcheck;
  if (typeof dict.image === 'string' || typeof dict.image === 'number') {
    service.image = String(dict.image);
    if (source) {
      service.rawImage = source.raw;
      service.imageFile = source.file;
      if (source.service !== name) service.imageService = source.service;
      const described = describeImageVariable(source.raw, lookup, originOf);
      service.imageParts = described.parts;
      if (described.variable) service.imageVariable = described.variable;
    }
  }
  return service;
}
