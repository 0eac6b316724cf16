import type { NotifyEvent } from '../notify/types.js';
import type { CycleReport } from './cycle.js';

/**
 * What a cycle has to tell: updates found (monitor mode), done, failed or rolled back, and checks that keep
 * failing. `errorStreaks` counts consecutive failing cycles per service across calls; an error is reported
 * when its streak reaches `persistAfter` (once, not every cycle).
 */
export function cycleEvents(report: CycleReport, opts: {
  project: string; checkOnly: boolean; errorStreaks: Map<string, number>; persistAfter: number; now: Date; unverified?: Set<string>;
  /** issue-18: the tag last announced per service (state); with `every: 'once'` an available tag is announced once. */
  announced?: Announced; every?: 'once' | 'cycle'; dashboard?: string; links?: (service: string) => string | undefined;
}): NotifyEvent[] {
  const events: NotifyEvent[] = [];
  const base = { project: opts.project, at: opts.now, ...(opts.dashboard ? { dashboard: opts.dashboard } : {}) };
  const link = (service: string) => { const l = opts.links?.(service); return l ? { link: l } : {}; };
  for (const a of report.announcements ?? []) {
    if (!firstAnnouncement(opts, a.service, a.tag)) continue;
    events.push({ ...base, ...link(a.service), kind: 'update-found', service: a.service, toImage: a.image, fromTag: a.fromTag, toTag: a.tag,
      reason: `waiting for approval (dosync approve ${a.service})${a.replaced ? `; replaces ${a.replaced}, which was pending` : ''}` });
  }
  for (const plan of report.plans) {
    const d = plan.decision;
    const name = plan.service.name;
    if (d.kind === 'error') {
      const streak = (opts.errorStreaks.get(name) ?? 0) + 1;
      opts.errorStreaks.set(name, streak);
      if (streak === opts.persistAfter) events.push({ ...base, kind: 'error-persisting', service: name, reason: d.reason, cycles: streak });
      continue;
    }
    opts.errorStreaks.delete(name);
    // A running image that stopped verifying is told once, when it starts; again only after it verified in between.
    const running = plan.signatures?.running;
    if (running && opts.unverified && !opts.unverified.has(name)) {
      opts.unverified.add(name);
      events.push({ ...base, kind: 'signature-invalid', service: name, fromImage: plan.service.image, fromTag: plan.ref?.tag, digest: running.digest, reason: running.why });
    } else if (!running && plan.signatures) opts.unverified?.delete(name);
    if (opts.checkOnly && d.kind === 'update' && firstAnnouncement(opts, name, d.toTag)) {
      events.push({ ...base, ...link(name), kind: 'update-found', service: name, fromImage: plan.service.image, toImage: d.newImage, fromTag: d.fromTag, toTag: d.toTag, digest: d.remoteDigest });
    }
  }
  for (const { service, outcome, unit } of report.outcomes) {
    const plan = report.plans.find((p) => p.service.name === service);
    const d = plan?.decision.kind === 'update' ? plan.decision : undefined;
    const common = { ...base, service, fromImage: outcome.from, toImage: outcome.to, fromTag: d?.fromTag, toTag: d?.toTag, digest: d?.remoteDigest, ...(unit ? { unit } : {}) };
    if (outcome.status === 'updated') opts.announced?.set(service, undefined);
    if (outcome.status === 'updated') events.push({ ...common, kind: 'updated', digest: outcome.digest ?? common.digest, source: outcome.labels?.['org.opencontainers.image.source'], revision: outcome.labels?.['org.opencontainers.image.revision'] });
    else if (outcome.status === 'rolled-back') events.push({ ...common, kind: 'rolled-back', reason: outcome.reason });
    else events.push({ ...common, kind: 'update-failed', reason: outcome.reason });
  }
  return events;
}

/** Where the last announced tag per service is kept (the state file, so a restart does not announce again). */
export interface Announced {
  get(service: string): string | undefined;
  set(service: string, tag: string | undefined): void;
}

/** Whether (service, tag) is to be announced now; records it. Pure but for `announced`. */
export function firstAnnouncement(opts: { announced?: Announced; every?: 'once' | 'cycle' }, service: string, tag: string): boolean {
  if (opts.every === 'cycle' || !opts.announced) return true;
  if (opts.announced.get(service) === tag) return false;
  opts.announced.set(service, tag);
  return true;
}
