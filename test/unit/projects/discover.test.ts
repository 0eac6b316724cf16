import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { composeFilesIn, isUnder, notWatched, projectsFromConfig, projectsFromContainers, selectProjects, unreadableLine, type ProjectSpec } from '../../../src/projects/discover.js';
import { mergeProjectConfig } from '../../../src/projects/config.js';
import { projectStateDir } from '../../../src/projects/host.js';
import { renderHostSidecar } from '../../../src/cli/init-host.js';
import type { ContainerSummary } from '../../../src/engine/docker.js';

const container = (labels: Record<string, string>): ContainerSummary => ({ id: 'x', name: 'x', service: labels['com.docker.compose.service'] ?? '', imageId: 'i', image: 'img', state: 'running', status: 'Up', labels });

describe('projectsFromContainers', () => {
  test('one spec per project from compose labels; relative config files resolve against the working dir; the project .env is not an -e file', () => {
    const specs = projectsFromContainers([
      container({ 'com.docker.compose.project': 'shop', 'com.docker.compose.project.config_files': '/srv/shop/compose.yml,/srv/shop/compose.prod.yml', 'com.docker.compose.project.working_dir': '/srv/shop', 'com.docker.compose.project.environment_file': '/srv/shop/.env' }),
      container({ 'com.docker.compose.project': 'shop', 'com.docker.compose.project.config_files': '/srv/shop/compose.yml,/srv/shop/compose.prod.yml', 'com.docker.compose.project.working_dir': '/srv/shop' }),
      container({ 'com.docker.compose.project': 'blog', 'com.docker.compose.project.config_files': 'docker-compose.yml', 'com.docker.compose.project.working_dir': '/srv/blog', 'com.docker.compose.project.environment_file': '/etc/blog.env' }),
      container({ 'some.other': 'label' }),
    ]);
    assert.deepEqual(specs, [
      { name: 'blog', files: ['/srv/blog/docker-compose.yml'], envFile: '/etc/blog.env', workingDir: '/srv/blog', source: 'engine' },
      { name: 'shop', files: ['/srv/shop/compose.yml', '/srv/shop/compose.prod.yml'], envFile: undefined, workingDir: '/srv/shop', source: 'engine' },
    ]);
  });
});

describe('projectsFromConfig', () => {
  const exists = (p: string) => ['/srv/blog/compose.yaml', '/srv/blog/compose.override.yaml', '/etc/dosync/shop/a.yml'].includes(p);
  test('files, dir (with its override), names from the engine or the directory; a dir without a compose file is one line', () => {
    const r = projectsFromConfig([
      { name: 'shop', files: ['shop/a.yml'], env_file: 'shop/.env.prod' },
      { dir: '/srv/blog' },
      { dir: '/srv/empty' },
    ], { baseDir: '/etc/dosync', file: '/etc/dosync/dosync.yaml', exists, running: [{ name: 'myblog', files: ['/srv/blog/compose.yaml'], workingDir: '/srv/blog', source: 'engine' }] });
    assert.deepEqual(r.specs.map((s) => [s.name, s.files, s.envFile]), [
      ['shop', ['/etc/dosync/shop/a.yml'], '/etc/dosync/shop/.env.prod'],
      ['myblog', ['/srv/blog/compose.yaml', '/srv/blog/compose.override.yaml'], undefined],
    ]);
    assert.equal(r.problems.length, 1);
    assert.match(r.problems[0].message, /^\/etc\/dosync\/dosync\.yaml: projects\[2\]: no compose\.yaml, .* in \/srv\/empty; give files: or fix dir:$/);
  });
  test('composeFilesIn follows compose\'s order', () => {
    assert.deepEqual(composeFilesIn('/d', (p) => p === '/d/docker-compose.yml' || p === '/d/compose.yml'), ['/d/compose.yml']);
    assert.equal(composeFilesIn('/d', () => false), undefined);
  });
});

describe('selectProjects', () => {
  const spec = (name: string, dir: string, source = 'engine'): ProjectSpec => ({ name, files: [`${dir}/compose.yml`], workingDir: dir, source });
  test('listed win over found, excluded and out-of-root ones are left out', () => {
    const got = selectProjects([spec('shop', '/etc/x', 'dosync.yaml')], [spec('shop', '/srv/shop'), spec('db', '/srv/db'), spec('blog', '/srv/blog'), spec('other', '/home/me/other')], { root: '/srv', exclude: ['db'] });
    // The root scopes what is found; a listed project is kept wherever it lives.
    assert.deepEqual(got.map((p) => [p.name, p.source]), [['shop', 'dosync.yaml'], ['blog', 'engine']]);
    assert.deepEqual(selectProjects([spec('shop', '/srv/x', 'dosync.yaml')], [spec('shop', '/srv/shop')], {}).map((p) => p.workingDir), ['/srv/x']);
  });
  test('isUnder', () => {
    assert.ok(isUnder('/srv/a', '/srv'));
    assert.ok(isUnder('/srv', '/srv/'));
    assert.ok(!isUnder('/srvx/a', '/srv'));
    assert.ok(!isUnder('/', '/srv'));
  });
});

describe('notWatched (opt-in labels)', () => {
  test('watch by default: everything but an explicit false', () => {
    assert.equal(notWatched({}, true), undefined);
    assert.match(notWatched({ 'com.centurylinklabs.watchtower.enable': 'false' }, true)!, /opted out \(label com\.centurylinklabs\.watchtower\.enable=false\)/);
  });
  test('opt-in: only dosync.enable, Watchtower\'s or WUD\'s label set to true', () => {
    assert.match(notWatched({}, false)!, /not opted in/);
    for (const l of ['dosync.enable', 'com.centurylinklabs.watchtower.enable', 'wud.watch']) assert.equal(notWatched({ [l]: 'true' }, false), undefined, l);
    assert.match(notWatched({ 'dosync.enable': 'true', 'wud.watch': 'false' }, false)!, /opted out/);
  });
  test('the unreadable line says what to mount', () => {
    assert.equal(unreadableLine({ name: 'shop', files: ['/srv/shop/c.yml'], workingDir: '/srv/shop', source: 'engine' }, '/srv/shop/c.yml', 'ENOENT'),
      'project shop: cannot read /srv/shop/c.yml (ENOENT); mount /srv/shop into the dosync container at the same path (dosync init --host does), or exclude it with --exclude-project shop');
  });
});

describe('mergeProjectConfig', () => {
  test('services per field, windows and policies per project; host-wide keys stay the host\'s with a warning', () => {
    const { config, warnings } = mergeProjectConfig(
      { interval: 300_000, maintenance_window: '02:00-04:00', services: { web: { update: 'minor', paused: true }, db: { skip: true } }, health: { timeout: 1000 }, notify: ['ntfy://a/b'] },
      { maintenance_window: '22:00-23:00', services: { web: { paused: false } }, health: { stable: 5 }, notify: ['ntfy://c/d'], listen: ':1' },
      '/srv/shop/dosync.yaml',
    );
    assert.equal(config.maintenance_window, '22:00-23:00');
    assert.deepEqual(config.services, { web: { update: 'minor', paused: false }, db: { skip: true } });
    assert.deepEqual(config.health, { timeout: 1000, stable: 5 });
    assert.deepEqual(config.notify, ['ntfy://a/b']);
    assert.equal(config.listen, undefined);
    assert.deepEqual(warnings, [
      '/srv/shop/dosync.yaml: notify is a host-wide setting; set it in the host\'s dosync.yaml (ignored here)',
      '/srv/shop/dosync.yaml: listen is a host-wide setting; set it in the host\'s dosync.yaml (ignored here)',
    ]);
  });
});

describe('projectStateDir', () => {
  test('project state dirs stay inside the state dir', () => {
    assert.equal(projectStateDir('/var/lib/dosync', 'shop'), '/var/lib/dosync/projects/shop');
    assert.equal(projectStateDir('/s', '../x'), '/s/projects/.._x');
  });
});

describe('init --host', () => {
  test('the socket and the projects root at the same path, sync --all', () => {
    const doc = parse(renderHostSidecar({ image: 'dosync:1', projectsRoot: '/srv', interval: '5m', service: 'dosync', configFile: '/etc/dosync/dosync.yaml' })) as { services: Record<string, { command: string[]; volumes: string[]; environment: Record<string, string> }> };
    const s = doc.services.dosync;
    assert.deepEqual(s.command, ['sync', '--all']);
    assert.ok(s.volumes.includes('/var/run/docker.sock:/var/run/docker.sock'));
    assert.ok(s.volumes.includes('/srv:/srv'));
    assert.ok(s.volumes.includes('/etc/dosync/dosync.yaml:/etc/dosync/dosync.yaml:ro'));
    assert.equal(s.environment.DOSYNC_PROJECTS_ROOT, '/srv');
  });
});
