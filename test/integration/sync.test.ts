/**
 * dosync sync against the real Docker engine and the real registry on 127.0.0.1:5000: each test builds its
 * own images, runs its own compose project, runs the dosync CLI as a user would and checks the engine.
 */
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ComposeProject, pushImage, unique, imageExists, dosync, logLines, REGISTRY, sh } from '../helpers/docker.js';

before(async () => {
  await sh('docker', ['info']);
});

function diffLines(a: string, b: string): Array<[string, string]> {
  const x = a.split('\n');
  const y = b.split('\n');
  assert.equal(x.length, y.length, 'line count changed');
  return x.flatMap((line, i) => (line === y[i] ? [] : [[line, y[i]] as [string, string]]));
}

const HEALTHY = ['--health-stable', '1s', '--health-timeout', '60s'];

describe('sync --once on a real stack', () => {
  test('moves 1.0.0 to 1.1.0 (not 2.0.0 or a prerelease), touching only the image line, with a backup and the old image pruned', async () => {
    const repo = unique('it/semver');
    for (const v of ['1.0.0', '1.1.0', '2.0.0', '1.2.0-rc.1', '1.0.1']) await pushImage(repo, v, { version: v, healthcheck: true });
    const original = [
      '# production stack',
      'services:',
      '  web:',
      `    image: "${REGISTRY}/${repo}:1.0.0"   # pinned by dosync`,
      '    restart: unless-stopped',
      '',
      '  sidecar:  # left alone: no image changes',
      '    image: dosync-test/base:1',
      '    labels: [dosync.enable=false]',
      '',
    ].join('\n');
    const p = await ComposeProject.create(original);
    try {
      await p.up();
      assert.deepEqual(await p.versions('web'), ['1.0.0']);
      const oldId = await sh('docker', ['image', 'inspect', '-f', '{{.Id}}', `${REGISTRY}/${repo}:1.0.0`]);

      const r = await dosync(['sync', '-f', p.file, '--once', ...HEALTHY]);
      assert.equal(r.code, 0, r.stdout + r.stderr);

      assert.deepEqual(await p.versions('web'), ['1.1.0']);
      const updated = await readFile(p.file, 'utf8');
      assert.deepEqual(diffLines(original, updated), [[
        `    image: "${REGISTRY}/${repo}:1.0.0"   # pinned by dosync`,
        `    image: "${REGISTRY}/${repo}:1.1.0"   # pinned by dosync`,
      ]]);
      const backups = (await readdir(join(p.dir, 'backups'))).filter((f) => f.endsWith('.bak'));
      assert.equal(backups.length, 1);
      assert.match(backups[0], /^docker-compose\.yml\.\d{8}T\d{6}\d*Z\.bak$/);
      assert.equal(await readFile(join(p.dir, 'backups', backups[0]), 'utf8'), original);
      assert.equal(await imageExists(oldId), false, 'the replaced image was pruned');
      const updatedLog = logLines(r.stdout).find((l) => l.msg === 'updated');
      assert.equal(updatedLog?.service, 'web');

      // A second cycle finds nothing to do and writes nothing.
      const again = await dosync(['sync', '-f', p.file, '--once', ...HEALTHY]);
      assert.equal(again.code, 0, again.stdout + again.stderr);
      assert.equal(await readFile(p.file, 'utf8'), updated);
      assert.equal((await readdir(join(p.dir, 'backups'))).filter((f) => f.endsWith('.bak')).length, 1);
    } finally {
      await p.destroy();
    }
  });

  test('tracks the digest of a non-version tag (latest): pulls and recreates, the compose file keeps its tag', async () => {
    const repo = unique('it/digest');
    await pushImage(repo, 'latest', { version: 'first' });
    const original = `services:\n  app:\n    image: ${REGISTRY}/${repo}:latest\n`;
    const p = await ComposeProject.create(original);
    try {
      await p.up();
      assert.deepEqual(await p.versions('app'), ['first']);
      const oldId = await sh('docker', ['image', 'inspect', '-f', '{{.Id}}', `${REGISTRY}/${repo}:latest`]);
      const unchanged = await dosync(['sync', '-f', p.file, '--once', ...HEALTHY]);
      assert.equal(unchanged.code, 0, unchanged.stdout + unchanged.stderr);
      assert.equal(logLines(unchanged.stdout).some((l) => l.msg === 'updated'), false, 'same digest: no update');

      await pushImage(repo, 'latest', { version: 'second' });
      const r = await dosync(['sync', '-f', p.file, '--once', ...HEALTHY]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.deepEqual(await p.versions('app'), ['second']);
      assert.equal(await readFile(p.file, 'utf8'), original);
      assert.equal(await imageExists(oldId), false, 'the old digest image was pruned');
    } finally {
      await p.destroy();
    }
  });

  test('updates every replica of a scale: 2 service', async () => {
    const repo = unique('it/scale');
    for (const v of ['3.1.0', '3.2.0']) await pushImage(repo, v, { version: v, healthcheck: true });
    const p = await ComposeProject.create(`services:\n  worker:\n    image: ${REGISTRY}/${repo}:3.1.0\n    scale: 2\n`);
    try {
      await p.up();
      assert.deepEqual(await p.versions('worker'), ['3.1.0', '3.1.0']);
      const r = await dosync(['sync', '-f', p.file, '--once', ...HEALTHY]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.deepEqual(await p.versions('worker'), ['3.2.0', '3.2.0']);
      assert.match(await readFile(p.file, 'utf8'), new RegExp(`${repo}:3\\.2\\.0`));
    } finally {
      await p.destroy();
    }
  });

  test('--dry-run reports the update and changes nothing', async () => {
    const repo = unique('it/dry');
    for (const v of ['1.0.0', '1.0.5']) await pushImage(repo, v, { version: v });
    const original = `services:\n  web:\n    image: ${REGISTRY}/${repo}:1.0.0\n`;
    const p = await ComposeProject.create(original);
    try {
      await p.up();
      const before = await p.containers('web');
      const r = await dosync(['sync', '-f', p.file, '--once', '--dry-run']);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const would = logLines(r.stdout).find((l) => String(l.msg).startsWith('would update'));
      assert.match(String(would?.msg), /1\.0\.0 -> 1\.0\.5/);
      assert.equal(await readFile(p.file, 'utf8'), original);
      assert.deepEqual(await p.containers('web'), before);
      assert.deepEqual(await p.versions('web'), ['1.0.0']);
      await assert.rejects(readdir(join(p.dir, 'backups')), /ENOENT/);
      assert.equal(await imageExists(`${REGISTRY}/${repo}:1.0.5`), false, 'dry run pulls nothing');
    } finally {
      await p.destroy();
    }
  });
});
