import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dashboardPage, loginPage } from '../../../src/dashboard/page.js';
import type { StatusDoc } from '../../../src/api/status-doc.js';

const at = new Date(0).toISOString();
const doc: StatusDoc = { project: 'shop', services: [{ name: 'web', project: 'shop', image: 'nginx:1.27.0', currentTag: '1.27.0', availableTag: '1.27.1', link: 'https://example.org/"><script>',
  status: { kind: 'pending-approval', at, tag: '1.27.1', reason: '<b>why</b>' }, history: [], failed: [], skipped: [] }] };

test('the page escapes what it shows, and a read-only session gets no action forms', () => {
  const admin = dashboardPage({ doc, role: 'admin', csrf: 'tok' });
  assert.ok(!admin.includes('<script>') && !admin.includes('<b>why</b>'), 'escaped');
  assert.match(admin, /action="\/v1\/approve"/);
  assert.match(admin, /name="csrf" value="tok"/);
  const ro = dashboardPage({ doc, role: 'readonly', csrf: '' });
  assert.doesNotMatch(ro, /action="\/v1\/approve"/);
  assert.match(ro, /Waiting for approval: 1\.27\.1/);
  assert.match(loginPage({}), /type="password"/);
});
