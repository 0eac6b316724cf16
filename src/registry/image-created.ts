import type { RegistryClient } from './client.js';
import type { RepositoryRef } from './types.js';
import { MANIFEST_ACCEPT } from './media-types.js';

interface Manifest { manifests?: Array<{ digest: string; platform?: { os?: string; architecture?: string } }>; config?: { digest: string } }

/**
 * When an image was built (its config's `created`), for registries that report no push times: the fallback
 * of the `newest` policy and of `min_age`. Three requests (manifest, platform manifest for an index, config).
 */
export async function imageCreated(client: RegistryClient, repo: RepositoryRef, tag: string): Promise<Date | undefined> {
  const base = `/v2/${repo.repository}`;
  const get = async (path: string, accept?: string) => JSON.parse((await client.request(repo.registry, path, { headers: accept ? { accept } : {} })).body.toString('utf8')) as Manifest & { created?: string };
  let manifest = await get(`${base}/manifests/${tag}`, MANIFEST_ACCEPT);
  if (manifest.manifests) {
    const pick = manifest.manifests.find((m) => m.platform?.os === 'linux' && m.platform?.architecture === 'amd64') ?? manifest.manifests[0];
    if (!pick) return undefined;
    manifest = await get(`${base}/manifests/${pick.digest}`, MANIFEST_ACCEPT);
  }
  if (!manifest.config) return undefined;
  const config = await get(`${base}/blobs/${manifest.config.digest}`);
  const created = config.created ? new Date(config.created) : undefined;
  return created && !Number.isNaN(created.getTime()) ? created : undefined;
}
