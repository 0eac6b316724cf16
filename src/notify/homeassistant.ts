/**
 * Home Assistant over MQTT: one `update` entity per service through MQTT discovery, retained, so HA shows
 * installed and latest version with release notes and an Install button; pressing it approves and applies the
 * update. Entities of services that left the stack are removed (an empty retained config).
 *
 * Channel URL: `mqtt://user:pass@host:1883` or `mqtts://user:pass@host:8883`, optional query:
 *   prefix=homeassistant  the discovery prefix;  topic=dosync  the base of dosync's own topics;
 *   ca=/path/ca.pem       a CA to trust (self-signed brokers);  insecure=true  skip TLS verification.
 * The pure part (`discoveryMessages`) says what to publish for a status document; the bridge publishes it.
 */
import { readFileSync } from 'node:fs';
import type { MqttClient } from 'mqtt';
import { ConfigError } from '../util/errors.js';
import type { LoggerLike } from './types.js';
import type { StatusDoc } from '../api/status-doc.js';

export interface MqttTarget {
  url: string;
  /** Safe to log: scheme, host and port. */
  label: string;
  username?: string;
  password?: string;
  prefix: string;
  base: string;
  ca?: string;
  insecure: boolean;
}

export function isMqttUrl(url: string): boolean {
  return /^mqtts?:\/\//i.test(url);
}

export function parseMqttUrl(raw: string): MqttTarget {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new ConfigError('notify: an mqtt:// URL is not valid; use mqtt://user:pass@host:1883');
  }
  if (!u.hostname) throw new ConfigError('notify: an mqtt:// URL needs a host (mqtt://user:pass@host:1883)');
  const tls = u.protocol === 'mqtts:';
  const port = u.port || (tls ? '8883' : '1883');
  const q = u.searchParams;
  const topicPart = (v: string | null, fallback: string, name: string) => {
    const value = v ?? fallback;
    if (!/^[A-Za-z0-9_\-/]+$/.test(value)) throw new ConfigError(`notify: mqtt ${name}="${value}" may hold letters, digits, _, - and / only`);
    return value.replace(/\/+$/, '');
  };
  return {
    url: `${tls ? 'mqtts' : 'mqtt'}://${u.hostname.startsWith('[') ? u.hostname : u.hostname}:${port}`,
    label: `${u.protocol}//${u.hostname}:${port}`,
    username: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    prefix: topicPart(q.get('prefix'), 'homeassistant', 'prefix'),
    base: topicPart(q.get('topic'), 'dosync', 'topic'),
    ca: q.get('ca') ?? undefined,
    insecure: q.get('insecure') === 'true' || q.get('insecure') === '1',
  };
}

const slug = (s: string) => s.replace(/[^A-Za-z0-9_-]/g, '_');

export interface Topics {
  availability: string;
  config: (service: string) => string;
  state: (service: string) => string;
  command: (service: string) => string;
  /** Every config topic of this project (subscribe: what was published before, to remove what left). */
  configWildcard: string;
  commandWildcard: string;
}

/**
 * The topics of one project's entities. A whole-host daemon has one connection, so one last will: its
 * entities share the host's availability topic (`hostAvailability`; `_host` is no compose project name).
 */
export function topicsFor(target: Pick<MqttTarget, 'prefix' | 'base'>, project: string, availability?: string): Topics {
  const p = slug(project);
  const node = `dosync_${p}`;
  return {
    availability: availability ?? `${target.base}/${p}/availability`,
    config: (s) => `${target.prefix}/update/${node}/${slug(s)}/config`,
    state: (s) => `${target.base}/${p}/${slug(s)}/state`,
    command: (s) => `${target.base}/${p}/${slug(s)}/install`,
    configWildcard: `${target.prefix}/update/${node}/+/config`,
    commandWildcard: `${target.base}/${p}/+/install`,
  };
}

export const hostAvailability = (target: Pick<MqttTarget, 'base'>) => `${target.base}/_host/availability`;

export const INSTALL_PAYLOAD = 'install';

export interface Publication { topic: string; payload: string }

/**
 * What to publish for a status document (pure): config and state per service, and removals. A whole-host
 * document (`projects`) gives each project's entities under its own node, with `topicsOf(project)`.
 */
export function discoveryMessages(doc: StatusDoc, topics: Topics | ((project: string) => Topics), known: ReadonlySet<string>, opts: { dashboard?: string } = {}): Publication[] {
  const docs = Array.isArray(doc.projects) ? (doc.projects as StatusDoc[]) : [doc];
  const out = docs.flatMap((d) => entityMessages(d, typeof topics === 'function' ? topics(d.project) : topics, opts));
  const present = new Set(out.filter((m) => m.topic.endsWith('/config')).map((m) => m.topic));
  for (const topic of known) if (!present.has(topic)) out.push({ topic, payload: '' });
  return out;
}

function entityMessages(doc: StatusDoc, topics: Topics, opts: { dashboard?: string }): Publication[] {
  const out: Publication[] = [];
  const device = { identifiers: [`dosync_${slug(doc.project)}`], name: `dosync ${doc.project}`, manufacturer: 'dosync', model: 'Docker Compose project', ...(opts.dashboard ? { configuration_url: opts.dashboard } : {}) };
  for (const s of doc.services) {
    const config = topics.config(s.name);
    out.push({ topic: config, payload: JSON.stringify({
      name: s.name,
      unique_id: `dosync_${slug(doc.project)}_${slug(s.name)}`,
      state_topic: topics.state(s.name),
      command_topic: topics.command(s.name),
      payload_install: INSTALL_PAYLOAD,
      availability_topic: topics.availability,
      payload_available: 'online',
      payload_not_available: 'offline',
      device,
    }) });
    const installed = s.currentTag ?? null;
    out.push({ topic: topics.state(s.name), payload: JSON.stringify({
      installed_version: installed,
      latest_version: s.availableTag ?? installed,
      title: `${s.name} (${s.image?.replace(/:[^:/]*$/, '') ?? 'no image'})`,
      release_url: s.link ?? null,
      in_progress: s.status?.kind === 'updating',
    }) });
  }
  return out;
}

function ownedByHost(payload: Buffer, availability: string): boolean {
  try {
    return (JSON.parse(payload.toString('utf8')) as { availability_topic?: unknown }).availability_topic === availability;
  } catch {
    return false;
  }
}

export interface HaBridge {
  publish(doc: StatusDoc): Promise<void>;
  close(): Promise<void>;
}

/**
 * Connects (retrying in the background) and publishes; `onInstall` is called for HA's Install button.
 * Without `project` it is a whole-host daemon's bridge: entities per (project, service), from `projects`.
 */
export async function startHaBridge(target: MqttTarget, opts: { project?: string; logger: LoggerLike; dashboard?: string; onInstall: (service: string, project: string) => Promise<string>; current?: () => Promise<StatusDoc> }): Promise<HaBridge> {
  const { connect } = await import('mqtt');
  const host = opts.project === undefined;
  const availability = host ? hostAvailability(target) : undefined;
  const topicsOf = (project: string) => topicsFor(target, project, availability);
  const topics = host
    ? { availability: availability!, configWildcard: `${target.prefix}/update/+/+/config`, commandWildcard: `${target.base}/+/+/install` }
    : topicsOf(opts.project!);
  const known = new Set<string>();
  const last = new Map<string, string>();
  let ca: Buffer | undefined;
  if (target.ca) {
    try { ca = readFileSync(target.ca); } catch (err) { throw new ConfigError(`notify: mqtt ca=${target.ca} cannot be read: ${(err as Error).message}`); }
  }
  const client: MqttClient = connect(target.url, {
    username: target.username, password: target.password, ca, rejectUnauthorized: !target.insecure,
    clientId: `dosync_${slug(opts.project ?? '_host')}_${Math.random().toString(16).slice(2, 10)}`,
    reconnectPeriod: 5_000, connectTimeout: 10_000, clean: true,
    will: { topic: topics.availability, payload: Buffer.from('offline'), retain: true, qos: 1 },
  });
  let reported = false;
  client.on('error', (err) => {
    // One line per outage, without the URL's credentials.
    if (!reported) opts.logger.warn({ channel: target.label, error: err.message }, 'MQTT: cannot reach the broker; retrying');
    reported = true;
  });
  client.on('connect', () => {
    reported = false;
    last.clear(); // a new session (maybe a restarted broker without persistence): publish everything again
    opts.logger.info({ channel: target.label }, 'MQTT connected');
    void client.publishAsync(topics.availability, 'online', { retain: true, qos: 1 }).catch(() => undefined);
    // The retained configs of earlier runs arrive right after subscribing; then everything is published.
    void client.subscribeAsync([topics.configWildcard, topics.commandWildcard], { qos: 1 })
      .then(() => new Promise((r) => setTimeout(r, 500)))
      .then(async () => { if (opts.current) await publish(await opts.current()); })
      .catch((err: unknown) => opts.logger.warn({ channel: target.label, error: (err as Error).message }, 'MQTT: publishing failed'));
  });
  client.on('message', (topic, payload, packet) => {
    if (topic.endsWith('/config')) {
      // Retained configs published before (maybe by an earlier run): removed when their service is gone.
      // A host bridge sees every node's configs: its own are those with the host's availability topic.
      if (payload.length > 0 && (!host || ownedByHost(payload, availability!))) known.add(topic); else known.delete(topic);
      return;
    }
    if (packet.retain) return; // a stale retained command is not a press of the button
    const [service, project] = [topic.split('/').at(-2)!, topic.split('/').at(-3)!];
    if (payload.toString('utf8').trim() !== INSTALL_PAYLOAD) return;
    void opts.onInstall(service, opts.project ?? project).then((message) => opts.logger.info({ service, channel: target.label }, `MQTT install: ${message}`),
      (err: unknown) => opts.logger.error({ service, channel: target.label }, `MQTT install: ${(err as Error).message}`));
  });
  async function publish(doc: StatusDoc): Promise<void> {
      if (!client.connected) return;
      for (const m of discoveryMessages(doc, host ? topicsOf : topicsOf(opts.project!), known, { dashboard: opts.dashboard })) {
        if (last.get(m.topic) === m.payload) continue;
        await client.publishAsync(m.topic, m.payload, { retain: true, qos: 1 });
        if (m.payload === '') { known.delete(m.topic); last.delete(m.topic); } else last.set(m.topic, m.payload);
        if (m.topic.endsWith('/config') && m.payload !== '') known.add(m.topic);
      }
  }
  return {
    publish,
    async close() {
      if (client.connected) await client.publishAsync(topics.availability, 'offline', { retain: true, qos: 1 }).catch(() => undefined);
      await client.endAsync().catch(() => undefined);
    },
  };
}

/** The bridges follow the status: `changed()` on each change publishes the document at most every 300 ms. */
export function followStatus(bridges: readonly HaBridge[], current: () => Promise<StatusDoc>, logger: LoggerLike): { changed: () => void; stop: () => void } {
  let timer: NodeJS.Timeout | undefined;
  return {
    changed() {
      if (bridges.length === 0 || timer) return;
      timer = setTimeout(() => {
        timer = undefined;
        void current().then((doc) => Promise.all(bridges.map((b) => b.publish(doc)))).catch((err: unknown) => logger.warn({ error: (err as Error).message }, 'MQTT: publishing failed'));
      }, 300);
    },
    stop() {
      if (timer) clearTimeout(timer);
    },
  };
}
