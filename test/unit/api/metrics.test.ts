import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMetrics, isRegistryError } from '../../../src/metrics/index.js';
import { parsePromText, sampleValue } from '../../helpers/prom-text.js';

test('every dosync metric is declared with its type, before anything is recorded', async () => {
  const families = parsePromText(await createMetrics({ processMetrics: false }).render());
  const types = Object.fromEntries([...families.values()].map((f) => [f.name, f.type]));
  assert.deepEqual(types, {
    dosync_build_info: 'gauge',
    dosync_checks_total: 'counter',
    dosync_updates_total: 'counter',
    dosync_unit_updates_total: 'counter',
    dosync_failures_total: 'counter',
    dosync_rollbacks_total: 'counter',
    dosync_registry_requests_total: 'counter',
    dosync_registry_request_duration_seconds: 'histogram',
    dosync_registry_errors_total: 'counter',
    dosync_ratelimit_remaining: 'gauge',
    dosync_last_successful_cycle_timestamp_seconds: 'gauge',
    dosync_update_available: 'gauge',
    dosync_signature_unverified: 'gauge',
    dosync_cycle_duration_seconds: 'histogram',
  });
});

test('helpers record what they say', async () => {
  const m = createMetrics({ processMetrics: false });
  m.checked('web');
  m.checked('web');
  m.checked('db');
  m.updated('web', 'success');
  m.updated('db', 'rolled-back');
  m.unitUpdated('a, b (TAG in .env)', 'success');
  m.failed('db', 'health');
  m.rolledBack('db');
  m.setUpdateAvailable('web', false);
  m.setUpdateAvailable('db', true);
  m.setSignatureUnverified('web', true);
  m.setSignatureUnverified('db', false);
  m.cycleFinished({ durationMs: 1500, ok: true, at: new Date('2025-03-01T10:00:00Z') });
  m.cycleFinished({ durationMs: 700, ok: false, at: new Date('2025-03-01T11:00:00Z') });
  const f = parsePromText(await m.render());
  assert.equal(sampleValue(f, 'dosync_checks_total', { service: 'web' }), 2);
  assert.equal(sampleValue(f, 'dosync_checks_total', { service: 'db' }), 1);
  assert.equal(sampleValue(f, 'dosync_updates_total', { service: 'web', result: 'success' }), 1);
  assert.equal(sampleValue(f, 'dosync_updates_total', { service: 'db', result: 'rolled-back' }), 1);
  assert.equal(sampleValue(f, 'dosync_unit_updates_total', { unit: 'a, b (TAG in .env)', result: 'success' }), 1);
  assert.equal(sampleValue(f, 'dosync_failures_total', { service: 'db', stage: 'health' }), 1);
  assert.equal(sampleValue(f, 'dosync_rollbacks_total', { service: 'db' }), 1);
  assert.equal(sampleValue(f, 'dosync_update_available', { service: 'web' }), 0);
  assert.equal(sampleValue(f, 'dosync_update_available', { service: 'db' }), 1);
  assert.equal(sampleValue(f, 'dosync_signature_unverified', { service: 'web' }), 1);
  assert.equal(sampleValue(f, 'dosync_signature_unverified', { service: 'db' }), 0);
  // Only the cycle without errors moves the timestamp.
  assert.equal(sampleValue(f, 'dosync_last_successful_cycle_timestamp_seconds'), Date.parse('2025-03-01T10:00:00Z') / 1000);
  assert.equal(sampleValue(f, 'dosync_cycle_duration_seconds_count'), 2);
  assert.equal(sampleValue(f, 'dosync_cycle_duration_seconds_sum'), 2.2);
  assert.equal(sampleValue(f, 'dosync_cycle_duration_seconds_bucket', { le: '1' }), 1);
});

test('registry requests: counts by kind and status, latency, errors, rate limit', async () => {
  const m = createMetrics({ processMetrics: false });
  m.onRequest({ registry: 'docker.io', kind: 'ping', status: 401, durationMs: 40 });
  m.onRequest({ registry: 'docker.io', kind: 'token', status: 200, durationMs: 60 });
  m.onRequest({ registry: 'docker.io', kind: 'manifest', status: 200, durationMs: 120, rateLimitRemaining: 97 });
  m.onRequest({ registry: 'docker.io', kind: 'manifest', status: 429, durationMs: 30, rateLimitRemaining: 0 });
  m.onRequest({ registry: 'ghcr.io', kind: 'tags', status: 'error', durationMs: 5000 });
  m.onRequest({ registry: 'ghcr.io', kind: 'tags', status: 404, durationMs: 20 });
  const f = parsePromText(await m.render());
  assert.equal(sampleValue(f, 'dosync_registry_requests_total', { registry: 'docker.io', kind: 'manifest', status: '200' }), 1);
  assert.equal(sampleValue(f, 'dosync_registry_requests_total', { registry: 'docker.io', kind: 'ping', status: '401' }), 1);
  assert.equal(sampleValue(f, 'dosync_registry_requests_total', { registry: 'ghcr.io', kind: 'tags', status: 'error' }), 1);
  assert.equal(sampleValue(f, 'dosync_registry_errors_total', { registry: 'docker.io' }), 1);
  assert.equal(sampleValue(f, 'dosync_registry_errors_total', { registry: 'ghcr.io' }), 1);
  assert.equal(sampleValue(f, 'dosync_ratelimit_remaining', { registry: 'docker.io' }), 0);
  assert.equal(sampleValue(f, 'dosync_ratelimit_remaining', { registry: 'ghcr.io' }), undefined);
  assert.equal(sampleValue(f, 'dosync_registry_request_duration_seconds_count', { registry: 'docker.io' }), 4);
  assert.equal(sampleValue(f, 'dosync_registry_request_duration_seconds_bucket', { registry: 'docker.io', le: '0.05' }), 2);
  assert.equal(sampleValue(f, 'dosync_registry_request_duration_seconds_bucket', { registry: 'ghcr.io', le: '+Inf' }), 2);
});

test('which statuses count as registry errors', () => {
  for (const s of ['error', 429, 500, 502, 503] as const) assert.equal(isRegistryError(s), true, String(s));
  for (const s of [200, 201, 301, 401, 403, 404] as const) assert.equal(isRegistryError(s), false, String(s));
});

test('forgetService drops every series of a removed service, and only those', async () => {
  const m = createMetrics({ processMetrics: false });
  for (const s of ['gone', 'kept']) {
    m.checked(s);
    m.updated(s, 'success');
    m.updated(s, 'failed');
    m.failed(s, 'pull');
    m.failed(s, 'health');
    m.rolledBack(s);
    m.setUpdateAvailable(s, true);
  }
  m.forgetService('gone');
  const f = parsePromText(await m.render());
  const services = [...f.values()].flatMap((fam) => fam.samples.map((s) => s.labels.service)).filter(Boolean);
  assert.ok(services.length >= 7);
  assert.ok(services.every((s) => s === 'kept'), services.join(','));
});

test('process and Node.js metrics under their conventional names; everything else is dosync_', async () => {
  const f = parsePromText(await createMetrics().render());
  assert.ok(f.has('process_cpu_user_seconds_total'));
  assert.ok(f.has('process_resident_memory_bytes'));
  assert.ok(f.has('nodejs_eventloop_lag_seconds'));
  assert.ok(!f.has('nodejs_active_handles_total'), 'a gauge named _total fails promtool');
  assert.ok([...f.keys()].every((name) => /^(dosync|process|nodejs)_/.test(name)), [...f.keys()].join(','));
});

test('dosync_build_info says which build runs', async () => {
  const f = parsePromText(await createMetrics({ processMetrics: false, build: { version: '1.2.3', revision: 'abc123' } }).render());
  assert.equal(sampleValue(f, 'dosync_build_info', { version: '1.2.3', revision: 'abc123', nodejs_version: process.version }), 1);
});

test('dosync_update_available carries the current and newest tags; one series per service', async () => {
  const m = createMetrics({ processMetrics: false });
  m.setUpdateAvailable('web', true, { current: '1.0.0', newest: '1.2.0' });
  let f = parsePromText(await m.render());
  assert.equal(sampleValue(f, 'dosync_update_available', { service: 'web', current_tag: '1.0.0', newest_tag: '1.2.0' }), 1);
  m.setUpdateAvailable('web', false, { current: '1.2.0', newest: '1.2.0' });
  f = parsePromText(await m.render());
  const series = f.get('dosync_update_available')!.samples.filter((s) => s.labels.service === 'web');
  assert.deepEqual(series.map((s) => [s.labels.current_tag, s.labels.newest_tag, s.value]), [['1.2.0', '1.2.0', 0]]);
});
