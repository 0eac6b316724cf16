/** /metrics passes `promtool check metrics` (Prometheus' own linter; test/env/install.sh provides it). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createMetrics } from '../../src/metrics/index.js';

function promtool(text: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { out += c.toString(); });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
    child.stdin.end(text);
  });
}

test('every metric dosync exposes, with samples of each, passes promtool check metrics', async () => {
  const m = createMetrics();
  m.checked('web');
  m.updated('web', 'success');
  m.unitUpdated('web, worker (TAG in .env)', 'failed');
  m.failed('web', 'health');
  m.rolledBack('web');
  m.setUpdateAvailable('web', true, { current: '1.0.0', newest: '1.2.0' });
  m.setSignatureUnverified('web', true);
  m.cycleFinished({ durationMs: 1200, ok: true, at: new Date() });
  m.onRequest({ registry: '127.0.0.1:5000', kind: 'tags', status: 200, durationMs: 12, rateLimitRemaining: 99 });
  m.onRequest({ registry: '127.0.0.1:5000', kind: 'manifest', status: 'error', durationMs: 3000 });
  const text = await m.render();
  const r = await promtool(text);
  assert.equal(r.code, 0, `promtool: ${r.out}`);
  assert.equal(r.out.trim(), '');
  assert.match(text, /^dosync_build_info\{version="[^"]+",revision="[^"]+",nodejs_version="v\d+/m);
  assert.match(text, /^process_cpu_user_seconds_total /m);
  assert.match(text, /^nodejs_heap_size_used_bytes /m);
});
