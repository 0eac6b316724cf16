/**
 * Update units on the real engine and registry (issue 14): whatever one edit moves is planned, recreated,
 * verified and rolled back together. After each test the stack is consistent: what runs is what
 * `docker compose config` says, and every image the file names exists.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ComposeProject, pushImage, unique, dosync, logLines, REGISTRY, sh } from '../helpers/docker.js';
import { assertStackConsistent } from '../helpers/invariant.js';

const FAST = ['--health-stable', '1s', '--health-timeout', '30s'];

async function stateOf(p: ComposeProject): Promise<{ intent?: { step: string }; services: Record<string, { failed?: Array<{ tag: string }>; history?: Array<{ unit?: string; outcome: string }> }> }> {
  return JSON.parse(await readFile(join(p.dir, 'backups', 'state.json'), 'utf8'));
}

const consistent = (p: ComposeProject, why: string) => assertStackConsistent({ name: p.name, dir: p.dir, files: [p.file] }, why);
const summary = (stdout: string) => logLines(stdout).find((l) => l.msg === 'cycle done') as { updates?: number; errors?: number } | undefined;

describe('a variable shared by two repositories', () => {
  test('moves both services together, in one edit, one backup and one recreate', async () => {
    const a = unique('it/unit-a');
    const b = unique('it/unit-b');
    for (const v of ['1.0.0', '1.1.0']) {
      await pushImage(a, v, { version: `a${v}`, healthcheck: true });
      await pushImage(b, v, { version: `b${v}`, healthcheck: true });
    }
    const p = await ComposeProject.create(`services:\n  a:\n    image: ${REGISTRY}/${a}:\${PAIR_TAG}\n  b:\n    image: ${REGISTRY}/${b}:\${PAIR_TAG}\n`);
    try {
      await writeFile(join(p.dir, '.env'), '# the pair\nPAIR_TAG=1.0.0\n');
      await p.up();
      const r = await dosync(['sync', '-f', p.file, '--once', ...FAST]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.equal(await readFile(join(p.dir, '.env'), 'utf8'), '# the pair\nPAIR_TAG=1.1.0\n');
      assert.deepEqual(await p.versions('a'), ['a1.1.0']);
      assert.deepEqual(await p.versions('b'), ['b1.1.0']);
      assert.equal(summary(r.stdout)?.updates, 2);
      const backups = (await readdir(join(p.dir, 'backups'))).filter((f) => f.endsWith('.bak'));
      assert.equal(backups.length, 1, `one backup: ${backups.join(', ')}`);
      const state = await stateOf(p);
      assert.match(String(state.services[`${p.name}/b`].history?.at(-1)?.unit), /a, b \(PAIR_TAG in \.env\)/);
      await consistent(p, 'shared .env tag');
    } finally {
      await p.destroy();
    }
  });

  test('stays when one repository lacks the tag, with one line naming it', async () => {
    const a = unique('it/unit-a');
    const b = unique('it/unit-b');
    for (const v of ['1.0.0', '1.1.0']) await pushImage(a, v, { version: `a${v}`, healthcheck: true });
    await pushImage(b, '1.0.0', { version: 'b1.0.0', healthcheck: true });
    const p = await ComposeProject.create(`services:\n  a:\n    image: ${REGISTRY}/${a}:\${PAIR_TAG}\n  b:\n    image: ${REGISTRY}/${b}:\${PAIR_TAG}\n`);
    try {
      await writeFile(join(p.dir, '.env'), 'PAIR_TAG=1.0.0\n');
      await p.up();
      const r = await dosync(['sync', '-f', p.file, '--once', ...FAST]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.equal(await readFile(join(p.dir, '.env'), 'utf8'), 'PAIR_TAG=1.0.0\n');
      assert.deepEqual(await p.versions('a'), ['a1.0.0']);
      assert.equal(summary(r.stdout)?.updates, 0);
      const check = await dosync(['check', '-f', p.file, '--json']);
      const out = JSON.parse(check.stdout) as { units: Array<{ label: string; reason: string }> };
      assert.match(out.units[0].reason, new RegExp(`${b.replace(/[/]/g, '\\/')} has no tag 1\\.1\\.0 yet`));
      assert.match(out.units[0].label, /PAIR_TAG in \.env/);
      await consistent(p, 'shared tag missing');
    } finally {
      await p.destroy();
    }
  });

  test('one member failing its health gate rolls the whole unit back', async () => {
    const a = unique('it/unit-a');
    const b = unique('it/unit-b');
    for (const v of ['1.0.0', '1.1.0']) await pushImage(a, v, { version: `a${v}`, healthcheck: true });
    await pushImage(b, '1.0.0', { version: 'b1.0.0', healthcheck: true });
    await pushImage(b, '1.1.0', { version: 'b1.1.0', unhealthy: true });
    const p = await ComposeProject.create(`services:\n  a:\n    image: ${REGISTRY}/${a}:\${PAIR_TAG}\n  b:\n    image: ${REGISTRY}/${b}:\${PAIR_TAG}\n`);
    try {
      await writeFile(join(p.dir, '.env'), 'PAIR_TAG=1.0.0\n');
      await p.up();
      const r = await dosync(['sync', '-f', p.file, '--once', ...FAST]);
      assert.equal(r.code, 1, 'a rollback is a failure for --once');
      assert.equal(await readFile(join(p.dir, '.env'), 'utf8'), 'PAIR_TAG=1.0.0\n');
      assert.deepEqual(await p.versions('a'), ['a1.0.0']);
      assert.deepEqual(await p.versions('b'), ['b1.0.0']);
      const state = await stateOf(p);
      for (const s of ['a', 'b']) assert.deepEqual(state.services[`${p.name}/${s}`].failed?.map((f) => f.tag), ['1.1.0'], s);
      await consistent(p, 'unit rollback');
    } finally {
      await p.destroy();
    }
  });
});

describe('indirect images', () => {
  test('a merge-key anchor with three inheritors moves all three', async () => {
    const repo = unique('it/unit-anchor');
    for (const v of ['1.0.0', '1.1.0']) await pushImage(repo, v, { version: v, healthcheck: true });
    const p = await ComposeProject.create(`x-app: &app\n  image: ${REGISTRY}/${repo}:1.0.0\n  restart: unless-stopped\nservices:\n  web:\n    <<: *app\n  worker:\n    <<: *app\n    environment: [ROLE=worker]\n  cron:\n    <<: *app\n`);
    try {
      await p.up();
      const r = await dosync(['sync', '-f', p.file, '--once', ...FAST]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(await readFile(p.file, 'utf8'), new RegExp(`^x-app: &app\\n  image: ${REGISTRY}/${repo}:1\\.1\\.0\\n`));
      for (const s of ['web', 'worker', 'cron']) assert.deepEqual(await p.versions(s), ['1.1.0'], s);
      await consistent(p, 'merge-key anchor');
    } finally {
      await p.destroy();
    }
  });

  test('extends: file: and an include:d file are followed and edited where the image is written', async () => {
    const base = unique('it/unit-ext');
    const inc = unique('it/unit-inc');
    for (const v of ['1.0.0', '1.1.0']) {
      await pushImage(base, v, { version: `e${v}`, healthcheck: true });
      await pushImage(inc, v, { version: `i${v}`, healthcheck: true });
    }
    const p = await ComposeProject.create(`include:\n  - extra/compose.yml\nservices:\n  api:\n    extends: {file: common.yml, service: app}\n  jobs:\n    extends: {file: common.yml, service: app}\n    environment: [ROLE=jobs]\n`);
    try {
      await writeFile(join(p.dir, 'common.yml'), `services:\n  app:\n    image: ${REGISTRY}/${base}:1.0.0\n`);
      await mkdir(join(p.dir, 'extra'));
      await writeFile(join(p.dir, 'extra', 'compose.yml'), `services:\n  cache:\n    image: ${REGISTRY}/${inc}:\${CACHE_TAG}\n`);
      await writeFile(join(p.dir, 'extra', '.env'), 'CACHE_TAG=1.0.0\n');
      await p.up();
      const r = await dosync(['sync', '-f', p.file, '--once', ...FAST]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.equal(await readFile(join(p.dir, 'common.yml'), 'utf8'), `services:\n  app:\n    image: ${REGISTRY}/${base}:1.1.0\n`);
      assert.equal(await readFile(join(p.dir, 'extra', '.env'), 'utf8'), 'CACHE_TAG=1.1.0\n');
      assert.deepEqual(await p.versions('api'), ['e1.1.0']);
      assert.deepEqual(await p.versions('jobs'), ['e1.1.0']);
      assert.deepEqual(await p.versions('cache'), ['i1.1.0']);
      await consistent(p, 'extends file and include');
    } finally {
      await p.destroy();
    }
  });
});

describe('replicas and groups', () => {
  test('look-alike names on different tags are independent services, and the summary counts what happened', async () => {
    const repo = unique('it/unit-look');
    for (const v of ['1.0.0', '1.0.5', '1.0.6']) await pushImage(repo, v, { version: v, healthcheck: true });
    const p = await ComposeProject.create(`services:\n  web-a:\n    image: ${REGISTRY}/${repo}:1.0.0\n  web-b:\n    image: ${REGISTRY}/${repo}:1.0.5\n  web-c:\n    image: ${REGISTRY}/${repo}:1.0.6\n`);
    try {
      await p.up();
      const r = await dosync(['sync', '-f', p.file, '--once', ...FAST]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      for (const s of ['web-a', 'web-b', 'web-c']) assert.deepEqual(await p.versions(s), ['1.0.6'], s);
      assert.equal(summary(r.stdout)?.updates, 2);
      await consistent(p, 'look-alikes');
    } finally {
      await p.destroy();
    }
  });

  test('dosync.group moves services together; one unhealthy member puts both back', async () => {
    const api = unique('it/unit-grp-api');
    const worker = unique('it/unit-grp-wrk');
    await pushImage(api, '2.0.0', { version: 'api2.0.0', healthcheck: true });
    await pushImage(api, '2.1.0', { version: 'api2.1.0', healthcheck: true });
    await pushImage(worker, '2.0.0', { version: 'w2.0.0', healthcheck: true });
    await pushImage(worker, '2.1.0', { version: 'w2.1.0', unhealthy: true });
    const original = `services:\n  api:\n    image: ${REGISTRY}/${api}:2.0.0\n    labels: [dosync.group=backend]\n  worker:\n    image: ${REGISTRY}/${worker}:2.0.0\n    labels: [dosync.group=backend]\n`;
    const p = await ComposeProject.create(original);
    try {
      await p.up();
      const r = await dosync(['sync', '-f', p.file, '--once', ...FAST]);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.equal(await readFile(p.file, 'utf8'), original);
      assert.deepEqual(await p.versions('api'), ['api2.0.0']);
      assert.deepEqual(await p.versions('worker'), ['w2.0.0']);
      await consistent(p, 'dosync.group rollback');
    } finally {
      await p.destroy();
    }
  });
});

describe('re-pushed tags and stopped services', () => {
  test('a re-pushed 7.2 is deployed: the digest is compared when the tag is still the newest', async () => {
    const repo = unique('it/unit-repush');
    await pushImage(repo, '7.2', { version: '7.2.0', healthcheck: true });
    const p = await ComposeProject.create(`services:\n  cache:\n    image: ${REGISTRY}/${repo}:7.2\n`);
    try {
      await p.up();
      const first = await dosync(['sync', '-f', p.file, '--once', ...FAST]);
      assert.equal(first.code, 0, first.stdout + first.stderr);
      assert.equal(summary(first.stdout)?.updates, 0, 'nothing new yet');
      await pushImage(repo, '7.2', { version: '7.2.1', healthcheck: true });
      const r = await dosync(['sync', '-f', p.file, '--once', ...FAST]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.deepEqual(await p.versions('cache'), ['7.2.1']);
      assert.equal(await readFile(p.file, 'utf8'), `services:\n  cache:\n    image: ${REGISTRY}/${repo}:7.2\n`);
      await consistent(p, 're-pushed tag');
    } finally {
      await p.destroy();
    }
  });

  test('a stopped service is left alone; a finished job gets the file edit and stays stopped', async () => {
    const web = unique('it/unit-stop');
    const job = unique('it/unit-job');
    for (const v of ['1.0.0', '1.1.0']) {
      await pushImage(web, v, { version: v, healthcheck: true });
      await pushImage(job, v, { version: v, exitCode: 0 });
    }
    // A service compose restarts (restart: unless-stopped) that is stopped, next to a job (restart unset, exited 0).
    const original = `services:\n  web:\n    image: ${REGISTRY}/${web}:1.0.0\n    restart: unless-stopped\n  migrate:\n    image: ${REGISTRY}/${job}:1.0.0\n`;
    const p = await ComposeProject.create(original);
    try {
      await p.compose(['up', '-d']);
      await sh('docker', ['wait', (await p.containers('migrate'))[0]]);
      await p.compose(['stop', 'web']);
      const r = await dosync(['sync', '-f', p.file, '--once', ...FAST]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const text = await readFile(p.file, 'utf8');
      assert.match(text, new RegExp(`${web}:1\\.0\\.0`), 'the stopped service keeps its tag');
      assert.match(text, new RegExp(`${job}:1\\.1\\.0`), 'the job gets the new tag');
      const lines = logLines(r.stdout);
      assert.ok(lines.some((l) => l.service === 'web' && /is not running: left alone/.test(String(l.msg))), 'web is reported as not running');
      assert.equal(await sh('docker', ['inspect', '-f', '{{.State.Status}}', (await p.containers('migrate'))[0]]), 'exited', 'the job stays stopped');
      await consistent(p, 'stopped service and job');
    } finally {
      await p.destroy();
    }
  });
});

describe('interrupted units and chosen tags', () => {
  for (const step of ['file-written', 'recreating']) {
    test(`kill -9 after "${step}" of a unit: the next start ${step === 'file-written' ? 'rolls back' : 'finishes'} the whole unit`, async () => {
      const a = unique('it/unit-crash-a');
      const b = unique('it/unit-crash-b');
      for (const v of ['1.0.0', '1.1.0']) {
        await pushImage(a, v, { version: `a${v}`, healthcheck: true });
        await pushImage(b, v, { version: `b${v}`, healthcheck: true });
      }
      const p = await ComposeProject.create(`services:\n  a:\n    image: ${REGISTRY}/${a}:\${PAIR_TAG}\n  b:\n    image: ${REGISTRY}/${b}:\${PAIR_TAG}\n`);
      try {
        await writeFile(join(p.dir, '.env'), 'PAIR_TAG=1.0.0\n');
        await p.up();
        const crashed = await dosync(['sync', '-f', p.file, '--once', ...FAST], { env: { DOSYNC_FAULT_CRASH_AFTER: step } });
        assert.notEqual(crashed.code, 0, 'the process was killed');
        assert.equal((await stateOf(p)).intent?.step, step);
        // The recovery alone: with updates paused, nothing but the interrupted unit is acted on.
        const recovered = await dosync(['sync', '-f', p.file, '--once', ...FAST], { env: { DOSYNC_PAUSE_UPDATES: '1' } });
        assert.equal(recovered.code, 0, recovered.stdout + recovered.stderr);
        assert.ok(logLines(recovered.stdout).some((l) => /an interrupted update was found \(unit a, b/.test(String(l.msg))));
        assert.equal((await stateOf(p)).intent, undefined, 'no intent left');
        const want = step === 'file-written' ? '1.0.0' : '1.1.0';
        assert.equal(await readFile(join(p.dir, '.env'), 'utf8'), `PAIR_TAG=${want}\n`);
        assert.deepEqual(await p.versions('a'), [`a${want}`]);
        assert.deepEqual(await p.versions('b'), [`b${want}`]);
        await consistent(p, `unit crash after ${step}`);
      } finally {
        await p.destroy();
      }
    });
  }

  test('dosync update SERVICE --to TAG moves the unit to exactly that tag, past the policy', async () => {
    const a = unique('it/unit-to-a');
    const b = unique('it/unit-to-b');
    for (const v of ['1.0.0', '1.4.2', '2.0.0']) {
      await pushImage(a, v, { version: `a${v}`, healthcheck: true });
      await pushImage(b, v, { version: `b${v}`, healthcheck: true });
    }
    const p = await ComposeProject.create(`services:\n  a:\n    image: ${REGISTRY}/${a}:\${PAIR_TAG}\n    labels: [dosync.enable=false]\n  b:\n    image: ${REGISTRY}/${b}:\${PAIR_TAG}\n`);
    try {
      await writeFile(join(p.dir, '.env'), 'PAIR_TAG=1.0.0\n');
      await p.up();
      const r = await dosync(['update', 'b', '--to', '1.4.2', '-f', p.file, ...FAST]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.equal(await readFile(join(p.dir, '.env'), 'utf8'), 'PAIR_TAG=1.4.2\n');
      assert.deepEqual(await p.versions('a'), ['a1.4.2']);
      assert.deepEqual(await p.versions('b'), ['b1.4.2']);
      const missing = await dosync(['update', 'b', '--to', '9.9.9', '-f', p.file, ...FAST]);
      assert.equal(missing.code, 1);
      assert.match(missing.stdout + missing.stderr, /has no tag 9\.9\.9/);
      assert.equal(await readFile(join(p.dir, '.env'), 'utf8'), 'PAIR_TAG=1.4.2\n');
      await consistent(p, 'update --to');
    } finally {
      await p.destroy();
    }
  });
});
