/**
 * Item 11 (issue 16): one dosync for the whole host. 30 projects with 300 services over 100 repositories
 * (listed in dosync.yaml `projects:`) against the single-project check of the same 300 services in one
 * compose file: the wall time of `check --json` (target: within 1.2x), the requests each sends (one
 * listing per repository, plus ping and token), and the idle RSS of the daemon over each (within 1.2x).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { type BenchContext, type ItemResult, scaleTag } from '../lib/context.js';
import { DOSYNC, fmtMs, median, mustRun, procSample } from '../lib/proc.js';
import { seedRepositories } from '../lib/seed.js';
import { SHIPPED_ENV } from './footprint.js';

const SIZES = { full: { projects: 30, services: 300, repos: 100, tags: 20, idleMs: 10_000 }, tiny: { projects: 3, services: 6, repos: 3, tags: 5, idleMs: 1000 } } as const;

/** Service i runs repository i % repos, the oldest tag for every 4th (an update is due), else the newest. */
function serviceLines(i: number, host: string, repos: string[], tags: number): string[] {
  const tag = i % 4 === 0 ? scaleTag(0) : scaleTag(tags - 1);
  return [`  svc-${String(i + 1).padStart(3, '0')}:`, '    <<: *bench', `    image: ${host}/${repos[i % repos.length]}:${tag}`];
}
const HEAD = ['x-bench: &bench', '  labels: [dosync.update_stopped=true]', 'services:'];

function countStatuses(services: Array<{ status: string; service: string; reason: string }>, into: Record<string, number>): void {
  for (const s of services) {
    if (s.status === 'error') throw new Error(`dosync check: ${s.service}: ${s.reason}`);
    into[s.status] = (into[s.status] ?? 0) + 1;
  }
}

/** The daemon over `args` (dry run, 1 h interval): RSS after its first cycle and `idleMs` of idling. */
async function idleRss(args: string[], doneMsg: string, idleMs: number): Promise<number> {
  const child = spawn(DOSYNC[0], [DOSYNC[1], 'sync', ...args, '--dry-run', '-i', '1h'], { env: { ...process.env, ...SHIPPED_ENV, DOSYNC_LOG_FORMAT: 'json' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "${doneMsg}" within 5 minutes: ${stderr}`)), 300_000);
      child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`dosync sync exited ${code}: ${stderr}`)); });
      createInterface({ input: child.stdout }).on('line', (line) => {
        if (line.startsWith('{') && (JSON.parse(line) as { msg?: string }).msg === doneMsg) { clearTimeout(timer); resolve(); }
      });
    });
    await new Promise((r) => setTimeout(r, idleMs));
    return procSample(child.pid!).rssMb;
  } finally {
    child.removeAllListeners('exit');
    child.kill('SIGKILL');
  }
}

export async function benchHostProjects(ctx: BenchContext): Promise<ItemResult> {
  const size = SIZES[ctx.scale.name];
  const host = ctx.registry.host;
  const repos = Array.from({ length: size.repos }, (_, i) => `bench/host-${String(i + 1).padStart(3, '0')}`);
  await seedRepositories(host, repos, () => Array.from({ length: size.tags }, (_, t) => scaleTag(t)));
  const dir = join(ctx.dir, 'host-projects');
  // The single project: every service in one file.
  mkdirSync(join(dir, 'single'), { recursive: true });
  const single = join(dir, 'single', 'docker-compose.yml');
  writeFileSync(single, [...HEAD, ...Array.from({ length: size.services }, (_, i) => serviceLines(i, host, repos, size.tags)).flat()].join('\n') + '\n');
  // The same services split over the projects, in order, listed in a host dosync.yaml.
  const perProject = size.services / size.projects;
  const projects: string[] = [];
  for (let p = 0; p < size.projects; p++) {
    const pdir = join(dir, `p${String(p + 1).padStart(2, '0')}`);
    mkdirSync(pdir, { recursive: true });
    writeFileSync(join(pdir, 'docker-compose.yml'), [...HEAD, ...Array.from({ length: perProject }, (_, k) => serviceLines(p * perProject + k, host, repos, size.tags)).flat()].join('\n') + '\n');
    projects.push(`  - { name: benchhost${p + 1}, dir: ${pdir} }`);
  }
  const hostConfig = join(dir, 'dosync.yaml');
  writeFileSync(hostConfig, `projects:\n${projects.join('\n')}\n`);
  const stateDir = join(dir, 'state');
  const env = { ...process.env, DOSYNC_LOG_FORMAT: 'json' };

  const checkSingle = async () => {
    const r = await ctx.counted(() => mustRun(DOSYNC[0], [DOSYNC[1], 'check', '-f', single, '-p', 'benchhostsingle', '--json', '--state-dir', stateDir], { env }, [10]));
    const statuses: Record<string, number> = {};
    countStatuses((JSON.parse(r.value.stdout) as { services: Array<{ status: string; service: string; reason: string }> }).services, statuses);
    return { ms: r.value.ms, requests: r.requests, statuses };
  };
  const checkHost = async () => {
    const r = await ctx.counted(() => mustRun(DOSYNC[0], [DOSYNC[1], 'check', '-c', hostConfig, '--json', '--state-dir', stateDir], { env }, [10]));
    const doc = JSON.parse(r.value.stdout) as { projects: Array<{ project: string; error?: string; services: Array<{ status: string; service: string; reason: string }> }>; requestsByKind: Record<string, number> };
    const statuses: Record<string, number> = {};
    for (const p of doc.projects) {
      if (p.error) throw new Error(`dosync check --all: ${p.project}: ${p.error}`);
      countStatuses(p.services, statuses);
    }
    if (doc.projects.length !== size.projects) throw new Error(`expected ${size.projects} projects, got ${doc.projects.length}`);
    return { ms: r.value.ms, requests: r.requests, statuses, listings: doc.requestsByKind.tags };
  };
  // One untimed round each warms the registry's file cache and node's compile cache.
  const warmS = await checkSingle();
  const warmH = await checkHost();
  if (JSON.stringify(warmS.statuses) !== JSON.stringify(warmH.statuses)) throw new Error(`the two checks disagree: ${JSON.stringify(warmS.statuses)} vs ${JSON.stringify(warmH.statuses)}`);
  const runs = { single: [] as number[], host: [] as number[] };
  let last = { single: warmS, host: warmH };
  for (let i = 0; i < ctx.scale.runs; i++) {
    const order = i % 2 === 0 ? ['single', 'host'] as const : ['host', 'single'] as const;
    for (const which of order) {
      if (which === 'single') { last.single = await checkSingle(); runs.single.push(last.single.ms); }
      else { last.host = await checkHost(); runs.host.push(last.host.ms); }
    }
  }
  const m = { singleMs: median(runs.single), hostMs: median(runs.host) };
  const rss = {
    single: await idleRss(['-f', single, '-p', 'benchhostsingle', '--state-dir', stateDir], 'dry run done', size.idleMs),
    host: await idleRss(['-c', hostConfig, '--state-dir', stateDir], 'host cycle done', size.idleMs),
  };
  const shape = `${size.projects} projects, ${size.services} svc, ${size.repos} repos x ${size.tags} tags`;
  const maxRequests = size.repos + 2;
  return {
    rows: [
      { item: '11', measure: `whole host check (${shape}), process wall: check -c projects vs check -f of the same services`, dosync: fmtMs(m.hostMs), baseline: fmtMs(m.singleMs), ratio: m.hostMs / m.singleMs, target: '<= 1.2x', met: m.hostMs / m.singleMs <= 1.2 },
      { item: '11', measure: `whole host check, requests (registry access log; single project ${last.single.requests})`, dosync: `${last.host.requests} (${last.host.listings} listings)`, baseline: String(last.single.requests), ratio: last.host.requests / last.single.requests, target: `<= ${maxRequests} (1 listing/repo + ping, token)`, met: last.host.requests <= maxRequests && last.host.listings === size.repos },
      { item: '11', measure: `whole host daemon idle RSS after a cycle (${size.idleMs / 1000}s idle) vs the single-project daemon`, dosync: `${rss.host.toFixed(1)} MB`, baseline: `${rss.single.toFixed(1)} MB`, ratio: rss.host / rss.single, target: '<= 1.2x', met: rss.host / rss.single <= 1.2 },
    ],
    data: { shape, runs: { ...runs }, medians: m, requests: { host: last.host.requests, single: last.single.requests, listings: last.host.listings }, rssMb: rss },
  };
}
