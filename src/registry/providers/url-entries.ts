/** Registries addressed by URL in dosync.yaml (custom, Harbor, GitLab): matching and credentials. */
import type { UrlRegistryConfig } from '../config.js';
import type { Credential } from '../types.js';
import { basic, hostOf, nonEmpty } from './common.js';

/** The entry whose `url` names this host (`host[:port]`), if any. */
export function entryFor<T extends UrlRegistryConfig>(entries: T[] | undefined, host: string): T | undefined {
  const h = host.toLowerCase();
  return entries?.find((e) => hostOf(e.url) === h);
}

/** username + password (or + token) as Basic; a token alone as a ready bearer token. */
export function entryCredential(entry: UrlRegistryConfig | undefined): Credential | undefined {
  if (!entry) return undefined;
  const pair = basic(entry.username, entry.password ?? entry.token);
  if (pair) return pair;
  const token = nonEmpty(entry.token);
  return token && !nonEmpty(entry.username) ? { registryToken: token } : undefined;
}

/** Origin of the entry's API: its URL's scheme and host (http only with `insecure: true`, checked at parse time). */
export function entryOrigin(entry: UrlRegistryConfig): string {
  const u = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(entry.url) ? entry.url : `${entry.insecure ? 'http' : 'https'}://${entry.url}`);
  return u.origin;
}
