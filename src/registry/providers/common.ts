/** Small pieces every provider uses: the context, expiring caches, vendor-API HTTP, safe errors. */
import { rootCertificates } from 'node:tls';
import { Agent, lazyFetch } from '../../net/undici-core.js';
import { RegistryError, errorMessage } from '../../util/errors.js';
import { scrubSecrets } from '../../util/logger.js';
import { urlHost, type RegistryConfig, type Env } from '../config.js';
import type { RegistryClient } from '../client.js';
import type { Logger } from '../transport.js';
import type { Credential, RepositoryRef } from '../types.js';

export type { Logger };

export type ProviderName = 'dockerhub' | 'ghcr' | 'gcr' | 'ecr' | 'acr' | 'quay' | 'harbor' | 'docr' | 'gitlab' | 'custom' | 'generic';

export interface ProviderContext {
  env: Env;
  /** The parsed dosync.yaml `registry:` section. */
  config: RegistryConfig;
  logger?: Logger;
  /** fetch for vendor APIs (Docker Hub API, ACR exchange, Quay/Harbor APIs). Default: undici's. */
  fetch?: FetchLike;
  /** PEM certificates trusted besides the public roots, for vendor APIs and cloud token endpoints. */
  extraCa?: string[];
  /** The OCI client, for push times served by the registry API itself (GCR's tag list). */
  registry?: Pick<RegistryClient, 'request'>;
  endpoints?: {
    /** Base URL (`scheme://host[:port]`) of a registry host's own API; default `https://<host>`. */
    registryBase?: (host: string) => string | undefined;
    /** Default `https://hub.docker.com`. */
    dockerHubApi?: string;
  };
  /** Clock for token expiry (tests). */
  now?: () => number;
  /**
   * Told about each HTTP request a provider (or the cloud SDK it drives) sends for a registry, so
   * the client's stats count them: `token` for credential calls, `other` for vendor APIs. Returns
   * the function to call with the answer's status. `RegistryClient.recordExternalRequest` fits.
   */
  onRequest?: ExternalRequestRecorder;
}

export type ExternalRequestRecorder = (registry: string, kind: 'token' | 'other', method: string) => (status: number | 'error') => void;

/** `onRequest` of the context, or a no-op. */
export function recorder(ctx: ProviderContext): ExternalRequestRecorder {
  return ctx.onRequest ?? (() => () => undefined);
}

export type FetchLike = (url: string, init?: { method?: string; headers?: Record<string, string>; body?: string }) => Promise<FetchResponse>;

/** The part of a fetch Response the providers read (undici's and the global one both fit). */
export interface FetchResponse {
  status: number;
  ok: boolean;
  headers: { get(name: string): string | null };
  text(): Promise<string>;
}

export interface Provider {
  readonly name: ProviderName;
  matches(registryHost: string): boolean;
  /**
   * Credentials the user gave explicitly for this host: the dosync.yaml section first, then the
   * environment variables of this registry family. Tokens are cached until shortly before expiry.
   */
  credential(registryHost: string): Promise<Credential | undefined>;
  /**
   * Credentials from the platform's default chain (instance metadata, ADC, managed identity...),
   * asked only when neither the config, the environment nor ~/.docker/config.json had any.
   */
  ambientCredential?(registryHost: string): Promise<Credential | undefined>;
  /** When each tag was last pushed, where the registry tells (for the `newest` policy). */
  pushTimes?(repo: RepositoryRef): Promise<Map<string, Date>>;
  /** Creates a repository on registries that need one before a push (ECR); 'exists' when it was there. */
  createRepository?(repo: RepositoryRef): Promise<'created' | 'exists'>;
}

/** Tokens are renewed this long before they expire (or at half their life, if that is shorter). */
export const REFRESH_MARGIN_MS = 5 * 60_000;

/**
 * Values that expire, with concurrent requests for the same key sharing one fetch. Failures are
 * not cached, so the next cycle tries again.
 */
export class ExpiringCache<T> {
  private readonly values = new Map<string, { value: T; renewAt: number }>();
  private readonly pending = new Map<string, Promise<T>>();

  constructor(private readonly now: () => number) {}

  /** `renewAt` (optional) overrides the default "shortly before expiresAt". */
  get(key: string, fetch: () => Promise<{ value: T; expiresAt: number; renewAt?: number }>): Promise<T> {
    const hit = this.values.get(key);
    if (hit && hit.renewAt > this.now()) return Promise.resolve(hit.value);
    let p = this.pending.get(key);
    if (!p) {
      const started = this.now();
      p = fetch().then(({ value, expiresAt, renewAt }) => {
        const life = expiresAt - started;
        this.values.set(key, { value, renewAt: renewAt ?? expiresAt - Math.min(REFRESH_MARGIN_MS, life / 2) });
        return value;
      });
      this.pending.set(key, p);
      const done = () => this.pending.delete(key);
      p.then(done, done);
    }
    return p;
  }

  clear(): void {
    this.values.clear();
  }
}

/** `host[:port]` of a URL written with or without a scheme (`https://harbor.example.com/`, `harbor.example.com:8443`). */
export function hostOf(url: string): string {
  return urlHost(url);
}

/** Origin to reach a host's own API at: the test override, else https (http only when marked insecure). */
export function registryOrigin(ctx: ProviderContext, host: string, insecure = false): string {
  return ctx.endpoints?.registryBase?.(host) ?? `${insecure ? 'http' : 'https'}://${host}`;
}

let sharedAgent: { key: string; agent: Agent } | undefined;

/** The fetch for vendor APIs: the context's, else undici's (trusting `extraCa` besides the public roots). */
export function fetchFor(ctx: ProviderContext, moreCa: string[] = []): FetchLike {
  if (ctx.fetch) return ctx.fetch;
  const ca = [...(ctx.extraCa ?? []), ...moreCa];
  if (ca.length === 0) return lazyFetch();
  const key = ca.join('\n');
  if (sharedAgent?.key !== key) sharedAgent = { key, agent: new Agent({ connect: { ca: [...rootCertificates, ...ca] } }) };
  return lazyFetch(sharedAgent.agent);
}

export interface JsonRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** PEM CAs trusted for this request besides the context's (a registry's `ca_file`). */
  ca?: string[];
  /** The registry this request is made for and what it is, for the client's request counts. */
  countAs: { registry: string; kind: 'token' | 'other' };
}

/** GET/POST returning parsed JSON and the response headers; non-2xx answers become RegistryErrors naming the URL's path, never its query or body. */
export async function fetchJsonWithHeaders(ctx: ProviderContext, url: string, init: JsonRequest, what: string, secrets: Array<string | undefined> = []): Promise<{ json: unknown; headers: FetchResponse['headers'] }> {
  let res: FetchResponse;
  const done = recorder(ctx)(init.countAs.registry, init.countAs.kind, init.method ?? 'GET');
  try {
    res = await fetchFor(ctx, init.ca)(url, { method: init.method, headers: init.headers, body: init.body });
  } catch (err) {
    done('error');
    throw new RegistryError(`${what}: cannot reach ${safeUrl(url)}: ${redact(causeMessage(err), secrets)}`);
  }
  done(res.status);
  const text = await res.text();
  if (!res.ok) {
    const detail = apiErrorDetail(text);
    throw new RegistryError(`${what}: ${safeUrl(url)} answered HTTP ${res.status}${detail ? ` (${redact(detail, secrets)})` : ''}`, { status: res.status });
  }
  try {
    return { json: JSON.parse(text) as unknown, headers: res.headers };
  } catch {
    throw new RegistryError(`${what}: ${safeUrl(url)} answered something that is not JSON`, { status: res.status });
  }
}

export async function fetchJson(ctx: ProviderContext, url: string, init: JsonRequest, what: string, secrets: Array<string | undefined> = []): Promise<unknown> {
  return (await fetchJsonWithHeaders(ctx, url, init, what, secrets)).json;
}

/** Origin and path only: queries may carry tokens. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

/** A short, secret-free reason from an API's error body (`error`/`message`/`detail` fields). */
function apiErrorDetail(body: string): string | undefined {
  try {
    const j = JSON.parse(body) as Record<string, unknown>;
    const first = Array.isArray(j.errors) ? (j.errors[0] as Record<string, unknown> | undefined) : undefined;
    const parts = [j.error, j.error_description, j.message, j.detail, first?.code, first?.message].filter((v): v is string => typeof v === 'string' && v.length > 0);
    return parts.length ? parts.join(': ').slice(0, 200) : undefined;
  } catch {
    return undefined;
  }
}

function causeMessage(err: unknown): string {
  const cause = (err as { cause?: unknown })?.cause;
  const own = errorMessage(err);
  return cause instanceof Error && cause.message && !own.includes(cause.message) ? `${own} (${cause.message})` : own;
}

/** Replaces every known secret value in `text`, then generic Basic/Bearer values and URL userinfo. */
export function redact(text: string, secrets: Array<string | undefined>): string {
  let out = text;
  for (const s of secrets) {
    if (s && s.length >= 4) out = out.split(s).join('[redacted]');
  }
  return scrubSecrets(out);
}

/** A RegistryError for a failed credential source: which provider, which host, why (secrets removed). */
export function credentialError(provider: string, host: string, err: unknown, secrets: Array<string | undefined>): RegistryError {
  const reason = redact(causeMessage(err), secrets).split('\n')[0]!.slice(0, 300);
  const status = err instanceof RegistryError ? err.status : undefined;
  return new RegistryError(`${host}: cannot get ${provider} credentials: ${reason}`, { cause: err instanceof RegistryError ? err : undefined, status });
}

/** `user:secret` split on the first colon (docker's decodeAuth also drops trailing NULs). */
export function splitUserSecret(decoded: string): { username: string; password: string } | undefined {
  const i = decoded.indexOf(':');
  if (i <= 0) return undefined;
  return { username: decoded.slice(0, i), password: decoded.slice(i + 1).replace(/\0+$/, '') };
}

/** The `exp` claim of a JWT, in ms, when the token is one (ACR refresh tokens are). */
export function jwtExpiry(token: string): number | undefined {
  const payload = token.split('.')[1];
  if (!payload) return undefined;
  try {
    const exp = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: unknown }).exp;
    return typeof exp === 'number' ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

export function nonEmpty(v: string | undefined): string | undefined {
  return v !== undefined && v.trim() !== '' ? v : undefined;
}

/** Basic credentials when both halves are present. */
export function basic(username: string | undefined, password: string | undefined): Credential | undefined {
  const u = nonEmpty(username);
  const p = nonEmpty(password);
  return u && p ? { username: u, password: p } : undefined;
}
