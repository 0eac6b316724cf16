/**
 * Docker Hub: `docker.io` / `index.docker.io` are served by registry-1.docker.io with tokens from
 * auth.docker.io (the OCI client follows the challenge). This provider supplies the credentials,
 * and the push times (Hub REST API, which the registry API lacks). The pull-limit headers are read
 * by the OCI client itself (../hub-rate-limit.ts), which slows down or pauses Hub checks.
 */
import { RegistryError } from '../../util/errors.js';
import type { Credential, RepositoryRef } from '../types.js';
import { isDockerHub } from '../hub-rate-limit.js';
import { ExpiringCache, basic, fetchJson, jwtExpiry, safeUrl, type Provider, type ProviderContext } from './common.js';

// The pull-limit guard lives with the OCI client, which applies it to every Hub request.
export { HubRateLimitGuard, parseHubRateLimit, isDockerHub, type HubRateLimit, type HubRateDecision } from '../hub-rate-limit.js';

const HUB_API = 'https://hub.docker.com';
/** The tags endpoint allows at most 100 per page; 100 pages is 10 000 tags. */
const PAGE_SIZE = 100;
const MAX_PAGES = 100;
/** Hub API access tokens live 10 minutes (docs: "Create access token"). */
const HUB_API_TOKEN_LIFETIME_MS = 10 * 60_000;

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
      const body = (await fetchJson(this.ctx, url, { headers, countAs: { registry: 'docker.io', kind: 'other' } }, where, [cred?.password])) as HubTagPage;
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
        countAs: { registry: 'docker.io', kind: 'token' },
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
