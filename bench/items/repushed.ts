/**
 * Item 10: what comparing digests of re-pushed tags (issue 14) costs a check cycle. A running stack of 20
 * services over 10 repositories, each on the newest tag its policy allows (`7.2`-style, so only a digest can
 * change). The same `dosync check` is run with the stack running (one HEAD per distinct repository:tag, to
 * compare with the running image) and stopped (nothing to compare: the listings only, what a check cost
 * before the comparison existed), alternated; requests come from the bench registry's access log.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchContext, ItemResult } from '../lib/context.js';
import { DOSYNC, fmtMs, median, mustRun } from '../lib/proc.js';
import { pushImage } from '../../test/helpers/docker.js';

const SERVICES = 20;
const REPOS = 10;

export async function benchRepushed(ctx: BenchContext): Promise<ItemResult> {
  const host = ctx.registry.host;
  const tag = ctx.scale.name === 'tiny' ? '7.2' : '16.4';
  const repos = Array.from({ length: REPOS }, (_, i) => `bench/repush-${randomBytes(2).toString('hex')}-${i}`);
  for (const repo of repos) await pushImage(repo, tag, { version: tag }, { registry: host });
  const project = `dosyncbenchrp${randomBytes(3).toString('hex')}`;
  const dir = join(ctx.dir, 'repushed');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'docker-compose.yml');
  const lines = ['services:'];
  for (let i = 0; i < SERVICES; i++) lines.push(`  s${i}:`, `    image: ${host}/${repos[i % REPOS]}:${tag}`, '    stop_grace_period: 1s');
  writeFileSync(file, `${lines.join('\n')}\n`);
  const compose = (...args: string[]) => mustRun('docker', ['compose', '-p', project, '-f', file, ...args], { cwd: dir });
  await compose('up', '-d', '--quiet-pull');
  const check = async () => {
    const r = await ctx.counted(() => mustRun(DOSYNC[0], [DOSYNC[1], 'check', '-f', file, '-p', project, '--json'], { env: { ...process.env, DOSYNC_LOG_FORMAT: 'json' } }));
    const out = JSON.parse(r.value.stdout) as { services: Array<{ status: string }> };
    const upToDate = out.services.filter((s) => s.status === 'up to date').length;
    if (upToDate !== SERVICES) throw new Error(`dosync check: ${upToDate} of ${SERVICES} up to date`);
    return { ms: r.value.ms, requests: r.requests };
  };
  const runs = { running: [] as Array<{ ms: number; requests: number }>, stopped: [] as Array<{ ms: number; requests: number }> };
  try {
    for (let i = 0; i < Math.max(2, ctx.scale.runs); i++) {
      await compose('start');
      runs.running.push(await check());
      await compose('stop');
      runs.stopped.push(await check());
    }
  } finally {
    await compose('down', '-t', '1').catch(() => undefined);
  }
  const m = { runningMs: median(runs.running.map((r) => r.ms)), stoppedMs: median(runs.stopped.map((r) => r.ms)) };
  const req = { running: runs.running.at(-1)!.requests, stopped: runs.stopped.at(-1)!.requests };
  const shape = `${SERVICES} svc on ${REPOS} repos, all on the newest tag`;
  return {
    rows: [
      { item: '10', measure: `requests per check with digest comparison of re-pushed tags (${shape}) vs the listings alone`, dosync: String(req.running), baseline: String(req.stopped), ratio: req.running / req.stopped, target: `<= ${req.stopped + REPOS} (+1 HEAD per repository:tag)`, met: req.running <= req.stopped + REPOS },
      { item: '10', measure: 'that check, process wall, running (compared) vs stopped (listings only)', dosync: fmtMs(m.runningMs), baseline: fmtMs(m.stoppedMs), ratio: m.runningMs / m.stoppedMs },
    ],
    data: { shape, medians: m, requests: req, samples: runs },
  };
}
