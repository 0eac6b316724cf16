/**
 * The document /v1/status serves and the dashboard renders (pure): per service, the status stored by the
 * last cycle or action, what is pending, its history and failed tags; a service inside the update in
 * progress shows `updating` with the journal's step.
 */
import { NOT_REQUESTED, type ServicePlan } from '../sync/plan.js';
import type { FailedTag, HistoryEntry, Intent, PendingApproval, ServiceState, ServiceStatusState } from '../sync/state.js';

export interface ServiceStatus {
  name: string;
  project: string;
  image?: string;
  currentTag?: string;
  /** The newest tag its policy allows, when it is not the current one (available, pending, held). */
  availableTag?: string;
  policy?: string;
  status?: ServiceStatusState;
  pending?: PendingApproval;
  /** Release notes of the available tag. */
  link?: string;
  lastCheck?: string;
  lastCheckResult?: string;
  lastUpdate?: string;
  lastUpdateResult?: string;
  history: HistoryEntry[];
  failed: FailedTag[];
  skipped: string[];
  /** Updates of this service paused by a person (dashboard, API). */
  paused?: boolean;
  held?: string;
  signatureUnverified?: string;
  [key: string]: unknown;
}

export interface StatusDoc {
  project: string;
  /** Pause of the whole project (`dosync pause`, the dashboard). */
  paused?: boolean;
  checkOnly?: boolean;
  cycle?: { running: boolean; lastAt?: string };
  services: ServiceStatus[];
  [key: string]: unknown;
}

const WITH_TAG = new Set(['update-available', 'pending-approval', 'held']);

const notRequested = (p: ServicePlan) => p.decision.kind === 'skipped' && p.decision.reason === NOT_REQUESTED;

/**
 * One project's last real plan per service: a cycle asked for some services only leaves the others
 * unplanned, and the status shows what their last full look found.
 */
export class PlanMemory {
  private readonly plans = new Map<string, ServicePlan>();

  /** After a cycle: what it planned for real. */
  remember(plans: readonly ServicePlan[]): void {
    for (const p of plans) if (!notRequested(p)) this.plans.set(p.service.name, p);
  }

  /** A cycle's plans with each service it was not asked to look at replaced by its last real plan. */
  of(plans: readonly ServicePlan[]): ServicePlan[] {
    return plans.map((p) => (notRequested(p) ? this.plans.get(p.service.name) ?? p : p));
  }
}

export function buildStatusDoc(input: {
  project: string;
  /** The services in file order (the last cycle's plans, or the state's keys before the first cycle). */
  plans: readonly ServicePlan[];
  get: (key: string) => ServiceState | undefined;
  key: (service: string) => string;
  intent?: Intent;
  paused?: boolean;
  checkOnly?: boolean;
  cycle?: StatusDoc['cycle'];
  historyLimit?: number;
}): StatusDoc {
  const inIntent = (key: string) => input.intent && (input.intent.service === key || input.intent.members?.some((m) => m.service === key));
  return {
    project: input.project,
    ...(input.paused !== undefined ? { paused: input.paused } : {}),
    ...(input.checkOnly ? { checkOnly: true } : {}),
    ...(input.cycle ? { cycle: input.cycle } : {}),
    services: input.plans.map((p): ServiceStatus => {
      const key = input.key(p.service.name);
      const saved = input.get(key);
      let status = saved?.status;
      if (input.intent && inIntent(key)) {
        status = { kind: 'updating', at: input.intent.at, current: status?.current, tag: tagOf(input.intent.to), step: input.intent.step, reason: `updating to ${input.intent.to}: ${input.intent.step}` };
      }
      const current = status?.current ?? p.ref?.tag;
      return {
        name: p.service.name, project: input.project, image: p.service.image, currentTag: current,
        availableTag: status && WITH_TAG.has(status.kind) ? status.tag : undefined,
        policy: p.policy?.describe,
        status, pending: saved?.pending, link: status?.link,
        lastCheck: saved?.lastCheck?.at, lastCheckResult: saved?.lastCheck?.outcome,
        lastUpdate: saved?.lastUpdate?.at, lastUpdateResult: saved?.lastUpdate?.outcome,
        history: (saved?.history ?? []).slice(-(input.historyLimit ?? 10)).reverse(),
        failed: saved?.failed ?? [],
        skipped: (saved?.skipped ?? []).map((s) => s.tag),
        ...(saved?.paused ? { paused: true } : {}),
        held: status?.kind === 'held' ? status.reason : undefined,
        signatureUnverified: p.signatures?.running?.why,
      };
    }),
  };
}

function tagOf(image: string): string {
  const at = image.indexOf('@');
  const noDigest = at >= 0 ? image.slice(0, at) : image;
  const colon = noDigest.lastIndexOf(':');
  return colon > noDigest.lastIndexOf('/') ? noDigest.slice(colon + 1) : image;
}
