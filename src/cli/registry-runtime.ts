import type { Logger } from '../util/logger.js';
import type { ConfigFile } from '../config/file.js';
import { RegistryClient } from '../registry/client.js';
import { createCredentialResolver } from '../registry/credentials.js';
import { configEntryFor, providerFor, type ProviderContext } from '../registry/providers/index.js';
import { parseRegistryConfig } from '../registry/config.js';
import type { CredentialResolver, RepositoryRef } from '../registry/types.js';

export interface RegistryRuntime {
  registry: RegistryClient;
  credentials: CredentialResolver;
  /** The dosync.yaml registry entry for a host, for registry-level image policies. */
  registryPolicySource: (host: string) => { imagePolicy?: unknown; image_policy?: unknown } | undefined;
  /** Push times per tag where the registry offers them (for the `newest` policy). */
  pushTimes: (repo: RepositoryRef) => Promise<Map<string, Date> | undefined>;
}

/** One registry client and credential resolver for the life of the process, so tokens stay cached across cycles. */
export async function createRegistryRuntime(config: ConfigFile, env: Record<string, string | undefined>, logger: Logger, configPath?: string): Promise<RegistryRuntime> {
  const { config: registryConfig, warnings, insecureRegistries } = parseRegistryConfig(config.registry ?? {}, { env, file: configPath });
  for (const w of warnings) logger.warn(w);
  const ctx: ProviderContext = { env, config: registryConfig, logger };
  const credentials = createCredentialResolver(ctx);
  const registry = new RegistryClient({ credentials, insecureRegistries, logger });
  ctx.registry = registry;
  return {
    registry,
    credentials,
    registryPolicySource: (host) => configEntryFor(host, ctx),
    pushTimes: async (repo) => providerFor(repo.registry, ctx).pushTimes?.(repo),
  };
}
