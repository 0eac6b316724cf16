/**
 * `approve: manual`: a found update waits for a person. The decisions are pure (`gateDecision`,
 * `approvePending`); `approvalGate` applies them to the state, and is the one hook cycle.ts calls before
 * it applies a unit. Pending approvals live in the state file, so they survive a restart.
 *
 * A unit (services one edit moves together) waits when any member is manual; approving any member
 * approves the unit, since its members can only move together.
 */
import type { StackService } from '../compose/stack.js';
import type { ConfigFile } from '../config/file.js';
import { ConfigError } from '../util/errors.js';
import type { PendingApproval, StateStore } from './state.js';
import type { UnitPlan } from './unit-plan.js';

export type ApproveMode = 'auto' | 'manual';
export const APPROVE_MODES: readonly ApproveMode[] = ['auto', 'manual'];

/** Label `dosync.approve` > dosync.yaml `services.X.approve` > `--approve` > dosync.yaml `approve` > auto. */
export function approveMode(service: Pick<StackService, 'name' | 'labels'>, config: Pick<ConfigFile, 'approve' | 'services'>, flag?: ApproveMode): ApproveMode {
  const label = service.labels['dosync.approve'];
  if (label !== undefined) {
    if (label !== 'auto' && label !== 'manual') throw new ConfigError(`services.${service.name}.labels.dosync.approve: "${label}" is not auto or manual`);
    return label;
  }
  return config.services?.[service.name]?.approve ?? flag ?? config.approve ?? 'auto';
}

export interface GateMember {
  key: string;
  tag: string;
  image: string;
  manual: boolean;
  pending?: PendingApproval;
}

export interface GateDecision {
  proceed: boolean;
  /** Pending entries to write (undefined clears one). */
  changes: Array<{ key: string; pending: PendingApproval | undefined }>;
  /** New pending approvals to announce (once per tag), with the tag each replaced. */
  announce: Array<{ key: string; tag: string; image: string; replaced?: string }>;
}

/** Whether a unit's update goes ahead, and what the pending approvals become. Pure. */
export function gateDecision(members: readonly GateMember[], now: Date): GateDecision {
  const manual = members.filter((m) => m.manual);
  const clearAll = members.filter((m) => m.pending).map((m) => ({ key: m.key, pending: undefined }));
  if (manual.length === 0) return { proceed: true, changes: clearAll, announce: [] };
  if (manual.some((m) => m.pending?.approvedAt && m.pending.tag === m.tag)) return { proceed: true, changes: clearAll, announce: [] };
  const changes: GateDecision['changes'] = [];
  const announce: GateDecision['announce'] = [];
  for (const m of manual) {
    if (m.pending?.tag === m.tag) continue;
    const replaced = m.pending?.tag;
    changes.push({ key: m.key, pending: { tag: m.tag, image: m.image, since: now.toISOString(), ...(replaced ? { replaced } : {}) } });
    announce.push({ key: m.key, tag: m.tag, image: m.image, ...(replaced ? { replaced } : {}) });
  }
  return { proceed: false, changes, announce };
}

/** `dosync approve SERVICE [--tag T]`: the approved entry, or why it cannot be approved. Pure. */
export function approvePending(pending: PendingApproval | undefined, service: string, tag: string | undefined, now: Date): { ok: true; pending: PendingApproval } | { ok: false; reason: string } {
  if (!pending) return { ok: false, reason: `${service} has no update waiting for approval` };
  if (tag !== undefined && tag !== pending.tag) return { ok: false, reason: `${service}: ${tag} is not the pending update (${pending.tag} is)` };
  return { ok: true, pending: { ...pending, approvedAt: pending.approvedAt ?? now.toISOString() } };
}

export interface Announcement { service: string; tag: string; image: string; fromTag?: string; replaced?: string }

/**
 * The hook cycle.ts calls before applying a unit: true when it may go ahead. Writes the pending entries to
 * state (saved with the cycle) and collects what to announce.
 */
export function approvalGate(up: UnitPlan, opts: { state?: StateStore; config: ConfigFile; flag?: ApproveMode; stateKey: (service: string) => string; now: Date; announce: Announcement[]; dryRun?: boolean }): boolean {
  if (up.decision.kind !== 'update') return true;
  const members = up.decision.updates.map((u): GateMember & { service: string; fromTag?: string } => ({
    service: u.service.name, key: opts.stateKey(u.service.name), tag: u.decision.toTag, image: u.decision.newImage, fromTag: u.decision.fromTag,
    manual: approveMode(u.service, opts.config, opts.flag) === 'manual', pending: opts.state?.get(opts.stateKey(u.service.name))?.pending,
  }));
  const gate = gateDecision(members, opts.now);
  // A check that would let it through keeps the approval for the cycle that applies it.
  if (gate.proceed && opts.dryRun) return true;
  for (const c of gate.changes) opts.state?.setPending(c.key, c.pending);
  for (const a of gate.announce) {
    const m = members.find((x) => x.key === a.key)!;
    opts.announce.push({ service: m.service, tag: a.tag, image: a.image, fromTag: m.fromTag, ...(a.replaced ? { replaced: a.replaced } : {}) });
  }
  return gate.proceed;
}
