/**
 * The shape of a policy kind, after Flux's internal/policy (image-reflector-controller): one small
 * ranker per file (rank-*.ts) behind a small interface. Flux's `Policer.Latest([]string)` returns only
 * the winner; a ranker also says how candidates order, because `check --explain`, a unit and signature
 * checks walk them best first. Tags reach a ranker one at a time (select.ts reads the list in one pass):
 * a million-tag repository never becomes a million candidate objects (issue 15).
 */
import type { Drops } from './drops.js';

export interface Candidate<K = unknown> {
  tag: string;
  /** What the policy ranked (the extracted value, the tag, or the push time). */
  value: string;
  /** The parsed value the comparison uses. */
  key: K;
  /** Position in the filtered list: the input order that Flux's tie rules follow. */
  at: number;
}

export interface Ranker<K = unknown> {
  /**
   * One tag that passed the filters (`value`: what the policy ranks, the extracted value or the tag), at
   * position `at` of the filtered list: its candidate, or undefined once it went to `drops` with the reason.
   */
  admit(tag: string, value: string, pushedAt: Date | undefined, at: number): Candidate<K> | undefined;
  /** > 0 when `a` ranks above `b`. A total order: tags that rank equal are ordered by the ranker's tie rule. */
  compare(a: Candidate<K>, b: Candidate<K>): number;
}

/** What a tie rule needs to know of the whole filtered list. */
export interface TieContext {
  /** Whether an extract template made the values (else each value is its own tag, and positions decide). */
  templated: boolean;
  /** Where `value` first appears in the filtered list (asked only on a tie between different values). */
  firstAt(value: string): number;
}

/** A ranker for one selection: its drop rules count into `drops`. */
export type RankerOf<K> = (drops: Drops, ties: TieContext) => Ranker<K>;

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
export function fluxTieBreak(ties: TieContext, distinct: 'first' | 'last'): (a: Candidate, b: Candidate) => number {
  const sign = distinct === 'first' ? 1 : -1;
  // Without a template every value is its own tag (the list is de-duplicated): the position decides.
  if (!ties.templated) return (a, b) => sign * (b.at - a.at);
  return (a, b) => (a.value === b.value ? a.at - b.at : sign * (ties.firstAt(b.value) - ties.firstAt(a.value)));
}

/**
 * The best `limit` candidates offered, by `compare`, and how many were offered. Unbounded, it keeps them all
 * (the `policy` command and the mirror list every one); bounded, a min-heap whose root is the weakest kept, so
 * a candidate that cannot make the cut costs one comparison and is garbage at once. The heap is hand-written:
 * thirty lines for push and replace-the-root, where a priority-queue package would bring more than it is used for.
 */
export class BestCandidates<K> {
  private readonly kept: Candidate<K>[] = [];
  count = 0;

  constructor(private readonly limit: number, private readonly compare: (a: Candidate<K>, b: Candidate<K>) => number) {}

  offer(c: Candidate<K>): void {
    this.count++;
    const heap = this.kept;
    if (this.limit === Infinity) {
      heap.push(c);
    } else if (heap.length < this.limit) {
      heap.push(c);
      this.up(heap.length - 1);
    } else if (this.limit > 0 && this.compare(c, heap[0]) > 0) {
      heap[0] = c;
      this.down(0);
    }
  }

  /** The candidate that ranks first, in one pass (a cycle needs the winner, only `--explain` the order). */
  winner(): Candidate<K> | undefined {
    const kept = this.kept;
    let top = kept[0];
    for (let i = 1; i < kept.length; i++) if (this.compare(kept[i], top) > 0) top = kept[i];
    return top;
  }

  /** The kept candidates, best first. */
  ordered(): Candidate<K>[] {
    return [...this.kept].sort((a, b) => this.compare(b, a));
  }

  private up(i: number): void {
    const heap = this.kept;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.compare(heap[i], heap[parent]) >= 0) return;
      [heap[i], heap[parent]] = [heap[parent], heap[i]];
      i = parent;
    }
  }

  private down(i: number): void {
    const heap = this.kept;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let weakest = i;
      if (l < heap.length && this.compare(heap[l], heap[weakest]) < 0) weakest = l;
      if (r < heap.length && this.compare(heap[r], heap[weakest]) < 0) weakest = r;
      if (weakest === i) return;
      [heap[i], heap[weakest]] = [heap[weakest], heap[i]];
      i = weakest;
    }
  }
}
