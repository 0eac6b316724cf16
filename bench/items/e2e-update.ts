/**
 * Item 4: a real compose project on 1.0.0 with 1.0.1 in the registry; time `dosync sync --once` from
 * start to exit (the service recreated on 1.0.1 and past its health gate) against the same update
 * by hand: `docker compose pull svc && docker compose up -d --no-deps svc` after editing the tag.
 * The image has no HEALTHCHECK and dosync runs with `--health-stable 0s`, so neither side waits for
 * a health verdict the other does not. Before every run the stack is back on 1.0.0 and 1.0.1 is
 * removed locally, so both really pull.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchContext, ItemResult } from '../lib/context.js';
import { DOSYNC, fmtMs, median, mustRun, timed } from '../lib/proc.js';
import { pushImage } from '../../test/helpers/docker.js';

export async function benchEndToEndUpdate(ctx: BenchContext): Promise<ItemResult> {
  const host = ctx.registry.host;
  const repo = `bench/e2e-${randomBytes(3).toString('hex')}`;
  const project = `dosyncbenche2e${randomBytes(3).toString('hex')}`;
  const dir = join(ctx.dir, 'e2e');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'docker-compose.yml');
  const image = (tag: string) => `${host}/${repo}:${tag}`;
  const writeStack = (tag: string) => writeFileSync(file, `services:\n  svc:\n    image: ${image(tag)}\n    stop_grace_period: 2s\n`);
  const compose = (...args: string[]) => ['compose', '-p', project, '-f', file, ...args];
  const running = async () => (await mustRun('docker', ['ps', '--filter', `label=com.docker.compose.project=${project}`, '--filter', 'label=com.docker.compose.service=svc', '--format', '{{.Image}} {{.State}}'])).stdout.trim();

  await pushImage(repo, '1.0.0', { version: '1.0.0' }, { registry: host });
  await pushImage(repo, '1.0.1', { version: '1.0.1' }, { registry: host });
  const reset = async () => {
    writeStack('1.0.0');
    await mustRun('docker', compose('up', '-d', '--quiet-pull'), { cwd: dir });
    const now = await running();
    if (now !== `${image('1.0.0')} running`) throw new Error(`reset: svc is "${now}", expected ${image('1.0.0')} running`);
    await timed('docker', ['rmi', image('1.0.1')]); // absent after a manual run's reset is fine
  };
  const verify = async (who: string) => {
    const now = await running();
    if (now !== `${image('1.0.1')} running`) throw new Error(`${who}: svc is "${now}" afterwards, expected ${image('1.0.1')} running`);
  };
  const viaDosync = async () => {
    await reset();
    const r = await mustRun(DOSYNC[0], [DOSYNC[1], 'sync', '-f', file, '-p', project, '--once', '--health-stable', '0s'], { env: { ...process.env, DOSYNC_LOG_FORMAT: 'json' } });
    await verify('dosync sync --once');
    // The cycle's own duration (its "cycle done" line): the update without node's start-up.
    const done = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg?: string; durationMs?: number; updates?: number })
      .find((l) => l.msg === 'cycle done');
    if (done?.updates !== 1 || typeof done.durationMs !== 'number') throw new Error(`dosync sync --once: no "cycle done" with 1 update: ${r.stdout.slice(-1500)}`);
    cycles.push(done.durationMs);
    return r.ms;
  };
  const byHand = async () => {
    await reset();
    writeStack('1.0.1'); // the edit a person makes first; not timed
    const r = await mustRun('sh', ['-c', 'docker "$@" pull svc && docker "$@" up -d --no-deps svc', 'sh', ...compose()], { cwd: dir });
    await verify('docker compose pull && up');
    return r.ms;
  };

  const d: number[] = [];
  const h: number[] = [];
  const cycles: number[] = [];
  try {
    for (let i = 0; i < ctx.scale.updateRuns; i++) {
      d.push(await viaDosync());
      h.push(await byHand());
    }
  } finally {
    await timed('docker', compose('down', '-v', '--remove-orphans', '-t', '1'), { cwd: dir });
    await timed('docker', ['rmi', image('1.0.0'), image('1.0.1')]);
    rmSync(dir, { recursive: true, force: true });
  }
  const md = median(d);
  const mh = median(h);
  const mc = median(cycles);
  return {
    rows: [
      {
        item: '4', measure: `end-to-end update 1.0.0 -> 1.0.1, median of ${d.length} (no HEALTHCHECK, --health-stable 0s)`,
        dosync: fmtMs(md), baseline: `${fmtMs(mh)} (compose pull && up)`, ratio: md / mh, target: '<= 1.1x', met: md / mh <= 1.1,
      },
      { item: '4', measure: 'end-to-end update, dosync\'s cycle only ("cycle done" durationMs, no node start-up)', dosync: fmtMs(mc), baseline: fmtMs(mh), ratio: mc / mh },
    ],
    data: { dosyncMs: d, dosyncCycleMs: cycles, manualMs: h, medianDosyncMs: md, medianDosyncCycleMs: mc, medianManualMs: mh, healthGate: 'image without HEALTHCHECK, --health-stable 0s' },
  };
}
