/**
 * Planning per update unit (pure): the per-service plans (policy, tag list, own decision) of the services
 * that move together become one decision. The policy of the first member with an update proposes tags, best
 * first; every member must have the resulting tag in its repository and allow it under its own policy (the
 * most restrictive member wins). Name-based replicas on the same repository, tag and policy, and services
 * with the same `dosync.group` label, join one unit too.
 */
import type { Stack, StackService } from '../compose/stack.js';
import { planImageEdit, type ImageEdit } from '../compose/image-source.js';
import { imagesAfterEdits, type Unit } from '../compose/units.js';
import { effectiveTag, formatReference, parseImageReference, replaceTag, repositoryKey } from '../reference/index.js';
import { errorMessage } from '../util/errors.js';
import type { Decision, ServicePlan } from './plan.js';
import { selectTags } from '../policy/index.js';
import { replicaStem } from './groups.js';

type UpdateDecision = Extract<Decision, { kind: 'update' }>;
export type UpdatePlan = ServicePlan & { decision: UpdateDecision };

/** What runs of a service right now. */
export interface Presence {
  running: number;
  containers: number;
  /** Every container exited 0 and compose does not restart it (`restart` unset or `no`): a one-shot job. */
  job: boolean;
}

/** `dosync update SERVICE --to TAG`: the unit of `service` goes to `tag`; policies are bypassed, tags must exist. */
export interface ForcedTag {
  service: string;
  tag: string;
}

export interface UnitPlanInput {
  stack: Stack;
  forced?: ForcedTag;
  units: Unit[];
  plans: ServicePlan[];
  presence: (service: string) => Presence;
  /** `update_stopped: true` (dosync.yaml or label): a stopped service is updated in its file anyway. */
  updateStopped: (service: StackService) => boolean;
}

export type UnitDecision =
  | { kind: 'update'; mode: 'tag' | 'digest'; updates: UpdatePlan[]; edits: ImageEdit[]; reason: string }
  | { kind: 'up-to-date' | 'skipped' | 'error'; reason: string }
  | { kind: 'held'; reason: string; until?: Date };

export interface UnitPlan {
  unit: Unit;
  /** The members' plans, their decisions made the unit's. */
  members: ServicePlan[];
  decision: UnitDecision;
  /** Tags the unit did not take and why (`check --explain`). */
  passedOver: Array<{ tag: string; why: string }>;
}

/** Joins compose units with name-based replicas and `dosync.group`; returns the units in file order. */
export function mergeGroups(units: Unit[], plans: ServicePlan[]): Unit[] {
  const index = new Map(units.map((u, i) => [u, i]));
  const parent = units.map((_, i) => i);
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i])));
  const unitOfService = new Map<string, number>();
  units.forEach((u, i) => u.services.forEach((s) => unitOfService.set(s, i)));
  const byKey = new Map<string, number>();
  for (const p of plans) {
    const key = groupKey(p);
    const i = unitOfService.get(p.service.name);
    if (key === undefined || i === undefined) continue;
    const other = byKey.get(key);
    if (other === undefined) byKey.set(key, i);
    else parent[find(i)] = find(other);
  }
  const merged = new Map<number, Unit[]>();
  for (const u of units) {
    const root = find(index.get(u)!);
    const list = merged.get(root);
    if (list) list.push(u);
    else merged.set(root, [u]);
  }
  const order = new Map(plans.map((p, i) => [p.service.name, i]));
  return [...merged.values()].map((list) => {
    if (list.length === 1) return list[0];
    const services = list.flatMap((u) => u.services).sort((a, b) => (order.get(a) ?? 0) - (order.get(b) ?? 0));
    const via = [...new Set(list.flatMap((u) => u.via))];
    const groups = [...new Set(plans.filter((p) => services.includes(p.service.name)).map(groupKey).filter((k): k is string => k !== undefined).map(describeGroupKey))];
    const all = [...via, ...groups];
    return { id: services.join(','), services, via: all, dependents: list.flatMap((u) => u.dependents), label: `${services.join(', ')} (${all.join('; ')})` };
  });
}

/**
 * The key that ties a service to its siblings: `dosync.group: NAME`, else a replica name (`web-1`, `db-blue`)
 * on the same repository, current tag and policy as its siblings; `dosync.group: none` opts out.
 */
export function groupKey(p: ServicePlan): string | undefined {
  const label = p.service.labels['dosync.group']?.trim();
  if (label === 'none') return undefined;
  if (label) return `group\u0000${label}`;
  const stem = replicaStem(p.service.name);
  if (!stem || !p.ref) return undefined;
  return `replica\u0000${stem}\u0000${repositoryKey(p.ref)}\u0000${effectiveTag(p.ref) ?? ''}\u0000${p.policy?.describe ?? ''}`;
}

function describeGroupKey(key: string): string {
  const [kind, name] = key.split('\u0000');
  return kind === 'group' ? `dosync.group ${name}` : `replicas of ${name}`;
}

/** Plans every unit. */
export function planUnits(input: UnitPlanInput): UnitPlan[] {
  const byName = new Map(input.plans.map((p) => [p.service.name, p]));
  return mergeGroups(input.units, input.plans).map((unit) => planUnit(unit, unit.services.map((s) => byName.get(s)!).filter(Boolean), input));
}

function planUnit(unit: Unit, members: ServicePlan[], input: UnitPlanInput): UnitPlan {
  if (input.forced && unit.services.includes(input.forced.service)) return planForced(unit, members, input, input.forced);
  const shared = members.length > 1;
  const result = (decision: UnitDecision, own: ServicePlan[] = members, passedOver: UnitPlan['passedOver'] = []): UnitPlan => ({ unit, members: own, decision, passedOver });
  const retag = (d: Decision): ServicePlan[] => members.map((m) => (m.decision.kind === 'update' || m.decision.kind === 'held' ? { ...m, decision: d } : m));

  const failed = members.find((m) => m.decision.kind === 'error');
  if (failed && shared && members.some((m) => m.decision.kind === 'update')) {
    const reason = `${failed.service.name} could not be checked, so its unit ${unit.label} stays: ${failed.decision.reason}`;
    return result({ kind: 'error', reason }, members.map((m) => (m === failed ? m : m.decision.kind === 'update' ? { ...m, decision: { kind: 'held', toTag: m.decision.toTag, reason } } : m)));
  }
  const held = members.find((m) => m.decision.kind === 'held');
  if (held && held.decision.kind === 'held') {
    const reason = shared ? `${held.decision.reason} (unit ${unit.label})` : held.decision.reason;
    return result({ kind: 'held', reason, until: held.decision.until }, shared ? members.map((m) => (m.decision.kind === 'update' ? { ...m, decision: { kind: 'held', toTag: m.decision.toTag, reason, until: held.decision.kind === 'held' ? held.decision.until : undefined } } : m)) : members);
  }
  const updates = members.filter((m): m is UpdatePlan => m.decision.kind === 'update');
  if (updates.length === 0) {
    const first = members[0]?.decision;
    return result(first && first.kind !== 'update' && first.kind !== 'held' ? { kind: first.kind, reason: first.reason } : { kind: 'up-to-date', reason: 'nothing to do' });
  }

  const tagLead = updates.find((u) => u.decision.mode === 'tag');
  let planned: { updates: UpdatePlan[]; edits: ImageEdit[]; passedOver: UnitPlan['passedOver'] } | { stay: string; passedOver: UnitPlan['passedOver'] };
  if (!tagLead) {
    // Re-pushed tags and tracked digests: no file edit, each changed member is pulled and recreated.
    planned = { updates, edits: [], passedOver: [] };
  } else if (!shared) {
    try {
      planned = { updates: [tagLead], edits: [planImageEdit(tagLead.service, tagLead.decision.newImage)], passedOver: [] };
    } catch (err) {
      return result({ kind: 'error', reason: errorMessage(err) }, [{ ...tagLead, decision: { kind: 'error', reason: errorMessage(err) } }]);
    }
  } else {
    try {
      planned = unitTag(unit, members, tagLead, input.stack);
    } catch (err) {
      const reason = errorMessage(err);
      return result({ kind: 'error', reason }, retag({ kind: 'error', reason }));
    }
  }
  if ('stay' in planned) {
    const reason = planned.stay;
    return result({ kind: 'up-to-date', reason }, members.map((m) => (m.decision.kind === 'update' ? { ...m, decision: { kind: 'up-to-date', reason } } : m)), planned.passedOver);
  }

  // A stopped service stays as it is: its next start would run an image nobody health-checked.
  for (const u of planned.updates) {
    const p = input.presence(u.service.name);
    if (p.running > 0 || p.job || input.updateStopped(u.service)) continue;
    const what = p.containers === 0 ? 'has no container' : 'is not running';
    const reason = `${u.service.name} ${what}: left alone (its next start would run an image nobody health-checked); start it, or set update_stopped: true${shared ? ` (unit ${unit.label})` : ''}`;
    const toTag = (m: ServicePlan) => planned.updates.find((x) => x.service.name === m.service.name)?.decision.toTag ?? (m.decision.kind === 'update' ? m.decision.toTag : '');
    return result({ kind: 'held', reason }, members.map((m) => (m.decision.kind === 'update' ? { ...m, decision: { kind: 'held', toTag: toTag(m), reason } } : m)), planned.passedOver);
  }

  const changed = new Set(planned.updates.map((u) => u.service.name));
  const own = members.map((m) => planned.updates.find((u) => u.service.name === m.service.name) ?? (m.decision.kind === 'update' && !changed.has(m.service.name)
    ? { ...m, decision: { kind: 'up-to-date' as const, reason: `moves with its unit ${unit.label}` } } : m));
  const mode = tagLead ? 'tag' : 'digest';
  const reason = shared ? `${planned.updates.map((u) => `${u.service.name} ${u.decision.fromTag ?? ''} -> ${u.decision.toTag}`).join(', ')} (unit ${unit.label})` : planned.updates[0].decision.reason;
  return result({ kind: 'update', mode, updates: planned.updates, edits: planned.edits, reason }, own, planned.passedOver);
}

/**
 * The tag a shared unit moves to: the lead's candidates, best first, until one that every member allows.
 * A tag missing from a member's repository keeps the unit where it is (it is usually on its way).
 */
function unitTag(unit: Unit, members: ServicePlan[], lead: UpdatePlan, stack: Stack, forced = false): { updates: UpdatePlan[]; edits: ImageEdit[]; passedOver: UnitPlan['passedOver'] } | { stay: string; passedOver: UnitPlan['passedOver'] } {
  const passedOver: UnitPlan['passedOver'] = [];
  const leadTag = lead.decision.fromTag;
  // From the lead's own choice down: tags it passed over (failed before, unsigned) stay passed over.
  const ranked = lead.selection?.candidates.map((c) => c.tag) ?? [];
  const from = ranked.indexOf(lead.decision.toTag);
  const offered = forced || from < 0 ? [lead.decision.toTag] : ranked.slice(from);
  for (const tag of offered) {
    if (tag === leadTag) break;
    const leadImage = tag === lead.decision.toTag ? lead.decision.newImage : replaceTag(lead.service.image!, tag);
    const edits: ImageEdit[] = [planImageEdit(lead.service, leadImage)];
    // Members the lead's edit does not reach (replicas, dosync.group) get their own edit to the same tag.
    for (const m of members) {
      if (!m.service.image || imagesAfterEdits([m.service], edits).has(m.service.name)) continue;
      if (m.decision.kind === 'skipped' && !m.ref) continue;
      edits.push(planImageEdit(m.service, replaceTag(m.service.image, tag)));
    }
    const images = imagesAfterEdits(stack.services, edits);
    const outside = [...images.keys()].filter((s) => !unit.services.includes(s));
    if (outside.length > 0) throw new Error(`planning ${unit.label}: the edit would also change ${outside.join(', ')}`);
    const updates: UpdatePlan[] = [];
    let refusal: string | undefined;
    for (const m of members) {
      const image = images.get(m.service.name);
      if (image === undefined) continue;
      const ref = parseImageReference(image);
      const to = effectiveTag(ref) ?? tag;
      const from = m.ref ? effectiveTag(m.ref) : undefined;
      const repo = m.ref ? formatReference({ registry: m.ref.registry, repository: m.ref.repository }) : image;
      if (!m.tags) {
        if (forced) return { stay: `${m.service.name}: the tags of ${repo} are not known (${m.decision.reason})`, passedOver };
        refusal = `${m.service.name}: updates disabled (${m.policy?.describe ?? m.decision.reason})`;
        break;
      }
      if (!forced && (!m.policy?.enabled || m.selection?.kind === 'none')) {
        refusal = `${m.service.name}: updates disabled (${m.policy?.describe ?? m.decision.reason})`;
        break;
      }
      if (!m.tags.includes(to)) {
        const via = unit.via.length > 0 ? ` (${unit.via.join('; ')})` : '';
        return { stay: `unit ${unit.services.join(', ')}${via}: ${repo} has no tag ${to} yet, so the unit stays on ${from ?? 'its tag'}`, passedOver: [...passedOver, { tag, why: `${repo} has no tag ${to}` }] };
      }
      if (!forced && !allows(m, to, from)) {
        refusal = `not allowed by ${m.service.name}'s policy (${m.policy?.describe})`;
        break;
      }
      updates.push({
        ...m,
        decision: {
          kind: 'update', mode: 'tag', fromTag: from, toTag: to, newImage: image,
          pullRef: formatReference({ ...ref, tag: to, digest: undefined }),
          reason: `${from} -> ${to} (unit ${unit.label})`,
        },
      });
    }
    if (!refusal) return { updates, edits, passedOver };
    passedOver.push({ tag, why: refusal });
  }
  return { stay: `no tag newer than ${leadTag} that every member of ${unit.label} allows${passedOver.length ? ` (${passedOver.slice(0, 3).map((p) => `${p.tag}: ${p.why}`).join('; ')})` : ''}`, passedOver };
}

/** The unit of a forced tag: every member to the tag the edit gives it, if each repository has it. */
function planForced(unit: Unit, members: ServicePlan[], input: UnitPlanInput, forced: ForcedTag): UnitPlan {
  const lead = members.find((m) => m.service.name === forced.service)!;
  const stay = (reason: string, kind: 'error' | 'up-to-date' = 'error'): UnitPlan => ({ unit, members: members.map((m) => ({ ...m, decision: { kind, reason } })), decision: { kind, reason }, passedOver: [] });
  if (!lead.service.image || !lead.ref) return stay(lead.decision.kind === 'error' ? lead.decision.reason : `${forced.service} has no image to update`);
  const from = effectiveTag(lead.ref);
  if (from === forced.tag) return stay(`${forced.service} is already on ${forced.tag}`, 'up-to-date');
  const leadPlan: UpdatePlan = { ...lead, decision: { kind: 'update', mode: 'tag', fromTag: from, toTag: forced.tag, newImage: replaceTag(lead.service.image, forced.tag), pullRef: '', reason: '' } };
  try {
    const planned = unitTag(unit, members.map((m) => (m === lead ? leadPlan : m)), leadPlan, input.stack, true);
    if ('stay' in planned) return stay(planned.stay);
    for (const u of planned.updates) u.decision.reason = `${u.decision.fromTag} -> ${u.decision.toTag} (dosync update --to ${forced.tag}${members.length > 1 ? `; unit ${unit.label}` : ''})`;
    const own = members.map((m) => planned.updates.find((u) => u.service.name === m.service.name) ?? m);
    return { unit, members: own, decision: { kind: 'update', mode: 'tag', updates: planned.updates, edits: planned.edits, reason: planned.updates.map((u) => u.decision.reason).join(', ') }, passedOver: [] };
  } catch (err) {
    return stay(errorMessage(err));
  }
}

/** Whether `m`'s own policy ranks `tag` above its current tag (a candidate it would move to). */
function allows(m: ServicePlan, tag: string, current: string | undefined): boolean {
  if (tag === current) return true;
  const candidates = m.selection?.candidates ?? [];
  const at = candidates.findIndex((c) => c.tag === tag);
  if (at < 0) return candidates.length < (m.selection?.candidateCount ?? 0) && outranksBeyondKept(m, tag, current);
  const cur = candidates.findIndex((c) => c.tag === current);
  return cur < 0 || at < cur;
}

/**
 * A cycle's selection keeps only the best candidates of a long list (policy/select.ts): a tag below them is
 * asked of the policy again with just the two tags, in the order the repository lists them.
 */
function outranksBeyondKept(m: ServicePlan, tag: string, current: string | undefined): boolean {
  if (!m.policy || !m.tags || !current) return false;
  const pair = m.tags.indexOf(current) < m.tags.indexOf(tag) ? [current, tag] : [tag, current];
  return selectTags({ tags: pair }, current, m.policy, 2).candidates[0]?.tag === tag;
}
