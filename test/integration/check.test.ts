/** `dosync check` on a real stack: the table/JSON per service and the exit codes scripts rely on (0, 10, 2). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { ComposeProject, pushImage, unique, dosync, REGISTRY } from '../helpers/docker.js';

test('check reports per service and exits 10 when updates are available, 0 when not, 2 on errors; it changes nothing', async () => {
  const repo = unique('it/check');
  for (const v of ['1.0.0', '1.3.0', '2.0.0']) await pushImage(repo, v, { version: v });
  const text = [
    'services:',
    '  web:',
    `    image: ${REGISTRY}/${repo}:1.0.0`,
    '  pinned:',
    `    image: ${REGISTRY}/${repo}:1.0.0`,
    '    labels: [dosync.enable=false]',
    '  major:',
    `    image: ${REGISTRY}/${repo}:1.0.0`,
    '    labels: ["dosync.policy=semver:>=1"]',
    '',
  ].join('\n');
  const p = await ComposeProject.create(text);
  try {
    await p.up();
    const r = await dosync(['check', '-f', p.file, '--json']);
    assert.equal(r.code, 10, r.stdout + r.stderr);
    const out = JSON.parse(r.stdout) as { services: Array<{ service: string; current: string; newest: string; status: string; source: string }> };
    const by = Object.fromEntries(out.services.map((s) => [s.service, s]));
    assert.deepEqual([by.web.current, by.web.newest, by.web.status, by.web.source], ['1.0.0', '1.3.0', 'update available', 'default']);
    assert.equal(by.pinned.status, 'skipped');
    assert.deepEqual([by.major.newest, by.major.source], ['2.0.0', 'label']);
    const table = await dosync(['check', '-f', p.file, '--wide']);
    assert.match(table.stdout.split('\n')[0], /^SERVICE\s+CURRENT\s+NEWEST\s+POLICY\s+SOURCE\s+REGISTRY\s+STATUS$/);
    assert.equal(await readFile(p.file, 'utf8'), text);

    const upToDate = await ComposeProject.create(`services:\n  web:\n    image: ${REGISTRY}/${repo}:1.3.0\n`);
    try {
      assert.equal((await dosync(['check', '-f', upToDate.file])).code, 0);
    } finally {
      await upToDate.destroy();
    }
    const broken = await ComposeProject.create(`services:\n  web:\n    image: ${REGISTRY}/${unique('it/none')}:1.0.0\n`);
    try {
      const e = await dosync(['check', '-f', broken.file]);
      assert.equal(e.code, 2);
      assert.match(e.stdout, /error: .*not found/);
    } finally {
      await broken.destroy({ skipInvariant: 'the test names an image that was never pushed; dosync only reads it' });
    }
  } finally {
    await p.destroy();
  }
});
