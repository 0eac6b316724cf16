import { parseImageReference, replaceTag, formatReference, effectiveTag, repositoryKey, type ImageReference } from '../reference/index.js';
import type { StackService } from '../compose/stack.js';
import { resolvePolicy, selectTags, type ResolvedPolicy, type Selection } from '../policy/index.js';
import type { RegistryClient } from '../registry/client.js';
import type { Instance, LocalImage, Runtime } from '../engine/index.js';
import { errorMessage } from '../util/errors.js';
import { imageCreated } from '../registry/image-created.js';
import { HubPausedError } from '../registry/hub-rate-limit.js';
import type { Hold } from './schedule.js';
import type { ConfigFile } from '../config/file.js';
import { chooseSigned, verifyDigestDecision, type SignatureReport, type VerifyContext } from '../verify/index.js';

export type Decision =
  | { kind: 'update'; mode: 'tag' | 'digest'; fromTag?: string; toTag: string; newImage: string; pullRef: string; reason: string; remoteDigest?: string }
  | { kind: 'up-to-date'; reason: string }
  /** An update exists but must wait: paused, too young (min_age) or outside the maintenance window. */
  | { kind: 'held'; toTag: string; reason: string; until?: Date; hold?: Hold['kind'] }
  | { kind: 'skipped'; reason: string }
  | { kind: 'error'; reason: string };

/** The decision of a service a cycle was not asked to look at (a cycle of some services only). */
export const NOT_REQUESTED = 'not requested in this cycle';

export interface ServicePlan {
  service: StackService;
  ref?: ImageReference;
  policy?: ResolvedPolicy;
  /** The policy's full answer, for `check --explain`. */
  selection?: Selection;
  /** The repository's tags as listed this cycle (a unit checks that its tag exists in every member's repository). */
  tags?: string[];
  /** Signature checks (when `verify:` applies): candidates passed over, a running image that does not verify. */
  signatures?: SignatureReport;
  decision: Decision;
}

/** What the engine runs for the project, asked once per cycle and shared by every service's plan. */
export interface EngineView {
  containers: (service: string) => Promise<Instance[]>;
  image: (ref: string) => Promise<LocalImage | undefined>;
}

export interface PlanContext {
  runtime: Runtime;
  registry: RegistryClient;
  projectName: string;
  config: ConfigFile;
  /** The dosync.yaml registry section entry that applies to a registry host (for registry-level policies). */
  registryPolicySource: (registry: string) => { imagePolicy?: unknown; image_policy?: unknown; tag_pattern?: string } | undefined;
  /** Tags (or a tag's digest) that failed their health gate for this service: not retried until a newer one appears. */
  isFailed?: (service: string, tag: string, digest?: string) => boolean;
  /** The tags with any failed entry for this service (to filter a tag list in one pass). */
  failedTags?: (service: string) => Set<string>;
  pushTimes?: (ref: ImageReference) => Promise<Map<string, Date> | undefined>;
  configPath?: string;
  /** Why updates must wait right now for this service (pause, window, min age), given when its target was pushed. */
  holdFor?: (service: StackService, pushedAt: () => Promise<Date | undefined>) => Promise<Hold | undefined>;
  /** The project's containers and local images (one engine round trip per cycle, not per service). */
  engine?: EngineView;
  /** Digests asked this cycle by `registry/repository:tag`: services on one image cost one HEAD. */
  digests?: Map<string, Promise<{ digest: string }>>;
}

/** An EngineView over the runtime, memoized for one cycle. */
export function engineView(runtime: Runtime, project: string): EngineView {
  let all: Promise<Instance[]> | undefined;
  const images = new Map<string, Promise<LocalImage | undefined>>();
  return {
    containers: async (service) => (await (all ??= runtime.instances(project))).filter((c) => c.service === service),
    image: (ref) => {
      let hit = images.get(ref);
      if (!hit) images.set(ref, (hit = runtime.inspectImage(ref)));
      return hit;
    },
  };
}

/** The policy, reference and current state of one service, and what should happen to it. */
export async function planService(service: StackService, outer: PlanContext): Promise<ServicePlan> {
  // The `newest` policy and min_age both want push times: one fetch serves both.
  let times: Promise<Map<string, Date> | undefined> | undefined;
  const ctx: PlanContext = { ...outer, pushTimes: outer.pushTimes && ((ref) => (times ??= outer.pushTimes!(ref))) };
  const plan = await planUnheld(service, ctx);
  const d = plan.decision;
  if (d.kind !== 'update' || !ctx.holdFor || !plan.ref) return plan;
  const ref = plan.ref;
  try {
    const hold = await ctx.holdFor(service, async () => {
      const times = await ctx.pushTimes?.(ref).catch(() => undefined);
      return times?.get(d.toTag) ?? imageCreated(ctx.registry, ref, d.toTag).catch(() => undefined);
    });
    if (hold) return { ...plan, decision: { kind: 'held', toTag: d.toTag, reason: `${d.reason}; held: ${hold.reason}`, until: 'until' in hold ? hold.until : undefined, hold: hold.kind } };
  } catch (err) {
    return { ...plan, decision: { kind: 'error', reason: errorMessage(err) } };
  }
  return plan;
}

async function planUnheld(service: StackService, ctx: PlanContext): Promise<ServicePlan> {
  if (!service.image) return { service, decision: { kind: 'skipped', reason: 'no image (build-only service)' } };
  let ref: ImageReference;
  try {
    ref = parseImageReference(service.image);
  } catch (err) {
    return { service, decision: { kind: 'error', reason: `${service.imageFile ?? 'compose file'}: services.${service.name}.image: ${errorMessage(err)}` } };
  }
  const cfgName = ctx.configPath ?? 'dosync.yaml';
  const policy = resolvePolicy(
    { labels: service.labels, service: ctx.config.services?.[service.name], registry: ctx.registryPolicySource(ref.registry) },
    { labels: `${service.imageFile ?? 'compose file'}: services.${service.name}.labels`, service: `${cfgName}: services.${service.name}`, registry: `${cfgName}: registry` },
  );
  if (!policy.enabled) return { service, ref, policy, decision: { kind: 'skipped', reason: policy.describe } };
  const currentTag = effectiveTag(ref);
  if (!currentTag) return { service, ref, policy, decision: { kind: 'skipped', reason: 'pinned by digest without a tag' } };
  try {
    if (await builtHere(service.image, ctx)) return { service, ref, policy, decision: { kind: 'skipped', reason: LOCAL_IMAGE } };
    const tags = await ctx.registry.listTags(ref);
    const times = policy.ranking.kind === 'newest' && ctx.pushTimes ? await ctx.pushTimes(ref) : undefined;
    const isFailed = (tag: string, digest?: string) => ctx.isFailed?.(service.name, tag, digest) ?? false;
    // The current tag stays a candidate even if it once failed as a target (it is what runs now). The list is
    // ranked as it is, with lookups beside it: no copy and no object per tag (issue 15, a million tags).
    const failed = ctx.failedTags?.(service.name);
    const selection = selectTags({
      tags,
      pushedAt: times && ((tag) => times.get(tag)),
      skip: failed?.size ? (tag) => tag !== currentTag && failed.has(tag) : undefined,
    }, currentTag, policy);
    const base = { service, ref, policy, selection, tags };
    if (selection.kind === 'none') return { ...base, decision: { kind: 'skipped', reason: policy.describe } };
    if (selection.kind === 'digest') return { ...base, ...await planDigest(service, ref, currentTag, ctx, isFailed) };
    // Enforced signatures: the newest candidate that verifies (src/verify); `note` says what was passed over.
    const signatures = await chooseSigned(service, ref, currentTag, selection, verifyContext(ref, ctx));
    const chosen = signatures ? signatures.selected ?? (selection.selected && currentTag) : selection.selected;
    const note = signatures?.note ?? '';
    if (!chosen) return { ...base, signatures, decision: { kind: 'up-to-date', reason: selection.reason + note } };
    if (chosen === currentTag) {
      // A tag such as `7.2` or `16` gets patch releases under the same name: compare what runs with the registry.
      const newest = `${currentTag} is the newest allowed (${policy.describe})${note}`;
      const repushed = await planDigest(service, ref, currentTag, ctx, isFailed, true);
      const decision: Decision = repushed.decision.kind === 'update' ? { ...repushed.decision, reason: `${repushed.decision.reason} (re-pushed; ${newest})` } : { kind: 'up-to-date', reason: newest };
      return { ...base, signatures: repushed.decision.kind === 'update' ? repushed.signatures ?? signatures : signatures, decision };
    }
    const toTag = chosen;
    const remoteDigest = ref.digest ? signatures?.digest ?? (await ctx.registry.getDigest(ref, toTag)).digest : undefined;
    return {
      ...base, signatures,
      decision: {
        kind: 'update', mode: 'tag', fromTag: currentTag, toTag,
        newImage: replaceTag(service.image, toTag, remoteDigest),
        pullRef: formatReference({ ...ref, tag: toTag, digest: remoteDigest }),
        reason: `${currentTag} -> ${toTag} (${policy.describe})${note}`,
        remoteDigest,
      },
    };
  } catch (err) {
    // Docker Hub checks paused to keep pulls for updates: not checked this cycle, not a failure.
    const paused = hubPause(err);
    if (paused) return { service, ref, policy, decision: { kind: 'skipped', reason: paused.message.replace(/^skipped: /, '') } };
    return { service, ref, policy, decision: { kind: 'error', reason: errorMessage(err) } };
  }
}

export const LOCAL_IMAGE = 'local image, not checked';

/**
 * An image built on this machine and named without a registry (`dosync:latest`, `myapp`): no registry has it,
 * so asking Docker Hub would only fail every cycle. Told by an image the engine has with no repo digest (a pull
 * or push records one). Names with a registry host are always checked: a missing image there is a real error.
 */
async function builtHere(image: string, ctx: PlanContext): Promise<boolean> {
  const first = image.split('/')[0];
  const namesRegistry = image.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (namesRegistry || !ctx.engine) return false;
  const local = await ctx.engine.image(image);
  return local !== undefined && local.repoDigests.length === 0;
}

function hubPause(err: unknown): HubPausedError | undefined {
  for (let e = err; e instanceof Error; e = e.cause) if (e instanceof HubPausedError) return e;
  return undefined;
}

/**
 * A tag that is not a version (`latest`, `main`), or a versioned tag that is still the newest (`7.2`): an update
 * is a new digest behind the same tag. `runningOnly`: without a running container there is nothing to compare.
 */
async function planDigest(service: StackService, ref: ImageReference, tag: string, ctx: PlanContext, isFailed: (tag: string, digest?: string) => boolean, runningOnly = false): Promise<{ decision: Decision; signatures?: SignatureReport }> {
  return verifyDigestDecision(service, ref, tag, await planDigestUnsigned(service, ref, tag, ctx, isFailed, runningOnly), verifyContext(ref, ctx));
}

function verifyContext(ref: ImageReference, ctx: PlanContext): VerifyContext {
  return { registry: ctx.registry, inspectImage: (image) => ctx.runtime.inspectImage(image), config: ctx.config, configPath: ctx.configPath, registryEntry: ctx.registryPolicySource(ref.registry) as VerifyContext['registryEntry'] };
}

async function planDigestUnsigned(service: StackService, ref: ImageReference, tag: string, ctx: PlanContext, isFailed: (tag: string, digest?: string) => boolean, runningOnly: boolean): Promise<Decision> {
  const engine = ctx.engine ?? engineView(ctx.runtime, ctx.projectName);
  const containers = await engine.containers(service.name);
  const running = containers.find((c) => c.state === 'running');
  if (runningOnly && !running) return { kind: 'up-to-date', reason: `${tag}: no running container to compare digests with` };
  const key = `${repositoryKey(ref)}:${tag}`;
  let asked = ctx.digests?.get(key);
  if (!asked) {
    asked = ctx.registry.getDigest(ref, tag);
    ctx.digests?.set(key, asked);
  }
  const remote = await asked;
  if (isFailed(tag, remote.digest)) return { kind: 'up-to-date', reason: `${tag} digest ${remote.digest.slice(7, 19)} failed its health gate before; waiting for a newer one` };
  const imageRef = (running ?? containers[0])?.imageId ?? formatReference({ ...ref, tag, digest: undefined });
  const local = await engine.image(imageRef);
  const repoName = formatReference({ registry: ref.registry, repository: ref.repository });
  const localDigests = (local?.repoDigests ?? []).map((d) => d.slice(d.indexOf('@') + 1));
  const short = remote.digest.slice(7, 19);
  if (local && localDigests.includes(remote.digest)) return { kind: 'up-to-date', reason: `${tag} digest ${short} unchanged` };
  // An image pulled without a repository digest (built or loaded locally) cannot be compared: leave it.
  if (runningOnly && local && localDigests.length === 0) return { kind: 'up-to-date', reason: `${tag}: the running image has no registry digest to compare` };
  return {
    kind: 'update', mode: 'digest', fromTag: tag, toTag: tag, newImage: service.image!,
    pullRef: `${repoName}:${tag}`, remoteDigest: remote.digest,
    reason: local ? `${tag} has a new digest ${short}` : `${tag} is not present locally (digest ${short})`,
  };
}
