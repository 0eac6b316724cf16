/**
 * One provider per registry family answers "how do I authenticate to this host" (and, where the
 * registry offers it, "when was each tag pushed"); the distribution protocol itself lives once in
 * the OCI client.
 */
import { AcrProvider } from './acr.js';
import type { Provider, ProviderContext } from './common.js';
import { CustomProvider } from './custom.js';
import { DockerHubProvider } from './dockerhub.js';
import { DocrProvider } from './docr.js';
import { EcrProvider } from './ecr.js';
import { GcrProvider } from './gcr.js';
import { GenericProvider } from './generic.js';
import { GhcrProvider } from './ghcr.js';
import { GitlabProvider } from './gitlab.js';
import { HarborProvider } from './harbor.js';
import { QuayProvider } from './quay.js';
import { hostOf } from './common.js';
import { entryFor } from './url-entries.js';
import type { RegistryConfig } from '../config.js';

export type { Provider, ProviderContext, ProviderName, FetchLike } from './common.js';
export { HubRateLimitGuard, parseHubRateLimit, isDockerHub, type HubRateLimit, type HubRateDecision } from './dockerhub.js';
export { parseGoogleTagList, isGoogleRegistry } from './gcr.js';
export { parseEcrHost } from './ecr.js';
export { isAcrHost, ACR_REFRESH_TOKEN_USER } from './acr.js';

const registries = new WeakMap<ProviderContext, Provider[]>();

/**
 * The providers of a context, created once so their token caches live as long as the context.
 * Registries named by URL in the config come first: an explicit entry wins over a family pattern.
 */
export function providersOf(ctx: ProviderContext): Provider[] {
  let list = registries.get(ctx);
  if (!list) {
    list = [
      new HarborProvider(ctx),
      new CustomProvider(ctx),
      new GitlabProvider(ctx),
      new DockerHubProvider(ctx),
      new GhcrProvider(ctx),
      new GcrProvider(ctx),
      new EcrProvider(ctx),
      new AcrProvider(ctx),
      new QuayProvider(ctx),
      new DocrProvider(ctx),
      new GenericProvider(),
    ];
    registries.set(ctx, list);
  }
  return list;
}

/** The provider for a registry host (`docker.io`, `ghcr.io`, `localhost:5000` ...); `generic` when no family claims it. */
export function providerFor(registryHost: string, ctx: ProviderContext): Provider {
  return providersOf(ctx).find((p) => p.matches(registryHost))!;
}

/**
 * The dosync.yaml entry that applies to a host (for its registry-level `imagePolicy`): the family's
 * section, or for custom/Harbor/GitLab the list entry whose URL names the host.
 */
export function configEntryFor(registryHost: string, ctx: ProviderContext): { imagePolicy?: unknown; image_policy?: unknown; tag_pattern?: string } | undefined {
  const provider = providerFor(registryHost, ctx);
  const c = ctx.config;
  switch (provider.name) {
    case 'custom':
      return entryFor(c.custom, registryHost);
    case 'harbor':
      return entryFor(c.harbor, registryHost);
    case 'gitlab':
      return entryFor(c.gitlab, registryHost);
    case 'acr':
      return (provider as AcrProvider).configApplies(registryHost) ? c.acr : undefined;
    case 'generic':
      return undefined;
    default:
      return c[provider.name];
  }
}

/** host -> `ca_file` of registries named by URL (not plain-http ones), for the transport's TLS settings. */
export function registryCaFiles(config: RegistryConfig): Map<string, { file: string; field: string }> {
  const out = new Map<string, { file: string; field: string }>();
  for (const family of ['custom', 'harbor', 'gitlab'] as const) {
    const entries = config[family] ?? [];
    for (const [i, e] of entries.entries()) {
      if (!e.ca_file || (e.insecure === true && !/^https:\/\//i.test(e.url))) continue;
      out.set(hostOf(e.url), { file: e.ca_file, field: `${entries.length > 1 ? `registry.${family}[${i}]` : `registry.${family}`}.ca_file` });
    }
  }
  return out;
}
