/** `npm run demo` (scripts/demo.sh): its own registry port and project, asks before installing anything. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, readdir, symlink, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ROOT, sh } from '../helpers/docker.js';

const exec = promisify(execFile);

async function demo(env: NodeJS.ProcessEnv): Promise<{ code: number; out: string }> {
  try {
    const r = await exec('bash', [join(ROOT, 'scripts/demo.sh')], { env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, out: r.stdout + r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, out: (e.stdout ?? '') + (e.stderr ?? '') };
  }
}

test('demo: moves its stack 1.0.0 -> 1.1.0 through a registry of its own; refuses a port in use; asks before installing', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'i19-demo-'));
  const project = 'i19demo';
  try {
    const r = await demo({ DEMO_REGISTRY_PORT: '19050', DEMO_PROJECT: project, DEMO_DIR: join(dir, 'work') });
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /== running before: 1\.0\.0/);
    assert.match(r.out, /== running after: 1\.1\.0/);
    assert.match(r.out, /127\.0\.0\.1:19050\/demo\/web:1\.1\.0/);
    assert.doesNotMatch(r.out, /127\.0\.0\.1:5000/);
    // Its registry stopped with it.
    await assert.rejects(fetch('http://127.0.0.1:19050/v2/'));

    // Whatever answers on a port is never reused.
    const busy = await demo({ DEMO_REGISTRY_PORT: '5000', DEMO_PROJECT: `${project}b`, DEMO_DIR: join(dir, 'busy') });
    assert.equal(busy.code, 2, busy.out);
    assert.match(busy.out, /something already answers on 127\.0\.0\.1:5000/);

    // A machine without docker-registry (PATH without it): says what it would install, installs nothing without a yes.
    const bin = join(dir, 'bin');
    await mkdir(bin);
    for (const d of (process.env.PATH ?? '').split(':')) {
      for (const name of await readdir(d).catch(() => [] as string[])) {
        if (name !== 'docker-registry') await symlink(join(d, name), join(bin, name)).catch(() => undefined);
      }
    }
    const asks = await demo({ PATH: bin, DEMO_PROJECT: `${project}c`, DEMO_DIR: join(dir, 'asks') });
    assert.equal(asks.code, 2, asks.out);
    assert.match(asks.out, /demo: this machine lacks:\n {2}- docker-registry/);
    assert.match(asks.out, /nothing installed/);
  } finally {
    await sh('docker', ['compose', '-p', project, '-f', join(dir, 'work', 'docker-compose.yml'), 'down', '-t', '1']).catch(() => undefined);
    for (const v of ['1.0.0', '1.1.0', '2.0.0']) await sh('docker', ['rmi', '-f', `127.0.0.1:19050/demo/web:${v}`]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
});
