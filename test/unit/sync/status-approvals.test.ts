import { describe, test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { statusAfterCycle, releaseLink } from '../../../src/sync/status.js';
import { approveMode, approvePending, gateDecision, type GateMember } from '../../../src/sync/approvals.js';
import { applyToState, drainInbox, parseAction, postToInbox } from '../../../src/sync/control.js';
import { cycleEvents, type Announced } from '../../../src/sync/events.js';
import { StateStore, defaultStatePath, serviceKey } from '../../../src/sync/state.js';
import type { CycleReport } from '../../../src/sync/cycle.js';
import type { Decision } from '../../../src/sync/plan.js';

const update: Decision = { kind: 'update', mode: 'tag', fromTag: '1.0.0', toTag: '1.1.0', newImage: 'app:1.1.0', pullRef: 'app:1.1.0', reason: '1.1.0 is newer' };

describe('status after each step', () => {
  test('an update found is available; once applied the service is up to date on the new tag (not stale)', () => {
    assert.deepEqual(statusAfterCycle({ decision: update, current: '1.0.0' }), { kind: 'update-available', current: '1.0.0', tag: '1.1.0', reason: '1.1.0 is newer' });
    const after = statusAfterCycle({ decision: update, current: '1.0.0', outcomeTag: '1.1.0', outcome: { status: 'updated', from: 'app:1.0.0', to: 'app:1.1.0', pruned: [], recreated: true } });
    assert.equal(after.kind, 'up-to-date');
    assert.equal(after.current, '1.1.0');
  });
  test('a rollback says why, and the next cycle names the failed tag that keeps it back', () => {
    const rb = statusAfterCycle({ decision: update, current: '1.0.0', outcomeTag: '1.1.0', outcome: { status: 'rolled-back', from: 'app:1.0.0', to: 'app:1.1.0', reason: 'unhealthy after 30s', failedTag: '1.1.0' } });
    assert.deepEqual([rb.kind, rb.tag, rb.reason], ['rolled-back', '1.1.0', 'unhealthy after 30s']);
    const next = statusAfterCycle({ decision: { kind: 'up-to-date', reason: 'newest allowed' }, current: '1.0.0', failed: [{ tag: '1.1.0', at: new Date(0).toISOString(), reason: 'unhealthy after 30s' }] });
    assert.deepEqual([next.kind, next.tag, next.reason], ['failed-tag', '1.1.0', 'unhealthy after 30s']);
    const old = statusAfterCycle({ decision: { kind: 'up-to-date', reason: 'newest allowed' }, current: '1.1.0', failed: [{ tag: '1.1.0', at: new Date(0).toISOString(), reason: 'x' }] });
    assert.equal(old.kind, 'up-to-date', 'a failed tag that now runs is not held against it');
  });
  test('held says what holds it and until when; pending approval says it replaced an older one', () => {
    const until = new Date('2025-06-01T02:00:00Z');
    const held = statusAfterCycle({ decision: { kind: 'held', toTag: '1.1.0', reason: 'outside the window', until, hold: 'window' }, current: '1.0.0' });
    assert.deepEqual([held.kind, held.hold, held.until, held.tag], ['held', 'window', until.toISOString(), '1.1.0']);
    const pending = statusAfterCycle({ decision: update, current: '1.0.0', pending: { tag: '1.1.0', image: 'app:1.1.0', since: until.toISOString(), replaced: '1.0.5' } });
    assert.equal(pending.kind, 'pending-approval');
    assert.match(pending.reason!, /replaces 1\.0\.5/);
  });
  test('release links: the template label, else the OCI url/source label; only http(s)', () => {
    assert.equal(releaseLink('v1.2.3', { 'dosync.link.template': 'https://github.com/o/r/releases/tag/v${major}.${minor}.${patch}' }), 'https://github.com/o/r/releases/tag/v1.2.3');
    assert.equal(releaseLink('1.2.3', {}, { 'org.opencontainers.image.source': 'https://github.com/o/r' }), 'https://github.com/o/r');
    assert.equal(releaseLink('1.2.3', {}, { 'org.opencontainers.image.url': 'https://o.example', 'org.opencontainers.image.source': 'https://github.com/o/r' }), 'https://o.example/');
    assert.equal(releaseLink('1.2.3', { 'dosync.link.template': 'javascript:alert(${tag})' }), undefined);
    assert.equal(releaseLink(undefined, {}, {}), undefined);
  });
});

describe('approvals', () => {
  const now = new Date('2025-06-01T10:00:00Z');
  const member = (over: Partial<GateMember> = {}): GateMember => ({ key: 'p/web', tag: '1.1.0', image: 'app:1.1.0', manual: true, ...over });
  test('mode: label > services.X.approve > flag > top level > auto; a bad label is one clear error', () => {
    const svc = (labels: Record<string, string> = {}) => ({ name: 'web', labels });
    assert.equal(approveMode(svc(), {}), 'auto');
    assert.equal(approveMode(svc(), { approve: 'manual' }), 'manual');
    assert.equal(approveMode(svc(), { approve: 'manual' }, 'auto'), 'auto');
    assert.equal(approveMode(svc(), { approve: 'auto', services: { web: { approve: 'manual' } } }, 'auto'), 'manual');
    assert.equal(approveMode(svc({ 'dosync.approve': 'auto' }), { services: { web: { approve: 'manual' } } }), 'auto');
    assert.throws(() => approveMode(svc({ 'dosync.approve': 'yes' }), {}), /services\.web\.labels\.dosync\.approve: "yes" is not auto or manual/);
  });
  test('a found update becomes pending and is announced once; approval lets it through and clears it', () => {
    const first = gateDecision([member()], now);
    assert.equal(first.proceed, false);
    assert.deepEqual(first.announce, [{ key: 'p/web', tag: '1.1.0', image: 'app:1.1.0' }]);
    const pending = first.changes[0].pending!;
    const again = gateDecision([member({ pending })], now);
    assert.deepEqual([again.proceed, again.announce, again.changes], [false, [], []]);
    const approved = approvePending(pending, 'web', undefined, now);
    assert.ok(approved.ok);
    const go = gateDecision([member({ pending: approved.pending })], now);
    assert.equal(go.proceed, true);
    assert.deepEqual(go.changes, [{ key: 'p/web', pending: undefined }]);
  });
  test('a newer tag replaces a pending (even approved) one, and says so', () => {
    const pending = { tag: '1.1.0', image: 'app:1.1.0', since: now.toISOString(), approvedAt: now.toISOString() };
    const d = gateDecision([member({ tag: '1.2.0', image: 'app:1.2.0', pending })], now);
    assert.equal(d.proceed, false);
    assert.deepEqual(d.announce, [{ key: 'p/web', tag: '1.2.0', image: 'app:1.2.0', replaced: '1.1.0' }]);
    assert.equal(d.changes[0].pending?.replaced, '1.1.0');
    assert.equal(d.changes[0].pending?.approvedAt, undefined);
  });
  test('auto services pass; approving with a tag that is not pending is refused', () => {
    assert.equal(gateDecision([member({ manual: false })], now).proceed, true);
    const r = approvePending({ tag: '1.1.0', image: 'app:1.1.0', since: now.toISOString() }, 'web', '1.0.9', now);
    assert.deepEqual(r, { ok: false, reason: 'web: 1.0.9 is not the pending update (1.1.0 is)' });
    assert.deepEqual(approvePending(undefined, 'web', undefined, now), { ok: false, reason: 'web has no update waiting for approval' });
  });
  test('actions are validated: names and tags', () => {
    assert.equal(parseAction({ kind: 'approve', service: 'web' }).ok, true);
    assert.deepEqual(parseAction({ kind: 'skip', service: 'web' }), { ok: false, reason: 'tag: Required' });
    assert.equal(parseAction({ kind: 'approve', service: '../x' }).ok, false);
  });
});

describe('approval across a restart (pending approvals live in state)', () => {
  let dir: string;
  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'i18-state-')); });
  afterEach(() => rm(dir, { recursive: true, force: true }));
  test('pending, approved, skipped and announced survive a reopen', async () => {
    const key = serviceKey('shop', 'web');
    const a = await StateStore.open(defaultStatePath(dir));
    a.setPending(key, { tag: '1.1.0', image: 'app:1.1.0', since: new Date(0).toISOString() });
    a.setAnnounced(key, '1.1.0');
    a.setStatus(key, { kind: 'pending-approval', tag: '1.1.0', current: '1.0.0' });
    await a.save();
    const b = await StateStore.open(defaultStatePath(dir));
    assert.equal(b.origin, 'file');
    assert.equal(b.get(key)?.pending?.tag, '1.1.0');
    assert.equal(b.get(key)?.announced, '1.1.0');
    const r = applyToState(b, key, { kind: 'approve', service: 'web' }, new Date(1000));
    assert.ok(r.ok);
    await b.save();
    const c = await StateStore.open(defaultStatePath(dir));
    assert.equal(c.get(key)?.pending?.approvedAt, new Date(1000).toISOString());
    // Skipping the pending tag drops it from the offer and the pending entry.
    applyToState(c, key, { kind: 'skip', service: 'web', tag: '1.1.0' }, new Date(2000));
    assert.equal(c.get(key)?.pending, undefined);
    assert.deepEqual([...c.skippedTags(key)], ['1.1.0']);
    assert.equal(c.get(key)?.status?.kind, 'up-to-date');
  });
  test('the inbox hands requests to the daemon in order and drops bad ones', async () => {
    await postToInbox(dir, { kind: 'approve', service: 'web' });
    await postToInbox(dir, { kind: 'skip', service: 'db', tag: '16.3' });
    const got = await drainInbox(dir);
    assert.deepEqual(got.map((g) => g.action?.kind), ['approve', 'skip']);
    assert.deepEqual(await drainInbox(dir), []);
  });
});

describe('notification dedupe', () => {
  const plan = (toTag: string) => ({
    service: { name: 'web', image: 'app:1.0.0', labels: {} } as unknown as CycleReport['plans'][number]['service'],
    decision: { ...update, toTag, newImage: `app:${toTag}` } as Decision,
  });
  const report = (toTag: string): CycleReport => ({ plans: [plan(toTag)], units: [], outcomes: [], durationMs: 1, failures: 0 });
  const memory = (): Announced => { const m = new Map<string, string | undefined>(); return { get: (s) => m.get(s), set: (s, t) => void m.set(s, t) }; };
  const opts = (announced: Announced, every?: 'once' | 'cycle') => ({ project: 'p', checkOnly: true, errorStreaks: new Map<string, number>(), persistAfter: 3, now: new Date(0), announced, every });

  test('an available update is announced once per (service, tag); a newer tag is announced again', () => {
    const a = memory();
    const counts = ['1.1.0', '1.1.0', '1.1.0', '1.2.0', '1.2.0'].map((t) => cycleEvents(report(t), opts(a)).length);
    assert.deepEqual(counts, [1, 0, 0, 1, 0]);
  });
  test('notify_every: cycle keeps announcing every cycle', () => {
    const a = memory();
    assert.deepEqual([1, 2, 3].map(() => cycleEvents(report('1.1.0'), opts(a, 'cycle')).length), [1, 1, 1]);
  });
  test('pending approvals are announced once, with the replaced tag and the dashboard link', () => {
    const a = memory();
    const r: CycleReport = { ...report('1.1.0'), plans: [], announcements: [{ service: 'web', tag: '1.2.0', image: 'app:1.2.0', fromTag: '1.0.0', replaced: '1.1.0' }] };
    const [e] = cycleEvents(r, { ...opts(a), checkOnly: false, dashboard: 'https://dosync.example' });
    assert.equal(e.kind, 'update-found');
    assert.match(e.reason!, /waiting for approval.*replaces 1\.1\.0/);
    assert.equal(e.dashboard, 'https://dosync.example');
    assert.equal(cycleEvents(r, { ...opts(a), checkOnly: false }).length, 0);
  });
});

test('a cycle that changes nothing after a rollback keeps the rolled-back status', () => {
  const previous = { kind: 'rolled-back' as const, at: new Date(0).toISOString(), current: '1.0.0', tag: '1.1.0', reason: 'rolled back by request' };
  const s = statusAfterCycle({ decision: { kind: 'up-to-date', reason: 'newest allowed' }, current: '1.0.0', previous, failed: [{ tag: '1.1.0', at: previous.at, reason: 'x' }] });
  assert.deepEqual(s, { kind: 'rolled-back', current: '1.0.0', tag: '1.1.0', reason: 'rolled back by request' });
});

test('the dashboard link (public_url) is in every channel\'s message', async () => {
  const { buildMessage } = await import('../../../src/notify/format.js');
  const { renderRequests } = await import('../../../src/notify/render/index.js');
  const { parseChannels } = await import('../../../src/notify/urls.js');
  const m = buildMessage([{ kind: 'update-found', service: 'web', toTag: '1.1.0', at: new Date(0), dashboard: 'https://dosync.example/' }])!;
  const channels = parseChannels(['slack://hooks.slack.com/services/T0/B0/XXXX', 'discord://tok@123', 'telegram://1:abc@telegram?chats=5', 'ntfy://ntfy.sh/t', 'generic+https://h.example/x']);
  for (const ch of channels) {
    if (ch.kind === 'email') continue;
    const bodies = renderRequests(ch, m, []).map((r) => r.body).join('\n');
    assert.match(bodies, /https:\/\/dosync\.example\//, ch.kind);
  }
});
