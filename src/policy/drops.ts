/**
 * Why tags were left out of a selection. One rule is shared by every tag it drops and its sentence is
 * written only when asked (`--explain`): a cycle over 200 services x 200 tags drops ~40,000 tags and
 * only counts them.
 */
import { compareBytes } from './bytes.js';
import type { Selection } from './types.js';

export interface DropRule {
  /** Short category for the one-line summary. */
  group: string;
  why: (tag: string, value: string | undefined) => string;
}

interface Drop {
  tag: string;
  value?: string;
  rule: DropRule;
}

/**
 * The tags one selection leaves out, counted per rule (the summary needs only counts). The tags themselves
 * are listed only in a replay of the selection (`--explain` reads them): a cycle keeps no ~40,000 records.
 * A replay lists the first `limit` of them (all by default); `total` counts every one.
 */
export class Drops {
  readonly list: Drop[] = [];
  total = 0;
  private readonly rules: Array<DropRule & { count: number }> = [];

  constructor(
    /** Keep each dropped tag (the replay), or only count. */
    readonly recording: boolean,
    /** The same selection again, recording. */
    readonly replay: () => Selection['dropped'],
    private readonly limit = Infinity,
  ) {}

  rule(group: string, why: string | DropRule['why']): DropRule {
    const r = { group, why: typeof why === 'string' ? () => why : why, count: 0 };
    this.rules.push(r);
    return r;
  }

  add(tag: string, rule: DropRule, value?: string): void {
    (rule as DropRule & { count: number }).count++;
    this.total++;
    if (this.recording && this.list.length < this.limit) this.list.push(value === undefined ? { tag, rule } : { tag, value, rule });
  }

  /** `3 older, 1 prerelease`: most frequent first, then by name, so the same tags give the same line in any order. */
  summary(): string {
    const counts = new Map<string, number>();
    for (const r of this.rules) if (r.count > 0) counts.set(r.group, (counts.get(r.group) ?? 0) + r.count);
    return [...counts.entries()]
      .sort((a, b) => b[1] - a[1] || compareBytes(a[0], b[0]))
      .map(([g, n]) => `${n} ${g}`)
      .join(', ');
  }

  /** The recorded drops with their sentences (only a recording selection has them). */
  described(): Selection['dropped'] {
    return this.list.map(({ tag, value, rule }) => (value === undefined ? { tag, why: rule.why(tag, value) } : { tag, why: rule.why(tag, value), value }));
  }
}
