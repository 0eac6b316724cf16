/**
 * Swarm stacks (issue 17), on a second Docker engine that this file starts in swarm mode (helpers/swarm-engine.ts),
 * never the engine the other tests use. dosync updates a stack's services through the swarm: service update with
 * the pinned digest and the file's update_config, UpdateStatus as the health gate, the swarm's rollback.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BASIC_REGISTRY, REGISTRY, dosync, logLines, pushImage, sh, unique } from '../helpers/docker.js';
import { SwarmEngine, SwarmStack, stackText } from '../helpers/swarm-engine.js';
import { pushDosyncImage } from '../helpers/sidecar.js';
import { auth, post, startHostDaemon } from '../helpers/host-daemon.js';
import { until } from '../helpers/wait.js';

const FAST = ['--health-timeout', '180s'];
let engine: SwarmEngine;

before(async () => { engine = await SwarmEngine.start(); });
after(async () => { await engine?.stop(); });

/** A service polled every 50 ms by a client container on the stack's overlay network: answered and failed requests. */
async function pollClient(stack: SwarmStack, image: string, service: string) {
  const name = `${stack.name}-client`;
  // busybox wget's -T crashes (segfault) in this static build: timeout(1) bounds each request instead.
  const loop = `while :; do if timeout 3 wget -q -O - http://${service}:8080/ >/tmp/a 2>/dev/null; then echo "ok $(cat /tmp/a)"; else echo fail; fi; sleep 0.05; done`;
  await engine.docker(['run', '-d', '--name', name, '--network', `${stack.name}_net`, '--entrypoint', 'sh', image, '-c', loop]);
  const lines = async () => (await engine.docker(['logs', name])).split('\n').filter(Boolean);
  return {
    lines,
    async stop() { await engine.docker(['rm', '-f', name]).catch(() => undefined); },
  };
}

/** dosync as a service of the stack it updates: the engine's socket and the stack's directory mounted, host network (the registry is on loopback). */
function selfStackText(image: string): string {
  return [
    'version: "3.8"',
    'services:',
    '  dosync:',
    `    image: ${image}`,
    '    command: [sync, -f, /app/stack.yml, --stack, STACK, --interval, 3s, --health-stable, 2s, --health-timeout, 180s]',
    '    volumes:',
    `      - ${engine.socketPath}:/var/run/docker.sock`,
    '      - DIR:/app',
    '    networks: [hostnet]',
    '    healthcheck: { test: [CMD, dosync, health], interval: 2s, timeout: 20s, retries: 5 }',
    '    deploy: { replicas: 1 }',
    'networks:',
    '  hostnet: { external: true, name: host }',
    '',
  ].join('\n');
}

/** A new repository with two healthy releases (the test images answer with their version); the first one's reference. */
async function releases(name: string, from: string, to: string): Promise<{ repo: string; v1: string }> {
  const repo = unique(name);
  const v1 = await pushImage(repo, from, { version: from, healthcheck: true });
  await pushImage(repo, to, { version: to, healthcheck: true });
  return { repo, v1 };
}

const dosyncOn = (args: string[], env: NodeJS.ProcessEnv = {}) => dosync(args, { env: { ...engine.env, ...env } });

describe('swarm stacks on a second engine', () => {
  test('3 replicas, dnsrr, start-first: a client polling every 50 ms sees no failed request; the file is rewritten and a later `docker stack deploy` keeps the new tag', async () => {
    const { repo, v1 } = await releases('i17/rolling', '1.0.0', '1.1.0');
    const text = stackText({ web: {
      image: `${v1} # the app`, replicas: 3, network: true,
      deploy: ['labels: { dosync.policy: semver }', 'update_config: { parallelism: 1, order: start-first, delay: 1s, failure_action: rollback, monitor: 5s }'],
    } });
    const stack = await SwarmStack.create(engine, text);
    try {
      await stack.waitRunning('web', 3);
      const before = await stack.taskImages('web');
      const client = await pollClient(stack, v1, 'web');
      try {
        await poll(async () => (await client.lines()).some((l) => l === 'ok 1.0.0'));
        const r = await dosyncOn(['sync', '-f', stack.file, '--stack', stack.name, '--once', ...FAST]);
        assert.equal(r.code, 0, r.stdout + r.stderr);
        const log = logLines(r.stdout);
        const updating = log.find((l) => String(l.msg).startsWith('updating'));
        const updated = log.find((l) => l.msg === 'updated');
        assert.ok(updating && updated, r.stdout);
        await poll(async () => (await client.lines()).some((l) => l === 'ok 1.1.0'));
        const seen = await client.lines();
        const failed = seen.filter((l) => l === 'fail').length;
        const history = await engine.docker(['service', 'ps', '--format', '{{.Image}} {{.DesiredState}}', `${stack.name}_web`]);
        const replaced = history.split('\n').filter((l) => l.startsWith(v1) && l.endsWith('Shutdown')).length;
        const ms = Number(updated.time) - Number(updating.time);
        console.log(`# swarm rolling update of 3 replicas (start-first, parallelism 1, delay 1s): ${ms} ms from "updating" to "updated"; ${seen.length} requests, ${failed} failed; ${replaced} tasks replaced`);
        assert.equal(failed, 0, `failed requests during the update: ${failed} of ${seen.length}`);
        assert.equal(replaced, before.length);
      } finally {
        await client.stop();
      }
      assert.match(await readFile(stack.file, 'utf8'), new RegExp(`image: ${REGISTRY}/${repo}:1\\.1\\.0 # the app`));
      assert.match(await stack.image('web'), new RegExp(`^${REGISTRY}/${repo}:1\\.1\\.0@sha256:[a-f0-9]{64}$`));
      const updateConfig = JSON.parse(await engine.docker(['service', 'inspect', '-f', '{{json .Spec.UpdateConfig}}', `${stack.name}_web`]));
      assert.deepEqual({ ...updateConfig, MaxFailureRatio: updateConfig.MaxFailureRatio ?? 0 }, { Parallelism: 1, Order: 'start-first', Delay: 1e9, FailureAction: 'rollback', Monitor: 5e9, MaxFailureRatio: 0 });
      await stack.waitRunning('web', 3);
      // The user's next deploy: the file names the new tag, so nothing goes back.
      await stack.deploy();
      await stack.waitRunning('web', 3);
      assert.match(await stack.image('web'), new RegExp(`:1\\.1\\.0@sha256:`));
    } finally {
      await stack.destroy();
    }
  });

  test('a new image that exits: the swarm rolls back (failure_action: rollback), dosync restores the file and records the tag', async () => {
    const repo = unique('i17/exits');
    const v1 = await pushImage(repo, '2.0.0', { version: '2.0.0', healthcheck: true });
    await pushImage(repo, '2.1.0', { version: '2.1.0', exitCode: 3 });
    const text = stackText({ app: { image: v1, replicas: 2, network: true, deploy: ['update_config: { parallelism: 1, order: start-first, failure_action: rollback, monitor: 10s }'] } });
    const stack = await SwarmStack.create(engine, text);
    try {
      await stack.waitRunning('app', 2);
      // rollback_config added to the file after the deploy: the swarm's own rollback must run with it.
      const original = text.replace('monitor: 10s }', 'monitor: 10s }\n      rollback_config: { parallelism: 2, order: start-first }');
      await writeFile(stack.file, original);
      const specBefore = await stack.image('app');
      const r = await dosyncOn(['sync', '-f', stack.file, '--stack', stack.name, '--once', ...FAST]);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      const rolledBack = logLines(r.stdout).find((l) => String(l.msg).startsWith('rolled back'));
      assert.match(String(rolledBack?.msg), /the swarm rolled the update back/);
      assert.equal(await readFile(stack.file, 'utf8'), original);
      assert.equal(await engine.docker(['service', 'inspect', '-f', '{{.UpdateStatus.State}}', `${stack.name}_app`]), 'rollback_completed');
      // The swarm went back to the spec that carries the file's rollback_config (what its rollback used).
      const rollbackConfig = JSON.parse(await engine.docker(['service', 'inspect', '-f', '{{json .Spec.RollbackConfig}}', `${stack.name}_app`]));
      assert.deepEqual({ Parallelism: rollbackConfig.Parallelism, Order: rollbackConfig.Order }, { Parallelism: 2, Order: 'start-first' });
      assert.equal(await stack.image('app'), specBefore);
      await stack.waitRunning('app', 2);
      const state = JSON.parse(await readFile(join(stack.dir, 'backups', 'state.json'), 'utf8'));
      assert.ok(state.services[`${stack.name}/app`].failed.some((f: { tag: string }) => f.tag === '2.1.0'), JSON.stringify(state.services));
      // Not tried again.
      const again = await dosyncOn(['sync', '-f', stack.file, '--stack', stack.name, '--once', ...FAST]);
      assert.equal(again.code, 0, again.stdout + again.stderr);
      assert.equal(logLines(again.stdout).some((l) => String(l.msg).startsWith('updating')), false);
    } finally {
      await stack.destroy();
    }
  });

  test('failure_action pause: dosync rolls the service back itself through the engine', async () => {
    const repo = unique('i17/paused');
    const v1 = await pushImage(repo, '1.0.0', { version: '1.0.0', healthcheck: true });
    await pushImage(repo, '1.0.1', { version: '1.0.1', exitCode: 4 });
    const text = stackText({ api: { image: v1, deploy: ['update_config: { failure_action: pause, monitor: 10s }'] } });
    const stack = await SwarmStack.create(engine, text);
    try {
      await stack.waitRunning('api', 1);
      const specBefore = await stack.image('api');
      const r = await dosyncOn(['sync', '-f', stack.file, '--stack', stack.name, '--once', ...FAST]);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(String(logLines(r.stdout).find((l) => String(l.msg).startsWith('rolled back'))?.msg), /update is paused/);
      assert.equal(await engine.docker(['service', 'inspect', '-f', '{{.UpdateStatus.State}}', `${stack.name}_api`]), 'rollback_completed');
      assert.equal(await stack.image('api'), specBefore);
      await stack.waitRunning('api', 1);
    } finally {
      await stack.destroy();
    }
  });

  test('a global service is updated on every node; `dosync rollback` puts it back with the engine\'s rollback (the previous spec)', async () => {
    const { v1 } = await releases('i17/global', '3.0.0', '3.1.0');
    const text = stackText({ agent: {
      image: v1, global: true, lines: ['configs: [{ source: greeting, target: /www/greeting.txt }]'], deploy: ['placement: { constraints: [node.role == manager] }'],
    } }, ['configs:', '  greeting: { file: ./greeting.txt }']);
    const stack = await SwarmStack.create(engine, text, { files: { 'greeting.txt': 'hello\n' } });
    try {
      await stack.waitRunning('agent', 1);
      const first = await stack.image('agent');
      const untouched = () => engine.docker(['service', 'inspect', '-f', '{{json .Spec.TaskTemplate.Placement}} {{json .Spec.TaskTemplate.ContainerSpec.Configs}} {{json .Spec.TaskTemplate.Networks}}', `${stack.name}_agent`]);
      const before = await untouched();
      const r = await dosyncOn(['sync', '-f', stack.file, '--stack', stack.name, '--once', ...FAST]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(await stack.image('agent'), /:3\.1\.0@sha256:/);
      await stack.waitRunning('agent', 1);
      assert.equal(await engine.docker(['service', 'inspect', '-f', '{{.Spec.Mode.Global}}', `${stack.name}_agent`]), '{}');
      assert.equal(await untouched(), before, 'constraints, configs and networks are as the deploy set them');
      assert.match(before, /node\.role == manager/);

      const back = await dosyncOn(['rollback', 'agent', '-f', stack.file, '--stack', stack.name, ...FAST]);
      assert.equal(back.code, 0, back.stdout + back.stderr);
      assert.equal(await stack.image('agent'), first, 'the previous spec, digest and all');
      assert.equal(await engine.docker(['service', 'inspect', '-f', '{{.UpdateStatus.State}}', `${stack.name}_agent`]), 'rollback_completed');
      assert.match(await readFile(stack.file, 'utf8'), /:3\.0\.0\n/);
      await stack.waitRunning('agent', 1);
    } finally {
      await stack.destroy();
    }
  });

  test('a private registry with basic auth: the update carries the credential (as --with-registry-auth), the tasks pull with it', async () => {
    const repo = unique('i17/private');
    const login = BASIC_REGISTRY;
    const v1 = await pushImage(repo, '1.0.0', { version: '1.0.0', healthcheck: true }, { registry: login.host, login });
    await pushImage(repo, '1.2.0', { version: '1.2.0', healthcheck: true }, { registry: login.host, login });
    const config = await mkdtemp(join(tmpdir(), 'i17-docker-config-'));
    try {
      const env = { ...process.env, DOCKER_CONFIG: config };
      await sh('docker', ['login', login.host, '-u', login.username, '-p', login.password], { env });
      const stack = await SwarmStack.create(engine, stackText({ web: { image: v1 } }), { env });
      try {
        await stack.waitRunning('web', 1);
        // The image is not on the node under the new tag: the swarm must pull it with the credential dosync sends.
        const r = await dosyncOn(['sync', '-f', stack.file, '--stack', stack.name, '--once', ...FAST], { DOCKER_CONFIG: config });
        assert.equal(r.code, 0, r.stdout + r.stderr);
        assert.match(await stack.image('web'), new RegExp(`^${login.host}/${repo}:1\\.2\\.0@sha256:`));
        await stack.waitRunning('web', 1);
        assert.ok(!(r.stdout + r.stderr).includes(login.password), 'the password is in dosync\'s output');
      } finally {
        await stack.destroy();
      }
    } finally {
      await rm(config, { recursive: true, force: true });
    }
  });

  test('an update_config the engine cannot take (edited after the deploy): the update fails before anything is pulled or written; the tag is not marked failed', async () => {
    const { v1 } = await releases('i17/badcfg', '1.0.0', '1.0.1');
    const stack = await SwarmStack.create(engine, stackText({ web: { image: v1 } }));
    try {
      await stack.waitRunning('web', 1);
      const edited = stackText({ web: { image: v1, deploy: ['update_config: { order: sideways }'] } });
      await writeFile(stack.file, edited);
      const r = await dosyncOn(['sync', '-f', stack.file, '--stack', stack.name, '--once', ...FAST]);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(String(logLines(r.stdout).find((l) => String(l.msg).startsWith('update failed'))?.msg), /services\.web\.deploy\.update_config\.order: "sideways" is not start-first or stop-first/);
      assert.equal(await readFile(stack.file, 'utf8'), edited);
      const state = JSON.parse(await readFile(join(stack.dir, 'backups', 'state.json'), 'utf8'));
      assert.deepEqual(state.services[`${stack.name}/web`].failed, []);
    } finally {
      await stack.destroy();
    }
  });

  test('self-update: dosync runs as a service of the stack and updates itself through a service update; the new dosync confirms it', async () => {
    const u = unique('i17/self');
    const dosyncRepo = `${REGISTRY}/${u}/dosync`;
    await pushDosyncImage(`${u}/dosync`, '1.0.0');
    // Same program, another digest: what a new dosync release looks like to the registry.
    await pushDosyncImage(`${u}/dosync`, '1.1.0', { lines: ['LABEL dosync.test.release=1.1.0'] });
    const text = selfStackText(`${dosyncRepo}:1.0.0`);
    const stack = await SwarmStack.create(engine, text);
    try {
      const statePath = join(stack.dir, 'backups', 'state.json');
      const confirmed = async () => {
        const state = JSON.parse(await readFile(statePath, 'utf8').catch(() => '{}')) as { services?: Record<string, { history: Array<{ to: string; outcome: string }> }> };
        return state.services?.[`${stack.name}/dosync`]?.history.some((h) => h.to === `${dosyncRepo}:1.1.0` && h.outcome === 'updated') ?? false;
      };
      await poll(confirmed, 400_000);
      assert.match(await stack.image('dosync'), new RegExp(`^${dosyncRepo}:1\\.1\\.0@sha256:`));
      assert.match(await readFile(stack.file, 'utf8'), new RegExp(`image: ${dosyncRepo}:1\\.1\\.0\n`));
      await stack.waitRunning('dosync', 1);
      const [task] = (await engine.docker(['ps', '-q', '--filter', `label=com.docker.swarm.service.name=${stack.name}_dosync`])).split('\n');
      assert.equal(await engine.docker(['inspect', '-f', '{{index .Config.Labels "dosync.test.release"}}', task]), '1.1.0');
      assert.equal(await engine.docker(['service', 'inspect', '-f', '{{.UpdateStatus.State}}', `${stack.name}_dosync`]), 'completed');
      await assert.rejects(readFile(join(stack.dir, 'backups', 'self-update.json')), { code: 'ENOENT' }, 'the record is consumed');
    } finally {
      await stack.destroy();
    }
  });

  test('self-update to a release that exits at once: the swarm brings the old dosync back, which restores the file and records the tag', async () => {
    const u = unique('i17/selfbad');
    const dosyncRepo = `${REGISTRY}/${u}/dosync`;
    await pushDosyncImage(`${u}/dosync`, '1.0.0');
    await pushDosyncImage(`${u}/dosync`, '1.2.0', { lines: ['LABEL dosync.test.release=broken', 'ENTRYPOINT ["sh", "-c", "echo this release is broken >&2; exit 3"]'] });
    const text = selfStackText(`${dosyncRepo}:1.0.0`);
    const stack = await SwarmStack.create(engine, text);
    try {
      const original = await readFile(stack.file, 'utf8');
      const first = await stack.image('dosync');
      const statePath = join(stack.dir, 'backups', 'state.json');
      const failedTags = async () => {
        const state = JSON.parse(await readFile(statePath, 'utf8').catch(() => '{}')) as { services?: Record<string, { failed: Array<{ tag: string }> }> };
        return state.services?.[`${stack.name}/dosync`]?.failed.map((f) => f.tag) ?? [];
      };
      await poll(async () => (await failedTags()).includes('1.2.0'), 400_000);
      assert.equal(await readFile(stack.file, 'utf8'), original, 'the image line is back');
      assert.equal(await stack.image('dosync'), first);
      assert.equal(await engine.docker(['service', 'inspect', '-f', '{{.UpdateStatus.State}}', `${stack.name}_dosync`]), 'rollback_completed');
      await stack.waitRunning('dosync', 1);
      await assert.rejects(readFile(join(stack.dir, 'backups', 'self-update.json')), { code: 'ENOENT' }, 'the record is consumed');
    } finally {
      await stack.destroy();
    }
  });

  test('sync --all on a swarm manager: a stack listed in dosync.yaml (stack: + files:) and one labelled dosync.stack.file are updated; a stack with no file gets one line, is named in the daemon status, and is left alone (exit 0); --exclude-project silences it; --project finds the listed and the labelled one; check --all names it; a rollback from the API goes through the swarm', async () => {
    const { repo, v1 } = await releases('i17/all', '1.0.0', '1.1.0');
    const listed = await SwarmStack.create(engine, stackText({ web: { image: v1 } }));
    const labelled = await SwarmStack.create(engine, stackText({ web: { image: v1, deploy: ['labels: { dosync.stack.file: DIR/stack.yml }'] } }));
    const unlisted = await SwarmStack.create(engine, stackText({ web: { image: v1 } }));
    const dir = await mkdtemp(join(tmpdir(), 'i17-all-'));
    try {
      await Promise.all([listed, labelled, unlisted].map((s) => s.waitRunning('web', 1)));
      const unlistedFile = await readFile(unlisted.file, 'utf8');
      const unlistedSpec = await unlisted.image('web');
      const config = join(dir, 'dosync.yaml');
      await writeFile(config, `projects:\n  - stack: ${listed.name}\n    files: [${listed.file}]\n`);
      // --project finds a stack as --all does: listed in dosync.yaml, or by its dosync.stack.file label.
      for (const s of [listed, labelled]) {
        const checked = await dosyncOn(['check', '--project', s.name, '--config', config, '--state-dir', join(dir, 'state'), '--json']);
        assert.equal(checked.code, 10, `${s.name}: ${checked.stdout}${checked.stderr}`);
        const doc = JSON.parse(checked.stdout) as { project: string; services: Array<{ service: string; current: string; status: string }> };
        assert.deepEqual([doc.project, doc.services.map((x) => [x.service, x.current, x.status])], [s.name, [['web', '1.0.0', 'update available']]], s.name);
      }
      const unknown = await dosyncOn(['check', '--project', unlisted.name, '--config', config, '--state-dir', join(dir, 'state')]);
      assert.equal(unknown.code, 2, unknown.stdout + unknown.stderr);
      assert.match(unknown.stderr, new RegExp(`^dosync: --project ${unlisted.name}: stack ${unlisted.name}: add it to projects: with its file`, 'm'));
      // check --all names the stack it cannot update (JSON and table), without making it an error.
      const all = await dosyncOn(['check', '--all', '--config', config, '--state-dir', join(dir, 'state'), '--json']);
      assert.equal(all.code, 10, all.stdout + all.stderr);
      const allDoc = JSON.parse(all.stdout) as { projects: Array<{ project: string }>; unconfiguredStacks?: Array<{ stack: string; hint: string }> };
      assert.deepEqual(allDoc.projects.map((p) => p.project), [listed.name, labelled.name].sort());
      assert.deepEqual(allDoc.unconfiguredStacks?.map((x) => x.stack), [unlisted.name]);
      const table = await dosyncOn(['check', '--all', '--config', config, '--state-dir', join(dir, 'state')]);
      assert.equal(table.code, 10, table.stdout + table.stderr);
      assert.match(table.stdout, new RegExp(`\\nStacks not looked after:\\n  stack ${unlisted.name}: add it to projects:`));
      const r = await dosyncOn(['sync', '--all', '--once', '--config', config, '--state-dir', join(dir, 'state'), ...FAST]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const about = logLines(r.stdout).filter((l) => String(l.msg).includes(`stack ${unlisted.name}`));
      assert.equal(about.length, 1, r.stdout);
      assert.match(String(about[0].msg), new RegExp(`^stack ${unlisted.name}: add it to projects: with its file to let dosync update it`));
      for (const s of [listed, labelled]) {
        assert.match(await s.image('web'), /:1\.1\.0@sha256:/, s.name);
        assert.match(await readFile(s.file, 'utf8'), new RegExp(`image: ${REGISTRY}/${repo}:1\\.1\\.0\n`), s.name);
        await s.waitRunning('web', 1);
      }
      assert.equal(await readFile(unlisted.file, 'utf8'), unlistedFile);
      assert.equal(await unlisted.image('web'), unlistedSpec);
      // The user's next deploy of the listed stack keeps the tag dosync wrote.
      await listed.deploy();
      await listed.waitRunning('web', 1);
      assert.match(await listed.image('web'), /:1\.1\.0@sha256:/);

      // A daemon's status (the API, and so the dashboard) names the stack it cannot update, with what to do.
      const daemon = startHostDaemon(['--config', config, '--state-dir', join(dir, 'state')], engine.env);
      try {
        const url = await daemon.url();
        const stacks = await until('the unconfigured stack in the status', async () => {
          const doc = (await (await fetch(`${url}/v1/status`, { headers: auth })).json()) as { unconfiguredStacks?: Array<{ stack: string; hint: string }> };
          return doc.unconfiguredStacks;
        });
        assert.deepEqual(stacks.map((x) => x.stack), [unlisted.name]);
        assert.match(stacks[0]!.hint, new RegExp(`^stack ${unlisted.name}: add it to projects: with its file`));
        // The dashboard's Roll back (the API's) of a stack goes through the swarm, as `dosync rollback` does:
        // the service back on 1.0.0, the file restored, no Compose container made for it.
        const rb = await post(url, '/v1/rollback', { project: listed.name, service: 'web' });
        assert.equal(rb.status, 202, await rb.text());
        await until('the listed stack back on 1.0.0', async () => (/:1\.0\.0@sha256:/.test(await listed.image('web')) ? true : undefined), 300_000);
        await until('its file back on 1.0.0', async () => (new RegExp(`image: ${REGISTRY}/${repo}:1\\.0\\.0\n`).test(await readFile(listed.file, 'utf8')) ? true : undefined));
        assert.equal(await engine.docker(['ps', '-aq', '--filter', `label=com.docker.compose.project=${listed.name}`]), '', 'no Compose container');
        // The rollback itself moved the service: no later cycle had to put a service and its file right.
        const isRollback = (l: Record<string, unknown>) => l.project === listed.name && String(l.msg).startsWith('rolled back web');
        await until('the rollback reported', async () => logLines(daemon.log()).some(isRollback) || undefined, 300_000);
        const lines = logLines(daemon.log());
        const rolled = lines.findIndex(isRollback);
        assert.deepEqual(lines.slice(rolled).filter((l) => l.project === listed.name && String(l.msg).startsWith('updating')).map((l) => l.msg), []);
        assert.match(await labelled.image('web'), /:1\.1\.0@sha256:/, 'the other stack is untouched');
        await listed.waitRunning('web', 1);
      } catch (err) {
        process.stderr.write(`daemon log:\n${daemon.log().split('\n').slice(-30).join('\n')}\n`);
        throw err;
      } finally {
        await daemon.stop();
      }
      // --exclude-project leaves it alone without a word.
      const quiet = await dosyncOn(['sync', '--all', '--once', '--config', config, '--state-dir', join(dir, 'state'), '--exclude-project', unlisted.name, ...FAST]);
      assert.equal(quiet.code, 0, quiet.stdout + quiet.stderr);
      assert.equal(logLines(quiet.stdout).filter((l) => String(l.msg).includes(`stack ${unlisted.name}`)).length, 0, quiet.stdout);
      assert.equal(await unlisted.image('web'), unlistedSpec);
    } finally {
      await Promise.all([listed, labelled, unlisted].map((s) => s.destroy()));
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('prune (the default): the manager removes the image dosync replaced there (its finished tasks\' stopped containers first); the task history stays', async () => {
    const { repo, v1 } = await releases('i17/prune', '1.0.0', '1.0.5');
    const stack = await SwarmStack.create(engine, stackText({ web: { image: v1 } }));
    try {
      await stack.waitRunning('web', 1);
      const old = await stack.image('web');
      const oldRef = `${REGISTRY}/${repo}@${old.split('@')[1]}`;
      const oldId = await engine.docker(['image', 'inspect', '-f', '{{.Id}}', oldRef]);
      const r = await dosyncOn(['sync', '-f', stack.file, '--stack', stack.name, '--once', ...FAST]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(await stack.image('web'), /:1\.0\.5@sha256:/);
      await assert.rejects(engine.docker(['image', 'inspect', oldRef]), 'the replaced image is gone from the manager');
      const ids = (await engine.docker(['ps', '-aq', '--filter', `label=com.docker.stack.namespace=${stack.name}`])).split('\n').filter(Boolean);
      const images = ids.length > 0 ? (await engine.docker(['inspect', '-f', '{{.Image}}', ...ids])).split('\n') : [];
      assert.ok(!images.includes(oldId), 'no container of the old image is left');
      const history = await engine.docker(['service', 'ps', '--format', '{{.Image}} {{.DesiredState}}', `${stack.name}_web`]);
      assert.ok(history.split('\n').some((l) => l.startsWith(v1) && l.endsWith('Shutdown')), history);
      await stack.waitRunning('web', 1);
    } finally {
      await stack.destroy();
    }
  });

  test('deploy.rollback_config (added to the file after the deploy) reaches the service spec, and `dosync rollback` rolls back with it', async () => {
    const { v1 } = await releases('i17/rbcfg', '3.0.0', '3.0.1');
    const stack = await SwarmStack.create(engine, stackText({ web: { image: v1, replicas: 2 } }));
    try {
      await stack.waitRunning('web', 2);
      const first = await stack.image('web');
      await writeFile(stack.file, stackText({ web: { image: v1, replicas: 2, deploy: ['rollback_config: { parallelism: 2, order: start-first, monitor: 2s, failure_action: continue }'] } }));
      const expected = { Parallelism: 2, Order: 'start-first', Monitor: 2e9, FailureAction: 'continue' };
      const rollbackConfig = async (of: 'Spec' | 'PreviousSpec') => {
        const got = JSON.parse(await engine.docker(['service', 'inspect', '-f', `{{json .${of}.RollbackConfig}}`, `${stack.name}_web`])) as Record<string, unknown> | null;
        return Object.fromEntries(Object.keys(expected).map((k) => [k, got?.[k]]));
      };
      const r = await dosyncOn(['sync', '-f', stack.file, '--stack', stack.name, '--once', ...FAST]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(await stack.image('web'), /:3\.0\.1@sha256:/);
      assert.deepEqual(await rollbackConfig('Spec'), expected);
      // The swarm rolls back with the RollbackConfig of the spec it returns to: the previous one carries it too.
      assert.deepEqual(await rollbackConfig('PreviousSpec'), expected);
      await stack.waitRunning('web', 2);

      const back = await dosyncOn(['rollback', 'web', '-f', stack.file, '--stack', stack.name, ...FAST]);
      assert.equal(back.code, 0, back.stdout + back.stderr);
      assert.equal(await stack.image('web'), first);
      assert.equal(await engine.docker(['service', 'inspect', '-f', '{{.UpdateStatus.State}}', `${stack.name}_web`]), 'rollback_completed');
      assert.deepEqual(await rollbackConfig('Spec'), expected, 'the spec it went back to has the file\'s rollback_config');
      await stack.waitRunning('web', 2);
    } finally {
      await stack.destroy();
    }
  });

  for (const step of ['file-written', 'health-check'] as const) {
    test(`dosync killed (SIGKILL) after "${step}" of a service update: the next sync --once recovers; file and service spec agree, no journal left`, async () => {
      const { repo, v1 } = await releases('i17/crash', '4.0.0', '4.1.0');
      // Two replicas one after the other with a delay: a kill after "health-check" lands while the swarm still rolls.
      const stack = await SwarmStack.create(engine, stackText({ web: { image: v1, replicas: 2, deploy: ['update_config: { parallelism: 1, delay: 2s, order: start-first }'] } }));
      try {
        await stack.waitRunning('web', 2);
        const statePath = join(stack.dir, 'backups', 'state.json');
        const crashed = await dosyncOn(['sync', '-f', stack.file, '--stack', stack.name, '--once', ...FAST], { DOSYNC_FAULT_CRASH_AFTER: step });
        assert.notEqual(crashed.code, 0, 'the process was killed');
        assert.equal(JSON.parse(await readFile(statePath, 'utf8')).intent?.step, step, 'the step was recorded before the kill');
        const during = await engine.docker(['service', 'inspect', '-f', '{{.Spec.TaskTemplate.ContainerSpec.Image}} {{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}', `${stack.name}_web`]);
        console.log(`# swarm crash after ${step}: service at the kill: ${during}`);

        const r = await dosyncOn(['sync', '-f', stack.file, '--stack', stack.name, '--once', ...FAST]);
        assert.equal(r.code, 0, r.stdout + r.stderr);
        assert.ok(logLines(r.stdout).some((l) => String(l.msg).startsWith('an interrupted update was found')), r.stdout);
        assert.equal(JSON.parse(await readFile(statePath, 'utf8')).intent, undefined, 'no intent left');
        assert.match(await readFile(stack.file, 'utf8'), new RegExp(`image: ${REGISTRY}/${repo}:4\\.1\\.0\n`));
        assert.match(await stack.image('web'), /:4\.1\.0@sha256:/);
        await stack.waitRunning('web', 2);
        await stack.assertConsistent();
      } finally {
        await stack.destroy();
      }
    });
  }

  test('--stack against an engine that is not a swarm manager: one line, exit 2', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'i17-noswarm-'));
    try {
      await writeFile(join(dir, 'stack.yml'), `services:\n  web:\n    image: ${REGISTRY}/i17/none:1.0.0\n`);
      // The main engine is never in swarm mode.
      const r = await dosync(['sync', '-f', join(dir, 'stack.yml'), '--stack', 'i17none', '--once']);
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.match(r.stderr, /--stack i17none: the engine at .* is not a swarm manager/);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

async function poll(probe: () => Promise<boolean>, limitMs = 120_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 200));
  }
}
