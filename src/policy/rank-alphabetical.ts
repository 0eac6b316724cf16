/**
 * `policy.alphabetical`: the value in Go's byte order (Flux's internal/policy/alphabetical.go; DOSync's words:
 * `desc`, the default, picks the last). Distinct tags tie only through an extract template giving the same
 * value; then the last listed wins, as in Flux's tag filter.
 */
import { compareBytes } from './bytes.js';
import type { Drops } from './drops.js';
import { fluxTieBreak, type Ranker, type TieContext } from './ranker.js';
import type { Order } from './types.js';

export function alphabeticalRanker(order: Order): (drops: Drops, ties: TieContext) => Ranker<string> {
  const sign = order === 'desc' ? 1 : -1;
  return (_drops, ties) => {
    const tie = fluxTieBreak(ties, 'first');
    return {
      admit: (tag, value, _pushedAt, at) => ({ tag, value, key: value, at }),
      compare: (a, b) => sign * compareBytes(a.key, b.key) || tie(a, b),
    };
  };
}
