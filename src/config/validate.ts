/**
 * `dosync config validate`: every problem of a dosync.yaml at once, one line each (`file:line: field: what to
 * do`), where loading stops at the first. Checks what `dosync sync` checks at start-up: YAML, the schema,
 * the registry section, image policies, time zone, maintenance windows, schedule, notification URLs and the
 * listen address. Pure: the caller reads the file. Messages never carry a secret value.
 */
import { LineCounter, isMap, isPair, isScalar, parseDocument, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { configFileSchema, expandDeep, verifyBlocks, type ConfigFile } from './file.js';
import { parseVerifySetting } from '../verify/settings.js';
import { editDistance, parseRegistryConfig, type RegistryConfig } from '../registry/config.js';
import { resolvePolicy } from '../policy/index.js';
import { parseWindows, parseSchedule, validateTimeZone } from '../sync/schedule.js';
import { parseChannels } from '../notify/urls.js';
import { parseListen } from '../api/listen.js';
import { errorMessage } from '../util/errors.js';
import { exactDuration } from './effective.js';

export interface ConfigReport {
  errors: string[];
  warnings: string[];
  /** The parsed configuration when the schema accepted it. */
  config?: ConfigFile;
  registry?: RegistryConfig;
}

type Path = Array<string | number>;

function fieldOf(path: Path): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : p)).join('.').replace(/\.\[/g, '[');
}

/** `file:line` of the node at `path` (for an unknown key: of that key), else just `file`. */
function locate(doc: Document.Parsed, lines: LineCounter, file: string, path: Path, key?: string): string {
  let node = doc.getIn(path, true) as Node | undefined;
  if (key !== undefined && isMap(node)) {
    const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === key);
    node = (pair?.key as Node | undefined) ?? node;
  }
  for (let p = path.slice(); !node?.range && p.length > 0; p = p.slice(0, -1)) node = doc.getIn(p.slice(0, -1), true) as Node | undefined;
  return node?.range ? `${file}:${lines.linePos(node.range[0]).line}` : file;
}

function near(word: string, known: string[]): string | undefined {
  return known.find((k) => editDistance(k.toLowerCase(), word.toLowerCase()) <= 2);
}

/** The keys the schema allows at `path` (top level or a service), for suggestions. */
function knownKeys(path: Path): string[] {
  const top = Object.keys(configFileSchema.shape);
  if (path.length === 0) return top;
  if (path[0] === 'services' && path.length === 2) return ['skip', 'update', 'imagePolicy', 'image_policy', 'health', 'paused', 'maintenance_window', 'min_age', 'verify'];
  if (path[path.length - 1] === 'health') return ['timeout', 'stable'];
  return [];
}

function issueLines(issue: z.ZodIssue, doc: Document.Parsed, lines: LineCounter, file: string): string[] {
  const path = issue.path;
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => {
      const guess = near(key, knownKeys(path));
      return `${locate(doc, lines, file, path, key)}: ${fieldOf([...path, key])}: unknown key; ${guess ? `did you mean "${guess}"?` : 'remove it or fix its spelling'}`;
    });
  }
  const field = fieldOf(path);
  // Duration errors already start with their own short field name.
  const message = issue.message.replace(/^[\w.]+: (?=")/, '');
  const hint = issue.code === 'invalid_type' && issue.received === 'undefined' ? 'is required' : message;
  return [`${locate(doc, lines, file, path)}: ${field || '(top level)'}: ${hint}`];
}

/** Runs `check` and records its error (prefixed with `where` unless it already names the file). */
function attempt(errors: string[], file: string, check: () => void, rename: (message: string) => string = (m) => m): void {
  try {
    check();
  } catch (err) {
    const message = rename(errorMessage(err));
    errors.push(message.startsWith(file) ? message : `${file}: ${message}`);
  }
}

/** Every problem of `text` (the content of `file`), with `${VAR}`s taken from `env`. */
export function validateConfigText(text: string, file: string, env: Record<string, string | undefined>): ConfigReport {
  const lines = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: true, lineCounter: lines, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      errors: doc.errors.map((e) => {
        const pos = e.linePos?.[0];
        return `${file}${pos ? `:${pos.line}` : ''}: invalid YAML: ${e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}; fix the syntax there`;
      }),
      warnings: [],
    };
  }
  const raw = expandDeep(doc.toJS() ?? {}, env);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { errors: [`${file}: the top level must be a mapping of settings (interval:, registry:, services: ...)`], warnings: [] };
  }
  const parsed = configFileSchema.safeParse(raw);
  const errors: string[] = [];
  const warnings: string[] = [];
  if (!parsed.success) {
    for (const issue of parsed.error.issues) errors.push(...issueLines(issue, doc, lines, file));
  }
  const config = parsed.success ? parsed.data : undefined;
  const rawConfig = raw as Record<string, unknown>;
  // A value the schema already rejected is not checked again (one error per mistake).
  const issuePaths = parsed.success ? [] : parsed.error.issues.flatMap((i) => (i.code === 'unrecognized_keys'
    ? i.keys.map((k) => [...i.path.map(String), k])
    : [i.path.map(String)]));
  const prefixOf = (a: string[], b: string[]) => a.length <= b.length && a.every((x, i) => x === b[i]);
  const clean = (...path: string[]) => !issuePaths.some((p) => prefixOf(p, path) || prefixOf(path, p));
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

  // The registry section is validated apart (it keeps unknown keys as warnings, for DOSync files).
  let registry: RegistryConfig | undefined;
  attempt(errors, file, () => {
    const r = parseRegistryConfig(rawConfig.registry ?? {}, { env, file });
    registry = r.config;
    warnings.push(...r.warnings);
  });
  for (const [family, value] of Object.entries(registry ?? {})) {
    const entries = Array.isArray(value) ? value : [value];
    entries.forEach((entry, i) => {
      const where = `${file}: registry.${family}${entries.length > 1 ? `[${i}]` : ''}`;
      attempt(errors, file, () => resolvePolicy({ registry: entry as { imagePolicy?: unknown } }, { labels: '', service: '', registry: where }));
    });
  }

  const services = rawConfig.services && typeof rawConfig.services === 'object' ? rawConfig.services as Record<string, unknown> : {};
  for (const [name, value] of Object.entries(services)) {
    if (!value || typeof value !== 'object') continue;
    const settings = value as Record<string, unknown>;
    if (clean('services', name)) attempt(errors, file, () => resolvePolicy({ service: settings }, { labels: '', service: `${file}: services.${name}`, registry: '' }));
    const window = str(settings.maintenance_window);
    if (window && clean('services', name, 'maintenance_window')) attempt(errors, file, () => parseWindows(window, `${file}: services.${name}.maintenance_window`));
  }
  for (const [where, value] of verifyBlocks(rawConfig)) {
    if (clean(...where.replace(/\[\d+\]/g, '').split('.'))) attempt(errors, file, () => parseVerifySetting(value, `${file}: ${where}`));
  }
  const timezone = clean('timezone') ? str(rawConfig.timezone) : undefined;
  if (timezone) attempt(errors, file, () => validateTimeZone(timezone, `${file}: timezone`));
  const window = clean('maintenance_window') ? str(rawConfig.maintenance_window) : undefined;
  if (window) attempt(errors, file, () => parseWindows(window, `${file}: maintenance_window`));
  if (rawConfig.schedule !== undefined && rawConfig.interval !== undefined) warnings.push(`${file}: interval is ignored because schedule is set; remove one of them`);
  if (config) {
    const flagName = (m: string) => m.replace(/^--(interval|schedule|jitter|time-zone)\b/, (_all, k: string) => `${file}: ${k === 'time-zone' ? 'timezone' : k}`);
    attempt(errors, file, () => parseSchedule({ interval: config.schedule ? undefined : config.interval, schedule: config.schedule, jitter: config.jitter, timeZone: config.timezone }), flagName);
  }
  if (Array.isArray(rawConfig.notify) && clean('notify')) {
    rawConfig.notify.forEach((url, i) => {
      // One URL at a time, so every bad one is reported; the message names the scheme, never the URL.
      if (typeof url === 'string') attempt(errors, file, () => parseChannels([url]), (m) => m.replace(/^notification URL 1/, `${file}: notify[${i}]`));
    });
  }
  const listen = clean('listen') ? str(rawConfig.listen) : undefined;
  if (listen !== undefined) attempt(errors, file, () => parseListen(listen), (m) => m.replace(/^--listen/, `${file}: listen`));
  return { errors: byLine(errors.map((e) => withLine(e, doc, lines, file))), warnings, config: errors.length === 0 ? config : undefined, registry };
}

/** `file: a.b[0].c: ...` -> `file:LINE: a.b[0].c: ...` when the field is found in the document. */
function withLine(message: string, doc: Document.Parsed, lines: LineCounter, file: string): string {
  const prefix = `${file}: `;
  if (!message.startsWith(prefix)) return message;
  const m = /^([A-Za-z_][\w-]*(?:\.[\w-]+|\[\d+\])*)[: ]/.exec(message.slice(prefix.length));
  if (!m) return message;
  const path = m[1].split(/\.|(?=\[)/).map((p) => (/^\[\d+\]$/.test(p) ? Number(p.slice(1, -1)) : p));
  const where = locate(doc, lines, file, path);
  return where === file ? message : `${where}: ${message.slice(prefix.length)}`;
}

/** Errors in file order; those without a line last. */
function byLine(errors: string[]): string[] {
  const line = (e: string) => Number(/^[^:]*:(\d+):/.exec(e)?.[1] ?? Infinity);
  return errors.map((e, i) => ({ e, i })).sort((a, b) => line(a.e) - line(b.e) || a.i - b.i).map((x) => x.e);
}

/** One line for a valid file: what it configures. */
export function validSummary(file: string, report: ConfigReport): string {
  const c = report.config ?? {};
  const families = Object.keys(report.registry ?? {});
  const parts = [
    `${Object.keys(c.services ?? {}).length} service setting(s)`,
    families.length > 0 ? `registries: ${families.join(', ')}` : 'no registry credentials',
    c.schedule ? `schedule "${c.schedule}"` : c.interval !== undefined ? `interval ${exactDuration(c.interval)}` : 'default interval',
  ];
  if (c.notify?.length) parts.push(`${c.notify.length} notification URL(s)`);
  return `${file} is valid: ${parts.join(', ')}${report.warnings.length > 0 ? ` (${report.warnings.length} warning(s))` : ''}`;
}
