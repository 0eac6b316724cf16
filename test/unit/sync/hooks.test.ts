import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeFailure, hookFor, withLifecycleHooks } from '../../../src/sync/hooks.js';
import { fakeRuntime, fakeWorld, publish, run } from '../../helpers/fake-runtime.js';
import { createLogger } from '../../../src/util/logger.js';
import { Writable } from 'node:stream';
import type { StackService } from '../../../src/compose/stack.js';

test('hookFor: dosync labels first, Watchtower names honoured, timeouts (Watchtower counts minutes)', () => {
  assert.equal(hookFor({}, 'pre-update'), undefined);
  assert.equal(hookFor({ 'dosync.hook.pre-update': '  ' }, 'pre-update'), undefined);
  assert.deepEqual(hookFor({ 'dosync.hook.pre-update': 'pg_dump x', 'dosync.hook.pre-update-timeout': '5m' }, 'pre-update'),
    { phase: 'pre-update', command: 'pg_dump x', timeoutMs: 300_000, label: 'dosync.hook.pre-update' });
  const wt = hookFor({ 'com.centurylinklabs.watchtower.lifecycle.post-update': '/notify.sh', 'com.centurylinklabs.watchtower.lifecycle.post-update-timeout': '2' }, 'post-update');
  assert.deepEqual(wt, { phase: 'post-update', command: '/notify.sh', timeoutMs: 120_000, label: 'com.centurylinklabs.watchtower.lifecycle.post-update' });
  assert.equal(hookFor({ 'dosync.hook.post-update': 'a', 'com.centurylinklabs.watchtower.lifecycle.post-update': 'b' }, 'post-update')?.command, 'a');
  assert.equal(hookFor({ 'dosync.hook.pre-update': 'x' }, 'pre-update')?.timeoutMs, 60_000);
  assert.throws(() => hookFor({ 'dosync.hook.pre-update': 'x', 'dosync.hook.pre-update-timeout': 'soon' }, 'pre-update'), /label dosync\.hook\.pre-update-timeout/);
});

test('describeFailure: one line with the exit code or timeout and the output', () => {
  const hook = { phase: 'pre-update' as const, command: 'x', timeoutMs: 2000, label: 'dosync.hook.pre-update' };
  assert.equal(describeFailure(hook, { ok: false, exitCode: 3, output: 'a\nb' }), 'pre-update hook (label dosync.hook.pre-update) exited 3: a | b');
  assert.equal(describeFailure(hook, { ok: false, timedOut: true, output: '' }), 'pre-update hook (label dosync.hook.pre-update) timed out after 2s');
  assert.equal(describeFailure(hook, { error: 'no such container' }), 'pre-update hook (label dosync.hook.pre-update) could not run: no such container');
});

// withLifecycleHooks against the fake runtime (test/helpers/fake-runtime.ts): what an update and a rollback
// do when the pre-update hook fails.
type O = { status: string; reason?: string; recreated?: boolean };

function hookWorld() {
  const world = fakeWorld();
  publish(world, 'reg.test/db:1');
  run(world, 'db', 'reg.test/db:1', 2);
  world.failingExecs.add('sh -c pg_dump > /backup/db.sql');
  const lines: string[] = [];
  const logger = createLogger({ json: true, destination: new Writable({ write(c, _e, done) { lines.push(String(c)); done(); } }) });
  const service = { name: 'db', image: 'reg.test/db:1', labels: { 'dosync.hook.pre-update': 'pg_dump > /backup/db.sql' } } as unknown as StackService;
  return { world, ctx: { runtime: fakeRuntime(world), project: { name: 'fake' }, logger }, service, lines };
}

test('a failing pre-update hook skips an update: nothing else runs, its output is the reason', async () => {
  const { world, ctx, service } = hookWorld();
  let updated = false;
  const out = await withLifecycleHooks<O>([service], ctx, (reason) => [{ status: 'failed', reason }], async () => { updated = true; return [{ status: 'updated' }]; });
  assert.equal(updated, false);
  assert.equal(out[0].status, 'failed');
  assert.match(out[0].reason ?? '', /pre-update hook \(label dosync\.hook\.pre-update\) exited 1: no space left for the dump/);
  assert.equal(world.calls.filter((c) => c.startsWith('exec')).length, 1, 'the first failing replica stops the hook');
});

test('a rollback (advisory hooks) goes on when the pre-update hook fails, and says so', async () => {
  const { ctx, service, lines } = hookWorld();
  let updated = false;
  const out = await withLifecycleHooks<O>([service], ctx, (reason) => [{ status: 'failed', reason }], async () => { updated = true; return [{ status: 'updated', recreated: false }]; }, 'advisory');
  assert.equal(updated, true);
  assert.equal(out[0].status, 'updated');
  assert.ok(lines.some((l) => /exited 1.*a rollback is never held back by a hook/.test(l)), lines.join(''));
});
