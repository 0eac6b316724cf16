/** Item 3: one selection from 100,000 tags for each policy kind (bench/policy.ts's generator and kinds). */
import type { BenchContext, ItemResult } from '../lib/context.js';
import { fmtMs } from '../lib/proc.js';
import { benchPolicies } from '../policy.js';

export async function benchPolicyEngine(ctx: BenchContext): Promise<ItemResult> {
  const timings = benchPolicies(ctx.scale.policyTags, ctx.scale.runs >= 5 ? 5 : 1);
  return {
    rows: timings.map((t) => ({
      item: '3',
      measure: `policy ${t.kind}, ${t.tags.toLocaleString('en')} tags -> ${t.selected}`,
      dosync: `${fmtMs(t.ms)} (${((t.ms * 1000) / t.tags).toFixed(2)} us/tag)`,
      baseline: '-',
    })),
    data: { timings },
  };
}
