/**
 * Harbor: DOSync's `harbor:` (url, username, password; robot accounts are `robot$name` or
 * `robot$project+name`) as Basic credentials, sent by the OCI client to Harbor's token service.
 * Push times come from Harbor's v2.0 API (the registry API has none).
 */
import { readFile } from 'node:fs/promises';
import { RegistryError } from '../../util/errors.js';
import type { HarborConfig } from '../config.js';
import type { Credential, RepositoryRef } from '../types.js';
import { fetchJsonWithHeaders, type Provider, type ProviderContext } from './common.js';
import { entryCredential, entryFor, entryOrigin } from './url-entries.js';

const PAGE_SIZE = 100;
const MAX_PAGES = 100;

export class HarborProvider implements Provider {
  readonly name = 'harbor' as const;
  constructor(private readonly ctx: ProviderContext) {}

  matches(host: string): boolean {
    return entryFor(this.ctx.config.harbor, host) !== undefined;
  }

  async credential(host: string): Promise<Credential | undefined> {
    return entryCredential(entryFor(this.ctx.config.harbor, host));
  }

  /**
   * `GET /api/v2.0/projects/{project}/repositories/{repo}/artifacts?with_tag=true` -> tags[].push_time.
   * A repository name with `/` is encoded twice (Harbor decodes the path once before routing).
   */
  async pushTimes(repo: RepositoryRef): Promise<Map<string, Date>> {
    const entry = entryFor(this.ctx.config.harbor, repo.registry);
    if (!entry) throw new RegistryError(`${repo.registry}: not a Harbor registry configured in registry.harbor`);
    const slash = repo.repository.indexOf('/');
    if (slash <= 0) throw new RegistryError(`${repo.registry}/${repo.repository}: Harbor repositories are <project>/<name>`);
    const project = repo.repository.slice(0, slash);
    const name = encodeURIComponent(encodeURIComponent(repo.repository.slice(slash + 1)));
    const origin = this.ctx.endpoints?.registryBase?.(repo.registry) ?? entryOrigin(entry);
    const where = `${repo.registry}/${repo.repository}: push times`;
    const headers: Record<string, string> = { accept: 'application/json' };
    const cred = entryCredential(entry);
    if (cred?.username && cred.password) headers.authorization = `Basic ${Buffer.from(`${cred.username}:${cred.password}`).toString('base64')}`;
    const ca = await caOf(entry);

    const times = new Map<string, Date>();
    for (let page = 1; page <= MAX_PAGES; page++) {
      const url = `${origin}/api/v2.0/projects/${encodeURIComponent(project)}/repositories/${name}/artifacts?with_tag=true&page=${page}&page_size=${PAGE_SIZE}`;
      const { json } = await fetchJsonWithHeaders(this.ctx, url, { headers, ca, countAs: { registry: repo.registry, kind: 'other' } }, where, [cred?.password]);
      if (!Array.isArray(json)) throw new RegistryError(`${where}: Harbor answered the artifact list with something that is not a list`);
      for (const artifact of json as HarborArtifact[]) {
        for (const tag of artifact.tags ?? []) {
          const when = typeof tag.push_time === 'string' ? new Date(tag.push_time) : undefined;
          if (typeof tag.name === 'string' && when && !Number.isNaN(when.getTime())) times.set(tag.name, when);
        }
      }
      if (json.length < PAGE_SIZE) return times;
    }
    this.ctx.logger?.warn({ repository: repo.repository }, 'Harbor artifact list truncated after 100 pages; older tags have no push time');
    return times;
  }
}

interface HarborArtifact {
  tags?: Array<{ name?: unknown; push_time?: unknown }> | null;
}

async function caOf(entry: HarborConfig): Promise<string[] | undefined> {
  if (!entry.ca_file) return undefined;
  try {
    return [await readFile(entry.ca_file, 'utf8')];
  } catch (err) {
    throw new RegistryError(`registry.harbor ca_file ${entry.ca_file}: cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}
