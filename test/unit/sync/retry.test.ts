import { describe, test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StateStore, defaultStatePath } from '../../../src/sync/state.js';
import { clearFailed, failedRows, type RetryService } from '../../../src/sync/retry.js';
import { UserError } from '../../../src/util/errors.js';

let dir: string;
let path: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dosync-retry-'));
  path = defaultStatePath(dir);
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const T0 = Date.parse('2025-06-01T10:00:00.000Z');
const at = (minute: number) => new Date(T0 + minute * 60_000);
const RETRY_AT = at(60);

const web: RetryService = { name: 'web', key: 'shop/web', image: 'registry.local/app/web:1.0.0' };
const api: RetryService = { name: 'api', key: 'shop/api', image: 'ghcr.io/org/api:2.0.0@sha256:' + 'a'.repeat(64) };
const db: RetryService = { name: 'db', key: 'shop/db', image: 'postgres:16' };
const worker: RetryService = { name: 'worker', key: 'shop/worker' };

/**
 * A store with: web failed 1.1.0 (minute 1) and 1.2.0 (minute 3); api failed 2.1.0 (minute 2) and two digests of
 * `latest` (minutes 4, 5); worker (no image) failed 9; db has state but no failed tag.
 */
async function seeded(): Promise<StateStore> {
  let minute = 0;
  const store = await StateStore.open(path, { now: () => at(minute) });
  const fail = (key: string, m: number, tag: string, reason: string, digest?: string) => {
    minute = m;
    store.recordFailed(key, { tag, digest, reason });
  };
  fail('shop/web', 1, '1.1.0', 'reports unhealthy');
  fail('shop/api', 2, '2.1.0', 'exited with code 3');
  fail('shop/web', 3, '1.2.0', 'not healthy after 60s');
  fail('shop/api', 4, 'latest', 'reports unhealthy', 'sha256:' + '1'.repeat(64));
  fail('shop/api', 5, 'latest', 'reports unhealthy', 'sha256:' + '2'.repeat(64));
  fail('shop/worker', 6, '9', 'rolled back by dosync rollback');
  minute = 7;
  store.recordDeployed('shop/db', 'postgres:16');
  return store;
}

const failedTags = (store: StateStore, key: string) => (store.get(key)?.failed ?? []).map((e) => (e.digest ? `${e.tag}@${e.digest.slice(7, 8)}` : e.tag));

describe('failedRows', () => {
  test('every failed entry of the given services, by service name, oldest first; others left out', async () => {
    const store = await seeded();
    const rows = failedRows(store, [web, worker, api, db]);
    assert.deepEqual(rows.map((r) => [r.service, r.entry.tag, r.entry.at, r.entry.reason]), [
      ['api', '2.1.0', at(2).toISOString(), 'exited with code 3'],
      ['api', 'latest', at(4).toISOString(), 'reports unhealthy'],
      ['api', 'latest', at(5).toISOString(), 'reports unhealthy'],
      ['web', '1.1.0', at(1).toISOString(), 'reports unhealthy'],
      ['web', '1.2.0', at(3).toISOString(), 'not healthy after 60s'],
      ['worker', '9', at(6).toISOString(), 'rolled back by dosync rollback'],
    ]);
    assert.deepEqual(failedRows(store, [db, { name: 'gone', key: 'shop/gone' }]), []);
  });
});

describe('clearFailed', () => {
  test('a service: all its failed tags go, one retry history entry per tag, other services untouched; isFailed agrees', async () => {
    const store = await seeded();
    const result = clearFailed(store, { services: [web], all: false, at: RETRY_AT });
    assert.deepEqual(result.map((r) => [r.service, r.cleared.map((e) => e.tag)]), [['web', ['1.1.0', '1.2.0']]]);
    assert.deepEqual(failedTags(store, 'shop/web'), []);
    assert.equal(store.isFailed('shop/web', '1.1.0'), false);
    assert.equal(store.isFailed('shop/web', '1.2.0'), false);
    assert.deepEqual(store.failedTags('shop/web'), new Set());
    assert.deepEqual(failedTags(store, 'shop/api'), ['2.1.0', 'latest@1', 'latest@2']);
    assert.deepEqual(store.get('shop/web')!.history, [
      { from: 'registry.local/app/web:1.0.0', to: 'registry.local/app/web:1.1.0', at: RETRY_AT.toISOString(), outcome: 'retry',
        detail: `failed tag 1.1.0 cleared by dosync retry (it failed ${at(1).toISOString()}: reports unhealthy)` },
      { from: 'registry.local/app/web:1.0.0', to: 'registry.local/app/web:1.2.0', at: RETRY_AT.toISOString(), outcome: 'retry',
        detail: `failed tag 1.2.0 cleared by dosync retry (it failed ${at(3).toISOString()}: not healthy after 60s)` },
    ]);
    assert.deepEqual(store.get('shop/api')!.history, []);
  });

  test('--tag: only that tag, every digest of it; one history entry naming the newest failure', async () => {
    const store = await seeded();
    const result = clearFailed(store, { services: [api], tag: 'latest', all: false, at: RETRY_AT });
    assert.deepEqual(result[0].cleared.map((e) => e.digest?.slice(7, 8)), ['1', '2']);
    assert.deepEqual(failedTags(store, 'shop/api'), ['2.1.0']);
    assert.equal(store.isFailed('shop/api', 'latest', 'sha256:' + '1'.repeat(64)), false);
    assert.equal(store.isFailed('shop/api', '2.1.0'), true);
    const history = store.get('shop/api')!.history;
    assert.equal(history.length, 1);
    // The pinned digest of the current image is dropped: it would override the retried tag.
    assert.deepEqual([history[0].from, history[0].to, history[0].outcome], [api.image, 'ghcr.io/org/api:latest', 'retry']);
    assert.match(history[0].detail!, new RegExp(`it failed ${at(5).toISOString()}`));
  });

  test('several services at once; a service without an image records the tag itself', async () => {
    const store = await seeded();
    const result = clearFailed(store, { services: [web, worker], tag: undefined, all: false, at: RETRY_AT });
    assert.deepEqual(result.map((r) => r.service), ['web', 'worker']);
    const h = store.get('shop/worker')!.history;
    assert.deepEqual([h[0].from, h[0].to], ['9', '9']);
  });

  test('--all: every service with failed tags, services without are passed over', async () => {
    const store = await seeded();
    const result = clearFailed(store, { services: [db, web, api, worker], all: true, at: RETRY_AT });
    assert.deepEqual(result.map((r) => [r.service, r.cleared.length]), [['web', 2], ['api', 3], ['worker', 1]]);
    for (const key of ['shop/web', 'shop/api', 'shop/worker', 'shop/db']) assert.deepEqual(failedTags(store, key), [], key);
    assert.deepEqual(store.get('shop/db')!.history, [], 'a service with nothing to clear gets no history entry');
    assert.equal(store.get('shop/db')!.deployed?.reference, 'postgres:16');
  });

  test('--all --tag: that tag wherever it failed', async () => {
    const store = await seeded();
    store.recordFailed('shop/api', { tag: '1.2.0', reason: 'x' });
    const result = clearFailed(store, { services: [web, api, worker], tag: '1.2.0', all: true, at: RETRY_AT });
    assert.deepEqual(result.map((r) => r.service), ['web', 'api']);
    assert.deepEqual(failedTags(store, 'shop/web'), ['1.1.0']);
    assert.deepEqual(failedTags(store, 'shop/api'), ['2.1.0', 'latest@1', 'latest@2']);
  });

  test('--all with nothing failed returns nothing and changes nothing', async () => {
    const store = await StateStore.open(path);
    store.recordDeployed('shop/db', 'postgres:16');
    const before = store.snapshot();
    assert.deepEqual(clearFailed(store, { services: [db, web], all: true, at: RETRY_AT }), []);
    assert.deepEqual(store.snapshot(), before);
  });

  const refusals: Array<[string, (s: StateStore) => void, RegExp]> = [
    ['a named service without failed tags', (s) => clearFailed(s, { services: [web, db], all: false, at: RETRY_AT }),
      /^db has no failed tag recorded; nothing to retry \(`dosync retry` without a service lists the failed tags\)$/],
    ['a service the state does not know', (s) => clearFailed(s, { services: [{ name: 'new', key: 'shop/new' }], all: false, at: RETRY_AT }),
      /^new has no failed tag recorded/],
    ['--tag that is not failed for the service', (s) => clearFailed(s, { services: [api, web], tag: '1.1.0', all: false, at: RETRY_AT }),
      /^api: tag 1\.1\.0 is not recorded as failed \(its failed tags: 2\.1\.0, latest\); pass one of those to --tag, or leave --tag out to clear them all$/],
    ['--all --tag that no service has', (s) => clearFailed(s, { services: [web, api], tag: '7.7.7', all: true, at: RETRY_AT }),
      /^no service has tag 7\.7\.7 recorded as failed; `dosync retry` without a service lists the failed tags$/],
  ];
  for (const [name, run, message] of refusals) {
    test(`refused, one line, nothing changed: ${name}`, async () => {
      const store = await seeded();
      const before = store.snapshot();
      assert.throws(() => run(store), (err: unknown) => err instanceof UserError && message.test(err.message) && !err.message.includes('\n'));
      assert.deepEqual(store.snapshot(), before, 'checked before anything changed');
    });
  }

  test('saved atomically through the store: a new store reads the cleared state and the retry entries', async () => {
    const store = await seeded();
    clearFailed(store, { services: [web], tag: '1.1.0', all: false, at: RETRY_AT });
    await store.save();
    const reread = await StateStore.open(path);
    assert.equal(reread.origin, 'file');
    assert.deepEqual(failedTags(reread, 'shop/web'), ['1.2.0']);
    assert.deepEqual(reread.get('shop/web')!.history.map((h) => [h.to, h.outcome]), [['registry.local/app/web:1.1.0', 'retry']]);
  });

  test('a state file with a retry entry written by hand is read, not moved aside', async () => {
    await writeFile(path, JSON.stringify({
      version: 1, updatedAt: at(0).toISOString(),
      services: { 'shop/web': { history: [{ from: 'a:1', to: 'a:2', at: at(0).toISOString(), outcome: 'retry' }] } },
    }));
    const store = await StateStore.open(path);
    assert.equal(store.origin, 'file');
    assert.deepEqual(store.warnings, []);
    assert.equal(store.get('shop/web')!.history[0].outcome, 'retry');
  });
});
