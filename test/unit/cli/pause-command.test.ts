import { describe, test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { registerPauseCommands } from '../../../src/cli/pause.js';
import { isPaused } from '../../../src/sync/schedule.js';
import { ConfigError } from '../../../src/util/errors.js';

let dir: string;
beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'dosync-pausecmd-')); });
afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

async function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ out: string; err?: unknown }> {
  let out = '';
  const program = new Command('dosync').exitOverride();
  registerPauseCommands(program, { write: (t) => (out += t), env, now: () => new Date('2025-04-01T12:00:00Z') });
  try {
    await program.parseAsync(args, { from: 'user' });
    return { out };
  } catch (err) {
    return { out, err };
  }
}

describe('dosync pause / resume', () => {
  test('pause --state-dir writes the flag; resume removes it', async () => {
    const state = join(dir, 'state');
    let r = await run(['pause', '--state-dir', state, '--reason', 'release freeze']);
    assert.equal(r.err, undefined);
    assert.equal(r.out, `updates paused (${join(state, 'paused')}); run \`dosync resume\` to let them through again\n`);
    assert.deepEqual(await isPaused(state, {}), { paused: true, source: 'file', path: join(state, 'paused'), since: '2025-04-01T12:00:00.000Z', reason: 'release freeze' });
    r = await run(['resume', '--state-dir', state]);
    assert.equal(r.out, `updates resumed (${state})\n`);
    assert.deepEqual(await isPaused(state, {}), { paused: false });
    r = await run(['resume', '--state-dir', state]);
    assert.equal(r.out, `updates were not paused in ${state}\n`);
  });

  test('without --state-dir: DOSYNC_STATE_DIR, then --backup-dir, then backups/ next to the compose file', async () => {
    await run(['pause'], { DOSYNC_STATE_DIR: join(dir, 'env-state') });
    assert.deepEqual(await readdir(join(dir, 'env-state')), ['paused']);
    await run(['pause', '--backup-dir', join(dir, 'bk')]);
    assert.deepEqual(await readdir(join(dir, 'bk')), ['paused']);
    await mkdir(join(dir, 'stack'));
    await run(['pause', '-f', join(dir, 'stack', 'compose.yml')]);
    assert.deepEqual(await readdir(join(dir, 'stack', 'backups')), ['paused']);
    await run(['resume'], { DOSYNC_FILE: join(dir, 'stack', 'compose.yml') });
    assert.deepEqual(await readdir(join(dir, 'stack', 'backups')), []);
  });

  test('the config file\'s backup_dir is used when no dir is given', async () => {
    const cfg = join(dir, 'dosync.yaml');
    await writeFile(cfg, `backup_dir: ${join(dir, 'from-config')}\n`);
    const r = await run(['pause', '-c', cfg]);
    assert.equal(r.err, undefined);
    assert.ok(JSON.parse(await readFile(join(dir, 'from-config', 'paused'), 'utf8')).since);
  });

  test('the config file\'s state_dir wins over every backup dir, as for the daemon', async () => {
    const cfg = join(dir, 'dosync.yaml');
    await writeFile(cfg, `state_dir: ${join(dir, 'state-from-config')}\nbackup_dir: ${join(dir, 'bk-from-config')}\n`);
    let r = await run(['pause', '-c', cfg, '--backup-dir', join(dir, 'bk-flag')], { DOSYNC_BACKUP_DIR: join(dir, 'bk-env') });
    assert.equal(r.err, undefined);
    assert.deepEqual(await readdir(join(dir, 'state-from-config')), ['paused']);
    r = await run(['resume'], { DOSYNC_CONFIG: cfg });
    assert.equal(r.out, `updates resumed (${join(dir, 'state-from-config')})\n`);
    // DOSYNC_STATE_DIR still beats the config (which then is not even read).
    await run(['pause', '-c', join(dir, 'missing.yaml')], { DOSYNC_STATE_DIR: join(dir, 'env-state') });
    assert.deepEqual(await readdir(join(dir, 'env-state')), ['paused']);
  });

  test('no way to find the state dir: a ConfigError asking for --state-dir', async () => {
    const r = await run(['pause', '-c', join(dir, 'missing-but-unused.yaml')], {});
    // An explicit config that does not exist is itself the error to report.
    assert.ok(r.err instanceof ConfigError);
    const r2 = await run(['resume'], {});
    // No -c: default config search finds nothing here (unless the machine has /etc/dosync/dosync.yaml with backup_dir).
    assert.ok(r2.err instanceof ConfigError && /--state-dir/.test(r2.err.message), String(r2.err));
  });

  test('resume says when PAUSE_UPDATES still pauses', async () => {
    const r = await run(['resume', '--state-dir', dir], { PAUSE_UPDATES: '1' });
    assert.match(r.out, /note: PAUSE_UPDATES is set in this environment/);
  });
});
