import type { ServicePlan } from './plan.js';
import { repositoryKey } from '../reference/index.js';

/**
 * Name-based replicas as DOSync documents them: `web-1`/`web-2`, `db-blue`/`db-green`, `cache.1`/`cache.2`,
 * `api_a`... share a stem and an image repository. Returns the stem, or undefined for a plain name.
 */
export function replicaStem(name: string): string | undefined {
  const m = name.match(/^(.+?)[-_.](\d+|blue|green|primary|secondary|[a-z])$/);
  return m ? m[1] : undefined;
}

export interface UpdateGroup {
  /** In update order. */
  plans: ServicePlan[];
  /** Set when the members disagree and so none may move this cycle. */
  blocked?: string;
}

/** Groups plans into units that move together, all or none; a plan without siblings is its own group. */
export function groupReplicas(plans: ServicePlan[]): UpdateGroup[] {
  const byKey = new Map<string, ServicePlan[]>();
  const order: string[] = [];
  for (const p of plans) {
    const stem = replicaStem(p.service.name);
    const key = stem && p.ref ? `${stem}\u0000${repositoryKey(p.ref)}` : `\u0001${p.service.name}`;
    if (!byKey.has(key)) { byKey.set(key, []); order.push(key); }
    byKey.get(key)!.push(p);
  }
  const groups: UpdateGroup[] = [];
  for (const key of order) {
    const members = byKey.get(key)!;
    // Two services that merely look alike (`web-1` alone) are not a group.
    if (members.length === 1 || key.startsWith('\u0001')) { for (const m of members) groups.push({ plans: [m] }); continue; }
    groups.push({ plans: members, blocked: disagreement(members) });
  }
  return groups;
}

/** Members must all move to one tag, or all be up to date at it; anything else holds the whole group. */
function disagreement(members: ServicePlan[]): string | undefined {
  const updates = members.filter((m) => m.decision.kind === 'update');
  if (updates.length === 0) return undefined;
  const target = (m: ServicePlan) => (m.decision.kind === 'update' ? m.decision.toTag : m.ref?.tag);
  const targets = new Set(members.map(target));
  const notOk = members.filter((m) => m.decision.kind !== 'update' && m.decision.kind !== 'up-to-date');
  if (targets.size === 1 && notOk.length === 0) return undefined;
  const states = members.map((m) => `${m.service.name}: ${m.decision.kind === 'update' ? `-> ${m.decision.toTag}` : m.decision.kind === 'up-to-date' ? `at ${m.ref?.tag}` : m.decision.kind}`);
  return `replicas must move together and do not agree (${states.join(', ')})`;
}

/** Orders groups so that a service is updated after the services it depends on (depends_on). */
export function orderByDependencies(groups: UpdateGroup[], dependsOn: (service: string) => string[]): UpdateGroup[] {
  const depth = new Map<string, number>();
  const visiting = new Set<string>();
  const depthOf = (s: string): number => {
    if (depth.has(s)) return depth.get(s)!;
    if (visiting.has(s)) return 0; // a cycle: compose rejects it anyway
    visiting.add(s);
    const d = Math.max(0, ...dependsOn(s).map((x) => depthOf(x) + 1));
    visiting.delete(s);
    depth.set(s, d);
    return d;
  };
  const groupDepth = (g: UpdateGroup) => Math.max(...g.plans.map((p) => depthOf(p.service.name)));
  return groups.map((g, i) => ({ g, i, d: groupDepth(g) })).sort((a, b) => a.d - b.d || a.i - b.i).map((x) => x.g);
}
