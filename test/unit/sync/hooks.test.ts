import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeFailure, hookFor } from '../../../src/sync/hooks.js';

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
