/**
 * `policy.newest` (a dosync addition, no Flux counterpart): the most recently pushed tag, where the registry
 * reports push times. Equal push times: the tag first in byte order, whatever the input order.
 */
import { compareBytes } from './bytes.js';
import type { Drops } from './drops.js';
import { valueAt, type Candidate, type Filtered, type Ranked, type Ranker } from './ranker.js';

/** The push time is written out (value) only for the ranked list that --explain reads: a cycle needs none. */
class Pushed implements Candidate<number> {
  constructor(
    readonly tag: string,
    readonly key: number,
    readonly at: number,
  ) {}

  get value(): string {
    return new Date(this.key).toISOString();
  }
}

export function newestRanker(): Ranker {
  return {
    rank(filtered: Filtered, drops: Drops): Ranked<number> {
      const noTime = drops.rule('without push time', 'the registry gave no push time');
      const candidates: Candidate<number>[] = [];
      const { tags } = filtered;
      for (let i = 0; i < tags.length; i++) {
        const t = tags[i].pushedAt?.getTime();
        if (t === undefined || Number.isNaN(t)) drops.add(tags[i].tag, noTime, valueAt(filtered, i));
        else candidates.push(new Pushed(tags[i].tag, t, i));
      }
      return { candidates, compare: (a, b) => a.key - b.key || compareBytes(b.tag, a.tag) };
    },
  };
}
