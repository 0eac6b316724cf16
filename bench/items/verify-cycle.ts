/**
 * Item 7: what cosign verification (issue 21) adds to one check cycle over the item-1 stack (200 services over
 * 50 repositories x 200 tags): `dosync check` with `verify:` next to the same check without it, same stack, same
 * registry, alternated. Each repository's image is signed by the real cosign (offline, key pair made here). A
 * check is a fresh process, so this is the cold cost (every signature looked up once); a daemon's later cycles
 * reuse verified digests (the integration test counts that: one lookup over four cycles).
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type BenchContext, type ItemResult } from '../lib/context.js';
import { DOSYNC, fmtMs, median, mustRun } from '../lib/proc.js';
import { scaleTag } from '../lib/context.js';

const COSIGN_ENV = { ...process.env, COSIGN_PASSWORD: 'bench', COSIGN_YES: 'true' };

export async function benchVerifyCycle(ctx: BenchContext): Promise<ItemResult> {
  const { scale, registry } = ctx;
  const repos = await ctx.scaleRepos();
  const file = ctx.writeStack('verify-cycle', repos, scale.services, 4);
  const project = `dosyncbench${randomBytes(3).toString('hex')}`;
  const dir = join(ctx.dir, 'verify-cycle');
  await mustRun('cosign', ['generate-key-pair', '--output-key-prefix', join(dir, 'cosign')], { env: COSIGN_ENV });
  const t0 = performance.now();
  for (const repo of repos) {
    // The seeded tags of a repository share one digest: one signature covers them all.
    const head = await fetch(`http://${registry.host}/v2/${repo}/manifests/${scaleTag(0)}`, { method: 'HEAD', headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
    const digest = head.headers.get('docker-content-digest');
    if (!digest) throw new Error(`no digest for ${repo}`);
    await mustRun('cosign', ['sign', '--key', join(dir, 'cosign.key'), '--tlog-upload=false', '--allow-http-registry', '--allow-insecure-registry', '-y', `${registry.host}/${repo}@${digest}`], { env: COSIGN_ENV });
  }
  ctx.log(`signed ${repos.length} repositories with cosign in ${((performance.now() - t0) / 1000).toFixed(1)}s`);
  const plain = join(dir, 'plain.yaml');
  const verify = join(dir, 'verify.yaml');
  writeFileSync(plain, 'prune: false\n');
  writeFileSync(verify, `verify:\n  cosign:\n    keys: [${join(dir, 'cosign.pub')}]\n`);
  const expectUpdates = Math.ceil(scale.services / 4);

  const check = async (config: string) => {
    const r = await ctx.counted(() => mustRun(DOSYNC[0], [DOSYNC[1], 'check', '-f', file, '-p', project, '-c', config, '--json'], { env: { ...process.env, DOSYNC_LOG_FORMAT: 'json' } }, [10]));
    const out = JSON.parse(r.value.stdout) as { services: Array<{ status: string; reason: string; unverified?: string }>; requests: number };
    const updates = out.services.filter((s) => s.status === 'update available').length;
    const bad = out.services.find((s) => s.status === 'error' || s.unverified || /passed over/.test(s.reason));
    if (updates !== expectUpdates || bad) throw new Error(`dosync check -c ${config}: ${updates} updates (expected ${expectUpdates}); ${JSON.stringify(bad)}`);
    return { ms: r.value.ms, requests: r.requests };
  };
  await check(plain); await check(verify);
  const runs = { plain: [] as Array<{ ms: number; requests: number }>, verify: [] as Array<{ ms: number; requests: number }> };
  for (let i = 0; i < scale.runs; i++) {
    for (const which of i % 2 === 0 ? ['verify', 'plain'] as const : ['plain', 'verify'] as const) runs[which].push(await check(which === 'plain' ? plain : verify));
  }
  const m = { plainMs: median(runs.plain.map((r) => r.ms)), verifyMs: median(runs.verify.map((r) => r.ms)) };
  const req = { plain: runs.plain.at(-1)!.requests, verify: runs.verify.at(-1)!.requests };
  const shape = `${scale.services} svc, ${repos.length} repos x ${scale.tagsPerRepo} tags, ${repos.length} signed digests`;
  return {
    rows: [
      { item: '7', measure: `check cycle with cosign verification (${shape}), process wall, vs the same check without`, dosync: fmtMs(m.verifyMs), baseline: fmtMs(m.plainMs), ratio: m.verifyMs / m.plainMs },
      { item: '7', measure: 'requests of that check with verification (registry access log) vs without', dosync: String(req.verify), baseline: String(req.plain), ratio: req.verify / req.plain },
    ],
    data: { shape, runs: scale.runs, medians: m, requests: req, addedRequests: req.verify - req.plain, addedMs: m.verifyMs - m.plainMs, samples: runs },
  };
}
