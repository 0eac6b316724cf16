/**
 * `policy.alphabetical`: the value in Go's byte order (Flux's internal/policy/alphabetical.go; DOSync's words:
 * `desc`, the default, picks the last). Distinct tags tie only through an extract template giving the same
 * value; then the last listed wins, as in Flux's tag filter.
 */
import { compareBytes, compareNative, SURROGATE } from './bytes.js';
import type { Drops } from './drops.js';
import { fluxTieBreak, valueAt, type Candidate, type Filtered, type Ranked, type Ranker } from './ranker.js';
import type { Order } from './types.js';

export function alphabeticalRanker(order: Order): Ranker {
  const sign = order === 'desc' ? 1 : -1;
  return {
    rank(filtered: Filtered, _drops: Drops): Ranked<string> {
      const { tags } = filtered;
      const candidates: Candidate<string>[] = new Array(tags.length);
      let plain = true;
      for (let i = 0; i < tags.length; i++) {
        const value = valueAt(filtered, i);
        if (plain && SURROGATE.test(value)) plain = false;
        candidates[i] = { tag: tags[i].tag, value, key: value, at: i };
      }
      const cmp = plain ? compareNative : compareBytes;
      const tie = fluxTieBreak(filtered, 'first');
      return { candidates, compare: (a, b) => sign * cmp(a.key, b.key) || tie(a, b) };
    },
  };
}
