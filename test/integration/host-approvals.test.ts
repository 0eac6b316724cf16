/**
 * Whole host (`sync --all`) with approvals, the dashboard and Home Assistant, on the real engine: two compose
 * projects, each `approve: manual` its own way (a label; the project's own dosync.yaml). Approvals by CLI
 * (through the project's inbox) and by API reach the right project; a pending approval survives a daemon
 * restart; `/` lists both projects; MQTT entities per (project, service). Discovery is scoped with
 * --projects-root to the test's own directory (the shared engine runs other sessions' stacks).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import { ComposeProject, pushImage, unique, dosync, REGISTRY, sh } from '../helpers/docker.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { until } from '../helpers/wait.js';
import { auth, post, serving, startHostDaemon, statusOf, svcOf, twoManualProjects, type HostDoc } from '../helpers/host-daemon.js';

test('sync --all: approvals per project by CLI and API, pending across a restart, skip, rollback, the dashboard lists both', async () => {
  const h = await twoManualProjects('i18bap');
  const { a, b } = h;
  let daemon = startHostDaemon(h.scope);
  try {
    let url = await daemon.url();
    await until('both pending 1.1.0', async () => {
      const doc = await statusOf(url);
      return svcOf(doc, a.name)?.status?.kind === 'pending-approval' && svcOf(doc, b.name)?.status?.kind === 'pending-approval' ? doc : undefined;
    });
    assert.deepEqual([await a.versions('web'), await b.versions('web')], [['1.0.0'], ['1.0.0']], 'nothing applied before approval');
    const stateA = JSON.parse(await readFile(join(h.stateDir, 'projects', a.name, 'state.json'), 'utf8')) as { services: Record<string, { pending?: { tag: string } }> };
    assert.equal(stateA.services[`${a.name}/web`]?.pending?.tag, '1.1.0', 'the pending approval is in the project\'s own state');

    // The dashboard (bearer token, as a reader would script it) lists both projects, with project-bound forms.
    const page = await (await fetch(`${url}/`, { headers: auth })).text();
    for (const p of [a, b]) {
      assert.match(page, new RegExp(`Project ${p.name}`));
      assert.match(page, new RegExp(`formaction="/v1/approve\\?service=web&amp;project=${p.name}&amp;tag=1\\.1\\.0"`), 'the approve button names its project');
    }
    // The live stream in --all mode: a status event with every project.
    const events = await fetch(`${url}/v1/events`, { headers: auth });
    const reader = events.body!.getReader();
    let sse = '';
    while (!sse.includes('\n\n')) sse += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();
    const first = JSON.parse(/^data: (.*)$/m.exec(sse)![1]) as HostDoc;
    assert.deepEqual(first.projects.map((p) => p.project).sort(), [a.name, b.name].sort());

    // A restart: the pending approvals are still there.
    assert.equal(await daemon.stop(), 0);
    daemon = startHostDaemon(h.scope);
    url = await daemon.url();
    const after = await until('the status after the restart', async () => { const d = await statusOf(url); return d.projects.length === 2 ? d : undefined; });
    assert.equal(svcOf(after, a.name)?.pending?.tag, '1.1.0');
    assert.equal(svcOf(after, b.name)?.pending?.tag, '1.1.0');

    // An approval without a project is refused when several run; `dosync approve --project` reaches a's inbox.
    const bare = await post(url, '/v1/approve', { service: 'web' });
    assert.equal(bare.status, 404);
    assert.match(((await bare.json()) as { error: string }).error, /name the project/);
    const cli = await dosync(['approve', '--project', a.name, 'web', '--state-dir', h.stateDir]);
    assert.equal(cli.code, 0, cli.stdout + cli.stderr);
    assert.match(cli.stdout, /handed to the running dosync/);
    await until('a on 1.1.0', async () => (await serving(a) === '1.1.0' ? true : undefined), 180_000);
    assert.deepEqual(await b.versions('web'), ['1.0.0'], 'b still waits');
    assert.equal(svcOf(await statusOf(url), b.name)?.status?.kind, 'pending-approval');

    // b by the API, with its project.
    const viaApi = await post(url, '/v1/approve', { project: b.name, service: 'web', tag: '1.1.0' });
    assert.equal(viaApi.status, 202, await viaApi.text());
    await until('b on 1.1.0', async () => (await serving(b) === '1.1.0' ? true : undefined), 180_000);
    await until('b up to date in the status', async () => (svcOf(await statusOf(url), b.name)?.status?.kind === 'up-to-date' ? true : undefined));

    // Skip in one project: a newer tag of a is passed over there, by the CLI (the inbox again).
    await pushImage(h.repos.a, '1.2.0', { version: '1.2.0', healthcheck: true });
    assert.equal((await post(url, '/v1/check', { project: a.name })).status, 202);
    await until('a pending 1.2.0', async () => (svcOf(await statusOf(url), a.name)?.pending?.tag === '1.2.0' ? true : undefined));
    const skip = await dosync(['skip', '--project', a.name, 'web', '1.2.0', '--state-dir', h.stateDir]);
    assert.equal(skip.code, 0, skip.stdout + skip.stderr);
    await until('a 1.2.0 skipped', async () => { const s = svcOf(await statusOf(url), a.name); return s?.skipped.includes('1.2.0') && !s.pending ? true : undefined; });

    // Roll back from the API goes to the right project: a back on 1.0.0, b untouched.
    const rb = await post(url, '/v1/rollback', { project: a.name, service: 'web' });
    assert.equal(rb.status, 202, await rb.text());
    await until('a rolled back to 1.0.0', async () => (await serving(a) === '1.0.0' ? true : undefined), 180_000);
    assert.deepEqual(await b.versions('web'), ['1.1.0']);
    // Pause one project from the API: only it is paused.
    assert.equal((await post(url, '/v1/pause', { project: b.name })).status, 200);
    const paused = await until('b paused', async () => { const d = await statusOf(url); return d.projects.find((p) => p.project === b.name)?.paused ? d : undefined; });
    assert.equal(paused.projects.find((p) => p.project === a.name)?.paused, false);
    // The page marks b paused and offers b's resume; a keeps its pause.
    const pausedPage = await (await fetch(`${url}/`, { headers: auth })).text();
    assert.match(pausedPage, new RegExp(`data-project="${b.name}"><span role="rowheader">Project ${b.name} <span class="b warn">updates paused`));
    assert.match(pausedPage, new RegExp(`formaction="/v1/resume\\?project=${b.name}"`));
    assert.match(pausedPage, new RegExp(`formaction="/v1/pause\\?project=${a.name}"`));
  } catch (err) {
    process.stderr.write(`daemon log (last lines):\n${daemon.log().split('\n').slice(-40).join('\n')}\n`);
    throw err;
  } finally {
    await daemon.stop();
    await h.cleanup();
  }
});

test('sync --all: Home Assistant entities per (project, service); Install goes to its project; a gone project loses its entities', async () => {
  const h = await twoManualProjects('i18bmq');
  const { a, b } = h;
  const broker = await startMosquitto();
  const daemon = startHostDaemon([...h.scope, '--notify', `mqtt://${broker.username}:${broker.password}@127.0.0.1:${broker.port}`]);
  const ha = await connectAsync(`mqtt://127.0.0.1:${broker.port}`, { username: broker.username, password: broker.password });
  const retained = new Map<string, string>();
  ha.on('message', (topic, payload) => { retained.set(topic, payload.toString('utf8')); });
  await ha.subscribeAsync(['homeassistant/#', 'dosync/#']);
  const json = (topic: string) => { const t = retained.get(topic); return t ? JSON.parse(t) as Record<string, unknown> : undefined; };
  try {
    const configs = await until('both entities', () => {
      const c = [a, b].map((p) => json(`homeassistant/update/dosync_${p.name}/web/config`));
      return c.every(Boolean) ? c as Array<Record<string, unknown>> : undefined;
    });
    assert.deepEqual(configs.map((c) => c.unique_id), [`dosync_${a.name}_web`, `dosync_${b.name}_web`], 'unique ids include the project');
    assert.equal(configs[0].availability_topic, 'dosync/_host/availability');
    assert.equal(retained.get('dosync/_host/availability'), 'online');
    assert.notEqual(configs[0].command_topic, configs[1].command_topic);
    for (const c of configs) await until('latest 1.1.0', () => (json(c.state_topic as string)?.latest_version === '1.1.0' ? true : undefined));
    assert.ok(!daemon.log().includes(broker.password), 'the broker password is never logged');

    // Install on a's entity approves and applies a only.
    await ha.publishAsync(configs[0].command_topic as string, 'install');
    await until('a installed 1.1.0', () => (json(configs[0].state_topic as string)?.installed_version === '1.1.0' ? true : undefined), 180_000);
    assert.deepEqual(await a.versions('web'), ['1.1.0']);
    assert.deepEqual(await b.versions('web'), ['1.0.0']);
    assert.equal(json(configs[1].state_topic as string)?.installed_version, '1.0.0');

    // b goes away: its entity is removed (an empty retained config) with the next cycle; a's stays, and
    // b's metric series leave /metrics.
    const url = await daemon.url();
    const metricsText = async () => (await fetch(`${url}/metrics`, { headers: auth })).text();
    assert.match(await metricsText(), new RegExp(`project="${b.name}"`));
    await b.destroy();
    assert.equal((await post(url, '/v1/check', {})).status, 202);
    await until('b removed', () => (retained.get(`homeassistant/update/dosync_${b.name}/web/config`) === '' ? true : undefined));
    assert.ok(json(`homeassistant/update/dosync_${a.name}/web/config`), 'a keeps its entity');
    const left = await metricsText();
    assert.doesNotMatch(left, new RegExp(`project="${b.name}"`), 'no series of the gone project');
    assert.match(left, new RegExp(`project="${a.name}"`));
  } catch (err) {
    process.stderr.write(`daemon log (last lines):\n${daemon.log().split('\n').slice(-40).join('\n')}\n`);
    throw err;
  } finally {
    await daemon.stop();
    await ha.endAsync().catch(() => undefined);
    await broker.close();
    await h.cleanup();
  }
});

test('sync --all: a project started with several --env-file is read with all of them; the tag is changed where it is defined', async () => {
  const root = await mkdtemp(join(tmpdir(), 'i18benv-'));
  const repo = unique('i18benv/web');
  for (const v of ['1.0.0', '1.1.0']) await pushImage(repo, v, { version: v, healthcheck: true });
  const p = await ComposeProject.create(`services:\n  web:\n    image: ${REGISTRY}/${repo}:\${WEB_TAG}\n    environment:\n      GREETING: \${GREETING}\n`, 'i18benv', root);
  try {
    // The tag lives in the second file only; the first sets something else.
    await writeFile(join(p.dir, 'base.env'), 'GREETING=hello\n');
    await writeFile(join(p.dir, 'prod.env'), 'WEB_TAG=1.0.0\n');
    p.envFiles.push(join(p.dir, 'base.env'), join(p.dir, 'prod.env'));
    await p.up();
    const r = await dosync(['sync', '--all', '--once', '--projects-root', root, '--state-dir', join(root, '.state'), '--health-stable', '1s', '--health-timeout', '60s']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(await p.versions('web'), ['1.1.0']);
    assert.equal(await readFile(join(p.dir, 'prod.env'), 'utf8'), 'WEB_TAG=1.1.0\n');
    assert.equal(await readFile(join(p.dir, 'base.env'), 'utf8'), 'GREETING=hello\n');
    const [id] = await p.containers('web');
    assert.match(await sh('docker', ['inspect', '-f', '{{json .Config.Env}}', id]), /GREETING=hello/, 'recreated with the first env file too');
  } finally {
    await p.destroy();
    await rm(root, { recursive: true, force: true });
  }
});
