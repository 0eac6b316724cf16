/**
 * Self-update: dosync runs as a service of the stack it updates, and a new tag for that service appears.
 * `compose up` of its own service would stop dosync half way (compose stops the old container before the
 * new one runs, and nobody would be left to health-gate it or roll it back). So the update is handed to a
 * short-lived helper container started from the new image, with dosync's own mounts:
 *
 *   old dosync  pull, rewrite the compose file (backup), write the record, start the helper, wait
 *   helper      compose up --force-recreate <service>  (stops the old dosync), wait until the new one is
 *               healthy; if not: restore the old image line, compose up again on the old image
 *   new dosync  at its next cycle reads the helper's verdict: "self-update to X confirmed", or the tag is
 *               recorded as failed so it is not retried
 *
 * The record (`<state-dir>/self-update.json`) is the only channel between the three; one of them writes it
 * at a time (old dosync until the helper starts, the helper until `phase: done`, then the dosync that runs
 * reads and removes it).
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Logger } from '../util/logger.js';
import { errorMessage } from '../util/errors.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import type { Runtime } from '../engine/index.js';
import type { Stack } from '../compose/stack.js';
import { restoreServiceImage, type RewriteContext } from './rewrite.js';
import { serviceKey, type StateStore } from './state.js';
import type { ApplyContext, ApplyOutcome, UpdatePlan } from './apply.js';
import type { UpdateGroup } from './groups.js';

export const SELF_UPDATE_FILE = 'self-update.json';
/** Labels of the helper container (it carries no compose labels, so compose never counts it as part of the project). */
export const HELPER_LABEL = 'dosync.self-update.helper';
const HELPER_PROJECT_LABEL = 'dosync.self-update.project';
const HELPER_SERVICE_LABEL = 'dosync.self-update.service';

const isoDate = z.string().refine((s) => !Number.isNaN(Date.parse(s)), { message: 'not an ISO date' });
const recordSchema = z.object({
  version: z.literal(1),
  id: z.string(),
  project: z.object({ name: z.string(), workingDir: z.string(), files: z.array(z.string()), envFiles: z.array(z.string()) }),
  service: z.string(),
  from: z.string(),
  to: z.string(),
  toTag: z.string(),
  mode: z.enum(['tag', 'digest']),
  pullRef: z.string(),
  remoteDigest: z.string().optional(),
  newImageId: z.string(),
  previousImageId: z.string().optional(),
  oldContainerId: z.string(),
  helperName: z.string(),
  backup: z.string().optional(),
  backupDir: z.string().optional(),
  keepBackups: z.number(),
  health: z.object({ timeoutMs: z.number(), stableMs: z.number(), url: z.string().optional(), tcpPort: z.number().optional() }),
  phase: z.enum(['handed-over', 'recreating', 'verifying', 'rolling-back', 'done']),
  result: z.enum(['updated', 'rolled-back', 'rollback-failed']).optional(),
  reason: z.string().optional(),
  handedOverAt: isoDate,
  recreatedAt: isoDate.optional(),
  healthyAt: isoDate.optional(),
  doneAt: isoDate.optional(),
});
export type SelfUpdateRecord = z.infer<typeof recordSchema>;

/** The service dosync itself runs as, in the project it manages, and where the self-update record lives. */
export interface SelfTarget {
  service: string;
  containerId: string;
  recordFile: string;
}

export async function readRecord(file: string): Promise<SelfUpdateRecord | undefined> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const parsed = recordSchema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error(`${file} is not a self-update record (${parsed.error.issues[0]?.message}); remove it if no self-update is running`);
  return parsed.data;
}

async function writeRecord(file: string, record: SelfUpdateRecord): Promise<void> {
  await writeFileAtomic(file, `${JSON.stringify(record, null, 2)}\n`);
}

const now = () => new Date().toISOString();

/** Our own container when it is a service of `project` (sidecar mode), else undefined (dosync on the host). */
export async function selfTarget(runtime: Runtime, project: string, stateDir: string): Promise<SelfTarget | undefined> {
  const own = await runtime.ownInstance(project);
  return own && { service: own.service, containerId: own.id, recordFile: join(stateDir, SELF_UPDATE_FILE) };
}

/** Our own group goes last, so the other updates of the cycle are done before dosync is replaced. */
export function selfLast<G extends UpdateGroup>(groups: G[], service: string | undefined): G[] {
  if (!service) return groups;
  const own = (g: G) => g.plans.some((p) => p.service.name === service);
  return [...groups.filter((g) => !own(g)), ...groups.filter(own)];
}

export interface HandOver {
  plan: UpdatePlan;
  from: string;
  to: string;
  newImageId: string;
  previousImageId?: string;
  backup?: string;
}

/**
 * Called by apply instead of `compose up` when the service is dosync's own: starts the helper and waits.
 * Normally the helper's `compose up` stops this container (SIGTERM) and the process ends here. If the
 * helper ends while we still run, its verdict is returned: undefined (updated) or why it failed.
 */
export async function handOverSelfUpdate(h: HandOver, self: SelfTarget, ctx: ApplyContext): Promise<string | undefined> {
  const d = h.plan.decision;
  const log = ctx.logger.child({ service: h.plan.service.name });
  const id = randomBytes(6).toString('hex');
  const record: SelfUpdateRecord = {
    version: 1, id, project: { name: ctx.project.name, workingDir: ctx.project.workingDir, files: ctx.project.files, envFiles: ctx.project.envFiles },
    service: h.plan.service.name, from: h.from, to: h.to, toTag: d.toTag, mode: d.mode, pullRef: d.pullRef, remoteDigest: d.remoteDigest,
    newImageId: h.newImageId, previousImageId: h.previousImageId, oldContainerId: self.containerId,
    helperName: `${ctx.project.name}-${h.plan.service.name}-self-update-${id}`, backup: h.backup, backupDir: ctx.backupDir, keepBackups: ctx.keepBackups,
    health: ctx.settings(h.plan).health, phase: 'handed-over', handedOverAt: now(),
  };
  // The journal's intent must not outlive us: the new dosync would "recover" it by recreating its own service
  // or undoing the file. From here on the record carries the update.
  await ctx.journal.end();
  await writeRecord(self.recordFile, record);
  let helper: { ended: Promise<void> };
  try {
    helper = await ctx.runtime.startHelper(self.containerId, {
      name: record.helperName, imageId: record.newImageId, args: ['self-update-helper', '--record', self.recordFile], sharedFile: self.recordFile,
      labels: { [HELPER_LABEL]: record.id, [HELPER_PROJECT_LABEL]: record.project.name, [HELPER_SERVICE_LABEL]: record.service },
    });
  } catch (err) {
    await fsp.rm(self.recordFile, { force: true });
    return `could not start the self-update helper: ${errorMessage(err)}`;
  }
  log.info({ helper: record.helperName, from: h.from, to: h.to }, `handed the update of dosync's own service to the helper container ${record.helperName}`);

  let onTerm: (() => void) | undefined;
  const terminated = new Promise<'terminated'>((resolve) => { onTerm = () => resolve('terminated'); process.once('SIGTERM', onTerm); });
  const ended = helper.ended.then(() => 'ended' as const);
  const how = await Promise.race([terminated, ended]);
  if (how === 'terminated') {
    // The helper is replacing this container; nothing of this cycle is left to do (the state was saved).
    log.info(`stopping: the helper replaces this container with ${h.to}`);
    process.exit(0);
  }
  process.removeListener('SIGTERM', onTerm!);
  const verdict = await readRecord(self.recordFile).catch(() => undefined);
  await fsp.rm(self.recordFile, { force: true });
  if (verdict?.phase === 'done' && verdict.result === 'updated') return undefined;
  return verdict?.reason ?? 'the self-update helper ended without a verdict';
}

export interface HelperDeps {
  runtime: Runtime;
  logger: Logger;
  /** Reads the compose files and env files as dosync does (cycle.loadStack). */
  loadStack: (files: string[], envFiles: string[]) => Promise<Stack>;
  /** The watchdog's limit (default 2 x the health timeout + 5 minutes). */
  limitMs?: number;
}

/**
 * The helper container's work (`dosync self-update-helper --record FILE`): recreate the service on the new
 * image, health-gate it, and on failure put the old image back. Returns the exit code (0 = updated); the
 * caller exits with it at once. A helper that has not finished after twice the health timeout plus 5
 * minutes (a hung `compose up`) records a failure, so the dosync that runs does not wait for it forever.
 */
export async function runSelfUpdateHelper(file: string, deps: HelperDeps): Promise<number> {
  const record = await readRecord(file);
  if (!record) throw new Error(`no self-update record at ${file}`);
  const limitMs = deps.limitMs ?? 2 * record.health.timeoutMs + 300_000;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<number>((resolve) => {
    timer = setTimeout(() => {
      const reason = `the self-update helper did not finish within ${Math.round(limitMs / 1000)}s`;
      deps.logger.error(reason);
      void writeRecord(file, { ...record, phase: 'done', result: 'rollback-failed', reason, doneAt: now() }).finally(() => resolve(1));
    }, limitMs);
  });
  try {
    return await Promise.race([helperWork(file, record, deps), expired]);
  } finally {
    clearTimeout(timer);
  }
}

async function helperWork(file: string, initial: SelfUpdateRecord, deps: HelperDeps): Promise<number> {
  let record = initial;
  const log = deps.logger.child({ service: record.service, selfUpdate: record.id });
  const update = async (patch: Partial<SelfUpdateRecord>) => { record = { ...record, ...patch }; await writeRecord(file, record); };
  const { project, service, health } = record;
  // The helper has our mounts but not the alias dosync made in its own container (see aliasHostDirectory).
  await deps.runtime.prepareDirectory(project.workingDir).catch(() => undefined);
  const probe = health.url || health.tcpPort ? { url: health.url, tcpPort: health.tcpPort } : undefined;

  await update({ phase: 'recreating' });
  let failure: string | undefined;
  try {
    log.info(`recreating ${service} on ${record.to}`);
    await deps.runtime.replace(project, [{ service, image: record.to, imageId: record.newImageId }]);
    await update({ phase: 'verifying', recreatedAt: now() });
    const h = await deps.runtime.waitHealthy(project.name, service, (c) => c.imageId === record.newImageId, 1, { ...health, probe });
    if (h.healthy) {
      await update({ phase: 'done', result: 'updated', healthyAt: now(), doneAt: now() });
      log.info(`${service} is healthy on ${record.to}`);
      return 0;
    }
    failure = h.reason;
  } catch (err) {
    failure = errorMessage(err);
  }

  log.error(`${service} on ${record.to} failed: ${failure}; putting ${record.from} back`);
  await update({ phase: 'rolling-back', reason: failure });
  try {
    if (record.mode === 'tag') {
      await restoreServiceImage(service, record.from, {
        knownTexts: new Map(), backupDir: record.backupDir, keepBackups: record.keepBackups,
        reloadStack: () => deps.loadStack(project.files, project.envFiles),
      });
    } else if (record.previousImageId) {
      await deps.runtime.repoint(record.previousImageId, record.pullRef);
    }
    // `compose up` may have failed before it touched the old container: then it still runs and stays.
    const old = await deps.runtime.instanceState(record.oldContainerId).catch(() => undefined);
    if (!old?.running) {
      await deps.runtime.restore(project, [{ service, image: record.from, imageId: record.previousImageId ?? '' }]);
      const previous = record.previousImageId;
      const h = await deps.runtime.waitHealthy(project.name, service, (c) => !previous || c.imageId === previous, 1, { ...health, probe });
      if (!h.healthy) throw new Error(`the old version is not healthy either: ${h.reason}`);
    }
    await update({ phase: 'done', result: 'rolled-back', doneAt: now() });
    log.info(`${service} is back on ${record.from}`);
  } catch (err) {
    await update({ phase: 'done', result: 'rollback-failed', reason: `${failure}; rollback failed: ${errorMessage(err)}`, doneAt: now() });
    log.error(`rollback of ${service} to ${record.from} failed: ${errorMessage(err)}`);
  }
  return 1;
}

export interface SettleInput {
  runtime: Runtime;
  /** To put the image line back when a self-update failed without its helper doing so (the swarm rolled back, a helper died). */
  rewrite?: RewriteContext;
  self: SelfTarget;
  project: string;
  state?: StateStore;
  logger: Logger;
  prune: boolean;
}

export interface Settled {
  /** A helper is still at work: dosync's own service must not be planned meanwhile. */
  busy: boolean;
  /** The outcome of a self-update settled now, for the cycle's report (notifications, metrics). */
  outcome?: ApplyOutcome;
}

/**
 * At the start of every cycle of the dosync that runs now: finishes the bookkeeping of a self-update whose
 * helper is done (the new version confirms itself, or the old one records the failed tag).
 */
export async function settleSelfUpdate(input: SettleInput): Promise<Settled> {
  const { runtime, self, state } = input;
  const record = await readRecord(self.recordFile);
  if (!record || record.project.name !== input.project || record.service !== self.service) return { busy: false };
  const log = input.logger.child({ service: record.service });
  let { result, reason } = record;
  const own = await runtime.instanceState(self.containerId);
  if (!own) throw new Error(`our own container ${self.containerId.slice(0, 12)} is not known to the engine`);
  if (record.phase !== 'done') {
    // Only "gone" means the helper is gone; any other failure to ask (a busy engine) means "ask again next cycle".
    const helper = await runtime.instanceState(record.helperName).catch(() => 'unknown' as const);
    if (helper === 'unknown' || helper?.running || helper?.status === 'created') {
      log.info(`a self-update to ${record.to} is in progress (helper ${record.helperName})`);
      return { busy: true };
    }
    // The helper is gone without a verdict: what runs now is the verdict.
    result = own.imageId === record.newImageId ? 'updated' : 'rolled-back';
    reason = 'the self-update helper stopped before it finished';
    // Nobody put the old image line back: the file must name what runs.
    if (result === 'rolled-back' && record.mode === 'tag' && input.rewrite) await restoreServiceImage(record.service, record.from, input.rewrite);
  }
  const key = serviceKey(record.project.name, record.service);
  let outcome: ApplyOutcome | undefined;
  if (result === 'updated' && own.imageId === record.newImageId) {
    const durationMs = record.healthyAt ? Date.parse(record.healthyAt) - Date.parse(record.handedOverAt) : undefined;
    log.info({ from: record.from, to: record.to, durationMs }, `self-update to ${record.to} confirmed`);
    state?.recordUpdate(key, { from: record.from, to: record.to, outcome: 'updated', backup: record.backup, digest: record.remoteDigest });
    const pruned = input.prune && record.previousImageId
      ? await runtime.prune(record.previousImageId, record.mode === 'tag' ? record.from : undefined).catch((err) => {
        log.warn(`could not prune the replaced image: ${errorMessage(err)}`);
        return 'kept' as const;
      })
      : 'kept';
    outcome = { status: 'updated', from: record.from, to: record.to, backup: record.backup, recreated: true, rollout: 'recreate', note: 'self-update',
      pruned: pruned === 'removed' ? [record.previousImageId!] : [], labels: own.labels, digest: record.remoteDigest };
  } else if (result === 'updated') {
    log.warn({ to: record.to }, `the self-update helper reported ${record.to} healthy, but this container runs another image; not recording it`);
  } else {
    const why = reason ?? 'unknown';
    state?.recordFailed(key, { tag: record.toTag, digest: record.mode === 'digest' ? record.remoteDigest : undefined, reason: why });
    state?.recordUpdate(key, { from: record.from, to: record.to, outcome: result === 'rolled-back' ? 'rolled-back' : 'failed', detail: why });
    log.error({ from: record.from, to: record.to }, `self-update to ${record.to} failed: ${why}; ${result === 'rolled-back' ? `rolled back to ${record.from}` : 'the rollback failed too'}`);
    outcome = result === 'rolled-back'
      ? { status: 'rolled-back', from: record.from, to: record.to, reason: why, failedTag: record.toTag, failedDigest: record.mode === 'digest' ? record.remoteDigest : undefined }
      : { status: 'failed', from: record.from, to: record.to, reason: why };
  }
  await state?.save();
  await fsp.rm(self.recordFile, { force: true });
  return { busy: false, outcome };
}

/**
 * What a cycle needs to know about self-updates: our own service (to hand its update over), after settling
 * a finished one (`settled`: its outcome, for the cycle's report). `busy` names our service while its helper
 * is still at work, so it is not planned again.
 */
export async function prepareSelfUpdate(input: Omit<SettleInput, 'self'> & { stateDir: string; dryRun: boolean }): Promise<{ target?: SelfTarget; busy?: string; settled: Array<{ service: string; outcome: ApplyOutcome }> }> {
  if (input.dryRun) return { settled: [] };
  const target = await selfTarget(input.runtime, input.project, input.stateDir).catch(() => undefined);
  if (!target) return { settled: [] };
  const settled: Settled = await settleSelfUpdate({ ...input, self: target }).catch((err) => {
    input.logger.warn({ service: target.service }, `self-update record ${target.recordFile}: ${errorMessage(err)}`);
    return { busy: true };
  });
  return { target, busy: settled.busy ? target.service : undefined, settled: settled.outcome ? [{ service: target.service, outcome: settled.outcome }] : [] };
}
