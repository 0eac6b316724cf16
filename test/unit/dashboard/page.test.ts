import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dashboardPage, findService, loginPage, servicePage } from '../../../src/dashboard/page.js';
import { backTo } from '../../../src/api/server.js';
import type { ServiceStatus, StatusDoc } from '../../../src/api/status-doc.js';

const at = new Date(0).toISOString();
const web: ServiceStatus = { name: 'web', project: 'shop', image: 'nginx:1.27.0', currentTag: '1.27.0', availableTag: '1.27.1', link: 'https://example.org/"><script>',
  status: { kind: 'pending-approval', at, tag: '1.27.1', reason: '<b>why</b>' },
  history: [{ from: 'nginx:1.26.0', to: 'nginx:1.27.0', at, outcome: 'updated' }], failed: [{ tag: '1.28.0', at, reason: 'unhealthy' }], skipped: ['1.27.5'] };
const doc: StatusDoc = { project: 'shop', services: [web] };

test('the page escapes what it shows, and a read-only session gets no action buttons', () => {
  const admin = dashboardPage({ doc, role: 'admin', csrf: 'tok' });
  assert.ok(!admin.includes('<script>') && !admin.includes('<b>why</b>'), 'escaped');
  assert.match(admin, /formaction="\/v1\/approve\?service=web&amp;tag=1\.27\.1"/);
  const ro = dashboardPage({ doc, role: 'readonly', csrf: '' });
  assert.doesNotMatch(ro, /\/v1\/approve/);
  assert.match(ro, /Waiting for approval: 1\.27\.1/);
  assert.match(loginPage({}), /type="password"/);
  const roOne = servicePage({ doc, role: 'readonly', csrf: '' }, web);
  assert.doesNotMatch(roOne, /\/v1\/(approve|skip|rollback|retry|pause|update)/);
  assert.match(roOne, /unhealthy/);
});

test('the list carries the CSRF token once and no history; the service view has every action, history and tags', () => {
  const many: StatusDoc = { project: 'shop', services: Array.from({ length: 20 }, (_, i) => ({ ...web, name: `web-${i}` })) };
  const list = dashboardPage({ doc: many, role: 'admin', csrf: 'tok-123' });
  assert.equal(list.split('tok-123').length - 1, 1, 'one CSRF token per page');
  assert.doesNotMatch(list, /nginx:1\.26\.0/, 'history is not in the list');
  assert.doesNotMatch(list, /style=/, 'no inline styles');
  assert.equal(list.match(/<div role="row" data-service=/g)?.length, 20);
  assert.match(list, /href="\/service\?service=web-3"/);

  const one = servicePage({ doc, role: 'admin', csrf: 'tok' }, web);
  for (const path of ['approve?service=web&amp;tag=1.27.1', 'skip?service=web&amp;tag=1.27.1', 'retry?service=web', 'rollback?service=web', 'check?service=web', 'pause?service=web']) {
    assert.ok(one.includes(`formaction="/v1/${path}"`), path);
  }
  assert.match(one, /action="\/v1\/update\?service=web"/);
  assert.match(one, /name="back" value="\/service\?service=web"/);
  assert.match(one, /nginx:1\.26\.0/);
  assert.match(one, /1\.28\.0<\/strong>.*unhealthy/);
  assert.match(one, /1\.27\.5<\/strong>: skipped/);
  assert.match(one, /href="https:\/\/example\.org\/&quot;&gt;&lt;script&gt;"/);
  assert.match(servicePage({ doc: { ...doc, services: [{ ...web, paused: true }] }, role: 'admin', csrf: 't' }, { ...web, paused: true }), /formaction="\/v1\/resume\?service=web"/);
});

test('a whole-host document groups rows by project and names the project in every link', () => {
  const host: StatusDoc = { project: 'host', services: [{ ...web, project: 'a' }, { ...web, project: 'b' }] };
  const list = dashboardPage({ doc: host, role: 'admin', csrf: 't' });
  assert.equal(list.match(/<div role="rowgroup">/g)?.length, 2, 'a row group per project');
  assert.match(list, /<span role="rowheader">Project a<\/span>/);
  assert.match(list, /formaction="\/v1\/pause\?project=a"/, 'each project has its own pause');
  assert.match(list, /href="\/service\?service=web&amp;project=b"/);
  assert.match(list, /formaction="\/v1\/approve\?service=web&amp;project=b&amp;tag=1\.27\.1"/);
  assert.equal(findService(host, 'web', 'b')?.project, 'b');
  assert.equal(findService(host, 'nope'), undefined);
});

test('a no-JS post goes back only to a view of the dashboard itself', () => {
  assert.equal(backTo('/service?service=web', 'done'), '/service?service=web&message=done');
  assert.equal(backTo(undefined, 'a b'), '/?message=a%20b');
  for (const evil of ['//evil.example/', 'https://evil.example/', '/service?x=<', '/v1/status', '/service?a=b#x']) assert.equal(backTo(evil, 'm'), '/?message=m', evil);
});

test('a reason the badge already says is not repeated under it; another reason is shown', () => {
  const same: ServiceStatus = { ...web, status: { kind: 'pending-approval', at, tag: '1.27.1', reason: 'waiting for approval' } };
  const other: ServiceStatus = { ...web, name: 'api', status: { kind: 'pending-approval', at, tag: '1.27.1', reason: 'approve: manual (dosync.yaml)' } };
  const list = dashboardPage({ doc: { project: 'shop', services: [same, other] }, role: 'admin', csrf: 'tok' });
  assert.doesNotMatch(list, /class="reason">waiting for approval</);
  assert.match(list, /class="reason">approve: manual \(dosync\.yaml\)</);
  assert.doesNotMatch(servicePage({ doc, role: 'admin', csrf: 'tok' }, same), /class="reason">waiting for approval</);
});

test('whole host: the page says how many projects, marks a paused one and offers its resume; the header acts on every project', () => {
  const host: StatusDoc = { project: '*', services: [{ ...web, project: 'a' }, { ...web, project: 'b' }], projectNames: ['a', 'b'], pausedProjects: ['b'] };
  const list = dashboardPage({ doc: host, role: 'admin', csrf: 't' });
  assert.match(list, /Whole host: <strong>2<\/strong> projects/);
  assert.match(list, /<title>dosync: whole host<\/title>/);
  assert.match(list, /data-project="b"><span role="rowheader">Project b <span class="b warn">updates paused<\/span>/);
  assert.match(list, /formaction="\/v1\/resume\?project=b"/);
  assert.match(list, /formaction="\/v1\/pause\?project=a"/);
  assert.match(list, /formaction="\/v1\/pause">Pause every project</);
  assert.doesNotMatch(dashboardPage({ doc: host, role: 'readonly', csrf: '' }), /\?project=b"/, 'read-only: no toggles');
});

test('the backups list names each backup\'s file, and its project on a whole-host page; names are escaped', () => {
  const backups = [
    { name: 'docker-compose.yml.20261203T101010000Z.bak', time: at, file: 'docker-compose.yml', project: 'shop' },
    { name: '.env.20261203T090909000Z.bak', time: at, file: '.env<x>' },
  ];
  const page = dashboardPage({ doc, role: 'readonly', csrf: '', backups });
  assert.match(page, /<summary>Backups \(2\)<\/summary>/);
  assert.match(page, /<code>docker-compose\.yml\.20261203T101010000Z\.bak<\/code> <time[^>]*>[^<]*<\/time> <span class="muted">of docker-compose\.yml \(project shop\)<\/span>/);
  assert.match(page, /of \.env&lt;x&gt;<\/span>/, 'no project named for a single-project backup; escaped');
  assert.doesNotMatch(dashboardPage({ doc, role: 'readonly', csrf: '', backups: [] }), /Backups/);
});
