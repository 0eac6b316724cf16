/**
 * Where cosign puts the signatures of a digest (https://github.com/sigstore/cosign/blob/main/specs/SIGNATURE_SPEC.md):
 * the tag `sha256-<hex>.sig` (cosign's default), or an OCI 1.1 referrer of artifact type
 * `application/vnd.dev.cosign.artifact.sig.v1+json` (`--registry-referrers-mode=oci-1-1`), found through the
 * referrers API or, on registries without it, the referrers tag schema `sha256-<hex>` (OCI distribution spec
 * 1.1, "Referrers Tag Schema").
 */
import { createHash } from 'node:crypto';
import type { RegistryClient } from '../registry/client.js';
import type { RepositoryRef } from '../registry/types.js';
import { OCI_INDEX } from '../registry/media-types.js';
import { RegistryError } from '../util/errors.js';

export const COSIGN_SIG_ARTIFACT = 'application/vnd.dev.cosign.artifact.sig.v1+json';
export const SIMPLE_SIGNING = 'application/vnd.dev.cosign.simplesigning.v1+json';
export const ANNOTATION_SIGNATURE = 'dev.cosignproject.cosign/signature';
export const ANNOTATION_CERTIFICATE = 'dev.sigstore.cosign/certificate';
export const ANNOTATION_CHAIN = 'dev.sigstore.cosign/chain';
export const ANNOTATION_BUNDLE = 'dev.sigstore.cosign/bundle';

/** A signature payload is a few hundred bytes; more than this is not cosign's. */
const MAX_PAYLOAD = 64 * 1024;
/** Bound on the signatures read for one digest (each costs a blob GET). */
const MAX_SIGNATURES = 16;

export interface SignatureLayer {
  payload: Buffer;
  signature: string;
  annotations: Record<string, string>;
  /** Where it was found, for messages: `sha256-….sig` or `referrer sha256:…`. */
  from: string;
}

interface ManifestJson {
  artifactType?: string;
  config?: { mediaType?: string };
  layers?: Array<{ mediaType?: string; digest?: string; size?: number; annotations?: Record<string, string> }>;
  manifests?: Array<{ digest?: string; artifactType?: string }>;
}

/** Registries seen without a referrers API (404 on the endpoint): asked by the fallback tag only, from then on. */
const noReferrersApi = new Set<string>();

export function signatureTag(digest: string): string {
  return `${digest.replace(':', '-')}.sig`;
}

/** Every cosign signature layer stored for `digest` (empty when there is none). */
export async function findSignatures(client: RegistryClient, repo: RepositoryRef, digest: string): Promise<SignatureLayer[]> {
  const tag = signatureTag(digest);
  const sig = await manifestOrNull(client, repo, tag);
  if (sig) return readLayers(client, repo, sig, tag);
  const layers: SignatureLayer[] = [];
  for (const referrer of (await referrers(client, repo, digest)).slice(0, MAX_SIGNATURES)) {
    const manifest = await manifestOrNull(client, repo, referrer);
    if (manifest) layers.push(...await readLayers(client, repo, manifest, `referrer ${referrer.slice(0, 19)}…`));
  }
  return layers;
}

/** Digests of the cosign signature referrers of `digest`: the API where the registry has it, else the fallback tag. */
async function referrers(client: RegistryClient, repo: RepositoryRef, digest: string): Promise<string[]> {
  let index: ManifestJson | null = null;
  if (!noReferrersApi.has(repo.registry)) {
    const res = await client.request(repo.registry, `/v2/${repo.repository}/referrers/${digest}?artifactType=${encodeURIComponent(COSIGN_SIG_ARTIFACT)}`, { headers: { accept: OCI_INDEX }, allowErrors: true });
    if (res.status === 200) index = parseJson(res.body);
    else if (res.status === 404 || res.status === 405) noReferrersApi.add(repo.registry);
    else throw new RegistryError(`${repo.registry}/${repo.repository}: referrers of ${digest} answered HTTP ${res.status}`, { status: res.status });
  }
  if (!index) {
    const fallback = await manifestOrNull(client, repo, digest.replace(':', '-'));
    index = fallback && parseJson(fallback);
  }
  // The API filters by artifactType when asked, but a registry may ignore the filter (the spec lets it): filter again.
  return (index?.manifests ?? []).filter((m) => m.artifactType === COSIGN_SIG_ARTIFACT && typeof m.digest === 'string').map((m) => m.digest!);
}

async function manifestOrNull(client: RegistryClient, repo: RepositoryRef, reference: string): Promise<Buffer | null> {
  try {
    return (await client.getManifest(repo, reference)).bytes;
  } catch (err) {
    if (err instanceof RegistryError && err.status === 404) return null;
    throw err;
  }
}

async function readLayers(client: RegistryClient, repo: RepositoryRef, bytes: Buffer, from: string): Promise<SignatureLayer[]> {
  const manifest = parseJson(bytes);
  const layers = (manifest?.layers ?? []).filter((l) => l.mediaType === SIMPLE_SIGNING && typeof l.digest === 'string').slice(0, MAX_SIGNATURES);
  const out: SignatureLayer[] = [];
  for (const layer of layers) {
    const signature = layer.annotations?.[ANNOTATION_SIGNATURE];
    if (!signature) continue;
    if ((layer.size ?? 0) > MAX_PAYLOAD) continue;
    const payload = await readBlob(client, repo, layer.digest!);
    out.push({ payload, signature, annotations: layer.annotations ?? {}, from });
  }
  return out;
}

/** The payload blob, bounded and checked against its digest (the signature covers these bytes, not the digest). */
async function readBlob(client: RegistryClient, repo: RepositoryRef, digest: string): Promise<Buffer> {
  const { stream } = await client.openBlob(repo, digest);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    if (size > MAX_PAYLOAD) {
      stream.destroy();
      throw new RegistryError(`${repo.registry}/${repo.repository}@${digest}: signature payload larger than ${MAX_PAYLOAD} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  const bytes = Buffer.concat(chunks);
  const got = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  if (digest.startsWith('sha256:') && got !== digest) throw new RegistryError(`${repo.registry}/${repo.repository}@${digest}: the payload received hashes to ${got}`);
  return bytes;
}

function parseJson(bytes: Buffer): ManifestJson | null {
  try {
    const v = JSON.parse(bytes.toString('utf8')) as unknown;
    return v && typeof v === 'object' ? (v as ManifestJson) : null;
  } catch {
    return null;
  }
}
