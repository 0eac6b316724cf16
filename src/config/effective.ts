/**
 * `dosync config print`: the configuration `dosync sync` would run with — dosync.yaml after `${VAR}`
 * expansion, with the DOSYNC_* (and DOSync's CHECK_INTERVAL) environment overrides and the defaults
 * applied — as YAML, each top-level key commented with where it came from, secrets shown as `***`.
 * Pure: the caller loads the file and passes the environment.
 */
import { Document, isMap, isPair, isScalar } from 'yaml';
import type { ConfigFile } from './file.js';
import type { RegistryConfig } from '../registry/config.js';
import { resolveSettings, type Setting, type SettingFlags } from '../settings/index.js';
import { scrubSecrets } from '../util/scrub.js';

export const MASK = '***';

/** `5m`, `1h30m`, `1s500ms`: exact, unlike util/duration's formatDuration, which rounds for log lines. */
export function exactDuration(ms: number): string {
  if (ms === 0) return '0s';
  const units: Array<[string, number]> = [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000], ['ms', 1]];
  let rest = Math.round(ms);
  let out = '';
  for (const [unit, size] of units) {
    const n = Math.floor(rest / size);
    if (n > 0) { out += `${n}${unit}`; rest -= n * size; }
  }
  return out;
}

export interface EffectiveEntry {
  key: string;
  value: unknown;
  /** `dosync.yaml`, `env DOSYNC_INTERVAL`, `default`... */
  source: string;
}

const durationsOf = (h: { timeout?: number; stable?: number } | undefined) =>
  h && { ...(h.timeout !== undefined ? { timeout: exactDuration(h.timeout) } : {}), ...(h.stable !== undefined ? { stable: exactDuration(h.stable) } : {}) };

function servicesView(services: ConfigFile['services']): Record<string, unknown> | undefined {
  if (!services) return undefined;
  return Object.fromEntries(Object.entries(services).map(([name, s]) => [name, {
    ...s,
    ...(s.health ? { health: durationsOf(s.health) } : {}),
    ...(s.min_age !== undefined ? { min_age: exactDuration(s.min_age) } : {}),
  }]));
}

/**
 * The effective settings in dosync.yaml's key order, with the precedence every command applies
 * (src/settings: flag, environment variable, dosync.yaml, default). Values are unmasked; render with `renderEffective`.
 */
export function effectiveConfig(config: ConfigFile, registry: RegistryConfig | undefined, env: Record<string, string | undefined>, file = 'dosync.yaml', flags: SettingFlags = {}): EffectiveEntry[] {
  const s = resolveSettings(flags, env, config, file);
  const out: EffectiveEntry[] = [];
  // Durations from dosync.yaml are milliseconds: printed as durations; flag and environment texts as given.
  const show = (key: string, setting: Setting<unknown> | undefined, duration = false) => {
    if (setting) out.push({ key, value: duration && typeof setting.value === 'number' && setting.source === file ? exactDuration(setting.value) : setting.value, source: setting.source });
  };
  const fromFile = (key: string, value: unknown) => { if (value !== undefined) out.push({ key, value, source: file }); };
  show('schedule', s.schedule);
  show('interval', s.interval, true);
  show('jitter', s.jitter, true);
  fromFile('timezone', config.timezone);
  fromFile('maintenance_window', config.maintenance_window);
  fromFile('min_age', config.min_age === undefined ? undefined : exactDuration(config.min_age));
  show('backup_dir', s.backupDir);
  show('state_dir', s.stateDir);
  show('keep_backups', s.keepBackups);
  show('prune', s.prune);
  show('check_only', s.checkOnly);
  const healthText = (v: string | number) => (typeof v === 'number' ? exactDuration(v) : v);
  const healthSources = [...new Set([s.healthTimeout.source, s.healthStable.source])];
  out.push({
    key: 'health',
    value: { timeout: healthText(s.healthTimeout.value), stable: healthText(s.healthStable.value) },
    source: healthSources.length === 1 ? healthSources[0] : `${healthSources.filter((x) => x !== 'default').join(' + ')} (unset fields: default)`,
  });
  show('notify', s.notify);
  show('listen', s.listen);
  show('api_token', s.apiToken);
  if (registry && Object.keys(registry).length > 0) out.push({ key: 'registry', value: registry, source: `${file}, \${VAR}s expanded` });
  const services = servicesView(config.services);
  if (services) out.push({ key: 'services', value: services, source: file });
  show('watch_by_default', s.watchByDefault);
  show('projects_root', s.projectsRoot);
  show('exclude_projects', s.excludeProjects);
  fromFile('projects', config.projects);
  return out;
}

/** Keys whose values are credentials wherever they appear (registry passwords, tokens, secret keys, the API token). */
export const SECRET_KEY = /password|secret|token|access_key/i;

/** Schemes whose host is a server name (shown), not a token (hidden). */
const HOST_IS_PUBLIC = /^(generic|webhook)(\+https?)?$|^teams\+https$|^ntfy$|^gotify$|^smtps?$/;

/** A notification URL reduced to what identifies the channel: scheme, and the server where that is not a secret. */
export function maskUrl(raw: string): string {
  const m = /^\s*([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(raw);
  if (!m) return MASK;
  const scheme = m[1].toLowerCase();
  if (HOST_IS_PUBLIC.test(scheme)) {
    try {
      const u = new URL(raw.trim());
      if (u.hostname) return `${scheme}://${u.host}/${MASK}`;
    } catch { /* unparseable: show nothing of it */ }
  }
  return `${scheme}://${MASK}`;
}

/**
 * Parts of a notification URL that are or may hold secrets: all of it after the scheme, the user and password,
 * and the path segments and query values long enough to be tokens (short ones are ordinary words like "services").
 */
function urlSecrets(raw: string): string[] {
  const pieces = [raw.trim().replace(/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//, '')];
  try {
    const u = new URL(raw.trim());
    pieces.push(decodeURIComponent(u.username), decodeURIComponent(u.password));
    pieces.push(...u.pathname.split('/').map((p) => decodeURIComponent(p)).filter((p) => p.length >= 12));
    pieces.push(...[...u.searchParams.values()].filter((v) => v.length >= 8));
  } catch { /* unparseable: the whole remainder is hidden already */ }
  return pieces;
}

/** Replaces secret values with `***`; `found` receives every value hidden, to scrub the final text with. */
function mask(value: unknown, key: string | undefined, found: Set<string>, inNotify = false): unknown {
  if (typeof value === 'string') {
    if (inNotify) {
      for (const s of urlSecrets(value)) found.add(s);
      return maskUrl(value);
    }
    if (key !== undefined && SECRET_KEY.test(key) && value !== '') {
      found.add(value);
      return MASK;
    }
    return value;
  }
  if (Array.isArray(value)) return value.map((v) => mask(v, key, found, inNotify));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mask(v, k, found, inNotify || k === 'notify')]));
  }
  return value;
}

/** Removes each hidden value from every other string too (a token reused in a URL, a policy or a path). */
function scrubValues(value: unknown, secrets: string[]): unknown {
  if (typeof value === 'string') return secrets.reduce((v, secret) => v.split(secret).join(MASK), value);
  if (Array.isArray(value)) return value.map((v) => scrubValues(v, secrets));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrubValues(v, secrets)]));
  return value;
}

/**
 * The entries as a YAML document with a comment per top-level key, secrets masked. As a last guard every
 * hidden value is also removed wherever else it appears, and credentials in URLs and Authorization values
 * are scrubbed from the text.
 */
export function renderEffective(entries: EffectiveEntry[], header: string[]): string {
  const found = new Set<string>();
  const masked = entries.map((e) => [e.key, mask(e.value, e.key, found, e.key === 'notify')] as const);
  // Longest first, so a secret that contains another is removed whole; tiny fragments would mask ordinary words.
  const secrets = [...found].filter((s) => s.length >= 4 && s !== MASK).sort((a, b) => b.length - a.length);
  const doc = new Document(Object.fromEntries(masked.map(([k, v]) => [k, scrubValues(v, secrets)])));
  doc.commentBefore = header.map((h) => ` ${h}`).join('\n');
  if (isMap(doc.contents)) {
    for (const pair of doc.contents.items) {
      const key = pair.key;
      if (!isPair(pair) || !isScalar(key)) continue;
      const source = entries.find((e) => e.key === key.value)?.source;
      if (!source) continue;
      if (isScalar(pair.value)) pair.value.comment = ` ${source}`;
      else key.commentBefore = ` ${source}`;
    }
  }
  return scrubSecrets(doc.toString({ lineWidth: 0 }));
}
