/**
 * Reading image manifests and indexes (pure): what a manifest references, which platform each
 * child of an index is for, and the platform subset of an index. Copies always push the source's
 * own bytes; only a platform subset builds new bytes (and so has a new digest).
 */
import { z } from 'zod';
import { DOCKER_MANIFEST_LIST, DOCKER_MANIFEST_V2, OCI_INDEX, OCI_MANIFEST } from '../registry/media-types.js';
import { ConfigError, RegistryError } from '../util/errors.js';

export const INDEX_TYPES = new Set([OCI_INDEX, DOCKER_MANIFEST_LIST]);
export const IMAGE_TYPES = new Set([OCI_MANIFEST, DOCKER_MANIFEST_V2]);

const platformSchema = z.object({
  os: z.string(),
  architecture: z.string(),
  variant: z.string().optional(),
  'os.version': z.string().optional(),
}).passthrough();

const descriptorSchema = z.object({
  mediaType: z.string().optional(),
  digest: z.string().regex(/^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/, 'is not a digest'),
  size: z.number().int().nonnegative(),
  urls: z.array(z.string()).optional(),
  platform: platformSchema.optional(),
  annotations: z.record(z.string()).optional(),
}).passthrough();

export type Descriptor = z.infer<typeof descriptorSchema>;
export type Platform = z.infer<typeof platformSchema>;

const indexSchema = z.object({ schemaVersion: z.literal(2), mediaType: z.string().optional(), manifests: z.array(descriptorSchema) }).passthrough();
const imageSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  config: descriptorSchema,
  layers: z.array(descriptorSchema),
  subject: descriptorSchema.optional(),
}).passthrough();

export type ParsedManifest =
  | { kind: 'index'; mediaType: string; manifests: Descriptor[] }
  | { kind: 'image'; mediaType: string; config: Descriptor; layers: Descriptor[] };

/** Media types of layers that are not distributed by registries (Windows base layers). */
const FOREIGN_LAYERS = new Set([
  'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
]);

/** Parses a manifest's bytes; `mediaType` is the registry's Content-Type (the manifest's own field wins when present). */
export function parseManifest(bytes: Buffer, mediaType: string, where: string): ParsedManifest {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new RegistryError(`${where}: the manifest is not JSON`);
  }
  const own = (json as { mediaType?: unknown } | null)?.mediaType;
  const type = typeof own === 'string' && own !== '' ? own : mediaType;
  const hasManifests = Array.isArray((json as { manifests?: unknown } | null)?.manifests);
  if (INDEX_TYPES.has(type) || (!IMAGE_TYPES.has(type) && hasManifests)) {
    const parsed = indexSchema.safeParse(json);
    if (!parsed.success) throw new RegistryError(`${where}: not a valid image index (${issueText(parsed.error)})`);
    return { kind: 'index', mediaType: type || OCI_INDEX, manifests: parsed.data.manifests };
  }
  if (IMAGE_TYPES.has(type) || type === '' || type.startsWith('application/vnd.oci.')) {
    const parsed = imageSchema.safeParse(json);
    if (!parsed.success) throw new RegistryError(`${where}: not a valid image manifest (${issueText(parsed.error)})`);
    return { kind: 'image', mediaType: type || OCI_MANIFEST, config: parsed.data.config, layers: parsed.data.layers };
  }
  throw new RegistryError(`${where}: unsupported manifest type ${JSON.stringify(type)} (schema 1 and other legacy formats cannot be mirrored)`);
}

function issueText(err: z.ZodError): string {
  const i = err.issues[0]!;
  return `${i.path.join('.') || 'document'}: ${i.message}`;
}

/** The blobs an image manifest needs on the target: its config and every distributable layer. */
export function blobsOf(image: Extract<ParsedManifest, { kind: 'image' }>): Descriptor[] {
  return [image.config, ...image.layers.filter((l) => !isForeign(l))];
}

/** A layer fetched from its own URLs (never pushed to registries, as Docker does). */
export function isForeign(layer: Descriptor): boolean {
  return (layer.urls !== undefined && layer.urls.length > 0) || FOREIGN_LAYERS.has(layer.mediaType ?? '');
}

// ---------------------------------------------------------------------------------------------
// Platforms

export interface PlatformSpec {
  os: string;
  architecture: string;
  variant?: string;
}

/** `linux/amd64`, `linux/arm64/v8`, `linux/arm/v7`, `windows/amd64`. */
export function parsePlatform(text: string, where: string): PlatformSpec {
  const parts = text.trim().toLowerCase().split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !/^[a-z0-9._-]+$/.test(p))) {
    throw new ConfigError(`${where}: "${text}" is not a platform; write os/architecture[/variant], e.g. linux/amd64 or linux/arm/v7`);
  }
  return { os: parts[0]!, architecture: parts[1]!, ...(parts[2] ? { variant: parts[2] } : {}) };
}

export function formatPlatform(p: { os: string; architecture: string; variant?: string }): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}

/** A spec without a variant matches every variant of its architecture (`linux/arm` = v6 and v7). */
export function platformMatches(spec: PlatformSpec, p: Platform | undefined): boolean {
  if (!p) return false;
  if (p.os.toLowerCase() !== spec.os || p.architecture.toLowerCase() !== spec.architecture) return false;
  return spec.variant === undefined || (p.variant ?? '').toLowerCase() === spec.variant;
}

const ATTESTATION_TYPE = 'vnd.docker.reference.type';
const ATTESTATION_FOR = 'vnd.docker.reference.digest';

export interface IndexSubset {
  /** The new index (compact JSON of the source's object with only the kept children). */
  bytes: Buffer;
  kept: Descriptor[];
  dropped: Descriptor[];
  /** True when every child was kept: then the source's own bytes are pushed instead of `bytes`. */
  complete: boolean;
}

/**
 * The children of an index that the platform list selects, and a new index listing only those.
 * Attestation manifests (buildx provenance/SBOM, platform unknown/unknown) stay with the image they
 * describe. The new index keeps every other field of the source in its order, so the same source and
 * platform list always give the same bytes (and digest).
 */
export function subsetIndex(bytes: Buffer, platforms: PlatformSpec[]): IndexSubset {
  const doc = JSON.parse(bytes.toString('utf8')) as Record<string, unknown> & { manifests: Array<Record<string, unknown>> };
  const parsed = doc.manifests.map((m) => descriptorSchema.parse(m));
  const chosen = new Set<number>();
  parsed.forEach((d, i) => {
    if (d.annotations?.[ATTESTATION_TYPE] === undefined && platforms.some((p) => platformMatches(p, d.platform))) chosen.add(i);
  });
  const chosenDigests = new Set([...chosen].map((i) => parsed[i]!.digest));
  parsed.forEach((d, i) => {
    const about = d.annotations?.[ATTESTATION_FOR];
    if (d.annotations?.[ATTESTATION_TYPE] !== undefined && about !== undefined && chosenDigests.has(about)) chosen.add(i);
  });
  const kept = parsed.filter((_, i) => chosen.has(i));
  const dropped = parsed.filter((_, i) => !chosen.has(i));
  const out = { ...doc, manifests: doc.manifests.filter((_, i) => chosen.has(i)) };
  return { bytes: Buffer.from(JSON.stringify(out)), kept, dropped, complete: dropped.length === 0 };
}
