/**
 * Carrying out a purge on one target repository: list its tags, plan with the cap (purge.ts), and
 * untag each one. A registry that cannot delete a tag (distribution 2.x) deletes its manifest by
 * digest instead, but only when no tag that stays points to that manifest: a digest delete removes
 * every tag on it.
 */
import type { RegistryClient } from '../registry/client.js';
import { pushScope } from '../registry/client.js';
import type { RepositoryRef } from '../registry/types.js';
import { RegistryError } from '../util/errors.js';
import { isReferrerTag, planPurge, type PurgeLimit } from './purge.js';
import type { ItemResult } from './run.js';

export async function purgeTags(client: RegistryClient, target: RepositoryRef, wanted: Set<string>, limit: PurgeLimit, dryRun: boolean, where: string): Promise<ItemResult[]> {
  const name = `${target.registry}/${target.repository}`;
  const existing = await client.listTags(target).catch((err: unknown) => {
    // A repository that does not exist yet has nothing to purge.
    if (err instanceof RegistryError && err.status === 404) return [];
    throw err;
  });
  const plan = planPurge(existing, wanted, limit, where);
  if (plan.refused) throw new RegistryError(plan.refused);
  if (plan.remove.length === 0) return [];
  const scope = pushScope(target.repository);
  const digestOf = async (tag: string) => (await client.headManifest(target, tag, { scope }))?.digest;
  const out: ItemResult[] = [];
  let staying: Map<string, string> | undefined;
  for (const tag of plan.remove) {
    const digest = await digestOf(tag);
    if (digest === undefined) continue;
    const item: ItemResult = { source: '', target: `${name}:${tag}`, status: dryRun ? 'would-delete' : 'deleted', targetDigest: digest, bytes: 0, note: 'not in the source, or no longer selected' };
    if (dryRun) {
      out.push(item);
      continue;
    }
    let outcome = await client.deleteManifest(target, tag);
    if (outcome === 'unsupported') {
      if (!staying) {
        const removed = new Set(plan.remove);
        const keep = existing.filter((t) => !removed.has(t) && !isReferrerTag(t));
        staying = new Map();
        for (const t of keep) {
          const d = await digestOf(t);
          if (d) staying.set(d, t);
        }
      }
      const shared = staying.get(digest);
      if (shared !== undefined) {
        out.push({ ...item, status: 'skipped', note: `not purged: ${name} cannot delete a tag alone, and ${shared} (kept) points to the same manifest` });
        continue;
      }
      outcome = await client.deleteManifest(target, digest);
      if (outcome === 'unsupported') throw new RegistryError(`${name}: purge needs manifest deletes, which this registry refuses (distribution: storage.delete.enabled: true)`, { status: 405 });
    }
    out.push(item);
  }
  return out;
}
