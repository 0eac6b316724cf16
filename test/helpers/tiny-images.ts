/** Small OCI images and artifacts pushed through the registry API (no Docker build): fast, distinct digests. */
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { RegistryClient } from '../../src/registry/client.js';
import type { RepositoryRef } from '../../src/registry/types.js';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

export function sha256(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export async function pushBlobBytes(client: RegistryClient, repo: RepositoryRef, bytes: Buffer): Promise<string> {
  const digest = sha256(bytes);
  if ((await client.headBlob(repo, digest)) === null) await client.pushBlob(repo, digest, bytes.length, Readable.from([bytes]));
  return digest;
}

export interface TinyImage {
  digest: string;
  size: number;
  bytes: Buffer;
  layer: { digest: string; size: number };
  config: { digest: string; size: number };
}

/** An image of one random layer of `layerBytes` (default 2 KiB), tagged `tag`. */
export async function pushTinyImage(client: RegistryClient, repo: RepositoryRef, tag: string, layerBytes = 2048): Promise<TinyImage> {
  const layer = randomBytes(layerBytes);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256(layer)] } }));
  const layerDigest = await pushBlobBytes(client, repo, layer);
  const configDigest = await pushBlobBytes(client, repo, config);
  const bytes = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: OCI_MANIFEST,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layerDigest, size: layer.length }],
  }));
  const digest = await client.putManifest(repo, tag, bytes, OCI_MANIFEST);
  return { digest, size: bytes.length, bytes, layer: { digest: layerDigest, size: layer.length }, config: { digest: configDigest, size: config.length } };
}

/** An artifact (signature, SBOM) whose `subject` is `subject`, pushed by digest; returns its descriptor. */
export async function pushArtifact(client: RegistryClient, repo: RepositoryRef, subject: { digest: string; size: number }, artifactType: string, reference?: string): Promise<{ mediaType: string; digest: string; size: number; artifactType: string }> {
  const empty = Buffer.from('{}');
  const payload = Buffer.from(JSON.stringify({ about: subject.digest, nonce: randomBytes(8).toString('hex') }));
  const emptyDigest = await pushBlobBytes(client, repo, empty);
  const payloadDigest = await pushBlobBytes(client, repo, payload);
  const bytes = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: OCI_MANIFEST, artifactType,
    config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: emptyDigest, size: 2 },
    layers: [{ mediaType: 'application/json', digest: payloadDigest, size: payload.length }],
    subject: { mediaType: OCI_MANIFEST, digest: subject.digest, size: subject.size },
  }));
  const digest = sha256(bytes);
  await client.putManifest(repo, reference ?? digest, bytes, OCI_MANIFEST);
  return { mediaType: OCI_MANIFEST, digest, size: bytes.length, artifactType };
}
