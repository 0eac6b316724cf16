/** Stores each service's status after a cycle (src/sync/status.ts decides it; this file only gathers its inputs). */
import type { ApplyOutcome } from './apply.js';
import type { EngineView, ServicePlan } from './plan.js';
import type { StateStore } from './state.js';
import { releaseLink, statusAfterCycle } from './status.js';

export async function recordStatuses(
  state: StateStore,
  plans: readonly ServicePlan[],
  outcomes: ReadonlyArray<{ service: string; outcome: ApplyOutcome }>,
  opts: { stateKey: (service: string) => string; engine?: EngineView },
): Promise<void> {
  await Promise.all(plans.map(async (plan) => {
    const d = plan.decision;
    const key = opts.stateKey(plan.service.name);
    const saved = state.get(key);
    const outcome = outcomes.find((o) => o.service === plan.service.name)?.outcome;
    const tag = d.kind === 'update' || d.kind === 'held' ? d.toTag : outcome && 'failedTag' in outcome ? outcome.failedTag : undefined;
    // The running image's labels name its source; asked only when there is a tag to link (cheap idle cycles).
    const labels = tag && plan.service.image && opts.engine ? (await opts.engine.image(plan.service.image).catch(() => undefined))?.labels : undefined;
    const link = releaseLink(tag, plan.service.labels, labels ?? {});
    state.setStatus(key, statusAfterCycle({
      decision: d, current: plan.ref?.tag, outcome, outcomeTag: tag, pending: saved?.pending, failed: saved?.failed, link, previous: saved?.status,
    }));
  }));
}
