/**
 * Whole host: `--all` finds the compose projects from the engine's labels, each kept apart. Discovery is
 * scoped with --projects-root to this test's directory: the shared engine runs other sessions' stacks.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ComposeProject, pushImage, unique, dosync, logLines, REGISTRY, ROOT, sh } from '../helpers/docker.js';

const FAST = ['--health-stable', '1s', '--health-timeout', '30s'];

interface State { intent?: { step: string }; services: Record<string, { failed?: Array<{ tag: string }>; lastUpdate?: { outcome: string } }> }
const stateOf = async (stateDir: string, project: string): Promise<State> => JSON.parse(await readFile(join(stateDir, 'projects', project, 'state.json'), 'utf8'));
/** A service's entry (state keys are `project/service`). */
const entryOf = async (stateDir: string, project: string, service = 'web') => (await stateOf(stateDir, project)).services[`${project}/${service}`];

/** A projects root of the test's own with one-service stacks in it; `cleanup` removes them all (a second destroy is harmless). */
async function scratchRoot(prefix: string) {
  const root = await mkdtemp(join(tmpdir(), `${prefix}-`));
  const made: ComposeProject[] = [];
  return {
    root,
    stack: async (name: string, image: string) => {
      const p = await ComposeProject.create(`services:\n  web:\n    image: ${image}\n`, name, root);
      made.push(p);
      return p;
    },
    cleanup: async () => {
      for (const p of made) await p.destroy();
      await rm(root, { recursive: true, force: true });
    },
  };
}

async function upWith(p: ComposeProject, ...extra: string[]): Promise<void> {
  p.extraFiles.push(...extra);
  await p.up();
}

describe('dosync sync --all / check --all', () => {
  let root: string;
  let stateDir: string;
  const repos = { shop: unique('i16/shop'), blog: unique('i16/blog'), files: unique('i16/files'), db: unique('i16/db') };
  const projects: Record<string, ComposeProject> = {};
  const scope = () => ['--projects-root', root, '--state-dir', stateDir];

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'i16host-'));
    stateDir = join(root, '.dosync-state');
    await Promise.all(Object.entries(repos).map(async ([name, repo]) => {
      await pushImage(repo, '1.0.0', { version: '1.0.0', healthcheck: true });
      await pushImage(repo, '1.1.0', name === 'files' ? { version: '1.1.0', unhealthy: true } : { version: '1.1.0', healthcheck: true });
    }));
    // 1: the tag in .env, plus an env_file: the container reads.
    const shop = await ComposeProject.create(`services:\n  web:\n    image: ${REGISTRY}/${repos.shop}:\${SHOP_TAG}\n    env_file: [app.env]\n`, 'i16shop', root);
    await writeFile(join(shop.dir, '.env'), 'SHOP_TAG=1.0.0\n');
    await writeFile(join(shop.dir, 'app.env'), 'GREETING=hello\n');
    // 2: two -f files, the image in the override.
    const blog = await ComposeProject.create(`services:\n  web:\n    image: ${REGISTRY}/${repos.blog}:1.0.0\n    environment: [FROM_BASE=1]\n`, 'i16blog', root);
    const prod = join(blog.dir, 'prod.yml');
    await writeFile(prod, `services:\n  web:\n    labels: [tier=prod]\n`);
    // 3: relative bind mounts; its 1.1.0 is unhealthy and is rolled back.
    const files = await ComposeProject.create(`services:\n  web:\n    image: ${REGISTRY}/${repos.files}:1.0.0\n    volumes: [./data:/data, ./conf/app.conf:/etc/app.conf:ro]\n`, 'i16files', root);
    await mkdir(join(files.dir, 'data'));
    await mkdir(join(files.dir, 'conf'));
    await writeFile(join(files.dir, 'conf', 'app.conf'), 'x=1\n');
    // 4: opted out with Watchtower's label.
    const db = await ComposeProject.create(`services:\n  web:\n    image: ${REGISTRY}/${repos.db}:1.0.0\n    labels: [com.centurylinklabs.watchtower.enable=false]\n`, 'i16db', root);
    Object.assign(projects, { shop, blog, files, db });
    await Promise.all([shop.up(), upWith(blog, prod), files.up(), db.up()]);
  });

  after(async () => {
    const errors: unknown[] = [];
    for (const p of Object.values(projects)) await p.destroy().catch((e: unknown) => errors.push(e));
    await rm(root, { recursive: true, force: true });
    if (errors.length > 0) throw errors[0];
  });

  test('check --all --json shows the four projects, the opted-out one skipped', async () => {
    const r = await dosync(['check', '--all', '--json', ...scope()]);
    assert.equal(r.code, 10, r.stdout + r.stderr);
    const doc = JSON.parse(r.stdout) as { projects: Array<{ project: string; services: Array<{ service: string; status: string; reason: string }> }>; requestsByKind: Record<string, number> };
    assert.equal(doc.requestsByKind.tags, 3, 'one listing per watched repository (the opted-out one is not asked)');
    const by = Object.fromEntries(doc.projects.map((p) => [p.project, p.services]));
    assert.deepEqual(Object.keys(by).sort(), Object.values(projects).map((p) => p.name).sort(), 'exactly the projects under the root');
    for (const k of ['shop', 'blog', 'files'] as const) assert.equal(by[projects[k].name][0].status, 'update available', k);
    assert.equal(by[projects.db.name][0].status, 'skipped');
    assert.match(by[projects.db.name][0].reason, /opted out/);
    const table = await dosync(['check', '--all', ...scope()]);
    assert.match(table.stdout.split('\n')[0], /^PROJECT\s+SERVICE\s+CURRENT/);
  });

  test('pause --project holds that project only', async () => {
    const paused = await dosync(['pause', '--project', projects.blog.name, '--state-dir', stateDir]);
    assert.equal(paused.code, 0, paused.stderr);
    assert.ok(existsSync(join(stateDir, 'projects', projects.blog.name, 'paused')));
    try {
      const r = await dosync(['check', '--all', '--json', ...scope()]);
      const by = Object.fromEntries((JSON.parse(r.stdout) as { projects: Array<{ project: string; services: Array<{ status: string }> }> }).projects.map((p) => [p.project, p.services[0].status]));
      assert.equal(by[projects.blog.name], 'held');
      assert.equal(by[projects.shop.name], 'update available');
    } finally {
      const resumed = await dosync(['resume', '--project', projects.blog.name, '--state-dir', stateDir]);
      assert.equal(resumed.code, 0, resumed.stderr);
    }
  });

  test('one sync --all --once updates two, rolls back the failing one, leaves the opted-out one alone', async () => {
    const r = await dosync(['sync', '--all', '--once', ...scope(), ...FAST]);
    assert.equal(r.code, 1, 'a rollback is a failed service');
    const { shop, blog, files, db } = projects;
    assert.deepEqual(await shop.versions('web'), ['1.1.0']);
    assert.equal(await readFile(join(shop.dir, '.env'), 'utf8'), 'SHOP_TAG=1.1.0\n', 'the tag is changed where it is defined');
    const [shopId] = await shop.containers('web');
    assert.match(await sh('docker', ['inspect', '-f', '{{json .Config.Env}}', shopId]), /GREETING=hello/, 'env_file: still applied');
    assert.deepEqual(await blog.versions('web'), ['1.1.0']);
    const [blogId] = await blog.containers('web');
    assert.equal(await sh('docker', ['inspect', '-f', '{{index .Config.Labels "tier"}}', blogId]), 'prod', 'recreated with both -f files');
    assert.deepEqual(await files.versions('web'), ['1.0.0'], 'rolled back');
    const [filesId] = await files.containers('web');
    assert.match(await sh('docker', ['inspect', '-f', '{{range .Mounts}}{{.Source}} {{end}}', filesId]), new RegExp(`${files.dir}/data`), 'the relative bind mount resolves to the project dir');
    assert.deepEqual((await entryOf(stateDir, files.name))?.failed?.map((f) => f.tag), ['1.1.0']);
    assert.deepEqual(await db.versions('web'), ['1.0.0']);
    assert.ok(!existsSync(join(stateDir, 'projects', db.name, 'state.json')) || !(await entryOf(stateDir, db.name))?.lastUpdate, 'the opted-out project was not updated');
    // Each project keeps its own state and backups.
    assert.equal((await entryOf(stateDir, shop.name))?.lastUpdate?.outcome, 'updated');
    assert.ok(existsSync(join(stateDir, 'projects', shop.name, 'backups')), 'backups under the project\'s state dir');
    const lines = logLines(r.stdout);
    assert.ok(lines.some((l) => l.msg === 'host cycle done' && l.projects === 4), r.stdout);
  });
});

describe('whole host: crash recovery and projects coming and going', () => {
  test('a kill during one project\'s update recovers that project only', async () => {
    const host = await scratchRoot('i16crash');
    const stateDir = join(host.root, '.state');
    const repo = unique('i16/crash');
    for (const v of ['1.0.0', '1.1.0']) await pushImage(repo, v, { version: v, healthcheck: true });
    const still = unique('i16/still');
    await pushImage(still, '1.0.0', { version: '1.0.0', healthcheck: true });
    try {
      const moving = await host.stack('i16mov', `${REGISTRY}/${repo}:1.0.0`);
      const steady = await host.stack('i16std', `${REGISTRY}/${still}:1.0.0`);
      await Promise.all([moving.up(), steady.up()]);
      const scope = ['--all', '--once', '--projects-root', host.root, '--state-dir', stateDir, ...FAST];
      const crashed = await dosync(['sync', ...scope], { env: { DOSYNC_FAULT_CRASH_AFTER: 'file-written' } });
      assert.notEqual(crashed.code, 0, 'killed');
      assert.equal((await stateOf(stateDir, moving.name)).intent?.step, 'file-written');
      const steadyBefore = await steady.containers('web');
      const r = await dosync(['sync', ...scope]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const recovered = logLines(r.stdout).filter((l) => String(l.msg).startsWith('an interrupted update was found'));
      assert.deepEqual(recovered.map((l) => l.project), [moving.name], 'only the interrupted project recovers');
      assert.equal((await stateOf(stateDir, moving.name)).intent, undefined);
      assert.deepEqual(await moving.versions('web'), ['1.1.0']);
      assert.deepEqual(await steady.containers('web'), steadyBefore, 'the other project was not touched');
    } finally {
      await host.cleanup();
    }
  });

  test('a project whose files cannot be read is one line saying what to mount; the others go on', async () => {
    const host = await scratchRoot('i16unread');
    const repo = unique('i16/unread');
    // The file comes back before the teardown: `compose down` needs it, or the project's network was left
    // behind on every run (24 of them exhausted the engine's address pools on a long-lived machine).
    let lostText: string | undefined;
    let lostFile: string | undefined;
    for (const v of ['1.0.0', '1.1.0']) await pushImage(repo, v, { version: v, healthcheck: true });
    try {
      const ok = await host.stack('i16ok', `${REGISTRY}/${repo}:1.0.0`);
      const lost = await host.stack('i16lost', `${REGISTRY}/${repo}:1.0.0`);
      lostFile = lost.file;
      await Promise.all([ok.up(), lost.up()]);
      lostText = await readFile(lost.file, 'utf8');
      await rm(lost.file);
      const r = await dosync(['sync', '--all', '--once', '--projects-root', host.root, '--state-dir', join(host.root, '.state'), ...FAST]);
      assert.equal(r.code, 1, 'the unreadable project counts as a failure');
      const line = logLines(r.stdout).find((l) => String(l.msg).startsWith(`project ${lost.name}: cannot read`));
      assert.ok(line, r.stdout);
      assert.match(String(line.msg), new RegExp(`mount ${lost.dir} into the dosync container at the same path`));
      assert.deepEqual(await ok.versions('web'), ['1.1.0'], 'the readable project was updated');
    } finally {
      if (lostFile && lostText !== undefined) await writeFile(lostFile, lostText);
      await host.cleanup();
    }
  });

  test('the daemon drops a project removed between cycles from /v1/status', async () => {
    const host = await scratchRoot('i16gone');
    const repo = unique('i16/gone');
    await pushImage(repo, '1.0.0', { version: '1.0.0', healthcheck: true });
    const a = await host.stack('i16ga', `${REGISTRY}/${repo}:1.0.0`);
    const b = await host.stack('i16gb', `${REGISTRY}/${repo}:1.0.0`);
    await Promise.all([a.up(), b.up()]);
    const child = spawn(process.execPath, [join(ROOT, 'bin/dosync.js'), 'sync', '--all', '--projects-root', host.root, '--state-dir', join(host.root, '.state'), '--interval', '1s', '--listen', '127.0.0.1:0', '--api-token', 'i16-test-token'], {
      env: { ...process.env, DOSYNC_LOG_FORMAT: 'json' }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    const until = async <T>(what: string, probe: () => Promise<T | undefined>): Promise<T> => {
      for (let i = 0; i < 600; i++) {
        const v = await probe().catch(() => undefined);
        if (v !== undefined) return v;
        await new Promise((r) => setTimeout(r, 200));
      }
      throw new Error(`timed out waiting for ${what}\n${out}`);
    };
    try {
      const url = await until('the API', async () => logLines(out).find((l) => l.msg === 'HTTP endpoint listening')?.url as string | undefined);
      const names = async () => ((await (await fetch(`${url}/v1/status`, { headers: { authorization: 'Bearer i16-test-token' } })).json()) as { projects: Array<{ project: string }> }).projects.map((p) => p.project).sort();
      await until('both projects in the status', async () => ((await names()).length === 2 ? true : undefined));
      assert.deepEqual(await names(), [a.name, b.name].sort());
      // /v1/update names a project (and a service of it); an unknown one is refused.
      const update = (q: string) => fetch(`${url}/v1/update?${q}`, { method: 'POST', headers: { authorization: 'Bearer i16-test-token' } });
      assert.equal((await update(`project=${a.name}&service=web`)).status, 202);
      assert.equal((await update('project=nosuchproject')).status, 409);
      assert.equal((await update('service=web')).status, 409, 'a service alone is ambiguous with several projects');
      // The heartbeat is this daemon's own, in its state dir; another state dir has none.
      const health = await dosync(['health', '--state-dir', join(host.root, '.state')]);
      assert.equal(health.code, 0, health.stdout + health.stderr);
      assert.match(health.stdout, /^healthy: heartbeat/);
      const other = await dosync(['health', '--state-dir', join(host.root, 'elsewhere')]);
      assert.equal(other.code, 1);
      assert.match(other.stderr, /no heartbeat yet/);
      await b.destroy();
      await until('the removed project dropped', async () => ((await names()).length === 1 ? true : undefined));
      assert.deepEqual(await names(), [a.name]);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      await host.cleanup();
    }
  });
});
