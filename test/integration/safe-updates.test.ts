/**
 * Updates that never break the stack (issue 5), on the real engine and registry: health gate and
 * rollback, tags held in .env, override files, name-based replica groups, zero-downtime rolling updates.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ComposeProject, pushImage, unique, dosync, logLines, REGISTRY, sh } from '../helpers/docker.js';

const FAST = ['--health-stable', '2s', '--health-timeout', '120s'];

describe('health gate and rollback', () => {
  test('a new tag that fails its healthcheck is rolled back; the old container serves; the tag is not retried', async () => {
    const repo = unique('it/unhealthy');
    await pushImage(repo, '1.0.0', { version: '1.0.0', healthcheck: true });
    await pushImage(repo, '1.1.0', { version: '1.1.0', unhealthy: true });
    const original = `services:\n  web:\n    image: ${REGISTRY}/${repo}:1.0.0 # keep this comment\n`;
    const p = await ComposeProject.create(original);
    try {
      await p.up();
      const r = await dosync(['sync', '-f', p.file, '--once', ...FAST]);
      assert.equal(r.code, 1, 'a rollback is a failure for --once');
      const rolledBack = logLines(r.stdout).find((l) => String(l.msg).startsWith('rolled back'));
      assert.match(String(rolledBack?.msg), /reports unhealthy|not healthy/);
      assert.equal(await readFile(p.file, 'utf8'), original, 'the compose file is as before');
      assert.deepEqual(await p.versions('web'), ['1.0.0']);
      const [id] = await p.containers('web');
      assert.equal(await sh('docker', ['inspect', '-f', '{{.State.Health.Status}}', id]), 'healthy');
      assert.equal(await sh('docker', ['inspect', '-f', '{{.Config.Image}}', id]), `${REGISTRY}/${repo}:1.0.0`);

      // The next run remembers the failure (state file) and does not try 1.1.0 again.
      const again = await dosync(['sync', '-f', p.file, '--once', ...FAST]);
      assert.equal(again.code, 0, again.stdout + again.stderr);
      assert.equal(logLines(again.stdout).some((l) => String(l.msg).startsWith('updating')), false);
      assert.equal(await readFile(p.file, 'utf8'), original);

      // A newer tag is tried.
      await pushImage(repo, '1.2.0', { version: '1.2.0', healthcheck: true });
      const newer = await dosync(['sync', '-f', p.file, '--once', ...FAST]);
      assert.equal(newer.code, 0, newer.stdout + newer.stderr);
      assert.deepEqual(await p.versions('web'), ['1.2.0']);
    } finally {
      await p.destroy();
    }
  });

  test('a tag whose container exits at once is rolled back', async () => {
    const repo = unique('it/exits');
    await pushImage(repo, '2.0.0', { version: '2.0.0' });
    await pushImage(repo, '2.0.1', { version: '2.0.1', exitCode: 3 });
    const original = `services:\n  app:\n    image: ${REGISTRY}/${repo}:2.0.0\n    restart: "no"\n`;
    const p = await ComposeProject.create(original);
    try {
      await p.up();
      const r = await dosync(['sync', '-f', p.file, '--once', ...FAST]);
      assert.equal(r.code, 1);
      assert.match(String(logLines(r.stdout).find((l) => String(l.msg).startsWith('rolled back'))?.msg), /exited with code 3/);
      assert.equal(await readFile(p.file, 'utf8'), original);
      assert.deepEqual(await p.versions('app'), ['2.0.0']);
    } finally {
      await p.destroy();
    }
  });
});

describe('where the tag lives', () => {
  test('${APP_TAG} from .env: the variable is updated in .env, comments and order kept; the compose file untouched', async () => {
    const repo = unique('it/envtag');
    for (const v of ['1.4.0', '1.5.0']) await pushImage(repo, v, { version: v });
    const compose = `services:\n  app:\n    image: ${REGISTRY}/${repo}:\${APP_TAG}\n`;
    const p = await ComposeProject.create(compose);
    const envText = '# versions\nOTHER=1\nAPP_TAG=1.4.0 # current\nLAST=x\n';
    await writeFile(join(p.dir, '.env'), envText);
    try {
      await p.up();
      const r = await dosync(['sync', '-f', p.file, '--once', ...FAST]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.equal(await readFile(p.file, 'utf8'), compose);
      assert.equal(await readFile(join(p.dir, '.env'), 'utf8'), envText.replace('APP_TAG=1.4.0', 'APP_TAG=1.5.0'));
      assert.deepEqual(await p.versions('app'), ['1.5.0']);
      const backups = await readdir(join(p.dir, 'backups'));
      assert.ok(backups.some((b) => b.startsWith('.env.')), `env file backup: ${backups}`);
    } finally {
      await p.destroy();
    }
  });

  test('two compose files: the image is changed in the override that defines it, and both files go to compose', async () => {
    const repo = unique('it/override');
    for (const v of ['5.0.0', '5.0.1', '5.1.0']) await pushImage(repo, v, { version: v });
    const base = `services:\n  api:\n    image: ${REGISTRY}/${repo}:5.0.0\n    environment: [FROM_BASE=1]\n`;
    const p = await ComposeProject.create(base);
    const prodFile = join(p.dir, 'prod.yml');
    const prod = `services:\n  api:\n    image: ${REGISTRY}/${repo}:5.0.1\n    labels: [tier=prod]\n`;
    await writeFile(prodFile, prod);
    p.extraFiles.push(prodFile);
    try {
      await sh('docker', ['compose', '-p', p.name, '-f', p.file, '-f', prodFile, 'up', '-d', '--wait'], { cwd: p.dir });
      const r = await dosync(['sync', '-f', p.file, '-f', prodFile, '--once', ...FAST]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.equal(await readFile(p.file, 'utf8'), base, 'the base file is not touched');
      assert.equal(await readFile(prodFile, 'utf8'), prod.replace(':5.0.1', ':5.1.0'));
      assert.deepEqual(await p.versions('api'), ['5.1.0']);
      const [id] = await p.containers('api');
      assert.equal(await sh('docker', ['inspect', '-f', '{{index .Config.Labels "tier"}}', id]), 'prod', 'recreated with both files');
    } finally {
      await p.destroy();
    }
  });
});

describe('replicas', () => {
  test('a blue/green pair moves together; when green fails both stay on the old tag', async () => {
    const repo = unique('it/bluegreen');
    await pushImage(repo, '1.0.0', { version: '1.0.0', healthcheck: true });
    await pushImage(repo, '1.1.0', { version: '1.1.0', healthcheck: true });
    const text = `services:\n  db-blue:\n    image: ${REGISTRY}/${repo}:1.0.0\n  db-green:\n    image: ${REGISTRY}/${repo}:1.0.0\n`;
    const p = await ComposeProject.create(text);
    try {
      await p.up();
      const r = await dosync(['sync', '-f', p.file, '--once', ...FAST]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.deepEqual([...(await p.versions('db-blue')), ...(await p.versions('db-green'))], ['1.1.0', '1.1.0']);

      // 1.2.0 fails its healthcheck: blue goes first and is healthy, green fails -> both back on 1.1.0.
      await pushImage(repo, '1.2.0', { version: '1.2.0', unhealthy: true });
      const bad = await dosync(['sync', '-f', p.file, '--once', ...FAST]);
      assert.equal(bad.code, 1);
      assert.deepEqual([...(await p.versions('db-blue')), ...(await p.versions('db-green'))], ['1.1.0', '1.1.0']);
      assert.equal(await readFile(p.file, 'utf8'), text.replaceAll(':1.0.0', ':1.1.0'));
    } finally {
      await p.destroy();
    }
  });

  test('rolling update of 3 replicas: a client polling the service during the rollout sees no failed request', async () => {
    const repo = unique('it/rolling');
    for (const v of ['1.0.0', '1.0.1']) await pushImage(repo, v, { version: v, healthcheck: true });
    const text = [
      'services:',
      '  web:',
      `    image: ${REGISTRY}/${repo}:1.0.0`,
      '    scale: 3',
      '    labels: [dosync.rollout=rolling]',
      '  client:',
      '    image: dosync-test/base:1',
      '    labels: [dosync.enable=false]',
      // One request every 50ms through Compose's DNS round robin, a line per answer. As the README says, DNS
      // round robin can hand out a new replica in the moment between its start and its server listening
      // (longer on a busy machine), so the client retries a refused request once, as a client behind round
      // robin does; the retries are counted for the figures, a request that fails twice is a FAIL.
      `    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do wget -q -O - http://web:8080/ 2>/dev/null || { echo RETRY; sleep 0.05; wget -q -O - http://web:8080/ 2>/dev/null; } || echo FAIL; sleep 0.05; done"]`,
      '',
    ].join('\n');
    const p = await ComposeProject.create(text);
    try {
      await p.up();
      const before = new Set(await p.containers('web'));
      const [client] = await p.containers('client');
      const since = await sh('date', ['-u', '+%Y-%m-%dT%H:%M:%S.%NZ']);
      const r = await dosync(['sync', '-f', p.file, '--once', ...FAST]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      await new Promise((res) => setTimeout(res, 500));
      const stamped = (await sh('docker', ['logs', '--timestamps', '--since', since, client])).split('\n').filter(Boolean)
        .map((l) => ({ at: Date.parse(l.slice(0, l.indexOf(' '))), answer: l.slice(l.indexOf(' ') + 1) }));
      const retries = stamped.filter((a) => a.answer === 'RETRY').length;
      const answers = stamped.map((a) => a.answer).filter((a) => a !== 'RETRY');
      // How many answers there are depends on how busy the machine is; that the client was answered by the old
      // release before and the new one after, with no failure in between, does not.
      assert.ok(answers.includes('1.0.0'), `the client was answered by the old release during the rollout: ${answers.join(',')}`);
      assert.equal(answers.filter((a) => a === 'FAIL').length, 0, `no failed request: ${answers.join(',')}`);
      assert.ok(answers.includes('1.0.1'), 'the client reached the new version');
      const after = await p.containers('web');
      assert.equal(after.length, 3);
      assert.ok(after.every((id) => !before.has(id)), 'all old containers were replaced');
      assert.deepEqual(await p.versions('web'), ['1.0.1', '1.0.1', '1.0.1']);
      const lines = logLines(r.stdout);
      const updated = lines.find((l) => l.msg === 'updated');
      assert.equal(updated?.rollout, 'rolling');
      // Figures for the notes: the rollout's duration, and the longest wait between two answered requests (the client asks every 50 ms).
      const ok = stamped.filter((a) => a.answer !== 'FAIL' && a.answer !== 'RETRY').map((a) => a.at);
      const longestGap = Math.max(...ok.slice(1).map((t, i) => t - ok[i]));
      const started = lines.find((l) => String(l.msg).startsWith('updating'));
      console.log(`# rolling update of 3 replicas: ${Number(updated?.time) - Number(started?.time)} ms from "updating" to "updated"; longest gap between answered requests ${longestGap} ms; ${retries} requests answered on their retry`);
    } finally {
      await p.destroy();
    }
  });
});
