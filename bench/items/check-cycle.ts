/**
 * Item 1: one check cycle over 200 services / 50 repositories x 200 tags, against the plain-fetch floor
 * and a skopeo loop, plus the requests each made (counted by the registry's access log).
 */
import { randomBytes } from 'node:crypto';
import { type BenchContext, type ItemResult } from '../lib/context.js';
import { fmtMs, median } from '../lib/proc.js';
import { dosyncCheck, dosyncDryCycle, floor, skopeoLoop } from '../lib/runners.js';

export async function benchCheckCycle(ctx: BenchContext): Promise<ItemResult> {
  const { scale, registry } = ctx;
  const repos = await ctx.scaleRepos();
  const behindEvery = 4;
  const file = ctx.writeStack('check-cycle', repos, scale.services, behindEvery);
  const project = `dosyncbench${randomBytes(3).toString('hex')}`;
  const expectUpdates = Math.ceil(scale.services / behindEvery);
  const expectTags = repos.length * scale.tagsPerRepo;

  const check = async () => {
    const r = await ctx.counted(() => dosyncCheck(file, project));
    const updates = r.value.statuses['update available'] ?? 0;
    if (updates !== expectUpdates || (r.value.statuses['up to date'] ?? 0) !== scale.services - expectUpdates) {
      throw new Error(`dosync check: expected ${expectUpdates} updates of ${scale.services}, got ${JSON.stringify(r.value.statuses)}`);
    }
    return { ...r.value, requests: r.requests };
  };
  const dry = async () => ({ ...(await ctx.counted(() => dosyncDryCycle(file, project))).value });
  const plain = async () => {
    const r = await ctx.counted(() => floor(registry.host, repos));
    if (r.value.tags !== expectTags) throw new Error(`floor listed ${r.value.tags} tags, expected ${expectTags}`);
    return { ...r.value, logged: r.requests };
  };
  const skopeo = async () => {
    const r = await ctx.counted(() => skopeoLoop(registry.host, repos));
    if (r.value.tags !== expectTags) throw new Error(`skopeo listed ${r.value.tags} tags, expected ${expectTags}`);
    return { ...r.value, requests: r.requests };
  };

  // One untimed round warms the registry's file cache and node's compile cache alike.
  await check(); await dry(); await plain(); await skopeo();
  const runs = { check: [] as Awaited<ReturnType<typeof check>>[], dry: [] as Awaited<ReturnType<typeof dry>>[], floor: [] as Awaited<ReturnType<typeof plain>>[], skopeo: [] as Awaited<ReturnType<typeof skopeo>>[] };
  for (let i = 0; i < scale.runs; i++) {
    // Alternate the order so no contender always runs right after another.
    const order = i % 2 === 0 ? ['check', 'floor', 'dry', 'skopeo'] as const : ['skopeo', 'dry', 'floor', 'check'] as const;
    for (const which of order) {
      if (which === 'check') runs.check.push(await check());
      else if (which === 'dry') runs.dry.push(await dry());
      else if (which === 'floor') runs.floor.push(await plain());
      else runs.skopeo.push(await skopeo());
    }
  }
  const m = {
    checkMs: median(runs.check.map((r) => r.ms)),
    dryWallMs: median(runs.dry.map((r) => r.ms)),
    dryCycleMs: median(runs.dry.map((r) => r.cycleMs)),
    floorMs: median(runs.floor.map((r) => r.ms)),
    floorInnerMs: median(runs.floor.map((r) => r.innerMs)),
    skopeoMs: median(runs.skopeo.map((r) => r.ms)),
  };
  const req = {
    dosyncLogged: runs.check.at(-1)!.requests,
    dosyncClient: runs.check.at(-1)!.clientRequests,
    floor: runs.floor.at(-1)!.logged,
    skopeo: runs.skopeo.at(-1)!.requests,
  };
  const shape = `${scale.services} svc, ${repos.length} repos x ${scale.tagsPerRepo} tags`;
  const maxRequests = repos.length + 2; // one listing per repository, plus a ping and a token at most
  return {
    rows: [
      { item: '1', measure: `check cycle (${shape}), process wall: dosync check vs floor script`, dosync: fmtMs(m.checkMs), baseline: fmtMs(m.floorMs), ratio: m.checkMs / m.floorMs, target: '<= 1.3x', met: m.checkMs / m.floorMs <= 1.3 },
      { item: '1', measure: 'check cycle, in-process: dry-run cycle durationMs vs floor fetch time', dosync: fmtMs(m.dryCycleMs), baseline: fmtMs(m.floorInnerMs), ratio: m.dryCycleMs / m.floorInnerMs, target: '<= 1.3x', met: m.dryCycleMs / m.floorInnerMs <= 1.3 },
      { item: '1', measure: 'check cycle, process wall: dosync check vs skopeo list-tags loop', dosync: fmtMs(m.checkMs), baseline: fmtMs(m.skopeoMs), ratio: m.checkMs / m.skopeoMs, target: '< 1x', met: m.checkMs < m.skopeoMs },
      { item: '1', measure: 'dry-run cycle, process wall (sync --once --dry-run) vs floor script', dosync: fmtMs(m.dryWallMs), baseline: fmtMs(m.floorMs), ratio: m.dryWallMs / m.floorMs },
      { item: '1', measure: `requests per cycle (registry access log; floor / skopeo ${req.skopeo})`, dosync: `${req.dosyncLogged} (own count ${req.dosyncClient})`, baseline: String(req.floor), ratio: req.dosyncLogged / req.floor, target: `<= ${maxRequests} (1/repo + ping, token)`, met: req.dosyncLogged <= maxRequests },
    ],
    data: { shape, runs: scale.runs, medians: m, requests: req, samples: runs },
  };
}
