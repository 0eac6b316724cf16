/**
 * The shape of a policy kind, after Flux's internal/policy (image-reflector-controller): one small
 * ranker per file (rank-*.ts) behind a one-method interface. Flux's `Policer.Latest([]string)` returns
 * only the winner; a ranker also says how all candidates order, because `check --explain` lists them,
 * while a cycle asks only for the winner (`best`, one pass, no sort).
 */
import type { TagInfo } from '../registry/types.js';
import type { Drops } from './drops.js';

/** The tags that passed the filters, de-duplicated, in the order the registry listed them. */
export interface Filtered {
  readonly tags: readonly TagInfo[];
  /** What the extract template made of tags[i]; null when there is none (the tag itself is ranked). */
  readonly values: readonly string[] | null;
}

export interface Candidate<K = unknown> {
  tag: string;
  /** What the policy ranked (the extracted value, the tag, or the push time). */
  value: string;
  /** The parsed value the comparison uses. */
  key: K;
  /** Position in the filtered list: the input order that Flux's tie rules follow. */
  at: number;
}

export interface Ranked<K = unknown> {
  candidates: Candidate<K>[];
  /** > 0 when `a` ranks above `b`. A total order: tags that rank equal are ordered by the ranker's tie rule. */
  compare(a: Candidate<K>, b: Candidate<K>): number;
}

export interface Ranker {
  /** Admits the tags this kind can rank (the others go to `drops` with the reason) and says how they order. */
  rank(filtered: Filtered, drops: Drops): Ranked;
}

/** The value ranked for filtered.tags[i]. */
export function valueAt(filtered: Filtered, i: number): string {
  return filtered.values ? filtered.values[i] : filtered.tags[i].tag;
}

/**
 * Flux's tie rules, as a comparison of two candidates that rank equal (> 0: `a` wins).
 *
 * - Same value (only through an extract template): the last listed tag wins. Flux's RegexFilter keeps one
 *   tag per extracted value in a map, and a later tag overwrites the entry (internal/policy/filter.go, Apply).
 * - Different values that rank equal (`v1.2.3` and `1.2.3` under semver, `7` and `7.0` under numerical): the
 *   policy's own loop decides. `semver.go` replaces the best only with a strictly greater version, so the first
 *   listed wins (`distinct: 'first'`); `numerical.go` replaces it on an equal number too, so the last listed
 *   wins (`distinct: 'last'`). With filterTags Flux hands the values over in Go map order (random); here each
 *   value counts from where it was first listed, the order Flux sees without filterTags.
 */
export function fluxTieBreak(filtered: Filtered, distinct: 'first' | 'last'): (a: Candidate, b: Candidate) => number {
  const sign = distinct === 'first' ? 1 : -1;
  const values = filtered.values;
  // Without a template every value is its own tag (the list is de-duplicated): the position decides.
  if (!values) return (a, b) => sign * (b.at - a.at);
  let firstSeen: Map<string, number> | undefined;
  const firstAt = (value: string): number => {
    if (!firstSeen) {
      // Built on the first tie only: most selections have none.
      firstSeen = new Map();
      for (let i = 0; i < values.length; i++) if (!firstSeen.has(values[i])) firstSeen.set(values[i], i);
    }
    return firstSeen.get(value)!;
  };
  return (a, b) => (a.value === b.value ? a.at - b.at : sign * (firstAt(b.value) - firstAt(a.value)));
}

/** The candidate that ranks first, in one pass (a cycle needs the winner, only `--explain` the order). */
export function best<K>(ranked: Ranked<K>): Candidate<K> | undefined {
  const { candidates } = ranked;
  let top = candidates[0];
  for (let i = 1; i < candidates.length; i++) if (ranked.compare(candidates[i], top) > 0) top = candidates[i];
  return top;
}

/** All candidates, best first. */
export function ordered<K>(ranked: Ranked<K>): Candidate<K>[] {
  return ranked.candidates.sort((a, b) => ranked.compare(b, a));
}
