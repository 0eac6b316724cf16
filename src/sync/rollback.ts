/**
 * `dosync rollback`: which services go back to which image (from the state's history, or from a backup's
 * image references), and doing it through the update path itself (apply.ts: pull, rewrite only the image
 * reference after a backup, recreate, health gate, put back if unhealthy). The target selection is pure.
 */
import { ConfigError, UserError, errorMessage } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import { serviceKey, type HistoryEntry, type StateStore } from './state.js';
import type { Stack, StackService } from '../compose/stack.js';
import type { Credential } from '../registry/types.js';
import type { ProjectRef, Runtime } from '../engine/index.js';
import type { ConfigFile } from '../config/file.js';
import { parseImageReference, formatReference } from '../reference/index.js';
import { applyGroup, type UpdatePlan } from './apply.js';
import { Journal } from './journal.js';
import { loadStack } from './cycle.js';
import { serviceSettings } from './service-settings.js';
import { orderByDependencies } from './groups.js';

/** One service to move back. */
export interface RollbackTarget {
  service: string;
  /** The image the compose file names now. */
  from: string;
  /** The image it goes back to. */
  to: string;
  /** Why this image, for the user (`undoes the update of 2024-01-02T03:04:05Z`). */
  why: string;
}

export interface Selection {
  targets: RollbackTarget[];
  /** Services looked at and left alone, one line each. */
  notes: string[];
}

/** What the selection needs to know about one service. */
export interface ServiceView {
  /** The interpolated image the compose file names now (undefined: build-only). */
  image?: string;
  /** The state's history, oldest first. */
  history: HistoryEntry[];
}

const newestFirst = (entries: HistoryEntry[]) => [...entries].sort((a, b) => Date.parse(b.at) - Date.parse(a.at));
const undoes = (e: HistoryEntry) => `undoes the update of ${e.at}${e.backup ? `, backup ${e.backup}` : ''}`;

function digestOnly(service: string, e: HistoryEntry): UserError {
  return new UserError(`${service}: its last update (${e.at}) moved ${e.to} to a new digest under the same tag, which a rollback cannot name; pin the old digest in the compose file (image: name@sha256:...) instead`);
}

/**
 * The image `service` ran before the update that put its current image in place: the newest successful
 * update in the history whose target is the current image. Going back again from there steps further back.
 */
export function previousFromHistory(name: string, view: ServiceView | undefined): RollbackTarget {
  if (!view) throw new ConfigError(`no service ${name} in the compose file; check the name (and -f)`);
  if (!view.image) throw new ConfigError(`${name} has no image: (build-only service); there is nothing to roll back`);
  const entry = newestFirst(view.history).find((e) => e.outcome === 'updated' && e.to === view.image);
  if (!entry) {
    throw new ConfigError(`${name}: no update to ${view.image} in dosync's state history; run \`dosync backups list\` and pick an older file with --to BACKUP`);
  }
  if (entry.from === entry.to) throw digestOnly(name, entry);
  return { service: name, from: view.image, to: entry.from, why: undoes(entry) };
}

/**
 * Without a service name: every service changed by the most recent update cycle (the newest successful update
 * in the history and the others of its cycle). Services that already left the image that update installed are
 * noted and left alone.
 */
export function lastUpdateTargets(services: Map<string, ServiceView>): Selection {
  const updates = [...services].flatMap(([name, v]) => v.history.filter((e) => e.outcome === 'updated').map((e) => ({ name, e })));
  if (updates.length === 0) throw new UserError('dosync\'s state history records no update of this stack; name a service, or run `dosync backups list` and use --to BACKUP');
  updates.sort((a, b) => Date.parse(b.e.at) - Date.parse(a.e.at));
  const last = updates[0];
  // Entries written before cycles were recorded stand alone.
  const sameCycle = last.e.cycle ? updates.filter((u) => u.e.cycle === last.e.cycle) : [last];
  const seen = new Set<string>();
  const targets: RollbackTarget[] = [];
  const notes: string[] = [];
  for (const { name, e } of sameCycle) {
    if (seen.has(name)) continue; // the newest entry of each service in that cycle
    seen.add(name);
    const image = services.get(name)?.image;
    if (e.from === e.to) { notes.push(`${name}: its update only moved ${e.to} to a new digest; not rolled back`); continue; }
    if (image === e.to) { targets.push({ service: name, from: image, to: e.from, why: undoes(e) }); continue; }
    notes.push(image === e.from
      ? `${name}: already back on ${e.from}`
      : `${name}: now names ${image ?? 'no image'}, not ${e.to} that the update of ${e.at} installed; left alone`);
  }
  // In compose file order, as the user reads the stack.
  const order = [...services.keys()];
  targets.sort((a, b) => order.indexOf(a.service) - order.indexOf(b.service));
  if (targets.length === 0) {
    throw new UserError(`the last update (${last.e.at}) is already undone (${notes.join('; ')}); name a service to go further back, or use --to BACKUP`);
  }
  return { targets, notes };
}

/**
 * `--to BACKUP`: the services whose image differs between the backup and now go back to the backup's image.
 * Without a service name, only those dosync changed since the backup was taken (so an image edited by hand
 * stays); naming a service restores its image regardless.
 */
export function backupTargets(input: {
  current: Map<string, ServiceView>;
  /** Interpolated images of the stack as the backup had it. */
  backup: Map<string, string | undefined>;
  backupName: string;
  backupTime: Date;
  service?: string;
}): Selection {
  const { current, backup, backupName, service } = input;
  const why = `image in ${backupName}`;
  if (service) {
    const view = current.get(service);
    if (!view) throw new ConfigError(`no service ${service} in the compose file; check the name (and -f)`);
    const old = backup.get(service);
    if (!backup.has(service) || !old) throw new ConfigError(`${service} has no image in ${backupName}; pick another backup (\`dosync backups list\`)`);
    if (old === view.image) throw new ConfigError(`${service} already names ${old}, as in ${backupName}; nothing to roll back`);
    if (!view.image) throw new ConfigError(`${service} has no image: (build-only service); there is nothing to roll back`);
    return { targets: [{ service, from: view.image, to: old, why }], notes: [] };
  }
  const targets: RollbackTarget[] = [];
  const notes: string[] = [];
  for (const [name, view] of current) {
    const old = backup.get(name);
    if (!old || !view.image || old === view.image) continue;
    const byDosync = view.history.some((e) => e.outcome === 'updated' && e.to === view.image && Date.parse(e.at) >= input.backupTime.getTime());
    if (byDosync) targets.push({ service: name, from: view.image, to: old, why });
    else notes.push(`${name}: names ${view.image}, ${old} in the backup, but dosync did not make that change; left alone (name the service to restore it anyway)`);
  }
  if (targets.length === 0) {
    throw new UserError(`no image that dosync changed differs from ${backupName}${notes.length > 0 ? ` (${notes.join('; ')})` : ''}; nothing to roll back`);
  }
  return { targets, notes };
}

/** The tag a rollback moves away from (recorded as failed), or undefined for a digest-only reference. */
export function tagOf(image: string): string | undefined {
  const name = image.replace(/@.*$/, '');
  const slash = name.lastIndexOf('/');
  const colon = name.lastIndexOf(':');
  if (colon > slash) return name.slice(colon + 1);
  return image.includes('@') ? undefined : 'latest';
}

export interface RollbackDeps {
  runtime: Runtime;
  logger: Logger;
  credentials: (registry: string) => Promise<Credential | undefined>;
  state: StateStore;
}

export interface RollbackSettings {
  files: string[];
  envFiles: string[];
  texts: Map<string, string>;
  stack: Stack;
  project: ProjectRef;
  config: ConfigFile;
  health: { timeoutMs: number; stableMs: number };
  rolling: boolean;
  prune: boolean;
  backupDir?: string;
  keepBackups: number;
}

export type RollbackResult =
  | { service: string; status: 'rolled-back'; from: string; to: string; backup?: string; failedTag?: string }
  | { service: string; status: 'unhealthy' | 'failed'; from: string; to: string; reason: string };

/**
 * Pulls every target image first (nothing is touched if one is gone from its registry), then moves the
 * services together through the update path: an unhealthy service puts all of them back where they were.
 * Records the result in the state: a rollback as a rolled-back update, and the image it left as a failed
 * tag, so the daemon does not apply it again.
 */
export async function executeRollback(targets: RollbackTarget[], s: RollbackSettings, deps: RollbackDeps): Promise<RollbackResult[]> {
  const refs = new Map(targets.map((t) => [t.service, parseImageReference(t.to)]));
  for (const t of targets) {
    const ref = refs.get(t.service)!;
    try {
      await deps.runtime.pull(formatReference(ref), ref.registry, await deps.credentials(ref.registry));
    } catch (err) {
      throw new UserError(`cannot roll back ${t.service} to ${t.to}: ${errorMessage(err)}; nothing was changed (is the image still in its registry? \`dosync backups list\` shows other versions)`);
    }
  }
  const byName = new Map(s.stack.services.map((svc) => [svc.name, svc]));
  const dependsOn = (name: string) => byName.get(name)?.dependsOn.map((d) => d.service) ?? [];
  const plans = targets.map((t): UpdatePlan => {
    const service = byName.get(t.service) as StackService;
    const ref = refs.get(t.service)!;
    return {
      service, ref,
      decision: { kind: 'update', mode: 'tag', fromTag: tagOf(t.from), toTag: ref.tag ?? 'latest', newImage: t.to, pullRef: formatReference(ref), reason: `rollback ${t.from} -> ${t.to}` },
    };
  });
  // Dependencies first, as updates go; one group, so all move or none.
  const ordered = orderByDependencies(plans.map((p) => ({ plans: [p] })), dependsOn).flatMap((g) => g.plans) as UpdatePlan[];
  const stateKey = (service: string) => serviceKey(s.project.name, service);
  const outcomes = await applyGroup(ordered, {
    runtime: deps.runtime, project: s.project, logger: deps.logger, credentials: deps.credentials,
    knownTexts: s.texts, reloadStack: async () => (await loadStack(s.files, s.envFiles)).stack,
    backupDir: s.backupDir, keepBackups: s.keepBackups, prune: s.prune,
    settings: (plan) => serviceSettings(plan.service, s.config, { health: s.health, rolling: s.rolling }),
    journal: new Journal(deps.state), stateKey,
  }, { hooks: 'advisory' });
  const results = ordered.map((plan, i): RollbackResult => {
    const t = targets.find((x) => x.service === plan.service.name)!;
    const o = outcomes[i];
    const key = stateKey(t.service);
    if (o.status === 'updated') {
      const failedTag = tagOf(t.from);
      // In the history's terms: the update t.to -> t.from was rolled back; the service is on t.to again.
      deps.state.recordUpdate(key, { from: t.to, to: t.from, outcome: 'rolled-back', backup: o.backup, detail: `rolled back by \`dosync rollback\` (${t.why})` });
      deps.state.recordDeployed(key, t.to, o.digest);
      if (failedTag && failedTag !== plan.decision.toTag) deps.state.recordFailed(key, { tag: failedTag, reason: 'rolled back by `dosync rollback`' });
      return { service: t.service, status: 'rolled-back', from: t.from, to: t.to, backup: o.backup, failedTag: failedTag !== plan.decision.toTag ? failedTag : undefined };
    }
    deps.state.recordUpdate(key, { from: t.from, to: t.to, outcome: o.status, detail: `\`dosync rollback\` did not complete: ${o.reason}` });
    return { service: t.service, status: o.status === 'rolled-back' ? 'unhealthy' : 'failed', from: t.from, to: t.to, reason: o.reason };
  });
  await deps.state.save();
  return results;
}
