/** `dosync init` on a stack that pulls from the host's loopback registry: warned, --network-host offered; only variables dosync reads. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { initAction } from '../../../src/cli/init-run.js';
import type { InitFlags } from '../../../src/cli/init.js';

const FLAGS: InitFlags = { image: 'dosync:latest', service: 'dosync', interval: '5m', config: true, backupDir: './backups' };

async function withStack<T>(compose: string, run: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'i19-init-'));
  try {
    await writeFile(join(dir, 'compose.yaml'), compose);
    return await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const STACK = 'services:\n  web:\n    image: 127.0.0.1:5000/shop/web:1.0.0\n  api:\n    image: registry.example.com:5000/shop/api:2.0.0\n';

test('a loopback registry is warned about and --network-host gives the sidecar network_mode: host', async () => {
  await withStack(STACK, async (dir) => {
    const out = await initAction({ ...FLAGS, dryRun: true }, dir, {});
    assert.match(out, /warning: 127\.0\.0\.1:5000 \(used by web\) is this host's loopback.*--network-host/);
    assert.doesNotMatch(out, /registry\.example\.com:5000 \(used by/);
  });
  await withStack(STACK, async (dir) => {
    const out = await initAction({ ...FLAGS, networkHost: true }, dir, {});
    assert.doesNotMatch(out, /warning:/);
    const compose = parse(await readFile(join(dir, 'compose.yaml'), 'utf8')) as { services: Record<string, { network_mode?: string }> };
    assert.equal(compose.services.dosync.network_mode, 'host');
    assert.equal(compose.services.web.network_mode, undefined);
  });
});

test('custom-registry variables are listed only when the dosync.yaml that reads them is written', async () => {
  await withStack(STACK, async (dir) => {
    await initAction({ ...FLAGS }, dir, {});
    const compose = await readFile(join(dir, 'compose.yaml'), 'utf8');
    assert.match(compose, /# REGISTRY_EXAMPLE_COM_5000_USERNAME: \$\{REGISTRY_EXAMPLE_COM_5000_USERNAME\}/);
    assert.match(await readFile(join(dir, 'dosync.yaml'), 'utf8'), /\$\{REGISTRY_EXAMPLE_COM_5000_USERNAME\}/);
  });
  await withStack(STACK, async (dir) => {
    await initAction({ ...FLAGS, config: false }, dir, {});
    assert.doesNotMatch(await readFile(join(dir, 'compose.yaml'), 'utf8'), /REGISTRY_EXAMPLE_COM_5000/);
  });
});
