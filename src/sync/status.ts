/**
 * The per-service status (pure): what a service is after the last cycle or action, from its plan, what
 * applying it did, the approval waiting for it and the failed tags in state. The cycle stores it in state;
 * /v1/status, the dashboard and MQTT read it from there, so it is never older than the last step.
 */
import type { Decision } from './plan.js';
import type { ApplyOutcome } from './apply.js';
import type { FailedTag, PendingApproval, ServiceStatusState } from './state.js';

export type StatusInput = {
  decision: Decision;
  /** The tag running before this cycle. */
  current?: string;
  /** What applying the service's unit did this cycle, if it was applied. */
  outcome?: ApplyOutcome;
  /** The tag the outcome was about (the decision's toTag). */
  outcomeTag?: string;
  pending?: PendingApproval;
  failed?: readonly FailedTag[];
  link?: string;
  /** The status stored before this cycle. */
  previous?: ServiceStatusState;
};

export type ComputedStatus = Omit<ServiceStatusState, 'at'>;

/** The status after one cycle. */
export function statusAfterCycle(input: StatusInput): ComputedStatus {
  const { decision: d, outcome, current } = input;
  const link = input.link ? { link: input.link } : {};
  if (outcome) {
    const tag = input.outcomeTag;
    if (outcome.status === 'updated') return { kind: 'up-to-date', current: tag ?? current, reason: `updated from ${outcome.from} to ${outcome.to}` };
    if (outcome.status === 'rolled-back') return { kind: 'rolled-back', current, tag, reason: outcome.reason, ...link };
    return { kind: 'error', current, tag, reason: `update to ${tag ?? outcome.to} failed: ${outcome.reason}`, ...link };
  }
  if (input.pending && !input.pending.approvedAt && (d.kind === 'update' || d.kind === 'held') && d.toTag === input.pending.tag) {
    return { kind: 'pending-approval', current, tag: input.pending.tag, reason: input.pending.replaced ? `replaces ${input.pending.replaced}, which was pending` : 'waiting for approval', ...link };
  }
  switch (d.kind) {
    case 'update':
      return { kind: 'update-available', current, tag: d.toTag, reason: d.reason, ...link };
    case 'held':
      return { kind: 'held', current, tag: d.toTag, reason: d.reason, ...(d.hold ? { hold: d.hold } : {}), ...(d.until ? { until: d.until.toISOString() } : {}), ...link };
    case 'up-to-date': {
      // A cycle that changes nothing after a rollback leaves the service as the rollback did.
      if (input.previous?.kind === 'rolled-back' && input.previous.current === current) {
        const { at: _at, ...kept } = input.previous;
        return kept;
      }
      // A newer tag that failed its health gate is what keeps the service where it is: say so.
      const last = input.failed?.at(-1);
      if (last && last.tag !== current) return { kind: 'failed-tag', current, tag: last.tag, reason: last.reason };
      return { kind: 'up-to-date', current, reason: d.reason };
    }
    case 'skipped':
      return { kind: 'skipped', current, reason: d.reason };
    case 'error':
      return { kind: 'error', current, reason: d.reason };
  }
}

/** The status while a unit is being applied (a journal step). */
export function updatingStatus(current: string | undefined, tag: string, step: string): ComputedStatus {
  return { kind: 'updating', current, tag, step, reason: `updating to ${tag}: ${step}` };
}

/**
 * Release notes for a tag: the `dosync.link.template` label (the placeholders of WUD's link template:
 * `${tag}`/`${raw}`, `${major}`, `${minor}`, `${patch}`, `${prerelease}`), else the image's OCI labels
 * (`org.opencontainers.image.url`, then `.source`). Only http(s) links are given out: they end up in HTML.
 */
export function releaseLink(tag: string | undefined, serviceLabels: Record<string, string>, imageLabels: Record<string, string> = {}): string | undefined {
  const template = serviceLabels['dosync.link.template'];
  if (template && tag) {
    const m = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:[-+](.*))?$/.exec(tag);
    const values: Record<string, string> = { tag, raw: tag, original: tag, major: m?.[1] ?? '', minor: m?.[2] ?? '', patch: m?.[3] ?? '', prerelease: m?.[4] ?? '' };
    const link = template.replace(/\$\{(\w+)\}/g, (whole, name: string) => values[name] ?? whole);
    return httpOnly(link);
  }
  return httpOnly(imageLabels['org.opencontainers.image.url']) ?? httpOnly(imageLabels['org.opencontainers.image.source']);
}

function httpOnly(link: string | undefined): string | undefined {
  if (!link) return undefined;
  try {
    const url = new URL(link);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.toString() : undefined;
  } catch {
    return undefined;
  }
}
