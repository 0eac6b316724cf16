import { lazyFetch, type Dispatcher } from '../net/undici-core.js';
import type { Logger } from '../util/logger.js';
import type { ConfigFile } from '../config/file.js';
import { RegistryClient, type RegistryClientOptions } from '../registry/client.js';
import { createCredentialResolver } from '../registry/credentials.js';
import { configEntryFor, providerFor, registryCaFiles, type ProviderContext } from '../registry/providers/index.js';
import { readRegistryCas } from '../registry/ca-files.js';
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

export interface RegistryRuntimeOptions {
  /**
   * undici dispatcher for every registry request and vendor-API call (ACR exchange, Hub/Quay/Harbor
   * APIs); tests pass an Agent that routes registry host names to local fixtures.
   */
  dispatcher?: Dispatcher;
  /** PEM CAs trusted besides the public roots by the cloud identity SDKs (Entra ID). */
  extraCa?: string[];
  /** Told about every registry request (the daemon's /metrics). */
  observer?: RegistryClientOptions['observer'];
}

/** dosync.yaml `limits` as client options (unset keys keep the client's defaults). */
export function registryLimits(config: ConfigFile): Pick<RegistryClientOptions, 'requestDeadlineMs' | 'tagListDeadlineMs' | 'tagListMaxBytes'> {
  const l = config.limits;
  return {
    requestDeadlineMs: l?.request_timeout,
    tagListDeadlineMs: l?.tag_list_timeout,
    tagListMaxBytes: l?.tag_list_max_mib === undefined ? undefined : Math.round(l.tag_list_max_mib * 1024 * 1024),
  };
}

/** One registry client and credential resolver for the life of the process, so tokens stay cached across cycles. */
export async function createRegistryRuntime(config: ConfigFile, env: Record<string, string | undefined>, logger: Logger, configPath?: string, opts: RegistryRuntimeOptions = {}): Promise<RegistryRuntime> {
  const { config: registryConfig, warnings, insecureRegistries, httpsRegistries } = parseRegistryConfig(config.registry ?? {}, { env, file: configPath });
  for (const w of warnings) logger.warn(w);
  const registryCa = readRegistryCas(registryCaFiles(registryConfig), configPath ?? 'dosync.yaml');
  const { dispatcher, extraCa, observer } = opts;
  const ctx: ProviderContext = {
    env, config: registryConfig, logger, extraCa,
    fetch: dispatcher ? lazyFetch(dispatcher) : undefined,
  };
  const credentials = createCredentialResolver(ctx);
  const registry = new RegistryClient({ credentials, insecureRegistries, httpsRegistries, registryCa, logger, dispatcher, observer, ...registryLimits(config) });
  ctx.registry = registry;
  // Token calls of the cloud SDKs and vendor APIs count in the same stats as the registry requests.
  ctx.onRequest = (host, kind, method) => registry.recordExternalRequest(host, kind, method);
  return {
    registry,
    credentials,
    registryPolicySource: (host) => configEntryFor(host, ctx),
    pushTimes: async (repo) => providerFor(repo.registry, ctx).pushTimes?.(repo),
  };
}
