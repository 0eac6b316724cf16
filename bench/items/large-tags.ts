/**
 * Item 2: one repository with 10,000 tags, listed in pages (`n`, Link rel="next"), as the CNCF registry
 * serves them: dosync on a one-service stack against the floor script (same page size), and skopeo.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchContext, ItemResult } from '../lib/context.js';
import { fmtMs, median } from '../lib/proc.js';
import { dosyncCheck, dosyncDryCycle, floor, skopeoLoop } from '../lib/runners.js';
import { seedRepositories } from '../lib/seed.js';

export async function benchLargeTags(ctx: BenchContext): Promise<ItemResult> {
  const { scale, registry } = ctx;
  const repo = 'bench/large';
  const tags = Array.from({ length: scale.largeTags }, (_, i) => `1.${Math.floor(i / 100)}.${i % 100}`);
  const t0 = performance.now();
  await seedRepositories(registry.host, [repo], () => tags);
  ctx.log(`seeded ${repo} with ${tags.length} tags in ${((performance.now() - t0) / 1000).toFixed(1)}s`);
  const dir = join(ctx.dir, 'large');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'docker-compose.yml');
  writeFileSync(file, `services:\n  app:\n    image: ${registry.host}/${repo}:1.0.0\n`);
  const project = `dosyncbench${randomBytes(3).toString('hex')}`;

  const check = async () => {
    const r = await ctx.counted(() => dosyncCheck(file, project));
    if (r.value.statuses['update available'] !== 1) throw new Error(`dosync check on ${repo}: ${JSON.stringify(r.value.statuses)}`);
    return { ms: r.value.ms, requests: r.requests };
  };
  const plain = async () => {
    const r = await ctx.counted(() => floor(registry.host, [repo]));
    if (r.value.tags !== tags.length) throw new Error(`floor listed ${r.value.tags} of ${tags.length} tags`);
    return { ...r.value, logged: r.requests };
  };
  const dry = () => dosyncDryCycle(file, project);
  await check(); await plain(); await dry();
  const c: number[] = []; const f: number[] = []; const fi: number[] = []; const d: number[] = [];
  let requests = { dosync: 0, floor: 0 };
  for (let i = 0; i < scale.runs; i++) {
    const a = await check();
    const b = await plain();
    const e = await dry();
    c.push(a.ms); f.push(b.ms); fi.push(b.innerMs); d.push(e.cycleMs);
    requests = { dosync: a.requests, floor: b.logged };
  }
  const sk = await ctx.counted(() => skopeoLoop(registry.host, [repo]));
  if (sk.value.tags !== tags.length) throw new Error(`skopeo listed ${sk.value.tags} of ${tags.length} tags`);
  const m = { checkMs: median(c), floorMs: median(f), dryCycleMs: median(d), floorInnerMs: median(fi), skopeoMs: sk.value.ms };
  return {
    rows: [
      { item: '2', measure: `${tags.length} tags in pages of 1000, process wall: dosync check vs floor script`, dosync: fmtMs(m.checkMs), baseline: fmtMs(m.floorMs), ratio: m.checkMs / m.floorMs },
      { item: '2', measure: `${tags.length} tags, in-process: dry-run cycle durationMs vs floor fetch time`, dosync: fmtMs(m.dryCycleMs), baseline: fmtMs(m.floorInnerMs), ratio: m.dryCycleMs / m.floorInnerMs },
      { item: '2', measure: `${tags.length} tags, requests (access log; skopeo list-tags: ${sk.requests} in ${fmtMs(sk.value.ms)})`, dosync: String(requests.dosync), baseline: String(requests.floor), ratio: requests.dosync / requests.floor },
    ],
    data: { tags: tags.length, medians: m, requests: { ...requests, skopeo: sk.requests }, samples: { check: c, floor: f, floorInner: fi, dryCycle: d } },
  };
}
