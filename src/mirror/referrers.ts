/**
 * Copying what is attached to a copied manifest: signatures, SBOMs and attestations (OCI 1.1
 * referrers), so a mirrored image keeps them.
 *
 * Found on the source through the referrers API (`GET /v2/<name>/referrers/<digest>`) when it has
 * one, else through the spec's fallback tag `sha256-<hex>` (an image index listing the referrers,
 * OCI distribution spec 1.1, "Referrers Tag Schema"). cosign's own tags `sha256-<hex>.sig`, `.att`
 * and `.sbom` (cosign's "signature/attestation/SBOM tag" scheme, pre-OCI-1.1) are copied as the
 * tags they are. Each referrer manifest is copied by digest with its blobs; a target that does not
 * index `subject` itself (no `OCI-Subject` answer) gets the fallback tag, merged with what it holds.
 *
 * Which tags exist is read from the repository's tag list (given by the caller, who lists the
 * source anyway), so an image with nothing attached costs no request on a registry without the
 * referrers API, and one GET on a registry with it.
 */
import type { RegistryClient } from '../registry/client.js';
import { pushScope } from '../registry/client.js';
import { OCI_INDEX } from '../registry/media-types.js';
import type { RepositoryRef } from '../registry/types.js';
import { RegistryError } from '../util/errors.js';
import { childDigests, copyManifest, type CopyContext, type CopyResult } from './copy.js';
import { parseManifest } from './manifest.js';

/** Referrers of referrers (a signed attestation) are followed this deep. */
const MAX_DEPTH = 3;
const COSIGN_SUFFIXES = ['sig', 'att', 'sbom'];

export interface ReferrersContext extends CopyContext {
  /** The source repository's tags, for the fallback and cosign tags. */
  sourceTags: ReadonlySet<string>;
  /** Registries found without the referrers API in this process (asked once each). */
  noReferrersApi: Set<string>;
}

export interface ReferrersCopy {
  /** Referrer manifests copied or found on the target. */
  referrers: number;
  /** cosign tags copied or found up to date. */
  cosignTags: number;
}

/** `sha256:<hex>` -> `sha256-<hex>`: the fallback and cosign tag stem. */
export function referrerTag(digest: string): string {
  return digest.replace(':', '-');
}

/**
 * Copies every referrer of `subject` (a manifest digest the target now has) from source to target,
 * and cosign's tags for it. `result` collects the blobs and manifests moved.
 */
export async function copyReferrers(source: RepositoryRef, target: RepositoryRef, subject: string, ctx: ReferrersContext, result: CopyResult, depth = 0): Promise<ReferrersCopy> {
  const out: ReferrersCopy = { referrers: 0, cosignTags: 0 };
  if (depth >= MAX_DEPTH) return out;
  const stem = referrerTag(subject);
  for (const suffix of COSIGN_SUFFIXES) {
    const tag = `${stem}.${suffix}`;
    if (!ctx.sourceTags.has(tag)) continue;
    const src = await ctx.client.headManifest(source, tag);
    if (!src) continue;
    const dst = await ctx.client.headManifest(target, tag, { scope: pushScope(target.repository) });
    if (dst?.digest !== src.digest) await copyManifest(source, target, src.digest, tag, ctx, result);
    out.cosignTags++;
  }

  const descriptors = await sourceReferrers(source, subject, ctx);
  const needTag: Array<Record<string, unknown>> = [];
  for (const d of descriptors) {
    const digest = d.digest as string;
    const present = await ctx.client.headManifest(target, digest, { scope: pushScope(target.repository) });
    if (present) {
      result.manifests.present++;
    } else {
      const pushed = await copyManifest(source, target, digest, digest, ctx, result);
      if (!pushed.subjectIndexed) needTag.push(d);
    }
    out.referrers++;
    const nested = await copyReferrers(source, target, digest, ctx, result, depth + 1);
    out.referrers += nested.referrers;
    out.cosignTags += nested.cosignTags;
  }
  // Referrers already on the target may be missing from its fallback tag (a run cut short between
  // the two): checked whenever the target has no referrers API of its own.
  if (descriptors.length > 0 && (needTag.length > 0 || !(await targetIndexes(target, subject, ctx)))) {
    await mergeFallbackTag(target, stem, needTag.length > 0 ? needTag : descriptors, ctx.client, result);
  }
  return out;
}

/**
 * Referrers of a copied manifest and, for an index, of each of its children: cosign and notation sign
 * the per-platform manifests too, and an SBOM is attached per platform. A platform subset (`own`
 * false: the target's index is a new digest) has no referrers of its own, but the children it kept
 * are the source's, and keep theirs. `children` is the list the copy saw; for a tag that was already
 * up to date it is read from the target's index (by digest), and only when the source could have any
 * referrer at all (its referrers API, or a fallback or cosign tag in its tag list).
 */
export async function copyTreeReferrers(
  source: RepositoryRef, target: RepositoryRef, tree: { digest: string; own: boolean; children?: string[] }, ctx: ReferrersContext, result: CopyResult,
): Promise<ReferrersCopy> {
  const out = tree.own ? await copyReferrers(source, target, tree.digest, ctx, result) : { referrers: 0, cosignTags: 0 };
  if (!mayHaveReferrers(source, ctx)) return out;
  let list = tree.children;
  if (list === undefined) {
    const index = await ctx.client.getManifest(target, tree.digest, { scope: pushScope(target.repository) });
    list = childDigests(index.bytes, index.mediaType, `${target.registry}/${target.repository}@${tree.digest}`);
  }
  for (const child of list) {
    const got = await copyReferrers(source, target, child, ctx, result);
    out.referrers += got.referrers;
    out.cosignTags += got.cosignTags;
  }
  return out;
}

/** Whether anything can be attached to the source's manifests: it has the referrers API, or tags of the fallback/cosign form. */
function mayHaveReferrers(source: RepositoryRef, ctx: ReferrersContext): boolean {
  if (!ctx.noReferrersApi.has(source.registry)) return true;
  for (const tag of ctx.sourceTags) if (REFERRER_TAG.test(tag)) return true;
  return false;
}

const REFERRER_TAG = /^sha256-[0-9a-f]{64}(\.(sig|att|sbom))?$/;

/** The source's referrers of `subject`: from its API, else from its fallback tag (when listed). */
async function sourceReferrers(source: RepositoryRef, subject: string, ctx: ReferrersContext): Promise<Array<Record<string, unknown>>> {
  if (!ctx.noReferrersApi.has(source.registry)) {
    const listed = await ctx.client.listReferrers(source, subject);
    if (listed) return listed.filter(isDescriptor);
    ctx.noReferrersApi.add(source.registry);
  }
  const tag = referrerTag(subject);
  if (!ctx.sourceTags.has(tag)) return [];
  const index = await ctx.client.getManifest(source, tag).catch((err: unknown) => {
    if (err instanceof RegistryError && err.status === 404) return undefined;
    throw err;
  });
  if (!index) return [];
  const parsed = parseManifest(index.bytes, index.mediaType, `${source.registry}/${source.repository}:${tag}`);
  return parsed.kind === 'index' ? (parsed.manifests as Array<Record<string, unknown>>).filter(isDescriptor) : [];
}

/** Whether the target answers the referrers API for `subject` (then it needs no fallback tag). */
async function targetIndexes(target: RepositoryRef, subject: string, ctx: ReferrersContext): Promise<boolean> {
  if (ctx.noReferrersApi.has(target.registry)) return false;
  const listed = await ctx.client.listReferrers(target, subject);
  if (listed === null) ctx.noReferrersApi.add(target.registry);
  return listed !== null;
}

/**
 * Adds descriptors to the target's `sha256-<hex>` index (created when missing), keeping what it
 * lists already: another tool may have attached referrers of its own there.
 */
async function mergeFallbackTag(target: RepositoryRef, tag: string, add: Array<Record<string, unknown>>, client: RegistryClient, result: CopyResult): Promise<void> {
  const scope = pushScope(target.repository);
  let doc: Record<string, unknown> & { manifests: Array<Record<string, unknown>> } = { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] };
  const head = await client.headManifest(target, tag, { scope });
  if (head) {
    const current = await client.getManifest(target, tag, { scope });
    const parsed = JSON.parse(current.bytes.toString('utf8')) as typeof doc;
    if (Array.isArray(parsed.manifests)) doc = parsed;
  }
  const known = new Set(doc.manifests.map((m) => m.digest));
  const missing = add.filter((d) => !known.has(d.digest));
  if (missing.length === 0) return;
  doc = { ...doc, manifests: [...doc.manifests, ...missing.map(fallbackEntry)] };
  await client.putManifest(target, tag, Buffer.from(JSON.stringify(doc)), OCI_INDEX);
  result.manifests.pushed++;
}

/** What the spec puts in a fallback index entry: the descriptor with its artifactType and annotations. */
function fallbackEntry(d: Record<string, unknown>): Record<string, unknown> {
  const { mediaType, digest, size, artifactType, annotations } = d;
  return { mediaType, digest, size, ...(artifactType !== undefined ? { artifactType } : {}), ...(annotations !== undefined ? { annotations } : {}) };
}

function isDescriptor(d: Record<string, unknown>): boolean {
  return typeof d.digest === 'string' && /^sha256:[0-9a-f]{64}$/.test(d.digest) && typeof d.size === 'number' && typeof d.mediaType === 'string';
}
