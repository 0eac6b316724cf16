/** One way to find the backup and state dirs, for every command: flags, then env, then dosync.yaml, then the default. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { explicitStateDir, resolveBackupDir, resolveStateDir, type DirSources } from '../../../src/sync/dirs.js';
import { ConfigError } from '../../../src/util/errors.js';

const FILES = ['/stack/compose.yml', '/other/override.yml'];

describe('resolveStateDir', () => {
  const rows: Array<[string, DirSources, string]> = [
    ['--state-dir beats everything', { flags: { stateDir: '/flag-state', backupDir: '/flag-bk' }, env: { DOSYNC_STATE_DIR: '/env-state', DOSYNC_BACKUP_DIR: '/env-bk' }, config: { state_dir: '/cfg-state', backup_dir: '/cfg-bk' }, files: FILES }, '/flag-state'],
    ['DOSYNC_STATE_DIR beats the config and the backup dir', { flags: { backupDir: '/flag-bk' }, env: { DOSYNC_STATE_DIR: '/env-state' }, config: { state_dir: '/cfg-state' }, files: FILES }, '/env-state'],
    ['state_dir in dosync.yaml beats every backup dir', { flags: { backupDir: '/flag-bk' }, env: { DOSYNC_BACKUP_DIR: '/env-bk' }, config: { state_dir: '/cfg-state', backup_dir: '/cfg-bk' }, files: FILES }, '/cfg-state'],
    ['then --backup-dir', { flags: { backupDir: '/flag-bk' }, env: { DOSYNC_BACKUP_DIR: '/env-bk' }, config: { backup_dir: '/cfg-bk' }, files: FILES }, '/flag-bk'],
    ['then DOSYNC_BACKUP_DIR (the systemd unit sets only this)', { env: { DOSYNC_BACKUP_DIR: '/var/lib/dosync/backups' }, config: { backup_dir: '/cfg-bk' }, files: FILES }, '/var/lib/dosync/backups'],
    ['then backup_dir in dosync.yaml', { env: {}, config: { backup_dir: '/cfg-bk' }, files: FILES }, '/cfg-bk'],
    ['then backups/ next to the first compose file', { env: {}, files: FILES }, '/stack/backups'],
    ['empty variables count as unset', { env: { DOSYNC_STATE_DIR: '', DOSYNC_BACKUP_DIR: '' }, files: FILES }, '/stack/backups'],
    ['relative paths are made absolute', { flags: { stateDir: 'rel/state' }, env: {}, files: [] }, resolve('rel/state')],
    ['a relative compose file', { env: {}, files: ['compose.yml'] }, resolve('backups')],
  ];
  for (const [name, input, expected] of rows) test(name, () => assert.equal(resolveStateDir(input), expected));

  test('nothing to go on: a ConfigError asking for --state-dir', () => {
    assert.throws(() => resolveStateDir({ env: {}, files: [] }), (e: unknown) => e instanceof ConfigError && /--state-dir/.test(e.message));
  });
});

describe('resolveBackupDir', () => {
  const rows: Array<[string, Omit<DirSources, 'files'>, string | undefined]> = [
    ['--backup-dir first', { flags: { backupDir: '/flag-bk' }, env: { DOSYNC_BACKUP_DIR: '/env-bk' }, config: { backup_dir: '/cfg-bk' } }, '/flag-bk'],
    ['then DOSYNC_BACKUP_DIR', { env: { DOSYNC_BACKUP_DIR: '/env-bk' }, config: { backup_dir: '/cfg-bk' } }, '/env-bk'],
    ['then backup_dir', { env: {}, config: { backup_dir: '/cfg-bk' } }, '/cfg-bk'],
    ['state settings do not move backups', { flags: { stateDir: '/s' }, env: { DOSYNC_STATE_DIR: '/s' }, config: { state_dir: '/s' } }, undefined],
    ['none: next to each file', { env: {} }, undefined],
  ];
  for (const [name, input, expected] of rows) test(name, () => assert.equal(resolveBackupDir(input), expected));
});

test('explicitStateDir: only --state-dir and DOSYNC_STATE_DIR, which need no config file', () => {
  assert.equal(explicitStateDir({ flags: { stateDir: '/a' }, env: { DOSYNC_STATE_DIR: '/b' } }), '/a');
  assert.equal(explicitStateDir({ env: { DOSYNC_STATE_DIR: '/b' } }), '/b');
  assert.equal(explicitStateDir({ flags: { backupDir: '/c' }, env: { DOSYNC_BACKUP_DIR: '/d' } }), undefined);
});

describe('assertPrivateDir (issue 15)', () => {
  test('a world-writable state dir without the sticky bit is refused in one line (exit 2); sticky, private or missing dirs are fine', async () => {
    const { mkdtemp, chmod, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { assertPrivateDir } = await import('../../../src/sync/dirs.js');
    const dir = await mkdtemp(join(tmpdir(), 'i15-dirs-'));
    try {
      await chmod(dir, 0o777);
      await assert.rejects(assertPrivateDir(dir), (e: unknown) => e instanceof ConfigError && e.exitCode === 2
        && e.message === `the state dir ${dir} is writable by every user (mode 0777), so anyone on this machine could plant its state, pause flag or backups; run chmod 700 ${dir} (or use another --state-dir)`);
      await chmod(dir, 0o1777);
      await assertPrivateDir(dir);
      await chmod(dir, 0o700);
      await assertPrivateDir(dir);
      await assertPrivateDir(join(dir, 'missing'));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
