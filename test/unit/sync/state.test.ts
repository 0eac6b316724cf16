import { describe, test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, readdir, rm, writeFile, access } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  StateStore, STATE_VERSION, migrate, recoverIntent, serviceKey, defaultStatePath, INTENT_STEPS,
  type Intent, type IntentStep, type Migration,
} from '../../../src/sync/state.js';
import { UserError } from '../../../src/util/errors.js';

let dir: string;
let path: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dosync-state-'));
  path = defaultStatePath(dir);
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A clock the test sets: `clock.at(second)` moves it to 2025-06-01T10:00:<second>Z. */
function testClock() {
  let t = Date.parse('2025-06-01T10:00:00.000Z');
  const now = () => new Date(t);
  return Object.assign(now, { at: (second: number) => { t = Date.parse('2025-06-01T10:00:00.000Z') + second * 1000; } });
}
const fixed = (iso: string) => () => new Date(iso);
const exists = (p: string) => access(p).then(() => true, () => false);
const onDisk = async () => JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown> & { intent?: Intent };

describe('StateStore basics', () => {
  test('paths and keys', () => {
    assert.equal(defaultStatePath('/var/lib/dosync'), '/var/lib/dosync/state.json');
    assert.equal(serviceKey('shop', 'web'), 'shop/web');
  });

  test('a missing file gives an empty, new state without warnings', async () => {
    const store = await StateStore.open(path);
    assert.equal(store.origin, 'new');
    assert.deepEqual(store.warnings, []);
    assert.deepEqual(store.services(), []);
    assert.equal(store.get('p/web'), undefined);
    assert.equal(store.pendingIntent(), undefined);
    assert.equal(await exists(path), false, 'opening writes nothing');
  });

  test('round trip: what was recorded is read back by a new store, version 1 on disk', async () => {
    const clock = testClock();
    const a = await StateStore.open(path, { now: clock });
    a.recordDeployed('p/web', 'nginx:1.25.3', 'sha256:aaa');
    clock.at(1);
    a.recordCheck('p/web', 'update-available', '1.25.3 -> 1.26.0');
    clock.at(2);
    a.recordUpdate('p/web', { from: 'nginx:1.25.3', to: 'nginx:1.26.0', outcome: 'updated', backup: '/b/compose.yml.1.bak', digest: 'sha256:bbb' });
    a.recordFailed('p/api', { tag: '2.0.0', reason: 'unhealthy' });
    a.recordCheck('p/api', 'error', 'registry unreachable');
    await a.save();

    const raw = await onDisk();
    assert.equal(raw.version, STATE_VERSION);
    assert.equal(raw.version, 1);

    const b = await StateStore.open(path);
    assert.equal(b.origin, 'file');
    assert.deepEqual(b.warnings, []);
    assert.deepEqual(b.snapshot(), a.snapshot());
    assert.deepEqual(b.services(), ['p/api', 'p/web']);
    assert.deepEqual(b.get('p/web'), {
      deployed: { reference: 'nginx:1.26.0', digest: 'sha256:bbb', at: '2025-06-01T10:00:02.000Z' },
      lastCheck: { at: '2025-06-01T10:00:01.000Z', outcome: 'update-available', detail: '1.25.3 -> 1.26.0' },
      lastUpdate: { at: '2025-06-01T10:00:02.000Z', outcome: 'updated', from: 'nginx:1.25.3', to: 'nginx:1.26.0' },
      failed: [],
      history: [{ from: 'nginx:1.25.3', to: 'nginx:1.26.0', at: '2025-06-01T10:00:02.000Z', outcome: 'updated', backup: '/b/compose.yml.1.bak' }],
    });
  });

  test('a rolled-back update is history but does not change the deployed reference', async () => {
    const s = await StateStore.open(path);
    s.recordDeployed('p/web', 'nginx:1.25.3');
    s.recordUpdate('p/web', { from: 'nginx:1.25.3', to: 'nginx:1.26.0', outcome: 'rolled-back', detail: 'health check failed' });
    const web = s.get('p/web')!;
    assert.equal(web.deployed?.reference, 'nginx:1.25.3');
    assert.equal(web.lastUpdate?.outcome, 'rolled-back');
    assert.equal(web.history.length, 1);
  });

  test('get returns a copy; only update/record change the store', async () => {
    const s = await StateStore.open(path);
    s.recordDeployed('p/web', 'nginx:1');
    const copy = s.get('p/web')!;
    copy.deployed!.reference = 'changed';
    copy.history.push({ from: 'a', to: 'b', at: new Date(0).toISOString(), outcome: 'failed' });
    assert.equal(s.get('p/web')!.deployed!.reference, 'nginx:1');
    assert.equal(s.get('p/web')!.history.length, 0);
    s.update('p/web', (st) => { st.deployed!.reference = 'nginx:2'; });
    assert.equal(s.get('p/web')!.deployed!.reference, 'nginx:2');
  });

  test('forget removes a service', async () => {
    const s = await StateStore.open(path);
    s.recordCheck('p/old', 'up-to-date');
    s.recordCheck('p/web', 'up-to-date');
    s.forget('p/old');
    assert.deepEqual(s.services(), ['p/web']);
  });

  test('a state file that cannot be read (a directory) is a UserError naming it', async () => {
    await mkdir(path);
    await assert.rejects(StateStore.open(path), (err: unknown) => err instanceof UserError && err.message.includes(path) && err.message.includes('--state-dir'));
  });
});

describe('atomic writes', () => {
  test('save leaves only state.json behind (no temp files), creating the state dir', async () => {
    const nested = join(dir, 'a', 'b', 'state.json');
    const s = await StateStore.open(nested);
    s.recordCheck('p/web', 'up-to-date');
    await s.save();
    assert.deepEqual(await readdir(join(dir, 'a', 'b')), ['state.json']);
  });

  test('concurrent saves are serialised: the last call\'s content stays, no temp files', async () => {
    const s = await StateStore.open(path);
    const saves: Promise<void>[] = [];
    for (let i = 0; i < 20; i++) {
      s.recordDeployed('p/web', `nginx:${i}`);
      saves.push(s.save());
    }
    await Promise.all(saves);
    assert.deepEqual(await readdir(dir), ['state.json']);
    const reread = await StateStore.open(path);
    assert.equal(reread.get('p/web')!.deployed!.reference, 'nginx:19');
  });

  test('a failing save leaves no temp file and does not block later saves', async () => {
    const s = await StateStore.open(path);
    s.recordDeployed('p/web', 'nginx:1');
    await mkdir(path); // a directory where the file should go: the rename fails
    await assert.rejects(s.save(), /EISDIR|ENOTEMPTY|EEXIST/);
    assert.deepEqual(await readdir(dir), ['state.json']);
    assert.deepEqual(await readdir(path), []);
    await rm(path, { recursive: true });
    await s.save();
    assert.equal((await StateStore.open(path)).get('p/web')!.deployed!.reference, 'nginx:1');
  });
});

describe('bad files are moved aside, never fatal', () => {
  const valid = JSON.stringify({ version: 1, updatedAt: '2025-01-01T00:00:00.000Z', services: { 'p/web': { failed: [], history: [] } } });
  const cases: Array<[string, string, RegExp]> = [
    ['garbage', 'not json at all', /not valid JSON/],
    ['empty file', '', /not valid JSON/],
    ['truncated write', valid.slice(0, valid.length / 2), /not valid JSON/],
    ['a JSON array', '[1,2,3]', /not a JSON object/],
    ['null', 'null', /not a JSON object/],
    ['no version', JSON.stringify({ services: {} }), /no "version" number/],
    ['version as a string', JSON.stringify({ version: '1', services: {} }), /no "version" number/],
    ['schema mismatch', JSON.stringify({ version: 1, updatedAt: '2025-01-01T00:00:00Z', services: { 'p/web': { history: 'nope' } } }), /services\.p\/web\.history/],
    ['bad date', JSON.stringify({ version: 1, updatedAt: 'yesterday', services: {} }), /updatedAt: not an ISO date/],
    ['unknown intent step', JSON.stringify({ version: 1, updatedAt: '2025-01-01T00:00:00Z', services: {}, intent: { service: 'p/web', step: 'dancing', from: 'a', to: 'b', at: '2025-01-01T00:00:00Z', pid: 1 } }), /intent\.step/],
    ['newer version', JSON.stringify({ version: 2, updatedAt: '2025-01-01T00:00:00Z', services: {} }), /version 2 was written by a newer dosync/],
    ['far newer version', JSON.stringify({ version: 99 }), /version 99 was written by a newer dosync/],
    ['version 0 without a migration', JSON.stringify({ version: 0 }), /version 0 cannot be upgraded/],
  ];
  for (const [name, content, why] of cases) {
    test(name, async () => {
      await writeFile(path, content);
      const s = await StateStore.open(path, { now: fixed('2025-03-04T05:06:07.089Z') });
      const aside = `${path}.corrupt-20250304T050607089Z`;
      assert.equal(s.origin, 'rebuilt');
      assert.deepEqual(s.services(), []);
      assert.equal(s.warnings.length, 1);
      assert.match(s.warnings[0], why);
      assert.ok(s.warnings[0].includes(aside), s.warnings[0]);
      assert.equal(await readFile(aside, 'utf8'), content, 'the bad file is kept, byte for byte');
      assert.equal(await exists(path), false);
      // The rebuilt state saves and reads back normally.
      s.recordCheck('p/web', 'up-to-date');
      await s.save();
      assert.equal((await StateStore.open(path)).origin, 'file');
    });
  }

  test('two bad files in the same millisecond do not overwrite each other', async () => {
    const now = fixed('2025-03-04T05:06:07.089Z');
    await writeFile(path, 'first');
    await StateStore.open(path, { now });
    await writeFile(path, 'second');
    const s = await StateStore.open(path, { now });
    assert.ok(s.warnings[0].includes('corrupt-20250304T050607089Z-1'));
    assert.equal(await readFile(`${path}.corrupt-20250304T050607089Z`, 'utf8'), 'first');
    assert.equal(await readFile(`${path}.corrupt-20250304T050607089Z-1`, 'utf8'), 'second');
  });
});

describe('migrations', () => {
  const chain: Record<number, Migration> = {
    1: (d) => ({ ...d, renamed: d.old, old: undefined }),
    2: (d) => ({ ...d, added: true }),
  };
  const cases: Array<[string, unknown, number, Record<number, Migration>, unknown]> = [
    ['current version passes through', { version: 1, x: 1 }, 1, {}, { ok: true, doc: { version: 1, x: 1 }, from: 1 }],
    ['1 -> 3 through two steps', { version: 1, old: 'v' }, 3, chain, { ok: true, doc: { version: 3, renamed: 'v', old: undefined, added: true }, from: 1 }],
    ['2 -> 3 through one step', { version: 2 }, 3, chain, { ok: true, doc: { version: 3, added: true }, from: 2 }],
    ['a gap in the chain', { version: 0 }, 3, chain, { ok: false, kind: 'unknown-version', reason: 'version 0 cannot be upgraded (no migration from 0)' }],
    ['newer than target', { version: 4 }, 3, chain, { ok: false, kind: 'unknown-version', reason: 'version 4 was written by a newer dosync (this one reads up to 3)' }],
    ['fractional version', { version: 1.5 }, 3, chain, { ok: false, kind: 'corrupt', reason: 'no "version" number' }],
    ['negative version', { version: -1 }, 3, chain, { ok: false, kind: 'corrupt', reason: 'no "version" number' }],
    ['a string', 'text', 3, chain, { ok: false, kind: 'corrupt', reason: 'not a JSON object' }],
  ];
  for (const [name, doc, target, migrations, expected] of cases) {
    test(name, () => assert.deepEqual(migrate(doc, target, migrations), expected));
  }

  test('open runs the hook on an older file and reports it as migrated', async () => {
    await writeFile(path, JSON.stringify({ version: 0, updatedAt: '2024-01-01T00:00:00Z', deployments: { 'p/web': 'nginx:1' } }));
    const toV1: Migration = (d) => ({
      updatedAt: d.updatedAt,
      services: Object.fromEntries(Object.entries(d.deployments as Record<string, string>).map(([k, ref]) => [k, { deployed: { reference: ref, at: d.updatedAt } }])),
    });
    const s = await StateStore.open(path, { migrations: { 0: toV1 } });
    assert.equal(s.origin, 'migrated');
    assert.deepEqual(s.warnings, []);
    assert.deepEqual(s.get('p/web'), { deployed: { reference: 'nginx:1', at: '2024-01-01T00:00:00Z' }, failed: [], history: [] });
    await s.save();
    assert.equal((await onDisk()).version, 1);
  });
});

describe('intent', () => {
  const input = { service: 'p/web', step: 'pulled' as IntentStep, from: 'nginx:1.25.3', to: 'nginx:1.26.0', file: '/stack/compose.yml' };

  test('beginIntent is on disk when it returns; advanceIntent keeps the fields; endIntent clears it on disk', async () => {
    const clock = testClock();
    const s = await StateStore.open(path, { now: clock });
    await s.beginIntent(input);
    let raw = await onDisk();
    assert.deepEqual(raw.intent, { ...input, at: '2025-06-01T10:00:00.000Z', pid: process.pid });

    clock.at(5);
    await s.advanceIntent('file-written', { backup: '/stack/backups/compose.yml.x.bak' });
    raw = await onDisk();
    assert.equal(raw.intent!.step, 'file-written');
    assert.equal(raw.intent!.at, '2025-06-01T10:00:05.000Z');
    assert.equal(raw.intent!.backup, '/stack/backups/compose.yml.x.bak');
    assert.equal(raw.intent!.from, input.from);
    assert.equal(raw.intent!.file, input.file);

    await s.advanceIntent('recreating');
    assert.equal((await onDisk()).intent!.backup, '/stack/backups/compose.yml.x.bak');
    assert.deepEqual(s.pendingIntent(), (await onDisk()).intent);

    await s.endIntent();
    assert.equal((await onDisk()).intent, undefined);
    assert.equal(s.pendingIntent(), undefined);
  });

  test('every step is recorded as given', async () => {
    const s = await StateStore.open(path);
    for (const step of INTENT_STEPS) {
      await s.beginIntent({ ...input, step });
      assert.equal((await onDisk()).intent!.step, step);
      assert.equal((await StateStore.open(path)).pendingIntent()!.step, step);
    }
  });

  test('an intent of another service while one is pending is refused; advance without one too', async () => {
    const s = await StateStore.open(path);
    await assert.rejects(s.advanceIntent('recreating'), /without a pending intent/);
    await s.beginIntent(input);
    await assert.rejects(s.beginIntent({ ...input, service: 'p/api' }), /intent for p\/web \(pulled\) is still pending/);
    await s.endIntent();
    await s.beginIntent({ ...input, service: 'p/api' });
  });

  test('a process killed with SIGKILL right after beginIntent leaves the intent for the next start', async () => {
    const script = join(dir, 'crash.mts');
    const stateModule = resolve('src/sync/state.ts');
    await writeFile(script, `
      import { StateStore } from ${JSON.stringify(stateModule)};
      const s = await StateStore.open(${JSON.stringify(path)});
      s.recordDeployed('p/web', 'nginx:1.25.3');
      await s.beginIntent({ service: 'p/web', step: 'recreating', from: 'nginx:1.25.3', to: 'nginx:1.26.0', file: '/stack/compose.yml', backup: '/b/1.bak' });
      process.stdout.write('intent-recorded\\n');
      setInterval(() => {}, 1000); // "compose up" that never finishes
    `);
    const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((ok, fail) => {
      child.stdout.on('data', (b: Buffer) => { if (b.toString().includes('intent-recorded')) ok(); });
      child.on('exit', (code) => fail(new Error(`child exited early with ${code}`)));
    });
    const exited = new Promise((ok) => child.once('exit', (_code, signal) => ok(signal)));
    child.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL');

    const s = await StateStore.open(path);
    const intent = s.pendingIntent()!;
    assert.equal(intent.step, 'recreating');
    assert.equal(intent.pid, child.pid);
    assert.equal(intent.backup, '/b/1.bak');
    assert.equal(s.get('p/web')!.deployed!.reference, 'nginx:1.25.3', 'state recorded before the intent is flushed with it');
    assert.equal(recoverIntent(intent).action, 'finish');
  });
});

describe('bounded lists', () => {
  test('history keeps the newest N updates, in order, also on disk', async () => {
    const s = await StateStore.open(path, { historyLimit: 3 });
    for (let i = 1; i <= 5; i++) s.recordUpdate('p/web', { from: `app:${i - 1}`, to: `app:${i}`, outcome: 'updated', backup: `/b/${i}.bak` });
    assert.deepEqual(s.get('p/web')!.history.map((h) => h.to), ['app:3', 'app:4', 'app:5']);
    await s.save();
    const reread = await StateStore.open(path, { historyLimit: 3 });
    assert.deepEqual(reread.get('p/web')!.history.map((h) => h.backup), ['/b/3.bak', '/b/4.bak', '/b/5.bak']);
  });

  test('default history limit is 50', async () => {
    const s = await StateStore.open(path);
    for (let i = 0; i < 60; i++) s.recordUpdate('p/web', { from: `${i}`, to: `${i + 1}`, outcome: 'updated' });
    const h = s.get('p/web')!.history;
    assert.equal(h.length, 50);
    assert.equal(h[0].to, '11');
    assert.equal(h[49].to, '60');
  });

  test('failed tags keep the newest N', async () => {
    const s = await StateStore.open(path, { failedLimit: 2 });
    for (const tag of ['1', '2', '3']) s.recordFailed('p/web', { tag, reason: 'unhealthy' });
    assert.deepEqual(s.get('p/web')!.failed.map((f) => f.tag), ['2', '3']);
    assert.equal(s.isFailed('p/web', '1'), false);
  });
});

describe('failed tags', () => {
  const clock = testClock();
  async function seeded() {
    clock.at(0);
    const s = await StateStore.open(path, { now: clock });
    s.recordFailed('p/web', { tag: '1.2.3', reason: 'unhealthy after 2m' });
    s.recordFailed('p/web', { tag: 'latest', digest: 'sha256:aaa', reason: 'exited with code 1' });
    return s;
  }
  const cases: Array<[string, string, string | undefined, boolean]> = [
    ['p/web', '1.2.3', undefined, true],
    ['p/web', '1.2.3', 'sha256:zzz', true], // no digest recorded: the tag fails whatever it points to
    ['p/web', 'latest', 'sha256:aaa', true],
    ['p/web', 'latest', 'sha256:bbb', false], // re-pushed: tried again
    ['p/web', 'latest', undefined, true], // digest not known yet: assume the failed one
    ['p/web', '1.2.4', undefined, false],
    ['p/web', '1.2', undefined, false],
    ['p/api', '1.2.3', undefined, false], // per service
    ['q/web', '1.2.3', undefined, false], // per project
  ];
  for (const [service, tag, digest, expected] of cases) {
    test(`isFailed(${service}, ${tag}, ${digest ?? '-'}) = ${expected}`, async () => {
      assert.equal((await seeded()).isFailed(service, tag, digest), expected);
    });
  }

  test('survives a restart and lists failed tags for filtering', async () => {
    const s = await seeded();
    await s.save();
    const r = await StateStore.open(path);
    assert.equal(r.isFailed('p/web', 'latest', 'sha256:aaa'), true);
    assert.deepEqual([...r.failedTags('p/web')].sort(), ['1.2.3', 'latest']);
    assert.deepEqual([...r.failedTags('p/none')], []);
  });

  test('recording the same tag again refreshes it instead of adding a duplicate', async () => {
    const s = await seeded();
    clock.at(2);
    s.recordFailed('p/web', { tag: '1.2.3', reason: 'crashed again' });
    const failed = s.get('p/web')!.failed;
    assert.equal(failed.filter((f) => f.tag === '1.2.3').length, 1);
    assert.deepEqual(failed.at(-1), { tag: '1.2.3', at: '2025-06-01T10:00:02.000Z', reason: 'crashed again' });
    // A different digest of the same tag is its own entry.
    s.recordFailed('p/web', { tag: 'latest', digest: 'sha256:bbb', reason: 'x' });
    assert.equal(s.get('p/web')!.failed.filter((f) => f.tag === 'latest').length, 2);
  });
});

describe('recoverIntent decision table', () => {
  type Row = [IntentStep, 'tag' | 'digest', { action: string; restoreFile: boolean; retagPrevious: boolean; recreate: boolean; healthCheck: boolean; markFailed: boolean }];
  const rows: Row[] = [
    ['pulled', 'tag', { action: 'roll-back', restoreFile: true, retagPrevious: false, recreate: false, healthCheck: false, markFailed: false }],
    ['file-written', 'tag', { action: 'roll-back', restoreFile: true, retagPrevious: false, recreate: false, healthCheck: false, markFailed: false }],
    ['recreating', 'tag', { action: 'finish', restoreFile: false, retagPrevious: false, recreate: true, healthCheck: true, markFailed: false }],
    ['health-check', 'tag', { action: 'finish', restoreFile: false, retagPrevious: false, recreate: true, healthCheck: true, markFailed: false }],
    ['rolling-back', 'tag', { action: 'roll-back', restoreFile: true, retagPrevious: false, recreate: true, healthCheck: true, markFailed: true }],
    ['pulled', 'digest', { action: 'roll-back', restoreFile: false, retagPrevious: true, recreate: false, healthCheck: false, markFailed: false }],
    ['recreating', 'digest', { action: 'finish', restoreFile: false, retagPrevious: false, recreate: true, healthCheck: true, markFailed: false }],
    ['health-check', 'digest', { action: 'finish', restoreFile: false, retagPrevious: false, recreate: true, healthCheck: true, markFailed: false }],
    ['rolling-back', 'digest', { action: 'roll-back', restoreFile: false, retagPrevious: true, recreate: true, healthCheck: true, markFailed: true }],
  ];
  for (const [step, mode, expected] of rows) {
    test(`${step} (${mode})`, () => {
      const intent = mode === 'tag'
        ? { step, mode, file: '/stack/compose.yml' } as const
        : { step, mode, previousImageId: 'sha256:old' } as const;
      const { reason, ...decision } = recoverIntent(intent);
      assert.deepEqual(decision, expected);
      assert.ok(reason.length > 10);
    });
  }

  test('every step has a decision', () => {
    for (const step of INTENT_STEPS) assert.ok(['finish', 'roll-back'].includes(recoverIntent({ step }).action));
  });

  test('nothing to restore or retag when the intent does not say what', () => {
    const r = recoverIntent({ step: 'rolling-back' });
    assert.equal(r.restoreFile, false);
    assert.equal(r.retagPrevious, false);
    assert.equal(recoverIntent({ step: 'rolling-back', mode: 'digest' }).retagPrevious, false, 'no previous image id known');
  });
});
