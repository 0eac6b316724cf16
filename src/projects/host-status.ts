/**
 * The status of a whole-host daemon (/v1/status, the dashboard, MQTT): one status document per project,
 * each built the way a single-project daemon builds its own (src/api/status-doc.ts), grouped under
 * `projects`. A cycle asked for some services only leaves the others unplanned: their last real plan is
 * remembered per project, as the single-project daemon does.
 */
import { PlanMemory, buildStatusDoc, type StatusDoc } from '../api/status-doc.js';
import type { ServicePlan } from '../sync/plan.js';
import { serviceKey } from '../sync/state.js';
import type { ProjectRun } from './host.js';
import { unconfiguredStackLine } from './discover.js';

export interface HostStatusDoc extends StatusDoc {
  project: '*';
  projects: Array<StatusDoc & { error?: string }>;
  /** Swarm stacks that run but that dosync cannot update (no file known), with what to do. */
  unconfiguredStacks?: Array<{ stack: string; hint: string }>;
}

/** Every project's PlanMemory. */
export class HostPlans {
  private readonly memory = new Map<string, PlanMemory>();

  /** After a cycle: what each project that ran planned for real. */
  remember(runs: readonly ProjectRun[]): void {
    for (const r of runs) {
      if (!r.report) continue;
      const m = this.memory.get(r.project) ?? this.memory.set(r.project, new PlanMemory()).get(r.project)!;
      m.remember(r.report.plans);
    }
  }

  forget(project: string): void {
    this.memory.delete(project);
  }

  plansOf(run: ProjectRun): ServicePlan[] {
    const plans = run.report?.plans ?? [];
    return this.memory.get(run.project)?.of(plans) ?? [...plans];
  }
}

/** The host's document: every project's, in name order; `paused` says which projects are paused. */
export function hostStatusDoc(runs: readonly ProjectRun[], o: { plans: HostPlans; paused: ReadonlySet<string>; checkOnly: boolean; cycle: StatusDoc['cycle']; unconfigured?: readonly string[] }): HostStatusDoc {
  return {
    project: '*',
    services: [],
    ...(o.checkOnly ? { checkOnly: true } : {}),
    cycle: o.cycle,
    ...(o.unconfigured?.length ? { unconfiguredStacks: o.unconfigured.map((stack) => ({ stack, hint: unconfiguredStackLine(stack) })) } : {}),
    projects: runs.map((r) => ({
      ...buildStatusDoc({
        project: r.project, plans: o.plans.plansOf(r), get: (k) => r.state?.get(k), key: (s) => serviceKey(r.project, s),
        intent: r.state?.pendingIntent(), paused: o.paused.has(r.project), checkOnly: o.checkOnly,
      }),
      ...(r.error ? { error: r.error } : {}),
    })),
  };
}
