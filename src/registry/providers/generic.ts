/** Any other registry: no credentials of its own; ~/.docker/config.json (and helpers) may still have some. */
import type { Credential } from '../types.js';
import type { Provider } from './common.js';

export class GenericProvider implements Provider {
  readonly name = 'generic' as const;

  matches(): boolean {
    return true;
  }

  async credential(): Promise<Credential | undefined> {
    return undefined;
  }
}
