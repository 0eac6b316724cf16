/**
 * GitLab container registry: the registry's realm is `<gitlab>/jwt/auth` (service
 * container_registry); Basic credentials there are a username with a password, personal/project/
 * group access token or deploy token (read_registry). Inside GitLab CI, CI_REGISTRY_USER and
 * CI_REGISTRY_PASSWORD (or CI_JOB_TOKEN as gitlab-ci-token) are used for CI_REGISTRY.
 */
import type { Credential } from '../types.js';
import { basic, hostOf, nonEmpty, type Provider, type ProviderContext } from './common.js';
import { entryCredential, entryFor } from './url-entries.js';

export class GitlabProvider implements Provider {
  readonly name = 'gitlab' as const;
  constructor(private readonly ctx: ProviderContext) {}

  matches(host: string): boolean {
    const h = host.toLowerCase();
    return h === 'registry.gitlab.com' || entryFor(this.ctx.config.gitlab, h) !== undefined || this.ciRegistry() === h;
  }

  async credential(host: string): Promise<Credential | undefined> {
    const fromConfig = entryCredential(entryFor(this.ctx.config.gitlab, host));
    if (fromConfig) return fromConfig;
    const env = this.ctx.env;
    if (this.ciRegistry() !== host.toLowerCase()) return undefined;
    return basic(env.CI_REGISTRY_USER, env.CI_REGISTRY_PASSWORD) ?? basic(nonEmpty(env.CI_JOB_TOKEN) && 'gitlab-ci-token', env.CI_JOB_TOKEN);
  }

  private ciRegistry(): string | undefined {
    const r = nonEmpty(this.ctx.env.CI_REGISTRY);
    try {
      return r ? hostOf(r) : undefined;
    } catch {
      return undefined;
    }
  }
}
