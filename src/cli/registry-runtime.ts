import type { Logger } from '../util/logger.js';
import type { ConfigFile } from '../config/file.js';
import { RegistryClient } from '../registry/client.js';
import { createCredentialResolver } from '../registry/credentials.js';
import { providerFor, type ProviderContext } from '../registry/providers/index.js';
import { parseRegistryConfig, type RegistryConfig } from '../registry/config.js';
import type { CredentialResolver } from '../registry/types.js';

export interface RegistryRuntime {
  registry: RegistryClient;
  credentials: CredentialResolver;
  /** The dosync.yaml `registry.<family>` entry for a host, for registry-level image policies. */
  registryPolicySource: (host: string) => { imagePolicy?: unknown; image_policy?: unknown } | undefined;
}

/** One registry client and credential resolver for the life of the process, so tokens stay cached across cycles. */
export async function createRegistryRuntime(config: ConfigFile, env: Record<string, string | undefined>, logger: Logger, configPath?: string): Promise<RegistryRuntime> {
  const { config: registryConfig, warnings } = parseRegistryConfig(config.registry ?? {}, { env, file: configPath });
  for (const w of warnings) logger.warn(w);
  const ctx: ProviderContext = { env, config: registryConfig, logger };
  const credentials = createCredentialResolver(ctx);
  const registry = new RegistryClient({ credentials, insecureRegistries: insecureHosts(registryConfig), logger });
  const registryPolicySource = (host: string) => {
    const family = providerFor(host, ctx).name;
    const entry = (registryConfig as Record<string, unknown>)[family];
    return entry && typeof entry === 'object' ? (entry as { imagePolicy?: unknown; image_policy?: unknown }) : undefined;
  };
  return { registry, credentials, registryPolicySource };
}

/** Hosts of registry entries marked `insecure: true` (plain http, only when the user says so). */
function insecureHosts(config: RegistryConfig): string[] {
  const entries = [...(config.custom ?? []), ...(config.harbor ?? []), ...(config.gitlab ?? [])];
  return entries.filter((e) => e.insecure === true && e.url).map((e) => new URL(e.url).host);
}
