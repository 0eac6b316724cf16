import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveSettings } from '../../../src/settings/index.js';

describe('resolveSettings: flag > env > dosync.yaml > default, with the source', () => {
  test('each layer wins over the ones below', () => {
    const config = { interval: 600_000, keep_backups: 3, check_only: true, state_dir: '/from/file', watch_by_default: false, projects_root: '/srv' };
    const none = resolveSettings({}, {}, config, 'dosync.yaml');
    assert.deepEqual(none.interval, { value: 600_000, source: 'dosync.yaml' });
    assert.deepEqual(none.watchByDefault, { value: false, source: 'dosync.yaml' });
    const env = resolveSettings({}, { CHECK_INTERVAL: '1m', DOSYNC_KEEP_BACKUPS: '4', DOSYNC_CHECK_ONLY: 'no', DOSYNC_STATE_DIR: '/from/env', DOSYNC_WATCH_BY_DEFAULT: '1' }, config);
    assert.deepEqual(env.interval, { value: '1m', source: 'env CHECK_INTERVAL' });
    assert.deepEqual(env.keepBackups, { value: 4, source: 'env DOSYNC_KEEP_BACKUPS' });
    assert.deepEqual(env.checkOnly, { value: false, source: 'env DOSYNC_CHECK_ONLY' });
    assert.deepEqual(env.watchByDefault, { value: true, source: 'env DOSYNC_WATCH_BY_DEFAULT' });
    const flags = resolveSettings({ interval: '30s', stateDir: '/from/flag', checkOnly: true, projectsRoot: '/opt', excludeProject: ['db'] }, { DOSYNC_INTERVAL: '1m', DOSYNC_STATE_DIR: '/from/env', DOSYNC_EXCLUDE_PROJECTS: 'a,b' }, config);
    assert.deepEqual(flags.interval, { value: '30s', source: 'flag --interval' });
    assert.deepEqual(flags.stateDir, { value: '/from/flag', source: 'flag --state-dir' });
    assert.deepEqual(flags.projectsRoot, { value: '/opt', source: 'flag --projects-root' });
    assert.deepEqual(flags.excludeProjects, { value: ['db'], source: 'flag --exclude-project' });
    assert.deepEqual(resolveSettings({}, { DOSYNC_EXCLUDE_PROJECTS: 'a, b' }, {}).excludeProjects, { value: ['a', 'b'], source: 'env DOSYNC_EXCLUDE_PROJECTS' });
  });

  test('defaults; a schedule replaces the file\'s and the default interval, not an explicit one', () => {
    const d = resolveSettings({}, {}, {});
    assert.deepEqual([d.interval, d.keepBackups, d.prune, d.watchByDefault].map((s) => s?.source), ['default', 'default', 'default', 'default']);
    assert.equal(resolveSettings({ schedule: '0 3 * * *' }, {}, { interval: 60_000 }).interval, undefined);
    assert.deepEqual(resolveSettings({ interval: '1m' }, {}, { schedule: '0 3 * * *' }).interval, { value: '1m', source: 'flag --interval' });
  });

  test('--no-prune is a flag only when given; channels add up from every layer', () => {
    assert.deepEqual(resolveSettings({ prune: true }, {}, { prune: false }).prune, { value: false, source: 'dosync.yaml' });
    assert.deepEqual(resolveSettings({ prune: false }, {}, {}).prune, { value: false, source: 'flag --no-prune' });
    assert.deepEqual(resolveSettings({ notify: ['b://x'] }, { DOSYNC_NOTIFY: 'c://y' }, { notify: ['a://z'] }).notify, { value: ['a://z', 'b://x', 'c://y'], source: 'dosync.yaml + flag --notify + env DOSYNC_NOTIFY' });
  });
});
