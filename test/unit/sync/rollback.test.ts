import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { backupTargets, lastUpdateTargets, previousFromHistory, tagOf, type ServiceView } from '../../../src/sync/rollback.js';
import type { HistoryEntry } from '../../../src/sync/state.js';

const R = 'reg:5000/app';
const img = (tag: string) => `${R}:${tag}`;
const at = (minute: number) => new Date(Date.UTC(2024, 0, 1, 0, minute)).toISOString();
const updated = (from: string, to: string, minute: number, cycle?: number): HistoryEntry =>
  ({ from: img(from), to: img(to), at: at(minute), outcome: 'updated', ...(cycle !== undefined ? { cycle: at(cycle) } : {}) });
const entry = (from: string, to: string, minute: number, outcome: HistoryEntry['outcome']): HistoryEntry => ({ from: img(from), to: img(to), at: at(minute), outcome });
const view = (tag: string | undefined, history: HistoryEntry[] = []): ServiceView => ({ image: tag === undefined ? undefined : img(tag), history });

describe('previousFromHistory', () => {
  const cases: Array<[string, ServiceView, string]> = [
    ['one update', view('1.1.0', [updated('1.0.0', '1.1.0', 1)]), img('1.0.0')],
    ['two updates: the one that installed the current image', view('1.2.0', [updated('1.0.0', '1.1.0', 1), updated('1.1.0', '1.2.0', 2)]), img('1.1.0')],
    ['after a rollback to 1.1.0, one step further back', view('1.1.0', [updated('1.0.0', '1.1.0', 1), updated('1.1.0', '1.2.0', 2), entry('1.1.0', '1.2.0', 3, 'rolled-back')]), img('1.0.0')],
    ['a failed or rolled-back update is not what put the image there', view('1.1.0', [updated('1.0.0', '1.1.0', 1), entry('1.1.0', '1.3.0', 2, 'rolled-back'), entry('1.1.0', '1.4.0', 3, 'failed')]), img('1.0.0')],
    ['history out of order: by time', view('2.0.0', [updated('1.5.0', '2.0.0', 9), updated('1.0.0', '2.0.0', 1)]), img('1.5.0')],
  ];
  for (const [name, v, want] of cases) {
    test(name, () => {
      const t = previousFromHistory('web', v);
      assert.deepEqual([t.service, t.from, t.to], ['web', v.image, want]);
      assert.match(t.why, /^undoes the update of /);
    });
  }

  const errors: Array<[string, ServiceView | undefined, RegExp]> = [
    ['unknown service', undefined, /^no service web in the compose file/],
    ['build-only', view(undefined), /^web has no image: \(build-only service\)/],
    ['no history', view('1.0.0'), /^web: no update to .*:1\.0\.0 in dosync's state history; run `dosync backups list`/],
    ['the image was changed by hand since', view('9.9.9', [updated('1.0.0', '1.1.0', 1)]), /no update to .*:9\.9\.9/],
    ['digest update of the same tag', { image: `${R}:latest`, history: [{ from: `${R}:latest`, to: `${R}:latest`, at: at(1), outcome: 'updated' }] }, /new digest under the same tag.*pin the old digest/],
  ];
  for (const [name, v, want] of errors) {
    test(`error: ${name}`, () => assert.throws(() => previousFromHistory('web', v), (err: Error) => ['UserError', 'ConfigError'].includes(err.name) && want.test(err.message) && !err.message.includes('\n')));
  }
});

describe('lastUpdateTargets', () => {
  test('every service of the newest cycle, and only those', () => {
    const services = new Map<string, ServiceView>([
      ['web', view('1.1.0', [updated('1.0.0', '1.1.0', 10, 9)])],
      ['api', view('2.1.0', [updated('2.0.0', '2.1.0', 11, 9)])],
      ['old', view('3.1.0', [updated('3.0.0', '3.1.0', 2, 1)])],
    ]);
    const { targets, notes } = lastUpdateTargets(services);
    assert.deepEqual(targets.map((t) => [t.service, t.to]), [['web', img('1.0.0')], ['api', img('2.0.0')]]);
    assert.deepEqual(notes, []);
  });

  test('entries without a cycle stand alone', () => {
    const services = new Map<string, ServiceView>([
      ['web', view('1.1.0', [updated('1.0.0', '1.1.0', 10)])],
      ['api', view('2.1.0', [updated('2.0.0', '2.1.0', 11)])],
    ]);
    assert.deepEqual(lastUpdateTargets(services).targets.map((t) => t.service), ['api']);
  });

  test('a service of that cycle that moved on by hand is noted and left alone', () => {
    const services = new Map<string, ServiceView>([
      ['web', view('1.1.0', [updated('1.0.0', '1.1.0', 10, 9)])],
      ['api', view('2.5.0', [updated('2.0.0', '2.1.0', 11, 9)])],
    ]);
    const { targets, notes } = lastUpdateTargets(services);
    assert.deepEqual(targets.map((t) => t.service), ['web']);
    assert.equal(notes.length, 1);
    assert.match(notes[0], /^api: now names .*:2\.5\.0, not .*:2\.1\.0 .*; left alone$/);
  });

  test('an undone last update is not undone again: one line saying how to go further', () => {
    const services = new Map<string, ServiceView>([
      ['web', view('1.0.0', [updated('0.9.0', '1.0.0', 1, 1), updated('1.0.0', '1.1.0', 10, 9), entry('1.0.0', '1.1.0', 12, 'rolled-back')])],
    ]);
    assert.throws(() => lastUpdateTargets(services), /^UserError: the last update \(2024-01-01T00:10:00.000Z\) is already undone \(web: already back on .*:1\.0\.0\); name a service to go further back/);
  });

  test('no update at all', () => {
    assert.throws(() => lastUpdateTargets(new Map([['web', view('1.0.0', [entry('1.0.0', '1.1.0', 1, 'rolled-back')])]])), /records no update of this stack/);
  });

  test('a digest-only update in the cycle is noted, the rest goes back', () => {
    const digest: HistoryEntry = { from: `${R}:latest`, to: `${R}:latest`, at: at(10), outcome: 'updated', cycle: at(9) };
    const services = new Map<string, ServiceView>([
      ['cache', { image: `${R}:latest`, history: [digest] }],
      ['web', view('1.1.0', [updated('1.0.0', '1.1.0', 11, 9)])],
    ]);
    const { targets, notes } = lastUpdateTargets(services);
    assert.deepEqual(targets.map((t) => t.service), ['web']);
    assert.match(notes[0], /^cache: its update only moved .* to a new digest/);
  });
});

describe('backupTargets', () => {
  const backupTime = new Date(at(5));
  const current = new Map<string, ServiceView>([
    ['web', view('1.2.0', [updated('1.0.0', '1.1.0', 1), updated('1.1.0', '1.2.0', 6)])],
    ['api', view('2.1.0', [updated('2.0.0', '2.1.0', 3)])], // changed by dosync, but before the backup
    ['db', { image: 'postgres:17', history: [] }], // changed by hand
    ['same', view('5.0.0')],
    ['built', view(undefined)],
  ]);
  const backup = new Map<string, string | undefined>([
    ['web', img('1.1.0')], ['api', img('2.0.0')], ['db', 'postgres:16'], ['same', img('5.0.0')], ['built', undefined], ['gone', img('9.0.0')],
  ]);

  test('without a service: the images dosync changed since the backup; hand edits noted', () => {
    const { targets, notes } = backupTargets({ current, backup, backupName: 'c.yml.bak', backupTime });
    assert.deepEqual(targets.map((t) => [t.service, t.from, t.to]), [['web', img('1.2.0'), img('1.1.0')]]);
    assert.deepEqual(notes.map((n) => n.split(':')[0]), ['api', 'db']);
    assert.match(notes[1], /^db: names postgres:17, postgres:16 in the backup, but dosync did not make that change; left alone \(name the service to restore it anyway\)$/);
  });

  test('a named service goes back whoever changed it', () => {
    const { targets } = backupTargets({ current, backup, backupName: 'c.yml.bak', backupTime, service: 'db' });
    assert.deepEqual(targets, [{ service: 'db', from: 'postgres:17', to: 'postgres:16', why: 'image in c.yml.bak' }]);
  });

  const errors: Array<[string | undefined, RegExp, Map<string, ServiceView>?]> = [
    ['nope', /^no service nope in the compose file/],
    ['same', /^same already names .*:5\.0\.0, as in c\.yml\.bak; nothing to roll back/],
    ['built', /^built has no image in c\.yml\.bak; pick another backup/],
    [undefined, /^no image that dosync changed differs from c\.yml\.bak; nothing to roll back$/, new Map([['same', view('5.0.0')]])],
  ];
  for (const [service, want, cur] of errors) {
    test(`error: ${service ?? 'nothing to do'}`, () => {
      assert.throws(() => backupTargets({ current: cur ?? current, backup, backupName: 'c.yml.bak', backupTime, service }), (err: Error) => ['UserError', 'ConfigError'].includes(err.name) && want.test(err.message));
    });
  }
});

describe('tagOf', () => {
  const cases: Array<[string, string | undefined]> = [
    ['nginx:1.25', '1.25'], ['nginx', 'latest'], ['reg:5000/a/b:2.0', '2.0'], ['reg:5000/a/b', 'latest'],
    ['nginx:1.25@sha256:abc', '1.25'], ['nginx@sha256:abc', undefined],
  ];
  for (const [image, want] of cases) test(image, () => assert.equal(tagOf(image), want));
});
