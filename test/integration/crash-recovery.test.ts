/**
 * kill -9 at each step of an update (DOSYNC_FAULT_CRASH_AFTER makes dosync SIGKILL itself right after
 * recording the step), then a normal start: the interrupted update is finished or rolled back, and the stack
 * ends consistent: the compose file names what runs, it is healthy, no intent is left.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ComposeProject, pushImage, unique, dosync, logLines, REGISTRY, sh } from '../helpers/docker.js';

const FAST = ['--health-stable', '1s', '--health-timeout', '30s'];

async function stateOf(p: ComposeProject): Promise<{ intent?: { step: string }; services: Record<string, { failed?: Array<{ tag: string }> }> }> {
  return JSON.parse(await readFile(join(p.dir, 'backups', 'state.json'), 'utf8'));
}

describe('crash recovery', () => {
  for (const step of ['pulled', 'file-written', 'recreating', 'health-check']) {
    test(`killed after "${step}": the next start completes the update consistently`, async () => {
      const repo = unique('it/crash');
      for (const v of ['1.0.0', '1.1.0']) await pushImage(repo, v, { version: v, healthcheck: true });
      const p = await ComposeProject.create(`services:\n  web:\n    image: ${REGISTRY}/${repo}:1.0.0\n`);
      try {
        await p.up();
        const crashed = await dosync(['sync', '-f', p.file, '--once', ...FAST], { env: { DOSYNC_FAULT_CRASH_AFTER: step } });
        assert.notEqual(crashed.code, 0, 'the process was killed');
        assert.equal((await stateOf(p)).intent?.step, step, 'the step was recorded before the kill');

        const r = await dosync(['sync', '-f', p.file, '--once', ...FAST]);
        assert.equal(r.code, 0, r.stdout + r.stderr);
        assert.ok(logLines(r.stdout).some((l) => String(l.msg).startsWith('an interrupted update was found')));
        assert.equal((await stateOf(p)).intent, undefined, 'no intent left');
        assert.match(await readFile(p.file, 'utf8'), /:1\.1\.0\n/);
        assert.deepEqual(await p.versions('web'), ['1.1.0']);
        const [id] = await p.containers('web');
        assert.equal(await sh('docker', ['inspect', '-f', '{{.State.Health.Status}}', id]), 'healthy');
      } finally {
        await p.destroy();
      }
    });
  }

  test('killed while rolling back a failed update: the next start finishes the rollback and remembers the failed tag', async () => {
    const repo = unique('it/crashrb');
    await pushImage(repo, '1.0.0', { version: '1.0.0', healthcheck: true });
    await pushImage(repo, '1.1.0', { version: '1.1.0', unhealthy: true });
    const original = `services:\n  web:\n    image: ${REGISTRY}/${repo}:1.0.0\n`;
    const p = await ComposeProject.create(original);
    try {
      await p.up();
      const crashed = await dosync(['sync', '-f', p.file, '--once', ...FAST], { env: { DOSYNC_FAULT_CRASH_AFTER: 'rolling-back' } });
      assert.notEqual(crashed.code, 0);
      assert.equal((await stateOf(p)).intent?.step, 'rolling-back');
      const r = await dosync(['sync', '-f', p.file, '--once', ...FAST]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.equal(await readFile(p.file, 'utf8'), original);
      assert.deepEqual(await p.versions('web'), ['1.0.0']);
      const state = await stateOf(p);
      assert.equal(state.intent, undefined);
      assert.ok(Object.values(state.services).some((s) => s.failed?.some((f) => f.tag === '1.1.0')), '1.1.0 recorded as failed');
    } finally {
      await p.destroy();
    }
  });
});
