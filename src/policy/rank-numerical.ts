/**
 * `policy.numerical`: the value read as a decimal number (Flux's internal/policy/numerical.go; DOSync's words:
 * `desc`, the default, picks the highest). Numbers compare exactly, not as float64 (see numeric.ts). Equal
 * numbers (`7`, `7.0`, `007`): the last listed wins, as Flux's loop takes an equal number too.
 */
import type { Drops } from './drops.js';
import { compareDecimals, parseDecimal, type Decimal } from './numeric.js';
import { fluxTieBreak, valueAt, type Candidate, type Filtered, type Ranked, type Ranker } from './ranker.js';
import type { Order } from './types.js';

export function numericalRanker(order: Order): Ranker {
  const sign = order === 'desc' ? 1 : -1;
  return {
    rank(filtered: Filtered, drops: Drops): Ranked<Decimal> {
      const notNumber = drops.rule('not a number', (_, value) => `${JSON.stringify(value)} is not a number`);
      const candidates: Candidate<Decimal>[] = [];
      const { tags } = filtered;
      for (let i = 0; i < tags.length; i++) {
        const value = valueAt(filtered, i);
        const d = parseDecimal(value);
        if (!d) drops.add(tags[i].tag, notNumber, value);
        else candidates.push({ tag: tags[i].tag, value, key: d, at: i });
      }
      const tie = fluxTieBreak(filtered, 'last');
      return { candidates, compare: (a, b) => sign * compareDecimals(a.key, b.key) || tie(a, b) };
    },
  };
}
