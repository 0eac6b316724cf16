import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cycleEvents } from '../../../src/sync/events.js';
import { buildMessage, eventLine } from '../../../src/notify/format.js';
import type { CycleReport } from '../../../src/sync/cycle.js';

const D = `sha256:${'c'.repeat(64)}`;
const report = (unverified: boolean): CycleReport => ({
  plans: [{
    service: { name: 'web', image: 'ghcr.io/org/app:1.0.0' } as CycleReport['plans'][number]['service'],
    ref: { registry: 'ghcr.io', repository: 'org/app', tag: '1.0.0' },
    signatures: { mode: 'enforce', selected: null, passedOver: [], note: '', running: unverified ? { digest: D, why: 'signed by an unknown key' } : undefined },
    decision: { kind: 'up-to-date', reason: '1.0.0 is the newest allowed' },
  }],
  units: [], outcomes: [], durationMs: 1, failures: 0,
});

test('a running image that stops verifying is notified once, and again only after it verified in between', () => {
  const opts = { project: 'p', checkOnly: false, errorStreaks: new Map<string, number>(), unverified: new Set<string>(), persistAfter: 3, now: new Date(0) };
  const kinds = [true, true, true, false, true].map((u) => cycleEvents(report(u), opts).map((e) => e.kind));
  assert.deepEqual(kinds, [['signature-invalid'], [], [], [], ['signature-invalid']]);
  const [event] = cycleEvents(report(true), { ...opts, unverified: new Set() });
  assert.deepEqual([event.digest, event.reason, event.fromTag], [D, 'signed by an unknown key', '1.0.0']);
  const view = buildMessage([event])!;
  assert.equal(view.title, 'dosync (p): web: running image does not verify');
  assert.equal(view.severity, 'error');
  assert.equal(eventLine(view.events[0]), 'web: running image 1.0.0 does not verify (not redeployed): signed by an unknown key');
});

test('an update of a unit names the unit in its notification', () => {
  const unit = 'a, b (TAG in .env)';
  const r: CycleReport = {
    ...report(false),
    plans: [],
    outcomes: [{ service: 'a', unit, outcome: { status: 'updated', from: 'a:1.0.0', to: 'a:1.1.0', pruned: [], recreated: true } }],
  };
  const events = cycleEvents(r, { project: 'p', checkOnly: false, errorStreaks: new Map(), persistAfter: 3, now: new Date(0) });
  assert.equal(events[0].unit, unit);
  assert.equal(eventLine(buildMessage(events)!.events[0]), `a: updated 1.0.0 -> 1.1.0 (with its unit ${unit})`);
});
