/**
 * dosync rollback and dosync backups against the real Docker engine and the registry on 127.0.0.1:5000:
 * each test updates its own stack with `dosync sync --once`, then undoes it as a user would.
 */
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { request } from 'undici';
import { ComposeProject, pushImage, unique, dosync, REGISTRY, sh } from '../helpers/docker.js';

before(async () => {
  await sh('docker', ['info']);
});

const HEALTHY = ['--health-stable', '1s', '--health-timeout', '60s'];

async function backupNames(p: ComposeProject): Promise<string[]> {
  return (await readdir(join(p.dir, 'backups'))).filter((f) => f.endsWith('.bak')).sort();
}

async function state(p: ComposeProject): Promise<{ services: Record<string, { failed: Array<{ tag: string }>; history: Array<{ from: string; to: string; outcome: string; detail?: string }>; deployed?: { reference: string } }> }> {
  return JSON.parse(await readFile(join(p.dir, 'backups', 'state.json'), 'utf8'));
}

/** The image reference the service's running container was created from. */
async function runningImage(p: ComposeProject, service: string): Promise<string> {
  const [id] = await p.containers(service);
  return sh('docker', ['inspect', '-f', '{{.Config.Image}}', id]);
}

/** Deletes repo:tag from the registry (delete is enabled on :5000) and from the engine. */
async function deleteEverywhere(repo: string, tag: string): Promise<void> {
  const url = `http://${REGISTRY}/v2/${repo}/manifests/${tag}`;
  const accept = 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json';
  const head = await request(url, { method: 'HEAD', headers: { accept } });
  await head.body.dump();
  const digest = head.headers['docker-content-digest'];
  assert.equal(typeof digest, 'string', `no digest for ${repo}:${tag}`);
  const del = await request(`http://${REGISTRY}/v2/${repo}/manifests/${digest}`, { method: 'DELETE' });
  await del.body.dump();
  assert.equal(del.statusCode, 202);
  await sh('docker', ['rmi', '-f', `${REGISTRY}/${repo}:${tag}`]).catch(() => '');
}

describe('dosync rollback on a real stack', () => {
  test('undoes the last update: old image runs, the image line is back, and the next sync does not re-apply the tag', async () => {
    const repo = unique('it/rb');
    const apiRepo = unique('it/rbapi');
    for (const v of ['1.0.0', '1.1.0']) await pushImage(repo, v, { version: v, healthcheck: true });
    for (const v of ['7.0.0', '7.0.1']) await pushImage(apiRepo, v, { version: v, healthcheck: true });
    const original = [
      'services:',
      '  web:',
      `    image: ${REGISTRY}/${repo}:1.0.0   # kept by dosync`,
      '    restart: unless-stopped',
      '  api:',
      `    image: ${REGISTRY}/${apiRepo}:7.0.0`,
      '',
    ].join('\n');
    const p = await ComposeProject.create(original);
    try {
      await p.up();
      const synced = await dosync(['sync', '-f', p.file, '--once', ...HEALTHY]);
      assert.equal(synced.code, 0, synced.stdout + synced.stderr);
      assert.deepEqual(await p.versions('web'), ['1.1.0']);
      assert.deepEqual(await p.versions('api'), ['7.0.1']);
      const updated = await readFile(p.file, 'utf8');

      const dry = await dosync(['rollback', '-f', p.file, '--dry-run']);
      assert.equal(dry.code, 0, dry.stderr);
      assert.match(dry.stdout, new RegExp(`would roll back web: ${REGISTRY}/${repo}:1\\.1\\.0 -> ${REGISTRY}/${repo}:1\\.0\\.0`));
      assert.equal(await readFile(p.file, 'utf8'), updated, 'a dry run changes nothing');
      assert.deepEqual(await p.versions('web'), ['1.1.0']);

      // A user edit made after the update survives the rollback: only the image reference is put back.
      const edited = updated.replace('    restart: unless-stopped\n', '    restart: unless-stopped\n    environment: [EDITED=yes]\n');
      await writeFile(p.file, edited);
      const r = await dosync(['rollback', '-f', p.file, ...HEALTHY]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /rolled back web: .*:1\.1\.0 -> .*:1\.0\.0 \(healthy/);
      assert.match(r.stdout, /rolled back api: .*:7\.0\.1 -> .*:7\.0\.0 \(healthy/, 'every service of the last update goes back');
      assert.match(r.stdout, /web: tag 1\.1\.0 recorded as failed/);
      assert.deepEqual(await p.versions('web'), ['1.0.0']);
      assert.deepEqual(await p.versions('api'), ['7.0.0']);
      assert.equal(await runningImage(p, 'web'), `${REGISTRY}/${repo}:1.0.0`);
      assert.equal(await readFile(p.file, 'utf8'), edited.replace(`${repo}:1.1.0`, `${repo}:1.0.0`).replace(`${apiRepo}:7.0.1`, `${apiRepo}:7.0.0`));

      const s = (await state(p)).services[`${p.name}/web`];
      assert.deepEqual(s.failed.map((f) => f.tag), ['1.1.0']);
      const last = s.history[s.history.length - 1];
      assert.deepEqual([last.from, last.to, last.outcome], [`${REGISTRY}/${repo}:1.0.0`, `${REGISTRY}/${repo}:1.1.0`, 'rolled-back']);
      assert.equal(s.deployed?.reference, `${REGISTRY}/${repo}:1.0.0`);

      const again = await dosync(['sync', '-f', p.file, '--once', ...HEALTHY]);
      assert.equal(again.code, 0, again.stdout + again.stderr);
      assert.deepEqual(await p.versions('web'), ['1.0.0'], 'the rolled-back tag is not applied again');
      assert.deepEqual(await p.versions('api'), ['7.0.0']);
      assert.match(await readFile(p.file, 'utf8'), new RegExp(`${repo}:1\\.0\\.0`));

      // The same update is not undone twice.
      const twice = await dosync(['rollback', '-f', p.file, ...HEALTHY]);
      assert.equal(twice.code, 1);
      assert.match(twice.stderr, /^dosync: the last update \(.*\) is already undone .*already back on .*(1\.0\.0|7\.0\.0)/m);
      assert.equal(twice.stderr.trim().split('\n').length, 1, twice.stderr);
    } finally {
      await p.destroy();
    }
  });

  test('--to BACKUP restores that backup\'s image, only for the services dosync changed, keeping other edits', async () => {
    const repo = unique('it/rbto');
    for (const v of ['2.0.0', '2.0.1', '2.0.2']) await pushImage(repo, v, { version: v, healthcheck: true });
    const handTag = `dosync-test/base:${unique('hand')}`;
    await sh('docker', ['tag', 'dosync-test/base:1', handTag]);
    const p = await ComposeProject.create([
      'services:',
      '  app:',
      `    image: ${REGISTRY}/${repo}:2.0.0`,
      '  pinned:',
      '    image: dosync-test/base:1',
      '    command: ["sleep", "3600"]',
      '    labels: [dosync.enable=false]',
      '',
    ].join('\n'));
    try {
      await p.up();
      // Two updates, each with its own backup: 2.0.0 -> 2.0.1 (a policy stops there), then -> 2.0.2.
      const config = join(p.dir, 'dosync.yaml');
      await writeFile(config, 'services:\n  app:\n    imagePolicy:\n      policy:\n        semver:\n          range: "<=2.0.1"\n');
      const first = await dosync(['sync', '-f', p.file, '--once', '-c', config, ...HEALTHY], { cwd: p.dir });
      assert.equal(first.code, 0, first.stdout + first.stderr);
      const second = await dosync(['sync', '-f', p.file, '--once', ...HEALTHY], { cwd: '/' });
      assert.equal(second.code, 0, second.stdout + second.stderr);
      assert.deepEqual(await p.versions('app'), ['2.0.2']);
      const [oldest, newer] = await backupNames(p);
      assert.match(await readFile(join(p.dir, 'backups', oldest), 'utf8'), /:2\.0\.0/);

      // Somebody changes the pinned service by hand, its image included; --to leaves that alone.
      const handEdited = (await readFile(p.file, 'utf8')).replace('command: ["sleep", "3600"]', 'command: ["sleep", "3601"]').replace('dosync-test/base:1', handTag);
      await writeFile(p.file, handEdited);

      const list = await dosync(['backups', 'list', '-f', p.file]);
      assert.equal(list.code, 0, list.stderr);
      const rows = list.stdout.trim().split('\n');
      assert.match(rows[0], /^TIME \(UTC\)\s+FILE\s+SIZE\s+BACKUP\s+CHANGES vs CURRENT$/);
      assert.equal(rows.length, 3, list.stdout);
      const hand = handTag.split(':')[1];
      assert.match(rows[1], new RegExp(`${newer.replace(/\./g, '\\.')}\\s+app: 2\\.0\\.1 \\(now 2\\.0\\.2\\), pinned: 1 \\(now ${hand}\\)$`));
      assert.match(rows[2], new RegExp(`${oldest.replace(/\./g, '\\.')}\\s+app: 2\\.0\\.0 \\(now 2\\.0\\.2\\), pinned: 1 \\(now ${hand}\\)$`));

      const r = await dosync(['rollback', '-f', p.file, '--to', oldest, ...HEALTHY]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /^note: pinned: .* dosync did not make that change; left alone/m);
      assert.deepEqual(await p.versions('app'), ['2.0.0']);
      assert.equal(await readFile(p.file, 'utf8'), handEdited.replace(`${repo}:2.0.2`, `${repo}:2.0.0`));
      const s = (await state(p)).services[`${p.name}/app`];
      assert.deepEqual(s.failed.map((f) => f.tag), ['2.0.2']);

      // show: the diff from the backup to the file as it is now (only the hand edits are left).
      const show = await dosync(['backups', 'show', oldest, '-f', p.file]);
      assert.equal(show.code, 0, show.stderr);
      assert.match(show.stdout, /^-\s+command: \["sleep", "3600"\]$/m);
      assert.match(show.stdout, /^\+\s+command: \["sleep", "3601"\]$/m);
      assert.doesNotMatch(show.stdout, /^[-+]\s+image: .*rbto/m, 'the app image line is the same again');
      // The hand edit of pinned is deployed as its author would, so the invariant check at the end judges dosync's part.
      await p.compose(['up', '-d', 'pinned']);
    } finally {
      await p.destroy();
      await sh('docker', ['rmi', handTag]).catch(() => '');
    }
  });

  test('a tag kept in .env: the .env backup is listed and --to it puts the variable back', async () => {
    const repo = unique('it/rbenv');
    for (const v of ['5.0.0', '5.1.0']) await pushImage(repo, v, { version: v, healthcheck: true });
    const p = await ComposeProject.create(`services:\n  app:\n    image: ${REGISTRY}/${repo}:\${APP_TAG}\n`);
    try {
      const dotenv = join(p.dir, '.env');
      await writeFile(dotenv, '# app version\nAPP_TAG=5.0.0\nDB_PASSWORD=do-not-print-me\n');
      await p.up();
      const synced = await dosync(['sync', '-f', p.file, '--once', ...HEALTHY]);
      assert.equal(synced.code, 0, synced.stdout + synced.stderr);
      assert.equal(await readFile(dotenv, 'utf8'), '# app version\nAPP_TAG=5.1.0\nDB_PASSWORD=do-not-print-me\n');
      const [backup] = await backupNames(p);
      assert.match(backup, /^\.env\.\d{8}T\d{9}Z\.bak$/);

      const list = await dosync(['backups', 'list', '-f', p.file]);
      assert.equal(list.code, 0, list.stderr);
      assert.match(list.stdout, new RegExp(`^\\S+ \\S+\\s+\\S*\\.env\\s+\\d+ B\\s+${backup.replace(/\./g, '\\.')}\\s+APP_TAG: 5\\.0\\.0 \\(now 5\\.1\\.0\\)$`, 'm'));
      const show = await dosync(['backups', 'show', backup, '-f', p.file]);
      assert.match(show.stdout, /^-APP_TAG=5\.0\.0$/m);
      assert.doesNotMatch(show.stdout + list.stdout, /do-not-print-me/);

      const r = await dosync(['rollback', '-f', p.file, '--to', backup, ...HEALTHY]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.deepEqual(await p.versions('app'), ['5.0.0']);
      assert.equal(await readFile(dotenv, 'utf8'), '# app version\nAPP_TAG=5.0.0\nDB_PASSWORD=do-not-print-me\n');
      assert.match(await readFile(p.file, 'utf8'), /:\$\{APP_TAG\}/, 'the compose file keeps its variable');
    } finally {
      await p.destroy();
    }
  });

  test('a rollback to an image gone from the registry and the engine fails with one line and changes nothing', async () => {
    const repo = unique('it/rbgone');
    for (const v of ['3.0.0', '3.1.0']) await pushImage(repo, v, { version: v, healthcheck: true });
    const p = await ComposeProject.create(`services:\n  api:\n    image: ${REGISTRY}/${repo}:3.0.0\n`);
    try {
      await p.up();
      const synced = await dosync(['sync', '-f', p.file, '--once', ...HEALTHY]);
      assert.equal(synced.code, 0, synced.stdout + synced.stderr);
      await deleteEverywhere(repo, '3.0.0');
      const file = await readFile(p.file, 'utf8');
      const containers = await p.containers('api');
      const stateBefore = await readFile(join(p.dir, 'backups', 'state.json'), 'utf8');
      const backupsBefore = await backupNames(p);

      const r = await dosync(['rollback', '-f', p.file, 'api', ...HEALTHY]);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0], new RegExp(`^dosync: cannot roll back api to ${REGISTRY}/${repo}:3\\.0\\.0: pull of .* failed: .*; nothing was changed`));
      assert.equal(await readFile(p.file, 'utf8'), file);
      assert.deepEqual(await p.containers('api'), containers);
      assert.deepEqual(await p.versions('api'), ['3.1.0']);
      assert.equal(await readFile(join(p.dir, 'backups', 'state.json'), 'utf8'), stateBefore);
      assert.deepEqual(await backupNames(p), backupsBefore);
    } finally {
      await p.destroy();
    }
  });

  test('an unhealthy rollback target is put back: the service keeps running its current image', async () => {
    const repo = unique('it/rbsick');
    await pushImage(repo, '4.0.0', { version: '4.0.0', unhealthy: true });
    await pushImage(repo, '4.1.0', { version: '4.1.0', healthcheck: true });
    const p = await ComposeProject.create(`services:\n  worker:\n    image: ${REGISTRY}/${repo}:4.1.0\n`);
    try {
      await p.up();
      const [backup] = await Promise.all([
        // A backup that names the broken 4.0.0, as if an earlier update had moved away from it.
        (async () => {
          const name = `docker-compose.yml.20200101T000000000Z.bak`;
          await sh('mkdir', ['-p', join(p.dir, 'backups')]);
          await writeFile(join(p.dir, 'backups', name), `services:\n  worker:\n    image: ${REGISTRY}/${repo}:4.0.0\n`);
          return name;
        })(),
      ]);
      const file = await readFile(p.file, 'utf8');
      const r = await dosync(['rollback', '-f', p.file, 'worker', '--to', backup, '--health-timeout', '20s', '--health-stable', '1s']);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, /^dosync: rollback not applied: worker on .*:4\.0\.0: .*unhealthy.*; worker is back on the image it had$/m);
      assert.equal(await readFile(p.file, 'utf8'), file);
      assert.deepEqual(await p.versions('worker'), ['4.1.0']);
      const s = (await state(p)).services[`${p.name}/worker`];
      assert.deepEqual(s.failed, [], 'a failed rollback marks no tag');
    } finally {
      await p.destroy();
    }
  });
});
