/**
 * Fills a loopback registry fast with plain HTTP: one tiny image (an empty layer and its config)
 * uploaded once, mounted into every other repository, and its manifest PUT under every tag. A tag
 * costs one request, so 10,000 tags take seconds instead of 10,000 `docker push`es. The images are
 * never run; they only have to be valid for the registry (and for `skopeo list-tags`).
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import pLimit from 'p-limit';

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

interface Blob { digest: string; bytes: Buffer }

export interface SeedImage {
  layer: Blob;
  config: Blob;
  manifest: Buffer;
  manifestDigest: string;
}

/** An OCI image with one empty layer (a tar archive is two zero blocks of 512 bytes). */
export function tinyImage(): SeedImage {
  const tar = Buffer.alloc(1024);
  const layer = gzipSync(tar);
  const config = Buffer.from(JSON.stringify({
    architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [sha256(tar)] },
  }));
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(layer), size: layer.length }],
  }));
  return { layer: { digest: sha256(layer), bytes: layer }, config: { digest: sha256(config), bytes: config }, manifest, manifestDigest: sha256(manifest) };
}

async function expect(res: Response, ok: number[], what: string): Promise<Response> {
  if (!ok.includes(res.status)) throw new Error(`${what}: HTTP ${res.status} ${(await res.text()).slice(0, 300)}`);
  await res.arrayBuffer().catch(() => undefined);
  return res;
}

/** Monolithic upload (POST then PUT with the digest), or a cross-repository mount when `from` has it. */
async function putBlob(host: string, repo: string, blob: Blob, from?: string): Promise<void> {
  const base = `http://${host}/v2/${repo}/blobs/uploads/`;
  const start = await fetch(from ? `${base}?mount=${blob.digest}&from=${from}` : base, { method: 'POST' });
  if (start.status === 201) return void (await start.arrayBuffer());
  await expect(start, [202], `start upload to ${repo}`);
  const location = new URL(start.headers.get('location')!, `http://${host}`);
  location.searchParams.set('digest', blob.digest);
  await expect(await fetch(location, { method: 'PUT', body: new Uint8Array(blob.bytes), headers: { 'content-type': 'application/octet-stream' } }), [201], `upload to ${repo}`);
}

/**
 * Creates each repository with `tags(repoIndex)` tags, all pointing at the same tiny manifest.
 * `concurrency` requests at once (the registry's filesystem driver, not the network, is the limit).
 */
export async function seedRepositories(host: string, repos: string[], tags: (repoIndex: number) => string[], concurrency = 16): Promise<{ requests: number }> {
  const image = tinyImage();
  const limit = pLimit(concurrency);
  let requests = 0;
  const first = repos[0];
  await putBlob(host, first, image.layer);
  await putBlob(host, first, image.config);
  requests += 4;
  await Promise.all(repos.slice(1).map((repo) => limit(async () => {
    await putBlob(host, repo, image.layer, first);
    await putBlob(host, repo, image.config, first);
    requests += 2;
  })));
  const puts = repos.flatMap((repo, i) => tags(i).map((tag) => [repo, tag] as const));
  await Promise.all(puts.map(([repo, tag]) => limit(async () => {
    const res = await fetch(`http://${host}/v2/${repo}/manifests/${tag}`, {
      method: 'PUT', body: new Uint8Array(image.manifest), headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
    });
    await expect(res, [201], `PUT ${repo}:${tag}`);
    requests++;
  })));
  return { requests };
}
