import { readFile } from 'node:fs/promises';
import type { Logger } from '../util/logger.js';
import { errorMessage } from '../util/errors.js';
import type { ServicePlan } from './plan.js';
import type { StackService } from '../compose/stack.js';
import type { Instance, InstanceFilter, ProjectRef, ReplaceTarget, Runtime } from '../engine/index.js';
import type { Credential } from '../registry/types.js';
import { planImageEdit, type ImageEdit } from '../compose/image-source.js';
import { applyEdits, editFile } from '../compose/units.js';
import { replaceFileSafely } from '../compose/writer.js';
import { restoreServiceImage, type RewriteContext } from './rewrite.js';
import { rollingBlocker, type ServiceSettings } from './service-settings.js';
import type { Journal } from './journal.js';
import { handOverSelfUpdate, type SelfTarget } from './self-update.js';
import type { UpdatePlan } from './unit-plan.js';
import { withLifecycleHooks, type HookMode } from './hooks.js';

export type { UpdatePlan } from './unit-plan.js';

export interface ApplyContext extends RewriteContext {
  /** The engine side: a Compose project's containers or a Swarm stack's services. */
  runtime: Runtime;
  project: ProjectRef;
  logger: Logger;
  credentials: (registry: string) => Promise<Credential | undefined>;
  settings: (plan: ServicePlan) => ServiceSettings;
  prune: boolean;
  journal: Journal;
  /** `project/service`, the key of a service in the state file. */
  stateKey: (service: string) => string;
  /** dosync's own service when it runs in the stack (sidecar): updated through a helper container. */
  self?: SelfTarget;
}

export type ApplyOutcome =
  | { status: 'updated'; from: string; to: string; backup?: string; pruned: string[]; recreated: boolean; rollout?: 'recreate' | 'rolling'; note?: string; labels?: Record<string, string>; digest?: string }
  | { status: 'rolled-back'; from: string; to: string; reason: string; failedTag: string; failedDigest?: string }
  | { status: 'failed'; from: string; to: string; reason: string };

/**
 * Whether an outcome marks its target tag (or digest) as failed, so that it is not tried again: only an image
 * that was deployed and failed its health gate (or did not start). A local error (disk full, read-only,
 * permissions, a file that is not UTF-8: LocalError) stops a unit before anything is deployed and ends as
 * `failed`, which is retried next cycle.
 */
export function marksTagFailed(outcome: ApplyOutcome): outcome is Extract<ApplyOutcome, { status: 'rolled-back' }> {
  return outcome.status === 'rolled-back';
}

/** One member of the unit: what it ran before and what was done to it, so it can be undone. */
interface Step {
  plan: UpdatePlan;
  from: string;
  to: string;
  before: Instance[];
  newImageId: string;
  recreated: boolean;
}

/** A file the unit's edit replaced: what it held, what was written and where the backup went. */
interface Written {
  file: string;
  original: string;
  text: string;
  backup: string;
}

/** The image the member ran before (a running container's, else any's): what a rollback returns to. */
function previousImageId(step: Step): string | undefined {
  return step.before.find((c) => c.state === 'running')?.imageId ?? step.before[0]?.imageId;
}

/** How many containers the member must have healthy: its scale, or more if more were running. */
function replicaCount(step: Step): number {
  return Math.max(step.plan.service.replicas, step.before.filter((c) => c.state === 'running').length);
}

const running = (step: Step) => step.before.some((c) => c.state === 'running');

/**
 * Updates one unit (the services that one edit moves together, or name-based replicas): every image is pulled
 * first (nothing is touched if a pull fails); then one edit per written value, one backup and one atomic write
 * per file; the stack is read again and must resolve to exactly the planned images; then one `compose up` of
 * the running members and the health gate on every container of each. If any member fails, the whole unit
 * goes back: the files are restored and every recreated member runs its old image again.
 */
export async function applyGroup(plans: UpdatePlan[], ctx: ApplyContext, opts: ApplyOptions = {}): Promise<ApplyOutcome[]> {
  // Lifecycle hooks (src/sync/hooks.ts) around the whole unit: a failing pre-update hook changes nothing.
  return withLifecycleHooks(plans.map((p) => p.service), ctx, (reason) => plans.map((p): ApplyOutcome => ({ status: 'failed', from: p.service.image!, to: p.decision.newImage, reason })), () => applyUnit(plans, ctx, opts), opts.hooks);
}

export interface ApplyOptions {
  edits?: ImageEdit[];
  unit?: string;
  /** `advisory` for rollbacks: a failing pre-update hook is reported, never a reason to stay on a bad release. */
  hooks?: HookMode;
}

async function applyUnit(plans: UpdatePlan[], ctx: ApplyContext, opts: ApplyOptions): Promise<ApplyOutcome[]> {
  const imageOf = (p: ServicePlan) => p.service.image!;
  const failAll = (reason: (p: UpdatePlan) => string) => plans.map((p): ApplyOutcome => ({ status: 'failed', from: imageOf(p), to: p.decision.newImage, reason: reason(p) }));
  try {
    ctx.runtime.validate(plans.map((p) => replaceTarget(p.service, p.decision.newImage, '')));
  } catch (err) {
    const reason = errorMessage(err);
    return failAll(() => reason);
  }
  const newIds = new Map<string, string>();
  for (const plan of plans) {
    const d = plan.decision;
    try {
      if (!newIds.has(d.pullRef)) {
        const registry = plan.ref!.registry;
        newIds.set(d.pullRef, await ctx.runtime.pull(d.pullRef, registry, await ctx.credentials(registry)));
      }
    } catch (err) {
      const reason = errorMessage(err);
      return failAll((p) => (p === plan ? reason : `not updated: ${plan.service.name} failed: ${reason}`));
    }
  }
  const steps: Step[] = await Promise.all(plans.map(async (plan) => ({
    plan, from: imageOf(plan), to: plan.decision.newImage, newImageId: newIds.get(plan.decision.pullRef)!,
    before: await ctx.runtime.instances(ctx.project.name, plan.service.name), recreated: false,
  })));
  const self = steps.find((s) => ctx.self?.service === s.plan.service.name);
  if (self && steps.length > 1) {
    return failAll(() => `dosync's own service ${self.plan.service.name} would move together with ${steps.filter((s) => s !== self).map((s) => s.plan.service.name).join(', ')}; give it an image line of its own`);
  }
  const lead = steps[0];
  await ctx.journal.begin({
    service: ctx.stateKey(lead.plan.service.name), step: 'pulled', from: lead.from, to: lead.to, mode: lead.plan.decision.mode,
    previousImageId: previousImageId(lead),
    ...(steps.length > 1 || !running(lead) ? { unit: opts.unit, members: steps.map((s) => ({ service: ctx.stateKey(s.plan.service.name), from: s.from, to: s.to, previousImageId: previousImageId(s), running: running(s) })) } : {}),
  });

  let written: Written[] = [];
  let reason: string | undefined;
  try {
    written = await writeEdits(steps, ctx, opts.edits);
  } catch (err) {
    await ctx.journal.end();
    const message = errorMessage(err);
    if ((err as { name?: string }).name === 'ComposeChangedError') throw err;
    return failAll(() => message);
  }
  if (written.length > 0) {
    await ctx.journal.advance('file-written', { file: written[0].file, backup: written[0].backup, files: written.map((w) => ({ file: w.file, backup: w.backup })) });
    for (const w of written) ctx.logger.info({ file: w.file, backup: w.backup, unit: opts.unit }, `${w.file} updated: ${steps.map((s) => `${s.plan.service.name} ${s.from} -> ${s.to}`).join(', ')}`);
  }

  if (self) {
    if (running(self)) {
      reason = await handOverSelfUpdate({ plan: self.plan, from: self.from, to: self.to, newImageId: self.newImageId, previousImageId: previousImageId(self), backup: written[0]?.backup }, ctx.self!, ctx);
    }
  } else {
    reason = await recreateUnit(steps, ctx);
  }

  if (!reason) {
    await ctx.journal.end();
    const outcomes: ApplyOutcome[] = [];
    for (const s of steps) {
      const pruned = ctx.prune && s.recreated ? await pruneReplaced(s, ctx) : [];
      const image = await ctx.runtime.inspectImage(s.newImageId).catch(() => undefined);
      const digest = image?.repoDigests.map((d) => d.slice(d.indexOf('@') + 1))[0];
      const note = !s.recreated && !running(s) ? 'not running: the file was updated, nothing was started' : undefined;
      outcomes.push({ status: 'updated', from: s.from, to: s.to, backup: written[0]?.backup, pruned, recreated: s.recreated, rollout: ctx.settings(s.plan).rollout, labels: image?.labels, digest, ...(note ? { note } : {}) });
    }
    return outcomes;
  }

  const failure = reason;
  await ctx.journal.begin({
    service: ctx.stateKey(lead.plan.service.name), step: 'rolling-back', from: lead.from, to: lead.to, mode: lead.plan.decision.mode,
    previousImageId: previousImageId(lead), file: written[0]?.file, backup: written[0]?.backup,
    ...(steps.length > 1 ? { unit: opts.unit, members: steps.map((s) => ({ service: ctx.stateKey(s.plan.service.name), from: s.from, to: s.to, previousImageId: previousImageId(s), running: s.recreated })) } : {}),
  });
  const rollbackErrors = await rollbackUnit(steps, written, ctx);
  await ctx.journal.end();
  return plans.map((p): ApplyOutcome => {
    const why = steps.length > 1 ? `unit ${opts.unit ?? steps.map((s) => s.plan.service.name).join(', ')} failed: ${failure}` : failure;
    if (rollbackErrors.length > 0) return { status: 'failed', from: imageOf(p), to: p.decision.newImage, reason: `${why}; rollback also failed: ${rollbackErrors.join('; ')}` };
    return { status: 'rolled-back', from: imageOf(p), to: p.decision.newImage, reason: why, failedTag: p.decision.toTag, failedDigest: p.decision.mode === 'digest' ? p.decision.remoteDigest : undefined };
  });
}

/**
 * Makes the unit's edits (one write per file, after its backup) and checks that the stack now resolves to
 * exactly the planned images: the members' new ones, every other service's unchanged. A surprise puts the
 * files back and fails the update before any container is touched.
 */
async function writeEdits(steps: Step[], ctx: ApplyContext, planned: ImageEdit[] | undefined): Promise<Written[]> {
  const tagSteps = steps.filter((s) => s.plan.decision.mode === 'tag');
  if (tagSteps.length === 0) return [];
  const edits = planned ?? tagSteps.map((s) => planImageEdit(s.plan.service, s.to));
  const before = await ctx.reloadStack();
  const texts = new Map(ctx.knownTexts);
  for (const e of edits) {
    const file = editFile(e);
    if (!texts.has(file)) texts.set(file, await readFile(file, 'utf8'));
  }
  const changed = applyEdits(texts, edits);
  const written: Written[] = [];
  try {
    for (const [file, text] of changed) {
      const original = texts.get(file)!;
      const result = await replaceFileSafely(file, text, { expectedOriginal: original, backupDir: ctx.backupDir, keep: ctx.keepBackups });
      written.push({ file, original, text, backup: result.backupPath });
      ctx.knownTexts.set(file, text);
      if (result.mode === 'in-place') ctx.logger.warn({ file }, 'the file is a single-file bind mount: rewrote it in place (verified) instead of an atomic rename');
    }
    const expected = new Map(steps.map((s) => [s.plan.service.name, s.to]));
    const after = await ctx.reloadStack();
    for (const s of after.services) {
      const want = expected.get(s.name) ?? before.services.find((b) => b.name === s.name)?.image;
      if (s.image !== want) throw new Error(`rewriting ${[...changed.keys()].join(', ')} made ${s.name} resolve to ${s.image ?? 'no image'} instead of ${want ?? 'no image'}; restored the file`);
    }
  } catch (err) {
    await restoreFiles(written, ctx).catch(() => undefined);
    throw err;
  }
  return written;
}

/** Puts the written files back: the original bytes when the file is still as dosync wrote it. */
async function restoreFiles(written: Written[], ctx: ApplyContext): Promise<string[]> {
  const left: string[] = [];
  for (const w of [...written].reverse()) {
    try {
      await replaceFileSafely(w.file, w.original, { expectedOriginal: w.text, backupDir: ctx.backupDir, keep: ctx.keepBackups });
      ctx.knownTexts.set(w.file, w.original);
    } catch (err) {
      if ((err as { name?: string }).name !== 'ComposeChangedError') throw err;
      left.push(w.file);
    }
  }
  return left;
}

/** Recreates the running members (one `compose up`, rolling ones side by side) and health-gates every one. */
async function recreateUnit(steps: Step[], ctx: ApplyContext): Promise<string | undefined> {
  const active = steps.filter(running);
  if (active.length === 0) return undefined; // jobs and opted-in stopped services: the file is current, nothing starts
  await ctx.journal.advance('recreating');
  const rolling: Step[] = [];
  const together: Step[] = [];
  for (const s of active) {
    if (ctx.settings(s.plan).rollout !== 'rolling') { together.push(s); continue; }
    const blocker = rollingBlocker(s.plan.service);
    if (!blocker) rolling.push(s);
    else {
      ctx.logger.child({ service: s.plan.service.name }).warn(`rolling update not possible because ${blocker}; recreating instead`);
      together.push(s);
    }
  }
  for (const s of rolling) {
    s.recreated = true;
    const failed = await rollingUpdate(s, ctx);
    if (failed) return `${s.plan.service.name}: ${failed}`;
  }
  if (together.length === 0) return undefined;
  for (const s of together) s.recreated = true;
  try {
    await ctx.runtime.replace(ctx.project, together.map(newTarget));
  } catch (err) {
    return errorMessage(err);
  }
  await ctx.journal.advance('health-check');
  const verdicts = await Promise.all(together.map((s) => gate(ctx, s.plan, (c) => c.imageId === s.newImageId, replicaCount(s))));
  const bad = verdicts.map((v, i) => (v ? `${together[i].plan.service.name}: ${v}` : undefined)).filter(Boolean);
  return bad.length > 0 ? (steps.length === 1 ? verdicts.find(Boolean) : bad.join('; ')) : undefined;
}

/** A service's move to `image`, with how the file says it rolls out (Swarm's update_config and rollback_config). */
export const replaceTarget = (service: StackService, image: string, imageId: string): ReplaceTarget => ({
  service: service.name, image, imageId, updateConfig: service.updateConfig, rollbackConfig: service.rollbackConfig,
});

const newTarget = (s: Step): ReplaceTarget => replaceTarget(s.plan.service, s.to, s.newImageId);

/** The health gate's options for a service (its settings, with the HTTP/TCP probe when one is set). */
function healthOptions(ctx: ApplyContext, plan: ServicePlan) {
  const s = ctx.settings(plan).health;
  const probe = s.url || s.tcpPort ? { url: s.url, tcpPort: s.tcpPort } : undefined;
  return { ...s, probe };
}

async function gate(ctx: ApplyContext, plan: ServicePlan, select: InstanceFilter, replicas: number): Promise<string | undefined> {
  const health = await ctx.runtime.waitHealthy(ctx.project.name, plan.service.name, select, replicas, healthOptions(ctx, plan));
  return health.healthy ? undefined : health.reason;
}

/** The runtime replaces the member side by side; if that fails its old instances never stopped serving. */
async function rollingUpdate(step: Step, ctx: ApplyContext): Promise<string | undefined> {
  const failed = await ctx.runtime.replaceRolling(ctx.project, newTarget(step), {
    replicas: replicaCount(step), oldIds: step.before.map((c) => c.id), health: healthOptions(ctx, step.plan),
    started: () => ctx.journal.advance('health-check'),
  });
  if (failed) step.recreated = false; // the old instances are untouched
  return failed;
}

/** Puts the unit back: files restored (only dosync's edit), tags re-pointed for digest updates, recreated members on their old image. */
async function rollbackUnit(steps: Step[], written: Written[], ctx: ApplyContext): Promise<string[]> {
  const errors: string[] = [];
  try {
    const edited = await restoreFiles(written, ctx);
    // Someone edited a file meanwhile: undo only dosync's change, member by member, from the file as it is now.
    if (edited.length > 0) for (const s of steps) await restoreServiceImage(s.plan.service.name, s.from, ctx);
  } catch (err) {
    errors.push(`restoring the files: ${errorMessage(err)}`);
  }
  for (const s of steps) {
    const oldId = previousImageId(s);
    if (s.plan.decision.mode === 'digest' && oldId) await ctx.runtime.repoint(oldId, s.plan.decision.pullRef).catch((err) => errors.push(`${s.plan.service.name}: ${errorMessage(err)}`));
  }
  const back = steps.filter((s) => s.recreated && previousImageId(s));
  if (back.length === 0) return errors;
  try {
    await ctx.runtime.restore(ctx.project, back.map((s) => ({ service: s.plan.service.name, image: s.from, imageId: previousImageId(s)! })));
  } catch (err) {
    errors.push(errorMessage(err));
    return errors;
  }
  const verdicts = await Promise.all(back.map((s) => gate(ctx, s.plan, (c) => c.imageId === previousImageId(s), replicaCount(s))));
  verdicts.forEach((v, i) => { if (v) errors.push(`${back[i].plan.service.name}: ${v}`); });
  return errors;
}

/** After a successful update: remove the images no container uses any more (never a host-wide prune). */
async function pruneReplaced(step: Step, ctx: ApplyContext): Promise<string[]> {
  const d = step.plan.decision;
  const pruned: string[] = [];
  for (const id of new Set(step.before.map((c) => c.imageId))) {
    if (id === step.newImageId) continue;
    const result = await ctx.runtime.prune(id, d.mode === 'tag' ? step.from : undefined).catch((err) => {
      ctx.logger.warn({ service: step.plan.service.name, image: id.slice(7, 19) }, `could not prune the replaced image: ${errorMessage(err)}`);
      return 'kept' as const;
    });
    if (result === 'removed') pruned.push(id);
  }
  return pruned;
}
