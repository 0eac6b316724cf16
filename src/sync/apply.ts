import type Docker from 'dockerode';
import type { Logger } from '../util/logger.js';
import { errorMessage } from '../util/errors.js';
import type { ServicePlan } from './plan.js';
import { pullImage, removeReplacedImage, listComposeContainers, retagImage, removeContainers, inspectImage, type ContainerSummary } from '../engine/docker.js';
import { composeUp, type ComposeProject } from '../engine/compose-cli.js';
import { waitHealthy, type ContainerFilter } from '../engine/health.js';
import type { Credential } from '../registry/types.js';
import { rewriteServiceImage, restoreServiceImage, type RewriteContext } from './rewrite.js';
import { rollingBlocker, type ServiceSettings } from './service-settings.js';
import type { Journal } from './journal.js';
import { handOverSelfUpdate, type SelfTarget } from './self-update.js';

export interface ApplyContext extends RewriteContext {
  docker: Docker;
  project: ComposeProject;
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

/** What one member of a group looked like before, and what was done to it, so it can be undone. */
interface Step {
  plan: UpdatePlan;
  from: string;
  to: string;
  before: ContainerSummary[];
  newImageId: string;
  backup?: string;
  rewritten: boolean;
  recreated: boolean;
}

export type UpdatePlan = ServicePlan & { decision: Extract<ServicePlan['decision'], { kind: 'update' }> };

/** The image the member ran before (a running container's, else any's): what a rollback returns to. */
function previousImageId(step: Step): string | undefined {
  return step.before.find((c) => c.state === 'running')?.imageId ?? step.before[0]?.imageId;
}

/** How many containers the member must have healthy: its scale, or more if more were running. */
function replicaCount(step: Step): number {
  return Math.max(step.plan.service.replicas, step.before.filter((c) => c.state === 'running').length);
}

/**
 * Updates a group of services that must move together (one service, or name-based replicas such as
 * web-1/web-2): all images are pulled first (nothing is touched if a pull fails); then each member's image is
 * rewritten (backup + atomic write), recreated through Compose and health-gated in turn. If any member fails,
 * every member already changed is put back on its previous image, so the group never ends up split.
 */
export async function applyGroup(plans: UpdatePlan[], ctx: ApplyContext): Promise<ApplyOutcome[]> {
  const imageOf = (p: ServicePlan) => p.service.image!;
  const newIds = new Map<string, string>();
  for (const plan of plans) {
    const d = plan.decision;
    try {
      if (!newIds.has(d.pullRef)) {
        const registry = plan.ref!.registry;
        newIds.set(d.pullRef, await pullImage(ctx.docker, d.pullRef, registry, await ctx.credentials(registry)));
      }
    } catch (err) {
      const reason = errorMessage(err);
      return plans.map((p) => ({ status: 'failed', from: imageOf(p), to: p.decision.newImage, reason: p === plan ? reason : `not updated: ${plan.service.name} failed: ${reason}` }));
    }
  }

  const steps: Step[] = [];
  let failure: { step: Step; reason: string } | undefined;
  for (const plan of plans) {
    const step: Step = {
      plan, from: imageOf(plan), to: plan.decision.newImage, newImageId: newIds.get(plan.decision.pullRef)!,
      before: await listComposeContainers(ctx.docker, { project: ctx.project.name, service: plan.service.name }),
      rewritten: false, recreated: false,
    };
    steps.push(step);
    const d = plan.decision;
    await ctx.journal.begin({
      service: ctx.stateKey(plan.service.name), step: 'pulled', from: step.from, to: step.to, mode: d.mode,
      previousImageId: previousImageId(step),
    });
    const reason = await updateMember(step, ctx).catch((err) => errorMessage(err));
    if (reason) { failure = { step, reason }; break; }
    await ctx.journal.end();
  }

  if (!failure) {
    const outcomes: ApplyOutcome[] = [];
    for (const s of steps) {
      const pruned = ctx.prune ? await pruneReplaced(s, ctx) : [];
      const image = await inspectImage(ctx.docker, s.newImageId).catch(() => undefined);
      const digest = image?.repoDigests.map((d) => d.slice(d.indexOf('@') + 1))[0];
      outcomes.push({ status: 'updated', from: s.from, to: s.to, backup: s.backup, pruned, recreated: s.recreated, rollout: ctx.settings(s.plan).rollout, labels: image?.labels, digest });
    }
    return outcomes;
  }

  const rollbackErrors: string[] = [];
  for (const step of [...steps].reverse()) {
    await ctx.journal.begin({ service: ctx.stateKey(step.plan.service.name), step: 'rolling-back', from: step.from, to: step.to, mode: step.plan.decision.mode });
    const err = await rollbackMember(step, ctx).catch((e) => errorMessage(e));
    if (err) rollbackErrors.push(`${step.plan.service.name}: ${err}`);
    await ctx.journal.end();
  }
  return plans.map((p): ApplyOutcome => {
    const own = failure!.step.plan === p;
    const reason = own ? failure!.reason : `${failure!.step.plan.service.name} failed: ${failure!.reason}`;
    if (rollbackErrors.length > 0) return { status: 'failed', from: imageOf(p), to: p.decision.newImage, reason: `${reason}; rollback also failed: ${rollbackErrors.join('; ')}` };
    return { status: 'rolled-back', from: imageOf(p), to: p.decision.newImage, reason, failedTag: p.decision.toTag, failedDigest: p.decision.mode === 'digest' ? p.decision.remoteDigest : undefined };
  });
}

/** Rewrites and recreates one member; returns why it failed, or undefined. */
async function updateMember(step: Step, ctx: ApplyContext): Promise<string | undefined> {
  const { plan } = step;
  const log = ctx.logger.child({ service: plan.service.name });
  if (plan.decision.mode === 'tag') {
    const written = await rewriteServiceImage(plan.service, step.to, ctx);
    step.backup = written.backup;
    step.rewritten = true;
    await ctx.journal.advance('file-written', { file: written.file, backup: written.backup });
    if (written.mode === 'in-place') log.warn({ file: written.file }, 'the file is a single-file bind mount: rewrote it in place (verified) instead of an atomic rename');
    log.info({ file: written.file, backup: written.backup }, `${written.file} updated: ${step.from} -> ${step.to}`);
  }
  const running = step.before.filter((c) => c.state === 'running');
  // A stopped service stays stopped: its file is kept current, nothing is started.
  if (running.length === 0) return undefined;
  if (ctx.self?.service === plan.service.name) {
    return handOverSelfUpdate({ plan, from: step.from, to: step.to, newImageId: step.newImageId, previousImageId: previousImageId(step), backup: step.backup }, ctx.self, ctx);
  }
  step.recreated = true;
  await ctx.journal.advance('recreating');
  const settings = ctx.settings(plan);
  const replicas = replicaCount(step);
  const oldIds = new Set(step.before.map((c) => c.id));
  if (settings.rollout === 'rolling') {
    const blocker = rollingBlocker(plan.service);
    if (!blocker) return rollingUpdate(step, replicas, oldIds, ctx);
    log.warn(`rolling update not possible because ${blocker}; recreating instead`);
  }
  return recreate(ctx, plan, (c) => c.imageId === step.newImageId, replicas);
}

async function recreate(ctx: ApplyContext, plan: ServicePlan, select: ContainerFilter, replicas: number, extra: string[] = []): Promise<string | undefined> {
  try {
    await composeUp(ctx.project, [plan.service.name], extra);
  } catch (err) {
    return errorMessage(err);
  }
  await ctx.journal.advance('health-check');
  const s = ctx.settings(plan).health;
  const probe = s.url || s.tcpPort ? { url: s.url, tcpPort: s.tcpPort } : undefined;
  const health = await waitHealthy(ctx.docker, ctx.project.name, plan.service.name, select, replicas, { ...s, probe });
  return health.healthy ? undefined : health.reason;
}

/** Time between taking old replicas out of DNS and stopping them, for clients that resolved just before. */
const ROLLING_DRAIN_MS = 1000;

/**
 * docker-rollout's technique: scale to twice the replicas without recreating (the new ones get the new image),
 * wait until the new containers are healthy, then remove the old ones. If the new ones fail they are removed
 * and the old ones never stopped serving.
 */
async function rollingUpdate(step: Step, replicas: number, oldIds: Set<string>, ctx: ApplyContext): Promise<string | undefined> {
  const name = step.plan.service.name;
  const isNew: ContainerFilter = (c) => !oldIds.has(c.id);
  const failed = await recreate(ctx, step.plan, isNew, replicas, ['--no-recreate', '--scale', `${name}=${replicas * 2}`]);
  const current = await listComposeContainers(ctx.docker, { project: ctx.project.name, service: name });
  if (failed) {
    await removeContainers(ctx.docker, current.filter(isNew).map((c) => c.id));
    step.recreated = false; // the old containers are untouched
    return failed;
  }
  await removeContainers(ctx.docker, current.filter((c) => oldIds.has(c.id)).map((c) => c.id), ROLLING_DRAIN_MS);
  return undefined;
}

/** Puts a member back as it was: image line restored (only that edit), tag re-pointed for digest updates, recreated. */
async function rollbackMember(step: Step, ctx: ApplyContext): Promise<string | undefined> {
  const { plan } = step;
  const d = plan.decision;
  if (step.rewritten) await restoreServiceImage(plan.service.name, step.from, ctx);
  const oldId = previousImageId(step);
  if (d.mode === 'digest' && oldId) await retagImage(ctx.docker, oldId, d.pullRef);
  if (!step.recreated || !oldId) return undefined;
  return recreate(ctx, plan, (c) => c.imageId === oldId, replicaCount(step));
}

/** After a successful update: remove the images no container uses any more (never a host-wide prune). */
async function pruneReplaced(step: Step, ctx: ApplyContext): Promise<string[]> {
  const d = step.plan.decision;
  const pruned: string[] = [];
  for (const id of new Set(step.before.map((c) => c.imageId))) {
    if (id === step.newImageId) continue;
    const result = await removeReplacedImage(ctx.docker, id, d.mode === 'tag' ? step.from : undefined).catch((err) => {
      ctx.logger.warn({ service: step.plan.service.name, image: id.slice(7, 19) }, `could not prune the replaced image: ${errorMessage(err)}`);
      return 'kept' as const;
    });
    if (result === 'removed') pruned.push(id);
  }
  return pruned;
}
