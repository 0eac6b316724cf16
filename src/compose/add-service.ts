/**
 * Adds the dosync sidecar service to a compose file by inserting text (pure): every byte of the file
 * outside the insertion stays as it was — comments, quoting, anchors, blank lines, CRLF line ends.
 * The inserted block follows the file's own layout (indentation of service keys and of their
 * properties, indented or flush sequences, blank lines between services); a flow-style `services:`
 * gets a flow entry instead. The result is parsed again and must equal the original plus the new
 * service, so a file shape this code does not foresee fails loudly instead of being damaged.
 */
import { isMap, isScalar, isSeq, type Document, type Node, type Pair, type YAMLMap } from 'yaml';
import { ConfigError } from '../util/errors.js';
import { keyString, parseComposeDocument } from './yaml.js';
import { isDeepStrictEqual } from 'node:util';
import { posix } from 'node:path';

/** Where the project directory is mounted (the image's working directory). */
export const CONTAINER_PROJECT_DIR = '/app';
/** Where the image's default command reads the compose file. */
export const CONTAINER_COMPOSE_FILE = '/app/docker-compose.yml';
export const CONTAINER_BACKUP_DIR = '/app/backups';
export const CONTAINER_CONFIG_FILE = '/app/dosync.yaml';

export interface SidecarOptions {
  /** Service key, default `dosync`. */
  serviceName?: string;
  image: string;
  /** The compose file as seen from its project directory, e.g. `./docker-compose.yml`. */
  composeFile: string;
  /** Host directory for backups, relative to the project directory, e.g. `./backups`. */
  backupDir: string;
  /** dosync.yaml next to the compose file, mounted read-only; omitted when undefined. */
  configFile?: string;
  /** CHECK_INTERVAL, e.g. `5m`. */
  interval: string;
  /** Variables a private registry needs (`GITHUB_PAT` ...): listed commented-out under `environment:`. */
  credentialVariables?: string[];
  /** network_mode: host, for registries on the host's loopback. */
  networkHost?: boolean;
}

/** `name` for `./name` (a path inside the project directory), else undefined. */
function insideProject(path: string): string | undefined {
  const rel = posix.normalize(path).replace(/\/+$/, '');
  return path.startsWith('./') && rel !== '.' && !rel.startsWith('../') ? rel : undefined;
}

/**
 * The service's value as plain data (what the inserted text must parse to). The whole project directory is
 * mounted at /app, not just the compose file: Compose in the container must read `.env` and `env_file:` files,
 * and the state dir (backups/) must be on a mount the self-update helper container can share.
 */
export function sidecarDefinition(opts: SidecarOptions): Record<string, unknown> {
  const volumes = ['/var/run/docker.sock:/var/run/docker.sock', `.:${CONTAINER_PROJECT_DIR}`];
  const compose = insideProject(opts.composeFile);
  const composeInContainer = compose ? `${CONTAINER_PROJECT_DIR}/${compose}` : CONTAINER_COMPOSE_FILE;
  if (!compose) volumes.push(`${opts.composeFile}:${CONTAINER_COMPOSE_FILE}`);
  // The daemon's default backup (and state) dir is backups/ next to the compose file.
  const defaultBackups = posix.join(posix.dirname(composeInContainer), 'backups');
  const backups = insideProject(opts.backupDir);
  if (!backups || `${CONTAINER_PROJECT_DIR}/${backups}` !== defaultBackups) volumes.push(`${opts.backupDir}:${defaultBackups}`);
  const environment: Record<string, string> = { CHECK_INTERVAL: opts.interval };
  if (opts.configFile !== undefined) {
    const config = insideProject(opts.configFile);
    if (config) environment.DOSYNC_CONFIG = `${CONTAINER_PROJECT_DIR}/${config}`;
    else {
      volumes.push(`${opts.configFile}:${CONTAINER_CONFIG_FILE}:ro`);
      environment.DOSYNC_CONFIG = CONTAINER_CONFIG_FILE;
    }
  }
  return {
    image: opts.image,
    restart: 'unless-stopped',
    ...(opts.networkHost ? { network_mode: 'host' } : {}),
    ...(composeInContainer !== CONTAINER_COMPOSE_FILE ? { command: ['sync', '-f', composeInContainer] } : {}),
    volumes,
    environment,
    healthcheck: { test: ['CMD', 'dosync', 'health'], interval: '1m', timeout: '10s', retries: 3, start_period: '2m' },
  };
}

/** One line of the block form, `depth` levels below the service key; `item` = a sequence entry of the key above. */
interface BlockLine {
  depth: number;
  text: string;
  item?: boolean;
}

function blockLines(name: string, opts: SidecarOptions, def: Record<string, unknown>, quoteKey: (k: string) => string): BlockLine[] {
  const v = (s: string) => scalar(s);
  const env = def.environment as Record<string, string>;
  const vol = def.volumes as string[];
  const hc = def.healthcheck as { test: string[]; interval: string; timeout: string; retries: number; start_period: string };
  const volumeNotes: Record<string, string> = {
    [vol[0]]: '# the Docker socket: dosync pulls images and recreates services through it',
    [vol[1]]: '# the project directory: the compose file, .env and env_file: files Compose reads, dosync.yaml, backups/ (the state dir, shared with the self-update helper)',
  };
  const lines: BlockLine[] = [
    { depth: 0, text: '# dosync keeps the services of this file on the newest image their policy allows (added by `dosync init`).' },
    { depth: 0, text: '# It updates itself too: a short-lived helper container from the new image recreates this service and puts the' },
    { depth: 0, text: '# old image back if the new one does not become healthy. To pin it, add the label dosync.enable: "false".' },
    { depth: 0, text: `${quoteKey(name)}:` },
    { depth: 1, text: `image: ${v(opts.image)}` },
    { depth: 1, text: 'restart: unless-stopped' },
  ];
  if (def.network_mode) lines.push({ depth: 1, text: '# the host\'s network: registries on its 127.0.0.1 are reachable (dosync init --network-host)' }, { depth: 1, text: `network_mode: ${def.network_mode as string}` });
  if (def.command) lines.push({ depth: 1, text: `command: ${JSON.stringify(def.command).replace(/","/g, '", "')}` });
  lines.push({ depth: 1, text: 'volumes:' });
  for (const volume of vol) {
    const note = volumeNotes[volume];
    if (note) lines.push({ depth: 1, item: true, text: note });
    lines.push({ depth: 1, item: true, text: `- ${v(volume)}` });
  }
  lines.push({ depth: 1, text: 'environment:' }, { depth: 2, text: `CHECK_INTERVAL: ${v(env.CHECK_INTERVAL)}` });
  if (env.DOSYNC_CONFIG) lines.push({ depth: 2, text: `DOSYNC_CONFIG: ${v(env.DOSYNC_CONFIG)}` });
  const creds = opts.credentialVariables ?? [];
  if (creds.length > 0) {
    lines.push({ depth: 2, text: '# credentials of private registries (set them in .env or the shell; REGISTRY_*_USERNAME/PASSWORD are read by the registry: block of dosync.yaml, uncomment it):' });
    for (const name of creds) lines.push({ depth: 2, text: `# ${name}: \${${name}}` });
  }
  lines.push(
    { depth: 1, text: 'healthcheck:' },
    { depth: 2, text: `test: ${JSON.stringify(hc.test).replace(/","/g, '", "')}` },
    { depth: 2, text: `interval: ${hc.interval}` },
    { depth: 2, text: `timeout: ${hc.timeout}` },
    { depth: 2, text: `retries: ${hc.retries}` },
    { depth: 2, text: `start_period: ${hc.start_period}` },
  );
  return lines;
}

/** A plain scalar when that reads back as the same string, else a JSON (= YAML double-quoted) string. */
function scalar(s: string): string {
  const plain = /^[A-Za-z0-9_./@$][A-Za-z0-9_./@:${}+=-]*$/.test(s) && !/:$/.test(s) && !/^(true|false|yes|no|on|off|null|~|[-+]?[0-9.]+)$/i.test(s);
  return plain ? s : JSON.stringify(s);
}

export interface Layout {
  eol: string;
  /** Column of the service keys. */
  serviceColumn: number;
  /** Extra columns per nesting level below a service key. */
  step: number;
  /** Columns between a key and the `-` of its block sequence (0 = flush). */
  sequenceIndent: number;
  /** Whether services are separated by blank lines. */
  blankBetweenServices: boolean;
}

/** Thrown when the file already has a dosync service. */
export class DosyncServiceExistsError extends ConfigError {
  constructor(where: string, readonly service: string) {
    super(`${where}: service "${service}" already runs dosync; nothing added (remove it first to re-create it)`);
  }
}

const DOSYNC_IMAGE_RE = /(^|\/)dosync(?:[:@]|$)/;

/** Name of a service that is already dosync: the wanted name, or one whose image is a `dosync` repository. */
export function findDosyncService(doc: Document.Parsed, wantedName: string): string | undefined {
  const services = doc.get('services', true);
  if (!isMap(services)) return undefined;
  for (const pair of services.items) {
    const name = keyString(pair.key);
    if (name === wantedName) return name;
    const value = pair.value;
    if (isMap(value)) {
      const image = value.get('image');
      if (typeof image === 'string' && DOSYNC_IMAGE_RE.test(image.replace(/\$\{[^}]*\}/g, 'x'))) return name;
    }
  }
  return undefined;
}

const columnOf = (text: string, offset: number) => offset - (text.lastIndexOf('\n', offset - 1) + 1);
const lineEnd = (text: string, offset: number) => {
  const nl = text.indexOf('\n', offset);
  return nl === -1 ? text.length : nl + 1;
};

/** Offset just past the last non-whitespace character before `end`. */
function trimBack(text: string, end: number): number {
  let p = end;
  while (p > 0 && /\s/.test(text[p - 1])) p--;
  return p;
}

function nodeEnd(pair: Pair): number {
  const node = (pair.value ?? pair.key) as Node | null;
  const range = node?.range;
  if (!range) throw new Error('YAML node without a source range');
  return range[1];
}

/** Detects how the file lays out its services (used for the inserted block). */
export function detectLayout(text: string, doc: Document.Parsed, services: YAMLMap | undefined, servicesKeyOffset: number): Layout {
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const keyStarts = (services?.items ?? []).map((p) => (p.key as Node).range![0]);
  const topStep = rootStep(text, doc);
  const serviceColumn = keyStarts.length > 0 ? columnOf(text, keyStarts[0]) : columnOf(text, servicesKeyOffset) + topStep;

  let step: number | undefined;
  let sequenceIndent: number | undefined;
  for (const pair of services?.items ?? []) {
    if (!isMap(pair.value) || pair.value.flow || pair.value.items.length === 0) continue;
    const props = pair.value;
    const propColumn = columnOf(text, (props.items[0].key as Node).range![0]);
    step ??= propColumn - serviceColumn;
    for (const prop of props.items) {
      if (isSeq(prop.value) && !prop.value.flow && prop.value.items.length > 0 && sequenceIndent === undefined) {
        const first = prop.value.range![0]; // the first `-`
        sequenceIndent = columnOf(text, first) - propColumn;
      }
    }
    if (sequenceIndent !== undefined) break;
  }
  step = step && step > 0 ? step : topStep;
  sequenceIndent = sequenceIndent !== undefined && sequenceIndent >= 0 ? sequenceIndent : step;

  let blankBetweenServices = false;
  if (services && services.items.length > 1) {
    const from = lineEnd(text, trimBack(text, nodeEnd(services.items[0])));
    const between = text.slice(from, text.lastIndexOf('\n', keyStarts[1] - 1) + 1);
    blankBetweenServices = between.split('\n').slice(0, -1).some((line) => /^[ \t]*\r?$/.test(line));
  }
  return { eol, serviceColumn, step, sequenceIndent, blankBetweenServices };
}

/** The indentation step of the first nested block mapping of the file, default 2. */
function rootStep(text: string, doc: Document.Parsed): number {
  const root = doc.contents;
  if (isMap(root) && !root.flow) {
    for (const pair of root.items) {
      if (isMap(pair.value) && !pair.value.flow && pair.value.items.length > 0) {
        const step = columnOf(text, (pair.value.items[0].key as Node).range![0]) - columnOf(text, (pair.key as Node).range![0]);
        if (step > 0) return step;
      }
    }
  }
  return 2;
}

function renderBlock(lines: BlockLine[], layout: Layout): string[] {
  return lines.map((l) => {
    const col = layout.serviceColumn + l.depth * layout.step + (l.item ? layout.sequenceIndent : 0);
    return ' '.repeat(col) + l.text;
  });
}

/** End of the last service, extended over the comment lines indented under it (they belong to it). */
function endOfLastService(text: string, last: Pair, serviceColumn: number): number {
  let insertAt = lineEnd(text, trimBack(text, nodeEnd(last)));
  let scan = insertAt;
  while (scan < text.length) {
    const next = lineEnd(text, scan);
    const line = text.slice(scan, next).replace(/\r?\n$/, '');
    if (/^\s*$/.test(line)) { scan = next; continue; }
    const m = /^([ \t]*)#/.exec(line);
    if (!m || m[1].length <= serviceColumn) break;
    insertAt = next;
    scan = next;
  }
  return insertAt;
}

export interface AddServiceResult {
  text: string;
  /** Offset in the original text where the new service went. */
  offset: number;
  style: 'block' | 'flow';
}

/**
 * Returns `text` with the dosync service added under `services:`. Throws DosyncServiceExistsError when the
 * stack already has one, ConfigError when the file is not a compose mapping.
 */
export function addDosyncService(text: string, opts: SidecarOptions, where = 'compose file'): AddServiceResult {
  const name = opts.serviceName ?? 'dosync';
  const doc = parseComposeDocument(text, where);
  const root = doc.contents;
  if (!isMap(root)) throw new ConfigError(`${where}: not a compose file (the top level must be a mapping with services:)`);
  const existing = findDosyncService(doc, name);
  if (existing !== undefined) throw new DosyncServiceExistsError(where, existing);

  const def = sidecarDefinition(opts);
  const servicesPair = root.items.find((p) => keyString(p.key) === 'services');
  const result = servicesPair ? insertIntoServices(text, doc, servicesPair, name, opts, def, where) : insertServicesKey(text, doc, root, name, opts, def);
  verify(text, result.text, name, def, where);
  return result;
}

const jsonQuoted = (keyNode: unknown) => isScalar(keyNode) && keyNode.type === 'QUOTE_DOUBLE';

function insertIntoServices(text: string, doc: Document.Parsed, servicesPair: Pair, name: string, opts: SidecarOptions, def: Record<string, unknown>, where: string): AddServiceResult {
  const value = servicesPair.value as Node | null;
  const keyOffset = (servicesPair.key as Node).range![0];
  if (isMap(value) && value.flow) return insertFlow(text, value, name, def, jsonQuoted(servicesPair.key));
  if (value !== null && !isMap(value) && !(isScalar(value) && value.value === null)) {
    throw new ConfigError(`${where}: services: must be a mapping of service names`);
  }
  const services = isMap(value) ? value : undefined;
  const layout = detectLayout(text, doc, services, keyOffset);
  const quoteKey = (k: string) => (services && services.items.length > 0 && jsonQuoted(services.items[0].key) ? JSON.stringify(k) : scalarKey(k));
  const block = renderBlock(blockLines(name, opts, def, quoteKey), layout);

  if (services && services.items.length > 0) {
    const offset = endOfLastService(text, services.items[services.items.length - 1], layout.serviceColumn);
    const lead = offset === text.length && !text.endsWith('\n') ? layout.eol : '';
    const sep = layout.blankBetweenServices ? layout.eol : '';
    const tail = offset === text.length && !text.endsWith('\n') ? '' : layout.eol;
    const insert = lead + sep + block.join(layout.eol) + tail;
    return { text: text.slice(0, offset) + insert + text.slice(offset), offset, style: 'block' };
  }
  // `services:` with no value, or an explicit null (`~`, `null`): drop the null token, the block goes below.
  let from = (servicesPair.key as Node).range![1];
  let to = from;
  if (isScalar(value) && value.range && value.range[1] > value.range[0]) [from, to] = value.range;
  const offset = lineEnd(text, to);
  const needsEol = !text.slice(to, offset).endsWith('\n');
  const insert = (needsEol ? layout.eol : '') + block.join(layout.eol) + (needsEol ? '' : layout.eol);
  return { text: text.slice(0, from) + text.slice(to, offset) + insert + text.slice(offset), offset, style: 'block' };
}

/** A flow mapping (`services: {web: {...}}` or JSON): one more entry, written as JSON, before the closing brace. */
function insertFlow(text: string, map: YAMLMap, name: string, def: Record<string, unknown>, jsonKeys: boolean): AddServiceResult {
  const [start, end] = map.range!;
  const close = text.lastIndexOf('}', end - 1);
  const key = jsonKeys || (map.items.length > 0 && jsonQuoted(map.items[0].key)) ? JSON.stringify(name) : scalarKey(name);
  const entry = `${key}: ${JSON.stringify(def)}`;
  if (map.items.length === 0) {
    return { text: text.slice(0, close) + entry + text.slice(close), offset: close, style: 'flow' };
  }
  const last = map.items[map.items.length - 1];
  const lastEnd = nodeEnd(last);
  const lastKeyStart = (last.key as Node).range![0];
  const multiLine = text.slice(start, close).includes('\n');
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  // On its own line, indented like the other entries, when the mapping is spread over lines.
  const insert = multiLine ? `,${eol}${' '.repeat(columnOf(text, lastKeyStart))}${entry}` : `, ${entry}`;
  return { text: text.slice(0, lastEnd) + insert + text.slice(lastEnd), offset: lastEnd, style: 'flow' };
}

/** No `services:` at all: a new top-level key after the last one. */
function insertServicesKey(text: string, doc: Document.Parsed, root: YAMLMap, name: string, opts: SidecarOptions, def: Record<string, unknown>): AddServiceResult {
  if (root.flow) {
    const jsonKeys = root.items.length > 0 && jsonQuoted(root.items[0].key);
    const [, end] = root.range!;
    const close = text.lastIndexOf('}', end - 1);
    const k = jsonKeys ? '"services"' : 'services';
    const entry = `${k}: {${jsonKeys ? JSON.stringify(name) : scalarKey(name)}: ${JSON.stringify(def)}}`;
    if (root.items.length === 0) return { text: text.slice(0, close) + entry + text.slice(close), offset: close, style: 'flow' };
    const lastEnd = nodeEnd(root.items[root.items.length - 1]);
    return { text: text.slice(0, lastEnd) + `, ${entry}` + text.slice(lastEnd), offset: lastEnd, style: 'flow' };
  }
  const step = rootStep(text, doc);
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const rootColumn = root.items.length > 0 ? columnOf(text, (root.items[0].key as Node).range![0]) : 0;
  const layout: Layout = { eol, serviceColumn: rootColumn + step, step, sequenceIndent: step, blankBetweenServices: false };
  const lines = [' '.repeat(rootColumn) + 'services:', ...renderBlock(blockLines(name, opts, def, scalarKey), layout)];
  const offset = root.items.length > 0 ? endOfLastService(text, root.items[root.items.length - 1], rootColumn) : text.length;
  const lead = offset === text.length && text.length > 0 && !text.endsWith('\n') ? eol : '';
  return { text: text.slice(0, offset) + lead + lines.join(eol) + eol + text.slice(offset), offset, style: 'block' };
}

function scalarKey(k: string): string {
  return /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(k) ? k : JSON.stringify(k);
}

/** The new text must parse to the old document plus exactly the new service. */
function verify(before: string, after: string, name: string, def: Record<string, unknown>, where: string): void {
  const plain = (t: string) => parseComposeDocument(t, where).toJS({ maxAliasCount: -1 }) as Record<string, unknown>;
  const was = plain(before);
  const now = plain(after);
  const nowServices = { ...((now.services ?? {}) as Record<string, unknown>) };
  const added = nowServices[name];
  delete nowServices[name];
  const rest = { ...now };
  if (was.services === undefined || was.services === null) {
    if (Object.keys(nowServices).length === 0) rest.services = was.services;
  } else rest.services = nowServices;
  if (!('services' in was)) delete rest.services;
  if (!isDeepStrictEqual(added, def) || !isDeepStrictEqual(rest, was)) {
    throw new ConfigError(`${where}: cannot add the dosync service without changing the rest of this file's meaning (an unusual layout); add it by hand, see docker-compose.example.yaml`);
  }
}
