/**
 * Whole host (issue-18b), the pure parts: what a host cycle runs per project, the project-grouped status,
 * Home Assistant entities per (project, service), the dashboard's project sections, several env files.
 */
import { test, after } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { projectAsk, type ProjectRun } from '../../../src/projects/host.js';
import { HostPlans, hostStatusDoc } from '../../../src/projects/host-status.js';
import { projectsFromContainers } from '../../../src/projects/discover.js';
import { discoveryMessages, hostAvailability, topicsFor } from '../../../src/notify/homeassistant.js';
import { dashboardPage, servicesFragment } from '../../../src/dashboard/page.js';
import { pageDoc } from '../../../src/api/server.js';
import { mergeProjectConfig } from '../../../src/projects/config.js';
import type { StatusDoc } from '../../../src/api/status-doc.js';
import type { ContainerSummary } from '../../../src/engine/docker.js';
import type { CycleReport } from '../../../src/sync/cycle.js';
import { StateStore } from '../../../src/sync/state.js';
import { createMetrics } from '../../../src/metrics/index.js';

test('projectAsk: a scheduled cycle runs all; a request runs its project only; a request never narrows a cycle of all', () => {
  assert.deepEqual(projectAsk({}, 'shop'), {}, 'nothing asked: the scheduled cycle of every project');
  assert.deepEqual(projectAsk({ all: {} }, 'shop'), { checkOnly: undefined });
  const byProject = { shop: { services: ['web'] } };
  assert.deepEqual(projectAsk({ byProject }, 'shop'), { services: ['web'] });
  assert.equal(projectAsk({ byProject }, 'blog'), undefined, 'another project does not run');
  assert.deepEqual(projectAsk({ all: { checkOnly: false }, byProject }, 'shop'), { checkOnly: false, forced: undefined }, 'the whole project runs');
  assert.deepEqual(projectAsk({ all: { checkOnly: true }, byProject: { shop: { checkOnly: true } } }, 'shop'), { checkOnly: true, forced: undefined });
  assert.deepEqual(projectAsk({ all: { checkOnly: true }, byProject: { shop: { services: ['web'] } } }, 'shop')?.checkOnly, false, 'an update asked for one project is not made a check');
  const forced = { service: 'web', tag: '2.0.0' };
  assert.deepEqual(projectAsk({ all: {}, byProject: { shop: { forced } } }, 'shop')?.forced, forced);
});

const plan = (name: string, decision: CycleReport['plans'][number]['decision']) => ({ service: { name, image: `reg/${name}:1.0.0`, labels: {} }, decision }) as unknown as CycleReport['plans'][number];
const report = (plans: CycleReport['plans']): CycleReport => ({ plans, units: [], outcomes: [], durationMs: 1, failures: 0 });

test('hostStatusDoc: one full status document per project; a service not asked for keeps its last real plan', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'i18b-state-'));
  const state = await StateStore.open(join(dir, 'state.json'));
  after(() => rm(dir, { recursive: true, force: true }));
  state.setStatus('shop/web', { kind: 'pending-approval', tag: '1.1.0', current: '1.0.0', reason: 'waiting' });
  const plans = new HostPlans();
  const first: ProjectRun[] = [{ project: 'shop', files: [], state, report: report([plan('web', { kind: 'update', toTag: '1.1.0' } as never), plan('db', { kind: 'up-to-date' } as never)]) }];
  plans.remember(first);
  const narrowed: ProjectRun[] = [
    { project: 'blog', files: [], error: 'project blog: cannot read /srv/blog/compose.yml (EACCES)' },
    { project: 'shop', files: [], state, report: report([plan('web', { kind: 'skipped', reason: 'not requested in this cycle' } as never), plan('db', { kind: 'up-to-date' } as never)]) },
  ];
  plans.remember(narrowed);
  const doc = hostStatusDoc(narrowed, { plans, paused: new Set(['shop']), checkOnly: false, cycle: { running: false } });
  assert.equal(doc.project, '*');
  assert.deepEqual(doc.projects.map((p) => [p.project, p.paused, p.error]), [['blog', false, 'project blog: cannot read /srv/blog/compose.yml (EACCES)'], ['shop', true, undefined]]);
  const web = doc.projects[1].services.find((s) => s.name === 'web')!;
  assert.deepEqual([web.project, web.status?.kind, web.availableTag, web.currentTag], ['shop', 'pending-approval', '1.1.0', '1.0.0']);
  assert.deepEqual(plans.plansOf(narrowed[1]).map((p) => p.decision.kind), ['update', 'up-to-date'], 'the last real plan of web');
  plans.forget('shop');
  assert.deepEqual(plans.plansOf(narrowed[1]).map((p) => p.decision.kind), ['skipped', 'up-to-date']);
  assert.equal(doc.unconfiguredStacks, undefined, 'no stack to name: no field');
});

test('the whole-host dashboard says what it cannot look after: a project that did not run and a stack with no file, escaped', () => {
  const runs: ProjectRun[] = [
    { project: 'blog', files: [], error: 'project blog: cannot read /srv/blog/<compose>.yml (EACCES)' },
    { project: 'shop', files: [], report: report([plan('web', { kind: 'up-to-date' } as never)]) },
  ];
  const doc = hostStatusDoc(runs, { plans: new HostPlans(), paused: new Set(), checkOnly: false, cycle: { running: false, lastAt: new Date(0).toISOString() }, unconfigured: ['edge'] });
  assert.deepEqual(doc.unconfiguredStacks?.map((x) => x.stack), ['edge']);
  assert.match(doc.unconfiguredStacks![0]!.hint, /^stack edge: add it to projects: with its file/);
  const html = servicesFragment({ doc: pageDoc(doc), role: 'admin', csrf: 't' });
  assert.match(html, /<h2 id="h-attention">Needs attention \(2\)<\/h2>/);
  assert.match(html, /<li><strong>Project blog<\/strong>: project blog: cannot read \/srv\/blog\/&lt;compose&gt;\.yml \(EACCES\)<\/li>/);
  assert.match(html, /<li><strong>Stack edge<\/strong>: not looked after: stack edge: add it to projects:/);
  assert.match(html, /data-service="web"/, 'the services are still listed');
  const fine = hostStatusDoc([runs[1]!], { plans: new HostPlans(), paused: new Set(), checkOnly: false, cycle: { running: false } });
  assert.doesNotMatch(servicesFragment({ doc: pageDoc(fine), role: 'admin', csrf: 't' }), /Needs attention/);
});

const at = new Date(0).toISOString();
const projectDoc = (project: string, names: string[]): StatusDoc => ({
  project,
  services: names.map((name) => ({ name, project, image: `reg/${name}:1.0.0`, currentTag: '1.0.0', availableTag: '1.1.0', status: { kind: 'pending-approval', at, tag: '1.1.0' }, history: [], failed: [], skipped: [] })),
});
const hostDoc = (projects: StatusDoc[]): StatusDoc => ({ project: '*', services: [], projects });

test('Home Assistant, whole host: entities per (project, service) under the host availability; a gone project loses its entities', () => {
  const target = { prefix: 'homeassistant', base: 'dosync' };
  const topicsOf = (p: string) => topicsFor(target, p, hostAvailability(target));
  const first = discoveryMessages(hostDoc([projectDoc('shop', ['web']), projectDoc('blog', ['web'])]), topicsOf, new Set());
  const configs = first.filter((m) => m.topic.endsWith('/config'));
  assert.deepEqual(configs.map((m) => m.topic), ['homeassistant/update/dosync_shop/web/config', 'homeassistant/update/dosync_blog/web/config']);
  const parsed = configs.map((m) => JSON.parse(m.payload) as Record<string, unknown>);
  assert.deepEqual(parsed.map((c) => c.unique_id), ['dosync_shop_web', 'dosync_blog_web']);
  assert.deepEqual(parsed.map((c) => c.command_topic), ['dosync/shop/web/install', 'dosync/blog/web/install']);
  assert.deepEqual(parsed.map((c) => c.availability_topic), ['dosync/_host/availability', 'dosync/_host/availability']);
  assert.deepEqual(parsed.map((c) => (c.device as { identifiers: string[] }).identifiers), [['dosync_shop'], ['dosync_blog']]);
  const later = discoveryMessages(hostDoc([projectDoc('shop', ['web'])]), topicsOf, new Set(configs.map((m) => m.topic)));
  assert.deepEqual(later.filter((m) => m.payload === '').map((m) => m.topic), ['homeassistant/update/dosync_blog/web/config']);
});

test('dashboard, whole host: one list grouped by project; every action names its project', () => {
  // What the API server hands the page for a whole-host document: every project's services in one list.
  const doc: StatusDoc = { project: '*', services: [...projectDoc('shop', ['web']).services, ...projectDoc('blog', ['web']).services] };
  const page = dashboardPage({ doc, role: 'admin', csrf: 'tok' });
  assert.match(page, /Project shop/);
  assert.match(page, /Project blog/);
  for (const p of ['shop', 'blog']) {
    assert.match(page, new RegExp(`formaction="/v1/approve\\?service=web&amp;project=${p}&amp;tag=1\\.1\\.0"`), `approve in ${p} names ${p}`);
    assert.match(page, new RegExp(`href="/service\\?service=web&amp;project=${p}"`));
  }
  assert.equal((servicesFragment({ doc, role: 'admin', csrf: 'tok' }).match(/id="view"/g) ?? []).length, 1, 'one view for the client script to replace');
  const single = dashboardPage({ doc: projectDoc('shop', ['web']), role: 'admin', csrf: 'tok' });
  assert.doesNotMatch(single, /project=shop/, 'a single-project page names no project');
});

test('a project started with several --env-file passes them all, in order; the project .env is not an -e file', () => {
  const c = (labels: Record<string, string>) => ({ id: 'x', labels, created: 0 }) as unknown as ContainerSummary;
  const [spec] = projectsFromContainers([c({
    'com.docker.compose.project': 'shop', 'com.docker.compose.project.config_files': '/srv/shop/compose.yml', 'com.docker.compose.project.working_dir': '/srv/shop',
    'com.docker.compose.project.environment_file': '/srv/shop/.env,/srv/shop/base.env,/etc/shop/prod.env',
  })]);
  assert.deepEqual(spec.envFile, ['/srv/shop/base.env', '/etc/shop/prod.env']);
});

test('a project\'s own dosync.yaml may say approve: manual', () => {
  const merged = mergeProjectConfig({ approve: 'auto' }, { approve: 'manual' }, '/srv/shop/dosync.yaml');
  assert.equal(merged.config.approve, 'manual');
  assert.deepEqual(merged.warnings, []);
});

test('metrics: a gone project\'s series are dropped, whatever their labels; the other project\'s stay', async () => {
  const m = createMetrics({ processMetrics: false });
  for (const project of ['shop', 'blog']) {
    m.checked('web', project);
    m.updated('web', 'success', project);
    m.failed('web', 'health', project);
    m.rolledBack('web', project);
    m.unitUpdated('tag in .env', 'success', project);
    m.setUpdateAvailable('web', true, { current: '1.0.0', newest: '1.1.0' }, project);
  }
  await m.forgetProject('blog');
  const text = await m.render();
  assert.doesNotMatch(text, /project="blog"/);
  for (const name of ['dosync_checks_total', 'dosync_updates_total', 'dosync_failures_total', 'dosync_rollbacks_total', 'dosync_unit_updates_total', 'dosync_update_available']) {
    assert.match(text, new RegExp(`${name}\\{[^}]*project="shop"`), name);
  }
});
