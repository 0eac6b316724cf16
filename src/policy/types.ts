import type { GoRegex } from './goregex.js';
import type { SemverRange } from './semver.js';

export type UpdateLevel = 'patch' | 'minor' | 'major' | 'digest' | 'none';
export type Order = 'asc' | 'desc';

/** Everything that may shape one service's policy, from the most specific source that set it. */
export interface PolicySources {
  /** Compose service labels (`dosync.*`, `com.centurylinklabs.watchtower.enable`, `wud.*`). */
  labels?: Record<string, string>;
  /** `services.<name>` in dosync.yaml. `tagPattern` is the glob shorthand (`staging-*`). */
  service?: {
    skip?: boolean;
    update?: UpdateLevel;
    imagePolicy?: unknown;
    image_policy?: unknown;
    tagPattern?: string;
  };
  /**
   * `registry.<name>` in dosync.yaml (DOSync): applies to every image of that registry. `tag_pattern` filters
   * tags (a glob like `staging-*`, or a prefix like `main-` when it has no wildcard) unless the imagePolicy does.
   */
  registry?: { imagePolicy?: unknown; image_policy?: unknown; tag_pattern?: string };
}

export type PolicySource = 'label' | 'service' | 'registry' | 'default';

/** How the remaining tags are ranked. */
export type Ranking =
  | { kind: 'default'; reach: 'patch' | 'minor' | 'major' }
  | { kind: 'semver'; range: SemverRange }
  | { kind: 'numerical'; order: Order }
  | { kind: 'alphabetical'; order: Order }
  | { kind: 'newest' };

export interface TagFilter {
  /** Tags must match (unanchored unless the pattern anchors itself). */
  include?: GoRegex;
  /** Go regexp.Expand template applied to the include match; the policy ranks its result. */
  extract?: string;
  /** Tags matching this are dropped. */
  exclude?: GoRegex;
}

export interface ResolvedPolicy {
  /** False when updates are off for the service (`dosync.enable=false`, `skip: true`, `update: none`...). */
  enabled: boolean;
  /** Where the ranking came from (the most specific source that set one). */
  source: PolicySource;
  /** Human one-liner, e.g. `semver >=1.2 <2 (label dosync.policy)`. */
  describe: string;
  /** 'tag': pick a tag; 'digest': only follow the digest of the current tag; 'none': disabled. */
  mode: 'tag' | 'digest' | 'none';
  ranking: Ranking;
  filter: TagFilter;
}

export interface Selection {
  /** 'tag': move to `selected` (may equal the current tag = up to date); 'digest': track the current tag's digest; 'none': updates disabled. */
  kind: 'tag' | 'digest' | 'none';
  /** null when no tag qualifies (kind 'tag'). */
  selected: string | null;
  /** One line for the cycle log. */
  reason: string;
  /** Tags that passed every rule, ranked best first, with the value the policy ranked. */
  candidates: Array<{ tag: string; value: string }>;
  /** Tags left out and why (`value`: what the extract template gave, when it ran). */
  dropped: Array<{ tag: string; why: string; value?: string }>;
  /** How many tags passed every rule: a cycle's selection lists only the best of them (select.ts, CANDIDATE_LIMIT). */
  candidateCount?: number;
  /** How many tags were left out: a cycle's `--explain` lists only the first of them. */
  droppedCount?: number;
}
