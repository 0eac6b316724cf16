// A compose file bind-mounted as a single file (as in `-v ./docker-compose.yml:/compose/docker-compose.yml`)
// cannot be replaced by rename: the kernel answers EBUSY. This test makes a real single-file bind mount on
// this host (needs root, like the Docker engine the suite runs) and checks the writer's in-place fallback.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdir, mkdtemp, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { replaceFileSafely } from '../../src/compose/writer.js';
import { setServiceImage } from '../../src/compose/mutate.js';

const run = promisify(execFile);

test('single-file bind mount: rename gets EBUSY, the writer rewrites in place and the host file changes', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dosync-bind-'));
  const host = join(dir, 'host', 'docker-compose.yml');
  const mounted = join(dir, 'container', 'docker-compose.yml');
  await mkdir(join(dir, 'host'));
  await mkdir(join(dir, 'container'));
  const original = '# host stack\nservices:\n  web:\n    image: nginx:1.25.3 # pinned\n';
  await writeFile(host, original);
  await writeFile(mounted, '');
  await run('mount', ['--bind', host, mounted]);
  try {
    // The real kernel behaviour this fallback exists for.
    const probe = join(dir, 'container', 'probe.tmp');
    await writeFile(probe, 'x');
    await assert.rejects(rename(probe, mounted), { code: 'EBUSY' });
    await rm(probe);

    const updated = setServiceImage(original, 'web', 'nginx:1.26.0');
    const result = await replaceFileSafely(mounted, updated, { expectedOriginal: original, backupDir: join(dir, 'backups') });
    assert.equal(result.mode, 'in-place');
    assert.equal(await readFile(mounted, 'utf8'), updated);
    assert.equal(await readFile(host, 'utf8'), updated, 'the host side of the mount sees the change');
    assert.equal(await readFile(result.backupPath, 'utf8'), original);
    assert.deepEqual(await readdir(join(dir, 'container')), ['docker-compose.yml'], 'no temp file left behind');

    // A shorter file is truncated correctly through the mount as well.
    const shorter = 'services: {}\n';
    await replaceFileSafely(mounted, shorter, { expectedOriginal: updated, backupDir: join(dir, 'backups') });
    assert.equal(await readFile(host, 'utf8'), shorter);
  } finally {
    await run('umount', [mounted]);
    await rm(dir, { recursive: true, force: true });
  }
});
