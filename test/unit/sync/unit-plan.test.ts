import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readStack, type StackService } from '../../../src/compose/stack.js';
import { stackUnits } from '../../../src/compose/units.js';
import { resolvePolicy, selectTags } from '../../../src/policy/index.js';
import { effectiveTag, formatReference, parseImageReference, replaceTag } from '../../../src/reference/index.js';
import type { ServicePlan } from '../../../src/sync/plan.js';
import { planUnits, type Presence, type UnitPlan } from '../../../src/sync/unit-plan.js';

/** A service's own plan as planService makes it, from a tag list (no registry, no engine). */
function ownPlan(service: StackService, tags: string[], limit?: number): ServicePlan {
  const ref = parseImageReference(service.image!);
  const policy = resolvePolicy({ labels: service.labels }, { labels: 'labels', service: 'service', registry: 'registry' });
  const current = effectiveTag(ref)!;
  if (!policy.enabled) return { service, ref, policy, tags, decision: { kind: 'skipped', reason: `disabled (${policy.describe})` } };
  const selection = selectTags({ tags }, current, policy, limit);
  const base = { service, ref, policy, selection, tags };
  if (!selection.selected || selection.selected === current) return { ...base, decision: { kind: 'up-to-date', reason: 'newest' } };
  const toTag = selection.selected;
  return { ...base, decision: { kind: 'update', mode: 'tag', fromTag: current, toTag, newImage: replaceTag(service.image!, toTag), pullRef: formatReference({ ...ref, tag: toTag }), reason: `${current} -> ${toTag}` } };
}

interface Case {
  compose: string;
  env?: string;
  tags: Record<string, string[]>;
  presence?: Record<string, Presence>;
  /** Candidates each selection keeps (a cycle keeps the best 1000). */
  limit?: number;
}

const RUNNING: Presence = { running: 1, containers: 1, job: false };

function plan(c: Case): UnitPlan[] {
  const envFiles = c.env ? [{ path: '/p/.env', text: c.env }] : [];
  const stack = readStack([{ path: '/p/compose.yml', text: c.compose }], {}, { envFiles });
  const plans = stack.services.map((s) => ownPlan(s, c.tags[parseImageReference(s.image!).repository] ?? [], c.limit));
  return planUnits({ stack, units: stackUnits(stack), plans, presence: (s) => c.presence?.[s] ?? RUNNING, updateStopped: () => false });
}

const moves = (units: UnitPlan[]) => Object.fromEntries(units.flatMap((u) => (u.decision.kind === 'update' ? u.decision.updates.map((x) => [x.service.name, x.decision.toTag]) : [])));
const decisions = (units: UnitPlan[]) => Object.fromEntries(units.flatMap((u) => u.members.map((m) => [m.service.name, m.decision.kind])));

describe('planUnits', () => {
  const shared = 'services:\n  n8n:\n    image: n8n:${V}\n  runner:\n    image: runners:${V}\n';

  test('a shared variable moves both members to the tag both repositories have', () => {
    const u = plan({ compose: shared, env: 'V=1.0.0\n', tags: { 'library/n8n': ['1.0.0', '1.1.0'], 'library/runners': ['1.0.0', '1.1.0'] } });
    assert.deepEqual(moves(u), { n8n: '1.1.0', runner: '1.1.0' });
    const unit = u.find((x) => x.decision.kind === 'update')!;
    assert.equal(unit.decision.kind === 'update' && unit.decision.edits.length, 1, 'one edit: the variable');
  });

  test('a member allows a tag below the candidates its selection kept (a long list): asked of its policy again', () => {
    const u = plan({ compose: shared, env: 'V=1.0.0\n', limit: 2, tags: { 'library/n8n': ['1.0.0', '1.1.0'], 'library/runners': ['1.0.0', '1.1.0', '1.2.0', '1.3.0', '1.4.0'] } });
    assert.deepEqual(moves(u), { n8n: '1.1.0', runner: '1.1.0' });
  });

  test('a tag missing from one repository keeps the unit where it is', () => {
    const u = plan({ compose: shared, env: 'V=1.0.0\n', tags: { 'library/n8n': ['1.0.0', '1.1.0'], 'library/runners': ['1.0.0'] } });
    assert.deepEqual(moves(u), {});
    assert.deepEqual(decisions(u), { n8n: 'up-to-date', runner: 'up-to-date' });
    assert.match(u[0].decision.reason, /docker\.io\/library\/runners has no tag 1\.1\.0 yet, so the unit stays on 1\.0\.0/);
  });

  test('the most restrictive member policy wins, and explain says which tag was passed over', () => {
    const compose = 'services:\n  n8n:\n    image: n8n:${V}\n  runner:\n    image: runners:${V}\n    labels: {dosync.update: patch}\n';
    const u = plan({ compose, env: 'V=1.0.0\n', tags: { 'library/n8n': ['1.0.0', '1.0.1', '1.1.0'], 'library/runners': ['1.0.0', '1.0.1', '1.1.0'] } });
    assert.deepEqual(moves(u), { n8n: '1.0.1', runner: '1.0.1' });
    assert.match(u[0].passedOver[0].why, /not allowed by runner's policy/);
    assert.equal(u[0].passedOver[0].tag, '1.1.0');
  });

  test('a member with updates disabled holds the unit', () => {
    const compose = 'services:\n  n8n:\n    image: n8n:${V}\n  runner:\n    image: runners:${V}\n    labels: {dosync.enable: "false"}\n';
    const u = plan({ compose, env: 'V=1.0.0\n', tags: { 'library/n8n': ['1.0.0', '1.1.0'], 'library/runners': ['1.0.0', '1.1.0'] } });
    assert.deepEqual(moves(u), {});
    assert.match(u[0].decision.reason, /runner: updates disabled/);
  });

  test('name-based replicas on one tag move together; look-alikes on different tags do not', () => {
    const compose = 'services:\n  web-1:\n    image: web:1.0.0\n  web-2:\n    image: web:1.0.0\n  api-a:\n    image: api:1.0.0\n  api-b:\n    image: api:1.0.5\n';
    const u = plan({ compose, tags: { 'library/web': ['1.0.0', '1.0.2'], 'library/api': ['1.0.0', '1.0.5', '1.0.6'] } });
    const ids = u.map((x) => x.unit.services.join('+'));
    assert.deepEqual(ids, ['web-1+web-2', 'api-a', 'api-b']);
    assert.deepEqual(moves(u), { 'web-1': '1.0.2', 'web-2': '1.0.2', 'api-a': '1.0.6', 'api-b': '1.0.6' });
    const web = u[0];
    assert.equal(web.decision.kind === 'update' && web.decision.edits.length, 2, 'each replica has its own image line');
  });

  test('dosync.group joins services; dosync.group: none opts out of name detection', () => {
    const compose = 'services:\n  api:\n    image: api:1.0.0\n    labels: {dosync.group: be}\n  worker:\n    image: worker:1.0.0\n    labels: {dosync.group: be}\n  db-1:\n    image: pg:1.0.0\n  db-2:\n    image: pg:1.0.0\n    labels: {dosync.group: none}\n';
    const u = plan({ compose, tags: { 'library/api': ['1.0.0', '1.1.0'], 'library/worker': ['1.0.0', '1.1.0'], 'library/pg': ['1.0.0'] } });
    assert.deepEqual(u.map((x) => x.unit.services.join('+')), ['api+worker', 'db-1', 'db-2']);
    assert.match(u[0].unit.label, /dosync\.group be/);
  });

  test('a stopped member holds the unit; a finished job does not', () => {
    const tags = { 'library/n8n': ['1.0.0', '1.1.0'], 'library/runners': ['1.0.0', '1.1.0'] };
    const stopped = plan({ compose: shared, env: 'V=1.0.0\n', tags, presence: { runner: { running: 0, containers: 1, job: false } } });
    assert.deepEqual(moves(stopped), {});
    assert.deepEqual(decisions(stopped), { n8n: 'held', runner: 'held' });
    assert.match(stopped[0].decision.reason, /runner is not running: left alone/);
    const job = plan({ compose: shared, env: 'V=1.0.0\n', tags, presence: { runner: { running: 0, containers: 1, job: true } } });
    assert.deepEqual(moves(job), { n8n: '1.1.0', runner: '1.1.0' });
  });

  test('an error of one member keeps its unit, and says which member', () => {
    const envFiles = [{ path: '/p/.env', text: 'V=1.0.0\n' }];
    const stack = readStack([{ path: '/p/compose.yml', text: shared }], {}, { envFiles });
    const plans = stack.services.map((s, i) => (i === 1 ? { service: s, decision: { kind: 'error' as const, reason: 'registry unreachable' } } : ownPlan(s, ['1.0.0', '1.1.0'])));
    const u = planUnits({ stack, units: stackUnits(stack), plans, presence: () => RUNNING, updateStopped: () => false });
    assert.equal(u[0].decision.kind, 'error');
    assert.match(u[0].decision.reason, /runner could not be checked, so its unit .* stays: registry unreachable/);
    assert.deepEqual(decisions(u), { n8n: 'held', runner: 'error' });
  });

  test('a forced tag moves the whole unit past the policies, if every repository has it', () => {
    const compose = 'services:\n  n8n:\n    image: n8n:${V}\n    labels: {dosync.enable: "false"}\n  runner:\n    image: runners:${V}\n';
    const envFiles = [{ path: '/p/.env', text: 'V=1.0.0\n' }];
    const stack = readStack([{ path: '/p/compose.yml', text: compose }], {}, { envFiles });
    const plans = stack.services.map((s) => ownPlan(s, ['1.0.0', '1.4.2', '2.0.0']));
    const run = (tag: string) => planUnits({ stack, units: stackUnits(stack), plans, presence: () => RUNNING, updateStopped: () => false, forced: { service: 'runner', tag } });
    assert.deepEqual(moves(run('2.0.0')), { n8n: '2.0.0', runner: '2.0.0' });
    const missing = run('9.9.9');
    assert.equal(missing[0].decision.kind, 'error');
    assert.match(missing[0].decision.reason, /has no tag 9\.9\.9/);
  });
});
