/**
 * The one OCI distribution client: tag listing with Link pagination, manifest digests by HEAD,
 * and raw authenticated requests. Authentication lives in auth.ts, HTTP concerns in transport.ts;
 * registry families differ only in how credentials are obtained (providers/).
 */
import { createHash } from 'node:crypto';
import LinkHeader from 'http-link-header';
import { z } from 'zod';
import type { Dispatcher } from 'undici';
import { RegistryError } from '../util/errors.js';
import { Authenticator, type Authorization } from './auth.js';
import { MANIFEST_ACCEPT } from './media-types.js';
import { Transport, type HttpResponse, type Logger, type RegistryStats, type RequestKind } from './transport.js';
import type { CredentialResolver, RepositoryRef } from './types.js';

export type { HttpResponse, RegistryStats } from './transport.js';

export interface RegistryClientOptions {
  /** Asked for a registry host's credentials when a token or Basic header is needed. */
  credentials?: CredentialResolver;
  /** Hosts (`host[:port]`, or a bare host for every port) reached over plain http. */
  insecureRegistries?: string[];
  /** Per request (connect, headers and body each), default 15000. */
  timeoutMs?: number;
  /** Tag-list page cap, default 200. */
  maxPages?: number;
  /** `n` of the tag listing, default 1000 (ECR refuses more). */
  pageSize?: number;
  /** Requests at once per registry host, default 6. */
  concurrencyPerRegistry?: number;
  /** Retries for 5xx, 429 and timeouts, default 3, with exponential backoff and jitter; Retry-After honoured. */
  retries?: number;
  /** First backoff step in ms, default 500 (doubles per retry). */
  backoffBaseMs?: number;
  /** A Retry-After longer than this fails the request instead of waiting, default 60000. */
  maxRetryAfterMs?: number;
  /** How long a host that could not be reached is failed without trying, default 30000. */
  unreachableTtlMs?: number;
  logger?: Logger;
  /** undici dispatcher (tests pass a MockAgent or an Agent with their own settings). */
  dispatcher?: Dispatcher;
  /** Clock and sleep, for tests of token expiry and backoff. */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export interface RequestInit {
  method?: 'GET' | 'HEAD';
  headers?: Record<string, string>;
  /** Token scope; default derived from the path (`repository:<name>:pull`). */
  scope?: string;
  /** Return non-2xx answers instead of throwing a RegistryError (401 still goes through the auth dance first). */
  allowErrors?: boolean;
}

export class RegistryClient {
  private readonly transport: Transport;
  private readonly auth: Authenticator;
  private readonly insecure: string[];
  private readonly maxPages: number;
  private readonly pageSize: number;
  private readonly listings = new Map<string, Promise<string[]>>();

  constructor(opts: RegistryClientOptions = {}) {
    const now = opts.now ?? Date.now;
    this.insecure = opts.insecureRegistries ?? [];
    this.maxPages = opts.maxPages ?? 200;
    this.pageSize = opts.pageSize ?? 1000;
    this.transport = new Transport({
      dispatcher: opts.dispatcher,
      timeoutMs: opts.timeoutMs ?? 15_000,
      retries: opts.retries ?? 3,
      concurrencyPerRegistry: opts.concurrencyPerRegistry ?? 6,
      backoffBaseMs: opts.backoffBaseMs ?? 500,
      maxRetryAfterMs: opts.maxRetryAfterMs ?? 60_000,
      unreachableTtlMs: opts.unreachableTtlMs ?? 30_000,
      maxRedirects: 5,
      maxBodyBytes: 64 * 1024 * 1024,
      sleep: opts.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
      now,
      random: Math.random,
      logger: opts.logger,
    });
    this.auth = new Authenticator({
      transport: this.transport,
      credentials: opts.credentials,
      baseUrl: (registry) => new URL(registryBaseUrl(registry, this.insecure)),
      now,
      logger: opts.logger,
    });
  }

  /** Requests sent so far (every retry, redirect hop, ping and token request counts). */
  get stats(): RegistryStats {
    return this.transport.stats;
  }

  /**
   * Every tag of a repository, following `Link: rel="next"` pages. Concurrent calls for the same
   * repository share one listing.
   */
  listTags(repo: RepositoryRef): Promise<string[]> {
    const key = `${repo.registry}/${repo.repository}`;
    let listing = this.listings.get(key);
    if (!listing) {
      listing = this.fetchTags(repo).finally(() => this.listings.delete(key));
      this.listings.set(key, listing);
    }
    return listing;
  }

  /** Digest of a tag or digest reference, by HEAD (full Accept list), falling back to GET + sha256 of the body. */
  async getDigest(repo: RepositoryRef, reference: string): Promise<{ digest: string; mediaType?: string }> {
    const where = `${repo.registry}/${repo.repository}:${reference}`;
    const path = `/v2/${repo.repository}/manifests/${encodeURIComponent(reference).replace(/%3A/gi, ':')}`;
    const headers = { accept: MANIFEST_ACCEPT };
    const head = await this.send(repo.registry, path, { method: 'HEAD', headers, scope: pullScope(repo.repository), kind: 'manifest', context: where });
    if (head.res.status === 200) {
      const digest = header(head.res, 'docker-content-digest');
      if (digest !== undefined && isDigest(digest)) return { digest, mediaType: mediaTypeOf(head.res) };
    } else if (head.res.status !== 405 && head.res.status !== 501) {
      throw responseError(where, repo.registry, head, 'manifest');
    }
    // Older registries omit Docker-Content-Digest on HEAD (or refuse HEAD): hash the exact manifest bytes.
    const get = await this.send(repo.registry, path, { method: 'GET', headers, scope: pullScope(repo.repository), kind: 'manifest', context: where });
    if (get.res.status !== 200) throw responseError(where, repo.registry, get, 'manifest');
    if (get.res.body.length === 0) throw new RegistryError(`${where}: ${repo.registry} answered an empty manifest`, { status: 200 });
    return { digest: `sha256:${createHash('sha256').update(get.res.body).digest('hex')}`, mediaType: mediaTypeOf(get.res) };
  }

  /**
   * Raw authenticated request for providers and mirror code: `path` is relative to the registry
   * root (e.g. `/v2/x/manifests/1`). Redirects are followed (without Authorization to another
   * host); the whole body is read.
   */
  async request(registry: string, path: string, init: RequestInit = {}): Promise<HttpResponse> {
    if (!path.startsWith('/')) throw new TypeError(`registry request path must start with "/": ${path}`);
    const scope = init.scope ?? scopeForPath(path);
    const { res, authorization } = await this.send(registry, path, { method: init.method ?? 'GET', headers: init.headers ?? {}, scope, kind: 'other', context: registry });
    if (!init.allowErrors && (res.status < 200 || res.status > 299)) throw responseError(registry, registry, { res, authorization }, 'other');
    return res;
  }

  private async fetchTags(repo: RepositoryRef): Promise<string[]> {
    const where = `${repo.registry}/${repo.repository}`;
    const base = new URL(registryBaseUrl(repo.registry, this.insecure));
    let url: URL | undefined = new URL(`/v2/${repo.repository}/tags/list?n=${this.pageSize}`, base);
    const visited = new Set<string>();
    const tags: string[] = [];
    const seen = new Set<string>();
    for (let page = 1; url; page++) {
      if (page > this.maxPages) {
        throw new RegistryError(`${where}: the tag list has more than ${this.maxPages} pages of ${this.pageSize}; raise the page cap if this repository really is that large`);
      }
      visited.add(url.href);
      const answer = await this.send(repo.registry, url, { method: 'GET', headers: { accept: 'application/json' }, scope: pullScope(repo.repository), kind: 'tags', context: where });
      if (answer.res.status !== 200) throw responseError(where, repo.registry, answer, 'tags');
      for (const tag of parseTagPage(answer.res.body, where)) {
        if (!seen.has(tag)) {
          seen.add(tag);
          tags.push(tag);
        }
      }
      url = nextPage(answer.res, url, base, where);
      if (url && visited.has(url.href)) throw new RegistryError(`${where}: the tag list's next-page link loops back to a page already read`);
    }
    return tags;
  }

  /** One request with the registry's authorization, answering a 401 once with a fresh token. */
  private async send(
    registry: string,
    pathOrUrl: string | URL,
    req: { method: 'GET' | 'HEAD'; headers: Record<string, string>; scope?: string; kind: RequestKind; context: string },
  ): Promise<Answer> {
    const url = typeof pathOrUrl === 'string' ? new URL(pathOrUrl, registryBaseUrl(registry, this.insecure)) : pathOrUrl;
    try {
      let authorization = await this.auth.authorize(registry, req.scope);
      let res = await this.transport.send({ method: req.method, url, registry, kind: req.kind, headers: withAuthorization(req.headers, authorization) });
      if (res.status === 401) {
        const retry = await this.auth.reauthorize(registry, req.scope, res, authorization);
        if (retry) {
          authorization = retry;
          res = await this.transport.send({ method: req.method, url, registry, kind: req.kind, headers: withAuthorization(req.headers, authorization) });
        }
      }
      return { res, authorization };
    } catch (err) {
      if (err instanceof RegistryError && !err.message.startsWith(`${req.context}: `)) {
        throw new RegistryError(`${req.context}: ${err.message}`, { cause: err, status: err.status });
      }
      throw err;
    }
  }
}

interface Answer {
  res: HttpResponse;
  authorization: Authorization;
}

/**
 * Registry host -> API base URL: docker.io/index.docker.io -> https://registry-1.docker.io;
 * loopback hosts (localhost, 127.0.0.0/8, [::1]) use http as Docker itself treats them as
 * insecure by default; hosts in `insecure` use http; everything else https.
 */
export function registryBaseUrl(registry: string, insecure: string[] = []): string {
  const host = registry.toLowerCase();
  if (host === 'docker.io' || host === 'index.docker.io' || host === 'registry-1.docker.io') return 'https://registry-1.docker.io';
  const hostname = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':')[0]!;
  const loopback = hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
  const listed = insecure.some((entry) => {
    const e = entry.toLowerCase().replace(/^https?:\/\//, '').replace(/\/+$/, '');
    return e === host || e === hostname;
  });
  return `${loopback || listed ? 'http' : 'https'}://${host}`;
}

/** `repository:<name>:pull`, the scope a read needs. */
export function pullScope(repository: string): string {
  return `repository:${repository}:pull`;
}

/** The scope a raw request path needs: the repository's pull scope, or the catalog's. */
export function scopeForPath(path: string): string | undefined {
  const p = path.split('?')[0]!;
  if (p === '/v2/_catalog') return 'registry:catalog:*';
  const m = /^\/v2\/(.+?)\/(?:tags\/list|manifests\/|blobs\/|referrers\/)/.exec(p);
  return m ? pullScope(m[1]!) : undefined;
}

const tagPage = z.object({ tags: z.array(z.string()).nullable().optional() });

function parseTagPage(body: Buffer, where: string): string[] {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    throw new RegistryError(`${where}: the registry answered the tag list with something that is not JSON`, { status: 200 });
  }
  const parsed = tagPage.safeParse(json);
  if (!parsed.success) throw new RegistryError(`${where}: the registry's tag list has no "tags" array of strings`, { status: 200 });
  // An empty repository lists `"tags": null` on CNCF distribution.
  return parsed.data.tags ?? [];
}

/** The `rel="next"` Link resolved against the page's URL; refused when it leaves the registry. */
function nextPage(res: HttpResponse, current: URL, base: URL, where: string): URL | undefined {
  const raw = res.headers.link;
  const value = Array.isArray(raw) ? raw.join(', ') : raw;
  if (!value) return undefined;
  let target: string | undefined;
  try {
    target = LinkHeader.parse(value).rel('next')[0]?.uri;
  } catch {
    throw new RegistryError(`${where}: the registry sent an unreadable Link header`);
  }
  if (!target) return undefined;
  let next: URL;
  try {
    next = new URL(target, current);
  } catch {
    throw new RegistryError(`${where}: the registry's next-page link is not a URL`);
  }
  // A next page elsewhere would receive our Authorization header: treat it as an attack (SSRF), not a page.
  if (next.origin !== base.origin) {
    throw new RegistryError(`${where}: refused the tag list's next-page link to ${next.origin}, which is not the registry ${base.origin}`);
  }
  return next;
}

function responseError(where: string, registry: string, answer: Answer, what: 'tags' | 'manifest' | 'other'): RegistryError {
  const { res, authorization } = answer;
  const status = res.status;
  const code = registryErrorCode(res.body);
  const suffix = code ? ` (HTTP ${status}, ${code})` : ` (HTTP ${status})`;
  let text: string;
  if (status === 401 || status === 403) {
    text = authorization.withCredentials
      ? `credentials rejected for ${registry}, or they lack pull access to this repository; check the username and password or token configured for ${registry}`
      : `${registry} requires authentication (or the repository does not exist) and no credentials are configured for ${registry}`;
  } else if (status === 404) {
    text = what === 'tags' ? 'repository not found' : what === 'manifest' ? 'tag or digest not found' : 'not found';
  } else if (status === 429) {
    const after = header(res, 'retry-after');
    text = `rate limited by ${registry}${after ? `; it asks to retry after ${after}` : ''}`;
  } else if (status >= 500) {
    text = `${registry} failed with a server error`;
  } else {
    text = `${registry} answered unexpectedly`;
  }
  return new RegistryError(`${where}: ${text}${suffix}`, { status });
}

/** The `errors[0].code` of a distribution error body (`NAME_UNKNOWN`, `UNAUTHORIZED`, ...), when there is one. */
function registryErrorCode(body: Buffer): string | undefined {
  if (body.length === 0 || body.length > 64 * 1024) return undefined;
  try {
    const code = (JSON.parse(body.toString('utf8')) as { errors?: Array<{ code?: unknown }> }).errors?.[0]?.code;
    return typeof code === 'string' && /^[A-Z_]{1,64}$/.test(code) ? code : undefined;
  } catch {
    return undefined;
  }
}

function withAuthorization(headers: Record<string, string>, authorization: Authorization): Record<string, string> {
  return authorization.header ? { ...headers, authorization: authorization.header } : headers;
}

function header(res: HttpResponse, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function mediaTypeOf(res: HttpResponse): string | undefined {
  return header(res, 'content-type')?.split(';')[0]?.trim() || undefined;
}

function isDigest(value: string): boolean {
  return /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/.test(value);
}
