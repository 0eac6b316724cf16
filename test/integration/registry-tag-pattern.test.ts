/**
 * DOSync's `registry.<family>.tag_pattern` through `dosync check` on the loopback registry (a `custom` entry
 * names 127.0.0.1:5000): it filters that registry's tags; a label filter on a service still wins.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ComposeProject, REGISTRY, dosync, sh, unique } from '../helpers/docker.js';
import { buildFromBase, pushAs } from '../helpers/registry-images.js';

interface Row { service: string; current: string; newest: string | null; status: string; source: string; policy: string }

test('registry.custom.tag_pattern filters the tags dosync check considers for that registry', async () => {
  const image = `${REGISTRY}/${unique('it/tagpattern')}`;
  const tags = ['1.0.0', '1.0.1', '1.1.0'];
  await buildFromBase(`${image}:build`, ['ENV APP_VERSION=1']);
  await pushAs(`${image}:build`, tags.map((t) => `${image}:${t}`));
  await sh('docker', ['rmi', ...['build', ...tags].map((t) => `${image}:${t}`)]);
  const p = await ComposeProject.create([
    'services:',
    '  web:',
    `    image: ${image}:1.0.0`,
    '  api:',
    `    image: ${image}:1.0.0`,
    "    labels: ['dosync.tag.include=^1\\.1']",
    '',
  ].join('\n'));
  const check = async (registry: string): Promise<Record<string, Row>> => {
    const config = join(p.dir, 'dosync.yaml');
    // The stack is not started: update_stopped lets check show the update a stopped service would get.
    await writeFile(config, `update_stopped: true\n${registry}`);
    const r = await dosync(['check', '-f', p.file, '-c', config, '--json'], { cwd: p.dir });
    assert.equal(r.code, 10, r.stdout + r.stderr);
    return Object.fromEntries((JSON.parse(r.stdout) as { services: Row[] }).services.map((s) => [s.service, s]));
  };
  try {
    // Without tag_pattern the default policy moves web to 1.1.0.
    const plain = await check(`registry:\n  custom:\n    url: http://${REGISTRY}\n    insecure: true\n`);
    assert.equal(plain.web.newest, '1.1.0');

    for (const pattern of ['"1.0"', '"1.0.*"']) {
      const by = await check(`registry:\n  custom:\n    url: http://${REGISTRY}\n    insecure: true\n    tag_pattern: ${pattern}\n`);
      assert.deepEqual([by.web.newest, by.web.status, by.web.source], ['1.0.1', 'update available', 'registry'], pattern);
      // (The planner names the registry section, not the family entry.)
      assert.match(by.web.policy, /; include \/\^1\\\.0.*\/ \(.*dosync\.yaml: registry\.tag_pattern\)$/);
      // The label's include is more specific than the registry's tag_pattern.
      assert.deepEqual([by.api.newest, by.api.source], ['1.1.0', 'label'], pattern);
    }
  } finally {
    await p.destroy();
  }
});
