import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, access } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDaemonControl } from '../../../src/sync/daemon-control.js';
import { StateStore, defaultStatePath, serviceKey } from '../../../src/sync/state.js';
import { createLogger } from '../../../src/util/logger.js';
import { Writable } from 'node:stream';

test('daemon control: approve queues a cycle of that service; pause/resume per service and project; check-only refuses what would apply', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'i18-control-'));
  try {
    const state = await StateStore.open(defaultStatePath(dir));
    const logger = createLogger({ json: true, destination: new Writable({ write: (_c, _e, cb) => cb() }) });
    let wakes = 0;
    const make = (checkOnly: boolean) => createDaemonControl({ state, project: 'shop', stateDir: dir, logger, checkOnly, services: () => ['web'], rollback: async () => 'done', wake: () => { wakes++; } });
    const control = make(false);
    assert.deepEqual(await control.handle({ kind: 'approve', service: 'web' }), { ok: false, status: 409, message: 'web has no update waiting for approval' });
    assert.equal((await control.handle({ kind: 'approve', service: 'nope' })).ok, false);
    state.setPending(serviceKey('shop', 'web'), { tag: '1.1.0', image: 'app:1.1.0', since: new Date(0).toISOString() });
    const r = await control.handle({ kind: 'approve', service: 'web' });
    assert.ok(r.ok && r.queued);
    assert.ok(wakes > 0);
    assert.deepEqual(await control.beforeCycle(), { services: ['web'] });
    assert.equal(await control.beforeCycle(), undefined);
    await control.handle({ kind: 'pause', service: 'web' });
    assert.ok(state.get(serviceKey('shop', 'web'))?.paused);
    await control.handle({ kind: 'resume', service: 'web' });
    assert.equal(state.get(serviceKey('shop', 'web'))?.paused, undefined);
    await control.handle({ kind: 'pause' });
    await access(join(dir, 'paused'));
    await control.handle({ kind: 'resume' });
    await assert.rejects(access(join(dir, 'paused')));
    const monitor = make(true);
    const refused = await monitor.handle({ kind: 'update', service: 'web', tag: '1.2.0' });
    assert.equal(refused.ok, false);
    assert.match(refused.ok ? '' : refused.message, /--check-only/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
