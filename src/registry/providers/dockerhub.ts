/**
 * Docker Hub: `docker.io` / `index.docker.io` are served by registry-1.docker.io with tokens from
 * auth.docker.io (the OCI client follows the challenge). This provider supplies the credentials,
 * the push times (Hub REST API, which the registry API lacks) and a reader for the pull-limit
 * headers so Hub checks can slow down or pause before the limit is hit.
 */
import { RegistryError } from '../../util/errors.js';
import type { Credential, RepositoryRef } from '../types.js';
import { ExpiringCache, basic, fetchJson, jwtExpiry, safeUrl, type Provider, type ProviderContext } from './common.js';

const HUB_HOSTS = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com']);
const HUB_API = 'https://hub.docker.com';
/** The tags endpoint allows at most 100 per page; 100 pages is 10 000 tags. */
const PAGE_SIZE = 100;
const MAX_PAGES = 100;
/** Hub API access tokens live 10 minutes (docs: "Create access token"). */
const HUB_API_TOKEN_LIFETIME_MS = 10 * 60_000;

export function isDockerHub(host: string): boolean {
  return HUB_HOSTS.has(host.toLowerCase());
}

export class DockerHubProvider implements Provider {
  readonly name = 'dockerhub' as const;
  private readonly apiTokens: ExpiringCache<string>;

  constructor(private readonly ctx: ProviderContext) {
    this.apiTokens = new ExpiringCache(ctx.now ?? Date.now);
  }

  matches(host: string): boolean {
    return isDockerHub(host);
  }

  async credential(): Promise<Credential | undefined> {
    const c = this.ctx.config.dockerhub;
    return basic(c?.username, c?.password) ?? basic(this.ctx.env.DOCKERHUB_USERNAME, this.ctx.env.DOCKERHUB_PASSWORD);
  }

  /** Push times from `GET /v2/namespaces/{ns}/repositories/{repo}/tags` (tag_last_pushed), every page. */
  async pushTimes(repo: RepositoryRef): Promise<Map<string, Date>> {
    const parts = repo.repository.split('/');
    const [namespace, name] = parts.length === 1 ? ['library', parts[0]!] : parts;
    if (parts.length > 2 || !namespace || !name) throw new RegistryError(`docker.io/${repo.repository}: Docker Hub repositories are <namespace>/<name>`);
    const api = (this.ctx.endpoints?.dockerHubApi ?? HUB_API).replace(/\/+$/, '');
    const where = `docker.io/${repo.repository}: push times`;
    const cred = await this.credential();
    const headers: Record<string, string> = { accept: 'application/json' };
    if (cred?.username && cred.password) headers.authorization = `Bearer ${await this.apiToken(api, cred.username, cred.password)}`;

    const times = new Map<string, Date>();
    let url: string | null = `${api}/v2/namespaces/${encodeURIComponent(namespace)}/repositories/${encodeURIComponent(name)}/tags?page_size=${PAGE_SIZE}`;
    for (let page = 1; url; page++) {
      if (page > MAX_PAGES) {
        this.ctx.logger?.warn({ repository: repo.repository, tags: times.size }, 'Docker Hub tag history truncated after 100 pages; older tags have no push time');
        break;
      }
      const body = (await fetchJson(this.ctx, url, { headers }, where, [cred?.password])) as HubTagPage;
      for (const t of body.results ?? []) {
        const when = parseDate(t.tag_last_pushed) ?? parseDate(t.last_updated);
        if (typeof t.name === 'string' && when) times.set(t.name, when);
      }
      url = typeof body.next === 'string' && body.next ? sameOrigin(body.next, api, where) : null;
    }
    return times;
  }

  /** `POST /v2/auth/token {identifier, secret}` -> a Bearer for the Hub API (private repositories). */
  private apiToken(api: string, identifier: string, secret: string): Promise<string> {
    return this.apiTokens.get(`${api}|${identifier}|${secret}`, async () => {
      const started = (this.ctx.now ?? Date.now)();
      const body = (await fetchJson(this.ctx, `${api}/v2/auth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ identifier, secret }),
      }, 'Docker Hub API login', [secret])) as { access_token?: unknown };
      if (typeof body.access_token !== 'string') throw new RegistryError('Docker Hub API login: the answer has no access_token');
      return { value: body.access_token, expiresAt: jwtExpiry(body.access_token) ?? started + HUB_API_TOKEN_LIFETIME_MS };
    });
  }
}

interface HubTagPage {
  next?: string | null;
  results?: Array<{ name?: unknown; tag_last_pushed?: unknown; last_updated?: unknown }>;
}

function parseDate(v: unknown): Date | undefined {
  if (typeof v !== 'string' || v === '') return undefined;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

function sameOrigin(next: string, api: string, where: string): string {
  const u = new URL(next, api);
  if (u.origin !== new URL(api).origin) throw new RegistryError(`${where}: refused a next-page link to ${safeUrl(u.href)}, which is not the Docker Hub API`);
  return u.href;
}

// ---------------------------------------------------------------------------------------------
// Pull-limit headers. Docker documents `ratelimit-limit: 100;w=21600` and
// `ratelimit-remaining: 20;w=21600` on manifest GET and HEAD answers; only GETs count as pulls.
// The headers are absent for unlimited accounts.

export interface HubRateLimit {
  limit: number;
  remaining: number;
  /** Length of the sliding window, seconds (21600 = 6 h). */
  windowSeconds: number;
}

type HeaderBag = { get(name: string): string | null } | Record<string, string | string[] | undefined>;

function headerValue(headers: HeaderBag, name: string): string | undefined {
  if (typeof (headers as { get?: unknown }).get === 'function') return (headers as { get(n: string): string | null }).get(name) ?? undefined;
  const v = (headers as Record<string, string | string[] | undefined>)[name];
  return Array.isArray(v) ? v[0] : v;
}

/** `<n>;w=<seconds>` -> {n, w}. */
function parseQuota(value: string | undefined): { n: number; w?: number } | undefined {
  if (!value) return undefined;
  const m = /^\s*(\d+)\s*(?:;\s*w\s*=\s*(\d+))?/.exec(value);
  if (!m) return undefined;
  return { n: Number(m[1]), w: m[2] !== undefined ? Number(m[2]) : undefined };
}

/** The pull limit a Docker Hub answer reports, or undefined when it reports none (unlimited or not Hub). */
export function parseHubRateLimit(headers: HeaderBag): HubRateLimit | undefined {
  const limit = parseQuota(headerValue(headers, 'ratelimit-limit'));
  const remaining = parseQuota(headerValue(headers, 'ratelimit-remaining'));
  if (!limit || !remaining) return undefined;
  return { limit: limit.n, remaining: remaining.n, windowSeconds: remaining.w ?? limit.w ?? 21_600 };
}

export type HubRateDecision =
  | { action: 'go' }
  /** Space requests that count as pulls by `delayMs`. */
  | { action: 'slow'; delayMs: number; reason: string }
  /** No Hub checks until `until` (epoch ms). */
  | { action: 'pause'; until: number; reason: string };

/**
 * Decides, from the last pull-limit headers (and 429s), whether Docker Hub checks go ahead, slow
 * down, or pause, keeping `reserve` pulls for the updates themselves. Pure apart from the clock
 * it is given.
 */
export class HubRateLimitGuard {
  private last?: HubRateLimit;
  private pausedUntil = 0;
  private pauseReason = '';

  constructor(private readonly opts: { reserve?: number; now?: () => number } = {}) {}

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  private reserveFor(limit: number): number {
    return this.opts.reserve ?? Math.max(5, Math.ceil(limit * 0.1));
  }

  /** Feed every Docker Hub registry answer (status and headers). */
  observe(status: number, headers: HeaderBag): void {
    const rl = parseHubRateLimit(headers);
    if (rl) this.last = rl;
    if (status === 429) {
      const retryAfter = parseRetryAfterMs(headerValue(headers, 'retry-after'), this.now());
      // Without Retry-After: wait until one pull has aged out of the sliding window.
      const wait = retryAfter ?? (rl ? Math.ceil((rl.windowSeconds * 1000) / Math.max(rl.limit, 1)) : 60_000);
      this.pausedUntil = Math.max(this.pausedUntil, this.now() + wait);
      this.pauseReason = `Docker Hub answered 429 (pull rate limit reached); pausing Docker Hub checks for ${formatDuration(wait)}`;
    }
  }

  /** The latest limit seen, if any. */
  get state(): HubRateLimit | undefined {
    return this.last;
  }

  decide(): HubRateDecision {
    const now = this.now();
    if (this.pausedUntil > now) return { action: 'pause', until: this.pausedUntil, reason: this.pauseReason };
    const rl = this.last;
    if (!rl) return { action: 'go' };
    const reserve = this.reserveFor(rl.limit);
    const perPullMs = Math.ceil((rl.windowSeconds * 1000) / Math.max(rl.limit, 1));
    const window = formatDuration(rl.windowSeconds * 1000);
    if (rl.remaining <= reserve) {
      // The window slides: roughly one pull ages out every window/limit.
      const wait = (reserve - rl.remaining + 1) * perPullMs;
      this.pausedUntil = now + wait;
      // Forget the reading: after the pause, the next (uncounted) HEAD brings a fresh one.
      this.last = undefined;
      this.pauseReason = `Docker Hub pull limit: ${rl.remaining} of ${rl.limit} pulls left in the ${window} window; pausing Docker Hub checks for ${formatDuration(wait)} to keep ${reserve} for updates`;
      return { action: 'pause', until: this.pausedUntil, reason: this.pauseReason };
    }
    if (rl.remaining <= 2 * reserve) {
      return { action: 'slow', delayMs: perPullMs, reason: `Docker Hub pull limit: ${rl.remaining} of ${rl.limit} pulls left in the ${window} window; spacing Docker Hub requests ${formatDuration(perPullMs)} apart` };
    }
    return { action: 'go' };
  }
}

function parseRetryAfterMs(value: string | undefined, now: number): number | undefined {
  if (!value) return undefined;
  if (/^\s*\d+\s*$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 120) return `${m} min`;
  return `${Math.round((m / 60) * 10) / 10} h`;
}
