/**
 * Quay.io: robot accounts log in as `<org>+<robot>` with their token; an OAuth application token
 * logs in with the username `$oauthtoken` (Quay's documented convention). DOSync documents only
 * `quay.token`; `quay.username` names the robot. Push times come from Quay's tag API.
 */
import { RegistryError } from '../../util/errors.js';
import type { Credential, RepositoryRef } from '../types.js';
import { fetchJson, nonEmpty, registryOrigin, type Provider, type ProviderContext } from './common.js';

const OAUTH_USER = '$oauthtoken';
const PAGE_SIZE = 100;
const MAX_PAGES = 100;

export class QuayProvider implements Provider {
  readonly name = 'quay' as const;
  constructor(private readonly ctx: ProviderContext) {}

  matches(host: string): boolean {
    return host.toLowerCase() === 'quay.io';
  }

  async credential(): Promise<Credential | undefined> {
    const { config, env } = this.ctx;
    const fromConfig = nonEmpty(config.quay?.token);
    if (fromConfig) return { username: nonEmpty(config.quay?.username) ?? OAUTH_USER, password: fromConfig };
    const token = nonEmpty(env.QUAY_TOKEN);
    return token ? { username: nonEmpty(env.QUAY_USERNAME) ?? OAUTH_USER, password: token } : undefined;
  }

  /** `GET /api/v1/repository/{ns}/{repo}/tag/?onlyActiveTags=true` pages -> start_ts (epoch seconds). */
  async pushTimes(repo: RepositoryRef): Promise<Map<string, Date>> {
    const origin = registryOrigin(this.ctx, repo.registry);
    const where = `${repo.registry}/${repo.repository}: push times`;
    const cred = await this.credential();
    const headers: Record<string, string> = { accept: 'application/json' };
    // The API takes OAuth application tokens as Bearer; robot tokens only work on the registry API.
    if (cred?.username === OAUTH_USER && cred.password) headers.authorization = `Bearer ${cred.password}`;
    const path = repo.repository.split('/').map(encodeURIComponent).join('/');
    const times = new Map<string, Date>();
    for (let page = 1; page <= MAX_PAGES; page++) {
      const body = (await fetchJson(this.ctx, `${origin}/api/v1/repository/${path}/tag/?onlyActiveTags=true&limit=${PAGE_SIZE}&page=${page}`, { headers, countAs: { registry: repo.registry, kind: 'other' } }, where, [cred?.password])) as QuayTagPage;
      if (!Array.isArray(body.tags)) throw new RegistryError(`${where}: Quay's answer has no tags list`);
      for (const t of body.tags) {
        const when = typeof t.start_ts === 'number' ? new Date(t.start_ts * 1000) : typeof t.last_modified === 'string' ? new Date(t.last_modified) : undefined;
        // Several entries can share a name across history; keep the newest.
        if (typeof t.name === 'string' && when && !Number.isNaN(when.getTime()) && !(times.get(t.name)! > when)) times.set(t.name, when);
      }
      if (body.has_additional !== true) return times;
    }
    this.ctx.logger?.warn({ repository: repo.repository }, 'Quay tag history truncated after 100 pages; older tags have no push time');
    return times;
  }
}

interface QuayTagPage {
  tags?: Array<{ name?: unknown; start_ts?: unknown; last_modified?: unknown }>;
  has_additional?: unknown;
}
