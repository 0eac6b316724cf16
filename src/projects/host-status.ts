/**
 * The status of a whole-host daemon (/v1/status, the dashboard, MQTT): one status document per project,
 * each built the way a single-project daemon builds its own (src/api/status-doc.ts), grouped under
 * `projects`. A cycle asked for some services only leaves the others unplanned: their last real plan is
 * remembered per project, as the single-project daemon does.
 */
import { buildStatusDoc, type StatusDoc } from '../api/status-doc.js';
import { serviceKey } from '../sync/state.js';
import type { CycleReport } from '../sync/cycle.js';
import type { ProjectRun } from './host.js';

type Plan = CycleReport['plans'][number];
const notRequested = (p: Plan) => p.decision.kind === 'skipped' && p.decision.reason === 'not requested in this cycle';

export interface HostStatusDoc extends StatusDoc {
  project: '*';
  projects: Array<StatusDoc & { error?: string }>;
}

export class HostPlans {
  private readonly memory = new Map<string, Map<string, Plan>>();

  /** After a cycle: what each project that ran planned for real. */
  remember(runs: readonly ProjectRun[]): void {
    for (const r of runs) {
      if (!r.report) continue;
      const m = this.memory.get(r.project) ?? this.memory.set(r.project, new Map()).get(r.project)!;
      for (const p of r.report.plans) if (!notRequested(p)) m.set(p.service.name, p);
    }
  }

  forget(project: string): void {
    this.memory.delete(project);
  }

  plansOf(run: ProjectRun): Plan[] {
    const m = this.memory.get(run.project);
    return (run.report?.plans ?? []).map((p) => (notRequested(p) ? m?.get(p.service.name) ?? p : p));
  }
}

/** The host's document: every project's, in name order; `paused` says which projects are paused. */
export function hostStatusDoc(runs: readonly ProjectRun[], o: { plans: HostPlans; paused: ReadonlySet<string>; checkOnly: boolean; cycle: StatusDoc['cycle'] }): HostStatusDoc {
  return {
    project: '*',
    services: [],
    ...(o.checkOnly ? { checkOnly: true } : {}),
    cycle: o.cycle,
    projects: runs.map((r) => ({
      ...buildStatusDoc({
        project: r.project, plans: o.plans.plansOf(r), get: (k) => r.state?.get(k), key: (s) => serviceKey(r.project, s),
        intent: r.state?.pendingIntent(), paused: o.paused.has(r.project), checkOnly: o.checkOnly,
      }),
      ...(r.error ? { error: r.error } : {}),
    })),
  };
}
