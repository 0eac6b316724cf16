/**
 * Copying one tag from a source repository to a target repository through the registry API alone.
 *
 * Decided by digest: HEAD both; equal means nothing to do (no GET, so Docker Hub's pull limit is
 * not touched). Otherwise the source manifest is read by digest (its exact bytes, verified), and
 * pushed after everything it references: blobs before an image manifest, children before an index,
 * the tag last. A copy cut short therefore never leaves a tag or an index pointing at something
 * missing, and the next run picks up where it stopped (what is there is found by HEAD).
 *
 * With a platform subset, a new index listing only the chosen children is pushed (a different
 * digest, reported as such); its digest is remembered per source digest so unchanged sources are
 * still skipped by HEAD alone.
 */
import pLimit from 'p-limit';
import type { RegistryClient } from '../registry/client.js';
import { pushScope, referenceName } from '../registry/client.js';
import type { RepositoryRef } from '../registry/types.js';
import { RegistryError } from '../util/errors.js';
import { digestOf } from '../registry/upload.js';
import type { BlobCopier, BlobOutcome } from './blobs.js';
import { blobsOf, formatPlatform, parseManifest, subsetIndex, type Descriptor, type PlatformSpec } from './manifest.js';

export type CopyStatus = 'copied' | 'skipped' | 'planned';

export interface CopyResult {
  status: CopyStatus;
  sourceDigest: string;
  /** What the target tag points to afterwards (or would, for a plan). Differs from sourceDigest for a platform subset. */
  targetDigest?: string;
  /** Why a copy is (or would be) made, or what was special about it. */
  note?: string;
  bytes: number;
  blobs: Record<BlobOutcome, number>;
  manifests: { pushed: number; present: number };
  /** For an index that was copied: the digests of the children on the target (their referrers travel too). */
  children?: string[];
}

/** Remembered across cycles: the digest of the subset index built from a source digest and platform list. */
export class CopyMemory {
  readonly subsets = new Map<string, string>();
}

export interface CopyContext {
  client: RegistryClient;
  blobs: BlobCopier;
  memory: CopyMemory;
  platforms: 'all' | PlatformSpec[];
  dryRun: boolean;
  chunkSize?: number;
  /** Children of one index copied at once. */
  childParallel?: number;
}

export async function copyTag(source: RepositoryRef, target: RepositoryRef, tag: string, ctx: CopyContext): Promise<CopyResult> {
  const where = `${source.registry}/${source.repository}:${tag}`;
  const scope = pushScope(target.repository);
  // Both asked at once: a one-shot copy's first round trips (each registry's /v2/ challenge among them) overlap.
  const [src, dst] = await Promise.all([ctx.client.headManifest(source, tag), ctx.client.headManifest(target, tag, { scope })]);
  if (!src) throw new RegistryError(`${where}: tag not found on the source (HTTP 404)`, { status: 404 });
  const result: CopyResult = { status: 'copied', sourceDigest: src.digest, bytes: 0, blobs: { present: 0, mounted: 0, uploaded: 0 }, manifests: { pushed: 0, present: 0 } };
  const why = dst ? `target has ${dst.digest}` : 'missing on the target';

  if (ctx.platforms === 'all') {
    // An up-to-date image manifest has no children to look at for referrers; an index's are read if needed.
    if (dst?.digest === src.digest) return { ...result, status: 'skipped', targetDigest: dst.digest, children: isIndexType(dst.mediaType ?? src.mediaType) ? undefined : [] };
    if (ctx.dryRun) return { ...result, status: 'planned', targetDigest: src.digest, note: why };
    const manifest = await ctx.client.getManifest(source, src.digest);
    await new Copier(source, target, tag, ctx, result).pushTree(manifest.bytes, manifest.mediaType, manifest.digest, tag);
    return { ...result, targetDigest: src.digest, note: why, children: childDigests(manifest.bytes, manifest.mediaType, where) };
  }

  const key = `${src.digest}|${ctx.platforms.map(formatPlatform).join(',')}`;
  const known = ctx.memory.subsets.get(key);
  if (known !== undefined && dst?.digest === known) return { ...result, status: 'skipped', targetDigest: known, note: subsetNote(known, src.digest) };
  const manifest = await ctx.client.getManifest(source, src.digest);
  const parsed = parseManifest(manifest.bytes, manifest.mediaType, where);
  if (parsed.kind === 'image') {
    // A single-platform image is copied as it is: there is nothing to choose from.
    ctx.memory.subsets.set(key, src.digest);
    if (dst?.digest === src.digest) return { ...result, status: 'skipped', targetDigest: src.digest };
    if (ctx.dryRun) return { ...result, status: 'planned', targetDigest: src.digest, note: why };
    await new Copier(source, target, tag, ctx, result).pushTree(manifest.bytes, manifest.mediaType, manifest.digest, tag);
    return { ...result, targetDigest: src.digest, note: why };
  }
  const subset = subsetIndex(manifest.bytes, ctx.platforms);
  if (subset.kept.length === 0) {
    const has = parsed.manifests.map((m) => (m.platform ? formatPlatform(m.platform) : 'unknown')).join(', ');
    throw new RegistryError(`${where}: none of the platforms ${ctx.platforms.map(formatPlatform).join(', ')} is in the source index (it has ${has})`);
  }
  const bytes = subset.complete ? manifest.bytes : subset.bytes;
  const digest = subset.complete ? src.digest : digestOf(bytes);
  ctx.memory.subsets.set(key, digest);
  const note = subset.complete ? undefined : subsetNote(digest, src.digest);
  if (dst?.digest === digest) return { ...result, status: 'skipped', targetDigest: digest, note };
  if (ctx.dryRun) return { ...result, status: 'planned', targetDigest: digest, note: [why, note].filter(Boolean).join('; ') };
  const copier = new Copier(source, target, tag, ctx, result);
  await copier.children(subset.kept);
  await copier.put(tag, bytes, parsed.mediaType, digest);
  return { ...result, targetDigest: digest, note, children: subset.kept.map((c) => c.digest) };
}

/** Whether a manifest media type is an index (or Docker's manifest list); unknown counts as maybe. */
function isIndexType(mediaType: string | undefined): boolean {
  return mediaType === undefined || mediaType === '' || /index|manifest\.list/.test(mediaType);
}

/** The children of an index (empty for an image manifest). */
export function childDigests(bytes: Buffer, mediaType: string, where: string): string[] {
  const parsed = parseManifest(bytes, mediaType, where);
  return parsed.kind === 'index' ? parsed.manifests.map((m) => m.digest) : [];
}

function subsetNote(subsetDigest: string, sourceDigest: string): string | undefined {
  return subsetDigest === sourceDigest ? undefined : `platform subset: new index ${subsetDigest} (source index ${sourceDigest})`;
}

class Copier {
  private readonly scope: string;

  constructor(
    private readonly source: RepositoryRef,
    private readonly target: RepositoryRef,
    /** The tag being copied, for messages about its children. */
    private readonly tag: string,
    private readonly ctx: CopyContext,
    private readonly result: CopyResult,
  ) {
    this.scope = pushScope(target.repository);
  }

  /** Pushes a manifest (under `reference`: the tag, or its digest for a child) after everything it references. */
  async pushTree(bytes: Buffer, mediaType: string, digest: string, reference: string): Promise<void> {
    const where = `${this.source.registry}/${this.source.repository}@${digest}`;
    const parsed = parseManifest(bytes, mediaType, where);
    if (parsed.kind === 'index') await this.children(parsed.manifests);
    else await this.blobs(blobsOf(parsed));
    await this.put(reference, bytes, parsed.mediaType, digest);
  }

  /** Every child manifest of an index, each skipped when the target already has it (HEAD by digest). */
  async children(children: Descriptor[]): Promise<void> {
    const limit = pLimit(this.ctx.childParallel ?? 4);
    await settleAll(children.map((child) => limit(async () => {
      if (await this.ctx.client.headManifest(this.target, child.digest, { scope: this.scope })) {
        this.result.manifests.present++;
        return;
      }
      const m = await this.ctx.client.getManifest(this.source, child.digest).catch((err: unknown) => {
        if (!(err instanceof RegistryError) || err.status !== 404) throw err;
        const platform = child.platform ? ` for ${formatPlatform(child.platform)}` : '';
        throw new RegistryError(`${referenceName(this.source, child.digest)}: missing on the source, though the index of ${this.source.registry}/${this.source.repository}:${this.tag} lists it${platform} (HTTP 404)`, { status: 404 });
      });
      await this.pushTree(m.bytes, m.mediaType || child.mediaType || '', child.digest, child.digest);
    })));
  }

  private async blobs(list: Descriptor[]): Promise<void> {
    await settleAll(list.map(async (blob) => {
      const { outcome, bytes } = await this.ctx.blobs.ensure(this.source, this.target, blob, this.ctx.chunkSize);
      this.result.blobs[outcome]++;
      this.result.bytes += bytes;
    }));
  }

  /** Whether the last manifest put had its `subject` indexed by the target (OCI-Subject). */
  subjectIndexed = false;

  async put(reference: string, bytes: Buffer, mediaType: string, digest: string): Promise<void> {
    const stored = await this.ctx.client.putManifestAnswer(this.target, reference, bytes, mediaType);
    if (stored.digest !== digest) throw new RegistryError(`${referenceName(this.target, reference)}: pushed manifest has digest ${stored.digest}, expected ${digest}`);
    this.subjectIndexed = stored.subjectIndexed;
    this.result.manifests.pushed++;
  }
}

/**
 * Copies one manifest (by digest or tag, `reference` on the target) with everything it references,
 * skipping what the target has. For referrers: their counts go into `result`.
 */
export async function copyManifest(source: RepositoryRef, target: RepositoryRef, sourceRef: string, reference: string, ctx: CopyContext, result: CopyResult): Promise<{ digest: string; subjectIndexed: boolean }> {
  const m = await ctx.client.getManifest(source, sourceRef);
  const copier = new Copier(source, target, reference, ctx, result);
  await copier.pushTree(m.bytes, m.mediaType, m.digest, reference);
  return { digest: m.digest, subjectIndexed: copier.subjectIndexed };
}

/** Waits for every task (so none is left running unobserved), then throws the first failure. */
async function settleAll(tasks: Array<Promise<unknown>>): Promise<void> {
  const results = await Promise.allSettled(tasks);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}
