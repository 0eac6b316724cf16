/**
 * GitHub Container Registry. Public images need an anonymous token (the OCI client fetches it);
 * private ones a PAT with read:packages sent as Basic to https://ghcr.io/token. DOSync documents
 * `ghcr.token` and GITHUB_PAT; GITHUB_TOKEN is what Actions provides.
 */
import type { Credential } from '../types.js';
import { nonEmpty, type Provider, type ProviderContext } from './common.js';

/**
 * GitHub's docs log in with the GitHub username; DOSync's config has no username field, so when
 * none is given one is taken from the environment Actions sets, else a placeholder.
 */
const PLACEHOLDER_USER = 'dosync';

export class GhcrProvider implements Provider {
  readonly name = 'ghcr' as const;
  constructor(private readonly ctx: ProviderContext) {}

  matches(host: string): boolean {
    return host.toLowerCase() === 'ghcr.io';
  }

  async credential(): Promise<Credential | undefined> {
    const { env, config } = this.ctx;
    const token = nonEmpty(config.ghcr?.token) ?? nonEmpty(env.GITHUB_PAT) ?? nonEmpty(env.GITHUB_TOKEN);
    if (!token) return undefined;
    const username = nonEmpty(config.ghcr?.username) ?? nonEmpty(env.GITHUB_USERNAME) ?? nonEmpty(env.GITHUB_ACTOR) ?? PLACEHOLDER_USER;
    return { username, password: token };
  }
}
