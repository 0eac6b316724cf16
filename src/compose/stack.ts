/**
 * Reads a compose stack from file texts (pure): parses every file, interpolates like compose, resolves
 * same-file `extends`, merges override files in order and reduces each service to what dosync needs.
 */
import { ConfigError } from '../util/errors.js';
import { parseEnvFile } from './envfile.js';
import { dirname, isAbsolute, join } from 'node:path';
import { isScalar, type Document, type Scalar } from 'yaml';
import { describeImageVariable, type ImagePart, type OriginOf } from './image-source.js';
import { InterpolationError, interpolate, type Piece } from './interpolate.js';
import { RESET, parseComposeDocument, pathOf, toPlain, type Origin } from './yaml.js';

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
  /** As written in the scalar that provides it (may contain ${VAR}). */
  rawImage?: string;
  /** Path of the compose file that writes the image scalar (an `extends: file:` or `include:` target too). */
  imageFile?: string;
  /** Start offset of that scalar in `imageFile`: two services with the same file and offset share one written value. */
  imageOffset?: number;
  /** Where the scalar sits in its file, for messages: `services.web.image`, `x-common.image`, `&netbox`. */
  imagePath?: string;
  /** Key under `services:` in `imageFile` whose `image:` holds the value; differs from `name` when inherited through `extends`. */
  imageService?: string;
  /** When the tag comes from ${VAR}. */
  imageVariable?: { name: string; definedIn: VariableOrigin; envFile?: string };
  /** Where each part of `image` comes from (literal text, variables, defaults); used by planImageEdit. */
  imageParts?: ImagePart[];
  /** `labels`, over `deploy.labels` (a Swarm service's labels): dosync's settings may sit in either. */
  labels: Record<string, string>;
  /** `deploy.update_config` as written (Swarm: how a service update rolls out). */
  updateConfig?: Record<string, unknown>;
  /** `deploy.rollback_config` as written (Swarm: how a rollback of the service rolls out). */
  rollbackConfig?: Record<string, unknown>;
  /** scale / deploy.replicas, default 1. */
  replicas: number;
  containerName?: string;
  /** True when a port publishes a host port (single or range); only container-only ports allow scaling up side by side. */
  hasFixedHostPorts: boolean;
  profiles: string[];
  /** `condition` is compose's default `service_started` for the list form. */
  dependsOn: Array<{ service: string; condition?: string }>;
  healthcheck?: unknown;
  /** `restart:` as written (`no`, `always`, `unless-stopped`, `on-failure[:n]`); unset means compose's `no`. */
  restart?: string;
  /** The compose file (or included file) that defines the service; an included service names its include. */
  definedIn?: string;
}

export interface IncludeEntry {
  /** Compose file that contains the `include:`. */
  fromFile: string;
  paths: string[];
  envFiles: string[];
  projectDirectory?: string;
}

/** A place where a variable is used by something other than a service's image (a build arg, an environment value). */
export interface VariableUse {
  file: string;
  /** `services.temporal.build.args.TEMPORAL_VERSION` */
  path: string;
}

export interface Stack {
  services: StackService[];
  /** Top-level `name:`. */
  projectName?: string;
  /** `include:` entries, as written (they are followed: their services are in `services`). */
  includes: IncludeEntry[];
  /** Things compose would warn about (unset variables, files that could not be read). */
  warnings: string[];
  /**
   * Every use of a variable outside `services.*.image`, keyed by `<env file>\0<name>` (the env file that sets it,
   * empty for the environment or unset): what else changes when dosync rewrites that variable.
   */
  variableUses: Map<string, VariableUse[]>;
  /** Every compose file read, the -f files first, then included and extended ones (absolute as given). */
  files: string[];
}

export interface EnvFileText {
  path: string;
  text: string;
}

export interface ReadStackOptions {
  /** Env files for interpolation in order (`--env-file`, or the project's `.env`); later files win, the shell env wins over all. */
  envFiles?: EnvFileText[];
  /**
   * Reads a file an `include:` or `extends: file:` names (an absolute path); undefined when there is none.
   * Without it those files are not followed and a warning says so.
   */
  readFile?: (path: string) => string | undefined;
}

type Plain = Record<string, unknown>;

/** The scalar a service's image is written in. */
interface ImageOrigin {
  file: string;
  node: Scalar;
  /** The key under `services:` whose own `image:` is this scalar, when it is one. */
  service?: string;
  /** Where the scalar sits when it is not a service's own `image:` (`x-defaults.image`). */
  path?: string;
  scope: Scope;
}

interface FileService {
  dict: Plain;
  image?: ImageOrigin;
}

/** How values are interpolated: the main project, or an `include:` with its own env files. */
interface Scope {
  lookup: (name: string) => string | undefined;
  originOf: OriginOf;
  /** Where relative `include:` and `extends: file:` paths resolve. */
  dir: string;
}

const isPlainObject = (v: unknown): v is Plain => v !== null && typeof v === 'object' && !Array.isArray(v);

/** An env file variable's key in `variableUses`. */
export function variableKey(envFile: string | undefined, name: string): string {
  return `${envFile ?? ''}\u0000${name}`;
}

/** Reads env files in order (later win); each may use the variables of `lookup` and of the files before it. */
function envScope(envFiles: EnvFileText[], outer: (name: string) => string | undefined, outerOrigin: OriginOf | undefined, env: Record<string, string | undefined>, dir: string): Scope {
  const fromFiles: Record<string, { value: string; file: string }> = {};
  for (const envFile of envFiles) {
    const values = parseEnvFile(envFile.text, { file: envFile.path, lookup: (name) => outer(name) ?? fromFiles[name]?.value });
    for (const [k, value] of Object.entries(values)) fromFiles[k] = { value, file: envFile.path };
  }
  return {
    dir,
    lookup: (name) => outer(name) ?? fromFiles[name]?.value,
    originOf: (name) => {
      const o = outerOrigin?.(name);
      if (o) return o;
      if (env[name] !== undefined) return { definedIn: 'environment' };
      const f = fromFiles[name];
      return f ? { definedIn: 'env-file', envFile: f.file } : undefined;
    },
  };
}

class StackReader {
  readonly warnings = new Set<string>();
  readonly includes: IncludeEntry[] = [];
  readonly variableUses = new Map<string, VariableUse[]>();
  readonly files: string[] = [];
  projectName?: string;
  /** Parsed files, per scope (an included file is interpolated with its include's variables). */
  private readonly parsed = new Map<string, Map<Scope, ParsedFile>>();
  private readonly extendsDone = new Map<string, Map<string, FileService>>();

  constructor(private readonly options: ReadStackOptions, private readonly env: Record<string, string | undefined>) {}

  /** One file: parsed, interpolated, its services' image scalars traced. */
  parse(path: string, text: string, scope: Scope): ParsedFile {
    let byScope = this.parsed.get(path);
    const hit = byScope?.get(scope);
    if (hit) return hit;
    if (!this.files.includes(path)) this.files.push(path);
    const doc = parseComposeDocument(text, path);
    const overrides = new WeakSet<object>();
    const provenance = new WeakMap<object, Map<string, Origin>>();
    const root = toPlain(doc.contents, {
      doc, text, overrides, provenance,
      onString: (raw, keys) => {
        try {
          const result = interpolate(raw, scope.lookup);
          for (const name of result.unset) this.warnings.add(`The "${name}" variable is not set. Defaulting to a blank string.`);
          this.recordUses(result.pieces, keys, path, scope);
          return result.value;
        } catch (err) {
          if (err instanceof InterpolationError) throw new ConfigError(`${path}: ${keys.join('.')}: ${err.message}`);
          throw err;
        }
      },
    }, path);
    const file: ParsedFile = { path, text, doc, root, overrides, provenance };
    if (!byScope) this.parsed.set(path, (byScope = new Map()));
    byScope.set(scope, file);
    return file;
  }

  private recordUses(pieces: Piece[], keys: readonly string[], file: string, scope: Scope): void {
    if (keys.length === 3 && keys[0] === 'services' && keys[2] === 'image') return;
    for (const piece of pieces) {
      const source = piece.source;
      if (source.kind !== 'variable') continue;
      const key = variableKey(scope.originOf(source.name)?.envFile, source.name);
      let uses = this.variableUses.get(key);
      if (!uses) this.variableUses.set(key, (uses = []));
      const path = keys.join('.');
      if (!uses.some((u) => u.file === file && u.path === path)) uses.push({ file, path });
    }
  }

  /** The services of a list of files merged in order (the -f files, or an include's paths). */
  readProject(files: ComposeFileText[], scope: Scope, merged: Map<string, Plain>, images: Map<string, ImageOrigin | undefined>, definedIn: Map<string, string>, top: boolean): void {
    for (const input of files) {
      const file = this.parse(input.path, input.text, scope);
      const root = file.root;
      if (root === null) continue; // an empty file adds nothing
      if (!isPlainObject(root)) throw new ConfigError(`${input.path}: the top level of a compose file must be a mapping`);
      if (top && (typeof root.name === 'string' || typeof root.name === 'number')) this.projectName = String(root.name);
      const included = this.readIncludes(root.include, input.path, scope);
      const services = root.services;
      const own = services === undefined || services === null || services === RESET ? new Map<string, FileService>() : this.fileServices(file, services, top ? scope.dir : dirname(input.path), scope);
      for (const [name, service] of included) {
        if (own.has(name)) throw new ConfigError(`${input.path}: services.${name} conflicts with the service of that name from an include:`);
        own.set(name, service);
        definedIn.set(name, service.image?.file ?? input.path);
      }
      for (const [name, service] of own) {
        const dict = normalizeService(service.dict, file.overrides);
        const previous = merged.get(name);
        merged.set(name, previous ? mergeValues(previous, dict, file.overrides) as Plain : dict);
        if (!definedIn.has(name)) definedIn.set(name, input.path);
        if ('image' in dict) images.set(name, dict.image === RESET || dict.image === null ? undefined : service.image);
      }
    }
  }

  private fileServices(file: ParsedFile, services: unknown, baseDir: string, scope: Scope): Map<string, FileService> {
    if (!isPlainObject(services)) throw new ConfigError(`${file.path}: services must be a mapping of service names to definitions`);
    for (const [name, def] of Object.entries(services)) {
      if (!isPlainObject(def)) throw new ConfigError(`${file.path}: services.${name} must be a mapping`);
    }
    return this.resolveExtends(file, services as Record<string, Plain>, baseDir, scope);
  }

  /** `include:` entries of one file: each a project of its own (own env files, own directory) whose services join this one. */
  private readIncludes(include: unknown, fromFile: string, scope: Scope): Map<string, FileService> {
    const out = new Map<string, FileService>();
    const entries = collectIncludes(include, fromFile);
    this.includes.push(...entries);
    for (const entry of entries) {
      const read = this.options.readFile;
      const paths = entry.paths.map((p) => resolvePath(scope.dir, p));
      const texts = read ? paths.map((p) => ({ path: p, text: read(p) })) : [];
      const missing = texts.find((t) => t.text === undefined);
      if (!read || missing || paths.length === 0) {
        this.warnings.add(`${fromFile}: include of ${entry.paths.join(', ')} is not followed${missing ? ` (${missing.path} cannot be read)` : ''}; services defined there are not updated`);
        continue;
      }
      if (this.files.includes(paths[0]) && paths[0] !== fromFile && this.parsed.get(paths[0])) {
        throw new ConfigError(`${fromFile}: include cycle: ${paths[0]} is already part of this project`);
      }
      const dir = entry.projectDirectory ? resolvePath(scope.dir, entry.projectDirectory) : dirname(paths[0]);
      const envPaths = entry.envFiles.length > 0 ? entry.envFiles.map((f) => resolvePath(scope.dir, f)) : [join(dir, '.env')];
      const envTexts: EnvFileText[] = [];
      for (const path of envPaths) {
        const text = read(path);
        if (text !== undefined) envTexts.push({ path, text });
        else if (entry.envFiles.length > 0) throw new ConfigError(`${fromFile}: include env_file ${path} does not exist`);
      }
      // compose-go's ApplyInclude: the parent's variables win, the include's env files fill in the rest.
      const inner = envScope(envTexts, scope.lookup, scope.originOf, this.env, dir);
      const merged = new Map<string, Plain>();
      const images = new Map<string, ImageOrigin | undefined>();
      this.readProject(texts as ComposeFileText[], inner, merged, images, new Map(), false);
      for (const [name, dict] of merged) out.set(name, { dict, image: images.get(name) });
    }
    return out;
  }

  /** Resolves `extends` (same file, or `file:`) for every service of one file, as compose does per file before merging. */
  private resolveExtends(file: ParsedFile, services: Record<string, Plain>, baseDir: string, scope: Scope): Map<string, FileService> {
    const memo = this.extendsDone.get(file.path);
    if (memo && file.root && (file.root as Plain).services === services) return memo;
    const done = new Map<string, FileService>();
    const resolving = new Set<string>();
    const ownImage = (name: string): ImageOrigin | undefined => {
      const origin = file.provenance.get(services[name])?.get('image');
      if (!origin || !isScalar(origin.node)) return undefined;
      return origin.own ? { file: file.path, node: origin.node, service: name, scope } : { file: file.path, node: origin.node, path: pathOf(file.doc, origin.node), scope };
    };
    const resolve = (name: string): FileService => {
      const hit = done.get(name);
      if (hit) return hit;
      if (resolving.has(name)) throw new ConfigError(`${file.path}: services.${name}: extends forms a cycle`);
      resolving.add(name);
      const own = { ...services[name] };
      const ext = own.extends;
      delete own.extends;
      let result: FileService = { dict: own, image: 'image' in own ? ownImage(name) : undefined };
      if (ext !== undefined && ext !== null && ext !== RESET) {
        const base = typeof ext === 'string' ? { service: ext } : isPlainObject(ext) ? ext : undefined;
        if (!base || typeof base.service !== 'string') throw new ConfigError(`${file.path}: services.${name}.extends must name a service`);
        let parent: FileService | undefined;
        if (base.file !== undefined && base.file !== null) {
          parent = this.extendFromFile(file.path, name, base.service, resolvePath(baseDir, String(base.file)), scope);
        } else {
          if (!services[base.service]) throw new ConfigError(`${file.path}: services.${name} extends unknown service ${base.service}`);
          parent = resolve(base.service);
        }
        if (parent) {
          result = {
            dict: mergeValues(normalizeService(parent.dict, file.overrides), normalizeService(own, file.overrides), file.overrides) as Plain,
            image: 'image' in own ? ownImage(name) : parent.image,
          };
        }
      }
      resolving.delete(name);
      done.set(name, result);
      return result;
    };
    for (const name of Object.keys(services)) resolve(name);
    if (file.root && (file.root as Plain).services === services) this.extendsDone.set(file.path, done);
    return done;
  }

  private extendFromFile(fromFile: string, name: string, baseService: string, path: string, scope: Scope): FileService | undefined {
    const text = this.options.readFile?.(path);
    if (text === undefined) {
      this.warnings.add(`${fromFile}: services.${name} extends ${baseService} from ${path}, which ${this.options.readFile ? 'cannot be read' : 'is not followed'}; only what ${name} defines itself is seen`);
      return undefined;
    }
    const other = this.parse(path, text, scope);
    const services = isPlainObject(other.root) ? other.root.services : undefined;
    if (!isPlainObject(services) || !isPlainObject(services[baseService])) {
      throw new ConfigError(`${fromFile}: services.${name} extends ${baseService} from ${path}, which does not define it`);
    }
    // compose-go's getExtendsBaseFromFile: the extended file's own relative paths resolve from its directory.
    return this.resolveExtends(other, services as Record<string, Plain>, dirname(path), scope).get(baseService);
  }
}

interface ParsedFile {
  path: string;
  text: string;
  doc: Document.Parsed;
  root: unknown;
  overrides: WeakSet<object>;
  provenance: WeakMap<object, Map<string, Origin>>;
}

function resolvePath(dir: string, path: string): string {
  return isAbsolute(path) ? path : join(dir, path);
}

/**
 * Parses and merges `files` in order (compose override semantics for the fields of StackService), interpolating
 * like compose. `env` is the process environment; env files from `options.envFiles` fill in what it does not set.
 * Follows `include:` and `extends: file:` through `options.readFile`.
 * Throws ConfigError on invalid YAML (file:line:col), invalid interpolation, a missing required variable,
 * a non-mapping `services`, or conflicting `scale` / `deploy.replicas`.
 */
export function readStack(files: ComposeFileText[], env: Record<string, string | undefined>, options: ReadStackOptions = {}): Stack {
  const dir = files[0] ? dirname(files[0].path) : '.';
  const scope = envScope(options.envFiles ?? [], (name) => env[name], undefined, env, dir);
  const reader = new StackReader(options, env);
  const merged = new Map<string, Plain>();
  const images = new Map<string, ImageOrigin | undefined>();
  const definedIn = new Map<string, string>();
  reader.readProject(files, scope, merged, images, definedIn, true);
  const services = [...merged].map(([name, dict]) => buildService(name, dict, images.get(name), definedIn.get(name)));
  return { services, projectName: reader.projectName, includes: reader.includes, warnings: [...reader.warnings], variableUses: reader.variableUses, files: reader.files };
}

function collectIncludes(include: unknown, fromFile: string): IncludeEntry[] {
  if (include === undefined || include === null || include === RESET) return [];
  const out: IncludeEntry[] = [];
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
  return out;
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

function buildService(name: string, dict: Plain, source: ImageOrigin | undefined, definedIn: string | undefined): StackService {
  const where = `services.${name}`;
  const scale = wholeNumber(dict.scale, `${where}.scale`);
  const deploy = isPlainObject(dict.deploy) ? dict.deploy : {};
  const replicasField = wholeNumber(deploy.replicas, `${where}.deploy.replicas`);
  if (scale !== undefined && replicasField !== undefined && scale !== replicasField) {
    throw new ConfigError(`${where}: can't set distinct values on 'scale' (${scale}) and 'deploy.replicas' (${replicasField})`);
  }
  const labels: Record<string, string> = {};
  for (const from of [deploy.labels, dict.labels]) {
    if (isPlainObject(from)) {
      for (const [k, v] of Object.entries(from)) labels[k] = v === null || v === undefined ? '' : String(v);
    } else if (Array.isArray(from)) {
      for (const item of from.map(String)) {
        const eq = item.indexOf('=');
        labels[eq < 0 ? item : item.slice(0, eq)] = eq < 0 ? '' : item.slice(eq + 1);
      }
    }
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
  if (isPlainObject(deploy.update_config)) service.updateConfig = deploy.update_config;
  if (isPlainObject(deploy.rollback_config)) service.rollbackConfig = deploy.rollback_config;
  if (typeof dict.container_name === 'string') service.containerName = dict.container_name;
  if (typeof dict.restart === 'string') service.restart = dict.restart;
  if (definedIn) service.definedIn = definedIn;
  if (dict.healthcheck !== undefined && dict.healthcheck !== null && dict.healthcheck !== RESET) service.healthcheck = dict.healthcheck;
  // compose treats an empty image (`image: ${UNSET}`) as none.
  if ((typeof dict.image === 'string' && dict.image !== '') || typeof dict.image === 'number') {
    service.image = String(dict.image);
    if (source && typeof source.node.value === 'string' && source.node.range) {
      service.rawImage = source.node.value;
      service.imageFile = source.file;
      service.imageOffset = source.node.range[0];
      service.imagePath = source.service !== undefined ? `services.${source.service}.image` : source.path ?? (source.node.anchor ? `&${source.node.anchor}` : 'a shared image value');
      if (source.service !== undefined && source.service !== name) service.imageService = source.service;
      const described = describeImageVariable(source.node.value, source.scope.lookup, source.scope.originOf);
      service.imageParts = described.parts;
      if (described.variable) service.imageVariable = described.variable;
    }
  }
  return service;
}
