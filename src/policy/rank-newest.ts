/**
 * `policy.newest` (a dosync addition, no Flux counterpart): the most recently pushed tag, where the registry
 * reports push times. Equal push times: the tag first in byte order, whatever the input order.
 */
import { compareBytes } from './bytes.js';
import type { Drops } from './drops.js';
import type { Candidate, Ranker } from './ranker.js';

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

export function newestRanker(): (drops: Drops) => Ranker<number> {
  return (drops) => {
    const noTime = drops.rule('without push time', 'the registry gave no push time');
    return {
      admit(tag, value, pushedAt, at) {
        const t = pushedAt?.getTime();
        if (t !== undefined && !Number.isNaN(t)) return new Pushed(tag, t, at);
        drops.add(tag, noTime, value);
        return undefined;
      },
      compare: (a, b) => a.key - b.key || compareBytes(b.tag, a.tag),
    };
  };
}
