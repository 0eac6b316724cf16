/**
 * DigitalOcean Container Registry (registry.digitalocean.com): the DigitalOcean API token is both
 * the username and the password. DOSync documents `docr.token` (or username/password) and DO_TOKEN.
 */
import type { Credential } from '../types.js';
import { basic, nonEmpty, type Provider, type ProviderContext } from './common.js';

export class DocrProvider implements Provider {
  readonly name = 'docr' as const;
  constructor(private readonly ctx: ProviderContext) {}

  matches(host: string): boolean {
    return host.toLowerCase() === 'registry.digitalocean.com';
  }

  async credential(): Promise<Credential | undefined> {
    const { env, config } = this.ctx;
    const fromConfig = nonEmpty(config.docr?.token);
    if (fromConfig) return { username: fromConfig, password: fromConfig };
    const pair = basic(config.docr?.username, config.docr?.password);
    if (pair) return pair;
    const token = nonEmpty(env.DOCR_TOKEN) ?? nonEmpty(env.DO_TOKEN) ?? nonEmpty(env.DIGITALOCEAN_ACCESS_TOKEN);
    return token ? { username: token, password: token } : undefined;
  }
}
