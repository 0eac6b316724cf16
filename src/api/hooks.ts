/**
 * Push webhooks from registries, reduced to the image references that changed. Pure. Recognised:
 *  - Docker Hub: `{ push_data: { tag }, repository: { repo_name } }`
 *  - GitHub `package` / `registry_package` events (ghcr.io): `package_version.package_url` and
 *    `container_metadata.tag.name`; `ping` is acknowledged; other ecosystems are ignored
 *  - Harbor, default format (`type: PUSH_ARTIFACT`, `event_data.resources[].resource_url`) and
 *    CloudEvents format (`type: harbor.artifact.pushed`, `data.resources[]`)
 *  - Quay: `{ docker_url, updated_tags }`
 *  - CNCF distribution notifications: `{ events: [{ action: "push", target: { repository, tag }, request: { host } }] }`
 *  - generic: `{ "image": "ref" }` or `{ "images": ["ref", ...] }`
 * References come out fully qualified (`docker.io/library/nginx:1.27`); without a tag when the payload
 * names none (a push by digest), meaning "something in this repository changed".
 */
import { formatReference, parseImageReference } from '../reference/index.js';

export type HookSource = 'dockerhub' | 'github' | 'harbor' | 'quay' | 'distribution' | 'generic';

export interface ParsedHook {
  source?: HookSource;
  images: string[];
  /** GitHub's ping on webhook creation: acknowledge, check nothing. */
  ping?: boolean;
  /** The payload was understood but announces nothing to check (a pull, an npm package ...). */
  ignored?: string;
}

export class HookPayloadError extends Error {}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);

/** `githubEvent` is the `X-GitHub-Event` header, when present. */
export function parseRegistryHook(body: unknown, githubEvent?: string): ParsedHook {
  if (!isObject(body)) throw new HookPayloadError('the payload must be a JSON object');
  if (githubEvent !== undefined || isObject(body.package) || isObject(body.registry_package)) return github(body, githubEvent);
  if (isObject(body.push_data) && isObject(body.repository)) return dockerHub(body);
  if (typeof body.type === 'string' && (isObject(body.event_data) || isObject(body.data))) return harbor(body);
  if (str(body.docker_url) && body.updated_tags !== undefined) return quay(body);
  if (Array.isArray(body.events)) return distribution(body.events);
  if (body.image !== undefined || body.images !== undefined) return generic(body);
  throw new HookPayloadError('unrecognised payload: expected a Docker Hub, GitHub package, Harbor, Quay or registry notification, or {"image": "<reference>"}');
}

function result(source: HookSource, candidates: string[]): ParsedHook {
  const images = [...new Set(candidates.map(normalise).filter((r): r is string => r !== undefined))];
  if (images.length === 0) throw new HookPayloadError(`no valid image reference in the ${source} payload`);
  return { source, images };
}

function normalise(ref: string): string | undefined {
  try {
    return formatReference(parseImageReference(ref));
  } catch {
    return undefined;
  }
}

function dockerHub(body: Json): ParsedHook {
  const repo = str((body.repository as Json).repo_name);
  const tag = str((body.push_data as Json).tag);
  if (!repo) throw new HookPayloadError('Docker Hub payload without repository.repo_name');
  return result('dockerhub', [tag ? `${repo}:${tag}` : repo]);
}

function github(body: Json, event: string | undefined): ParsedHook {
  if (event === 'ping') return { source: 'github', images: [], ping: true };
  if (event !== undefined && event !== 'package' && event !== 'registry_package') return { source: 'github', images: [], ignored: `GitHub event "${event}" is not a package event` };
  const pkg = (isObject(body.package) ? body.package : body.registry_package) as Json | undefined;
  if (!isObject(pkg)) throw new HookPayloadError('GitHub package event without "package" or "registry_package"');
  const type = (str(pkg.package_type) ?? str(pkg.ecosystem) ?? '').toLowerCase();
  if (type !== 'container' && type !== 'docker') return { source: 'github', images: [], ignored: `GitHub package of type "${type || 'unknown'}" is not a container image` };
  const action = str(body.action);
  if (action !== undefined && action !== 'published' && action !== 'updated') return { source: 'github', images: [], ignored: `GitHub package action "${action}"` };
  const version = isObject(pkg.package_version) ? pkg.package_version : {};
  const url = str(version.package_url);
  if (!url) throw new HookPayloadError('GitHub package event without package_version.package_url');
  // package_url is "ghcr.io/Owner/name:tag", "ghcr.io/Owner/name:" (untagged) or without the colon;
  // owners keep their capitals there, while references are lower-case.
  const slash = url.lastIndexOf('/');
  const colon = url.lastIndexOf(':');
  const name = (colon > slash ? url.slice(0, colon) : url).toLowerCase();
  const urlTag = colon > slash ? url.slice(colon + 1) : '';
  const meta = isObject(version.container_metadata) ? version.container_metadata : {};
  const tag = (isObject(meta.tag) ? str(meta.tag.name) : undefined) ?? str(urlTag);
  return result('github', [tag ? `${name}:${tag}` : name]);
}

function harbor(body: Json): ParsedHook {
  const type = String(body.type);
  if (type !== 'PUSH_ARTIFACT' && type !== 'harbor.artifact.pushed') return { source: 'harbor', images: [], ignored: `Harbor event "${type}" is not a push` };
  const data = (isObject(body.event_data) ? body.event_data : body.data) as Json;
  const resources = Array.isArray(data.resources) ? data.resources : [];
  const refs = resources.filter(isObject).map((r) => str(r.resource_url)).filter((r): r is string => r !== undefined);
  return result('harbor', refs);
}

function quay(body: Json): ParsedHook {
  const base = str(body.docker_url)!;
  const tags = Array.isArray(body.updated_tags) ? body.updated_tags.map(str) : isObject(body.updated_tags) ? Object.keys(body.updated_tags) : [];
  const valid = tags.filter((t): t is string => t !== undefined);
  return result('quay', valid.length ? valid.map((t) => `${base}:${t}`) : [base]);
}

function distribution(events: unknown[]): ParsedHook {
  const refs: string[] = [];
  let pushes = 0;
  for (const e of events.filter(isObject)) {
    if (e.action !== 'push' || !isObject(e.target)) continue;
    const target = e.target;
    const host = isObject(e.request) ? str(e.request.host) : undefined;
    const repo = str(target.repository);
    const tag = str(target.tag);
    const isManifest = tag !== undefined || /manifest|index/.test(String(target.mediaType ?? ''));
    if (!host || !repo || !isManifest) continue;
    pushes++;
    refs.push(tag ? `${host}/${repo}:${tag}` : `${host}/${repo}`);
  }
  if (pushes === 0) return { source: 'distribution', images: [], ignored: 'no manifest push among the events' };
  return result('distribution', refs);
}

function generic(body: Json): ParsedHook {
  const list = body.images !== undefined ? body.images : [body.image];
  if (!Array.isArray(list) || !list.every((x) => typeof x === 'string')) throw new HookPayloadError('"image" must be a string and "images" a list of strings');
  return result('generic', list as string[]);
}
