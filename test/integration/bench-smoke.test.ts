// The benchmark script still starts and produces its table and results file. Tiny sizes and three
// items (the check cycle against a real registry, dosync's CLI, the floor script and skopeo; the
// policy engine; the daemon driven by SIGHUP and sampled idle), so it costs seconds. Figures are not checked: benchmarks are not pass/fail.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from '../helpers/docker.js';
import { POLICY_KINDS } from '../../bench/policy.js';

const exec = promisify(execFile);

test('bench/run.ts at tiny size prints its table and writes the results file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dosync-bench-smoke-'));
  try {
    const out = join(dir, 'results.json');
    const { stdout } = await exec(process.execPath, ['--import', 'tsx', 'bench/run.ts'], {
      cwd: ROOT, env: { ...process.env, BENCH_SCALE: 'tiny', BENCH_ONLY: '1,3,5', BENCH_OUT: out }, maxBuffer: 16 * 1024 * 1024,
    });
    assert.match(stdout, /^#\s+measure\s+dosync\s+baseline\s+ratio\s+target\s+met$/m);
    assert.match(stdout, /^1\s+check cycle \(6 svc, 3 repos x 5 tags\), process wall: dosync check vs floor script\s/m);
    assert.match(stdout, /^3\s+policy semver >=1\.0\.0 <2\.0\.0, 1,000 tags -> /m);
    assert.match(stdout, /^5\s+idle daemon RSS, 1\.5 s after cycles 1\/2\/3 \(6 up-to-date services, MB; as shipped: MALLOC_ARENA_MAX=2\)/m);
    const results = JSON.parse(await readFile(out, 'utf8')) as {
      scale: { name: string };
      rows: Array<{ item: string; ratio?: number }>;
      items: Record<string, { requests?: { dosyncLogged: number; floor: number }; timings?: unknown[] }>;
    };
    assert.equal(results.scale.name, 'tiny');
    assert.deepEqual([...new Set(results.rows.map((r) => r.item))], ['1', '3', '5']);
    // The registry's access log saw every tool: one listing per repository at least.
    assert.ok(results.items['1'].requests!.floor >= 3, JSON.stringify(results.items['1'].requests));
    assert.ok(results.items['1'].requests!.dosyncLogged >= 3, JSON.stringify(results.items['1'].requests));
    assert.equal(results.items['3'].timings!.length, POLICY_KINDS.length);
    for (const r of results.rows) if (r.ratio !== undefined) assert.ok(Number.isFinite(r.ratio) && r.ratio > 0, JSON.stringify(r));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
