/**
 * Item 6: start-up cost: `dosync --version` and `dosync check` on a one-service stack vs `node -e 0`; and
 * `check` without the code cache, as the first run of a command after an install or upgrade is.
 */
import { randomBytes } from 'node:crypto';
import type { BenchContext, ItemResult } from '../lib/context.js';
import { DOSYNC, fmtMs, median } from '../lib/proc.js';
import { wall } from '../lib/runners.js';

export async function benchStartup(ctx: BenchContext): Promise<ItemResult> {
  const repos = await ctx.scaleRepos();
  const file = ctx.writeStack('startup', repos.slice(0, 1), 1);
  const project = `dosyncbench${randomBytes(3).toString('hex')}`;
  const commands = {
    node: [process.execPath, ['-e', '0'], [0], {}],
    version: [DOSYNC[0], [DOSYNC[1], '--version'], [0], {}],
    check: [DOSYNC[0], [DOSYNC[1], 'check', '-f', file, '-p', project], [0], {}],
    checkNoCache: [DOSYNC[0], [DOSYNC[1], 'check', '-f', file, '-p', project], [0], { DOSYNC_CODE_CACHE: '0' }],
  } as const;
  const times: Record<keyof typeof commands, number[]> = { node: [], version: [], check: [], checkNoCache: [] };
  // Warms the page cache, and writes the code caches as the first run of each command does.
  for (const [cmd, args, ok, env] of Object.values(commands)) await wall(cmd, [...args], [...ok], env);
  for (let i = 0; i < ctx.scale.startupRuns; i++) {
    for (const key of Object.keys(commands) as Array<keyof typeof commands>) {
      const [cmd, args, ok, env] = commands[key];
      times[key].push(await wall(cmd, [...args], [...ok], env));
    }
  }
  const m = { node: median(times.node), version: median(times.version), check: median(times.check), checkNoCache: median(times.checkNoCache) };
  const runs = `median of ${ctx.scale.startupRuns}`;
  return {
    rows: [
      { item: '6', measure: `start-up: dosync --version vs node -e 0 (${runs})`, dosync: fmtMs(m.version), baseline: fmtMs(m.node), ratio: m.version / m.node, target: '<= 2x', met: m.version / m.node <= 2 },
      { item: '6', measure: `start-up: dosync check, one-service stack, vs node -e 0 (${runs})`, dosync: fmtMs(m.check), baseline: fmtMs(m.node), ratio: m.check / m.node },
      { item: '6', measure: `start-up: the same check without the code cache (a command's first run after install), vs node -e 0`, dosync: fmtMs(m.checkNoCache), baseline: fmtMs(m.node), ratio: m.checkNoCache / m.node },
    ],
    data: { medians: m, samples: times },
  };
}
