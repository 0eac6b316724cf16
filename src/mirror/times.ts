/**
 * When a tag was pushed, for `latest: N` by time and `maxAge`: the registry's own push time where its
 * provider knows one (Docker Hub, GHCR, Quay, Harbor, GCR...), else the image's build time (`created`
 * in its config blob, what regsync reads). Build times are remembered per manifest digest, so a tag
 * that did not change costs one HEAD on later cycles.
 */
import type { RegistryClient } from '../registry/client.js';
import type { RepositoryRef, TagInfo } from '../registry/types.js';
import { parseManifest, type Descriptor } from './manifest.js';

export type PushTimesLookup = (repo: RepositoryRef) => Promise<Map<string, Date> | undefined>;

export class TagTimes {
  private readonly created = new Map<string, Date | null>();

  constructor(private readonly client: RegistryClient, private readonly pushTimes?: PushTimesLookup) {}

  async lookup(repo: RepositoryRef, tags: string[]): Promise<TagInfo[]> {
    const pushed = (await this.pushTimes?.(repo).catch(() => undefined)) ?? new Map<string, Date>();
    return Promise.all(tags.map(async (tag) => {
      const at = pushed.get(tag) ?? (await this.buildTime(repo, tag));
      return at ? { tag, pushedAt: at } : { tag };
    }));
  }

  private async buildTime(repo: RepositoryRef, tag: string): Promise<Date | undefined> {
    const head = await this.client.headManifest(repo, tag);
    if (!head) return undefined;
    if (this.created.has(head.digest)) return this.created.get(head.digest) ?? undefined;
    const at = await this.readCreated(repo, head.digest).catch(() => null);
    if (this.created.size > 50_000) this.created.clear();
    this.created.set(head.digest, at);
    return at ?? undefined;
  }

  private async readCreated(repo: RepositoryRef, digest: string): Promise<Date | null> {
    const where = `${repo.registry}/${repo.repository}@${digest}`;
    let m = await this.client.getManifest(repo, digest);
    let parsed = parseManifest(m.bytes, m.mediaType, where);
    if (parsed.kind === 'index') {
      const child = pickChild(parsed.manifests);
      if (!child) return null;
      m = await this.client.getManifest(repo, child.digest);
      parsed = parseManifest(m.bytes, m.mediaType, where);
      if (parsed.kind !== 'image') return null;
    }
    const res = await this.client.request(repo.registry, `/v2/${repo.repository}/blobs/${parsed.config.digest}`);
    const created = (JSON.parse(res.body.toString('utf8')) as { created?: unknown }).created;
    const at = typeof created === 'string' ? new Date(created) : null;
    return at && !Number.isNaN(at.getTime()) ? at : null;
  }
}

/** The child whose config tells the build time: linux/amd64 when there is one, else the first real platform. */
function pickChild(children: Descriptor[]): Descriptor | undefined {
  const real = children.filter((c) => c.platform && c.platform.os !== 'unknown');
  return real.find((c) => c.platform!.os === 'linux' && c.platform!.architecture === 'amd64') ?? real[0];
}
