/**
 * Which target tags a purge deletes (pure): tags of a repository the task owns that the source no
 * longer has, or that the task's filter no longer selects, within a safety cap. Referrer tags
 * (`sha256-<hex>` fallback tags, cosign's `.sig`/`.att`/`.sbom`) belong to the manifest they
 * describe, not to the tag filter: they are left to the referrers copy.
 */
import { ConfigError } from '../util/errors.js';

/** At most this share (0..1) of the target's tags, or this many, in one purge. */
export type PurgeLimit = { share: number } | { count: number };

export const DEFAULT_PURGE_MAX = '10%';

/** `10%`, `0.1` is not accepted (ambiguous); `25` = at most 25 tags. */
export function parsePurgeMax(value: number | string, where: string): PurgeLimit {
  const text = String(value).trim();
  const pct = /^(\d+(?:\.\d+)?)\s*%$/.exec(text);
  if (pct) {
    const share = Number(pct[1]) / 100;
    if (share <= 0 || share > 1) throw new ConfigError(`${where}: "${text}" must be a share between 0% and 100% (e.g. 10%)`);
    return { share };
  }
  if (/^\d+$/.test(text) && Number(text) >= 1) return { count: Number(text) };
  throw new ConfigError(`${where}: "${text}" is not a cap; write a share such as 10% or a number of tags such as 25`);
}

const REFERRER_TAG = /^sha256-[0-9a-f]{64}(?:\.(?:sig|att|sbom))?$/;

export function isReferrerTag(tag: string): boolean {
  return REFERRER_TAG.test(tag);
}

export interface PurgePlan {
  /** Tags to delete, sorted. */
  remove: string[];
  /** Set when the cap refuses the purge: one line saying why. */
  refused?: string;
}

/** `targetTags` are the target repository's tags, `wanted` the tags the source has and the filter selects. */
export function planPurge(targetTags: string[], wanted: Set<string>, limit: PurgeLimit, where: string): PurgePlan {
  const ordinary = [...new Set(targetTags)].filter((t) => !isReferrerTag(t));
  const remove = ordinary.filter((t) => !wanted.has(t)).sort();
  if (remove.length === 0) return { remove };
  const cap = 'share' in limit ? Math.floor(limit.share * ordinary.length + 1e-9) : limit.count;
  if (remove.length > cap) {
    const capText = 'share' in limit ? `${+(limit.share * 100).toFixed(2)}% of ${ordinary.length} = ${cap}` : `${cap}`;
    return { remove: [], refused: `${where}: purge refused: it would delete ${remove.length} of ${ordinary.length} tags, more than purge_max allows (${capText}); check the source and filter, or raise purge_max` };
  }
  return { remove };
}
