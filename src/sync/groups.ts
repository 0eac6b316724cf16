import type { ServicePlan } from './plan.js';

/**
 * Name-based replicas as DOSync documents them: `web-1`/`web-2`, `db-blue`/`db-green`, `cache.1`/`cache.2`,
 * `api_a`... share a stem and an image repository. Returns the stem, or undefined for a plain name.
 */
export function replicaStem(name: string): string | undefined {
  const m = name.match(/^(.+?)[-_.](\d+|blue|green|primary|secondary|[a-z])$/);
  return m ? m[1] : undefined;
}

/** Services that are applied together (an update unit), in update order. */
export interface UpdateGroup {
  plans: ServicePlan[];
}

/** Orders groups so that a service is updated after the services it depends on (depends_on). */
export function orderByDependencies<G extends UpdateGroup>(groups: G[], dependsOn: (service: string) => string[]): G[] {
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
  const groupDepth = (g: G) => Math.max(...g.plans.map((p) => depthOf(p.service.name)));
  return groups.map((g, i) => ({ g, i, d: groupDepth(g) })).sort((a, b) => a.d - b.d || a.i - b.i).map((x) => x.g);
}
