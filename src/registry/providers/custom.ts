/** DOSync's `custom:` registry (one or a list): Basic username/password, or a bearer token. */
import type { Credential } from '../types.js';
import type { Provider, ProviderContext } from './common.js';
import { entryCredential, entryFor } from './url-entries.js';

export class CustomProvider implements Provider {
  readonly name = 'custom' as const;
  constructor(private readonly ctx: ProviderContext) {}

  matches(host: string): boolean {
    return entryFor(this.ctx.config.custom, host) !== undefined;
  }

  async credential(host: string): Promise<Credential | undefined> {
    return entryCredential(entryFor(this.ctx.config.custom, host));
  }
}
