/**
 * Every command finds the state dir the way the daemon does: `dosync check` with only DOSYNC_BACKUP_DIR set (as
 * the systemd unit does) sees the failed tags the daemon recorded there, and `dosync pause -c dosync.yaml` writes
 * its flag into the config's state_dir, where `check` (and the daemon) look.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ComposeProject, REGISTRY, dosync, sh, unique } from '../helpers/docker.js';
import { buildFromBase, pushAs } from '../helpers/registry-images.js';
import { StateStore, defaultStatePath, serviceKey } from '../../src/sync/state.js';

interface Row { service: string; newest: string | null; status: string; reason: string }

test('check and pause find the state dir as sync does (DOSYNC_BACKUP_DIR, dosync.yaml state_dir)', async () => {
  const image = `${REGISTRY}/${unique('it/statedir')}`;
  await buildFromBase(`${image}:build`, ['ENV APP_VERSION=1']);
  await pushAs(`${image}:build`, [`${image}:1.0.0`, `${image}:1.1.0`]);
  await sh('docker', ['rmi', `${image}:build`, `${image}:1.0.0`, `${image}:1.1.0`]);
  // Not started: update_stopped lets check offer the update a stopped service would get.
  const p = await ComposeProject.create(`services:\n  web:\n    image: ${image}:1.0.0\n    labels: [dosync.update_stopped=true]\n`);
  const check = async (args: string[], env: NodeJS.ProcessEnv) => {
    const r = await dosync(['check', '-f', p.file, '-p', p.name, '--json', ...args], { cwd: p.dir, env: { DOSYNC_STATE_DIR: '', DOSYNC_CONFIG: '', ...env } });
    const web = (JSON.parse(r.stdout) as { services: Row[] }).services.find((s) => s.service === 'web')!;
    return { code: r.code, web, all: r.stdout + r.stderr };
  };
  try {
    // What a daemon under the systemd unit (DOSYNC_BACKUP_DIR only) recorded: 1.1.0 failed its health gate.
    const backups = join(p.dir, 'var-lib-dosync', 'backups');
    await mkdir(backups, { recursive: true });
    const state = await StateStore.open(defaultStatePath(backups));
    state.recordFailed(serviceKey(p.name, 'web'), { tag: '1.1.0', reason: 'not healthy after 120s' });
    await state.save();

    const unit = await check([], { DOSYNC_BACKUP_DIR: backups });
    assert.equal(unit.code, 0, unit.all);
    assert.deepEqual([unit.web.newest, unit.web.status], ['1.0.0', 'up to date']);
    // The same stack without that state: 1.1.0 is offered (so the assertion above depends on the state).
    const elsewhere = await check([], { DOSYNC_BACKUP_DIR: join(p.dir, 'empty') });
    assert.deepEqual([elsewhere.code, elsewhere.web.newest], [10, '1.1.0'], elsewhere.all);

    // state_dir in dosync.yaml: pause writes there, check (like the daemon) holds the update because of it.
    const stateDir = join(p.dir, 'state-from-config');
    const config = join(p.dir, 'dosync.yaml');
    await writeFile(config, `state_dir: ${stateDir}\n`);
    const paused = await dosync(['pause', '-c', config, '-f', p.file, '--reason', 'freeze'], { cwd: p.dir, env: { DOSYNC_STATE_DIR: '', DOSYNC_BACKUP_DIR: join(p.dir, 'bk') } });
    assert.equal(paused.code, 0, paused.stdout + paused.stderr);
    assert.equal(paused.stdout, `updates paused (${join(stateDir, 'paused')}); run \`dosync resume\` to let them through again\n`);
    const held = await check(['-c', config], { DOSYNC_BACKUP_DIR: join(p.dir, 'bk') });
    assert.deepEqual([held.web.newest, held.web.status], ['1.1.0', 'held'], held.all);
    assert.match(held.web.reason, /updates are paused/);
  } finally {
    await p.destroy();
  }
});
