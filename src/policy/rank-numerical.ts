/**
 * `policy.numerical`: the value read as a decimal number (Flux's internal/policy/numerical.go; DOSync's words:
 * `desc`, the default, picks the highest). Numbers compare exactly, not as float64 (see numeric.ts). Equal
 * numbers (`7`, `7.0`, `007`): the last listed wins, as Flux's loop takes an equal number too.
 */
import type { Drops } from './drops.js';
import { compareDecimals, parseDecimal, type Decimal } from './numeric.js';
import { fluxTieBreak, type Ranker, type TieContext } from './ranker.js';
import type { Order } from './types.js';

export function numericalRanker(order: Order): (drops: Drops, ties: TieContext) => Ranker<Decimal> {
  const sign = order === 'desc' ? 1 : -1;
  return (drops, ties) => {
    const notNumber = drops.rule('not a number', (_, value) => `${JSON.stringify(value)} is not a number`);
    const tie = fluxTieBreak(ties, 'last');
    return {
      admit(tag, value, _pushedAt, at) {
        const d = parseDecimal(value);
        if (d) return { tag, value, key: d, at };
        drops.add(tag, notNumber, value);
        return undefined;
      },
      compare: (a, b) => sign * compareDecimals(a.key, b.key) || tie(a, b),
    };
  };
}
