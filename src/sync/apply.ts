import type Docker from 'dockerode';
import { readFile } from 'node:fs/promises';
import type { Logger } from '../util/logger.js';
import { errorMessage } from '../util/errors.js';
import type { ServicePlan } from './plan.js';
import { setServiceImage } from '../compose/mutate.js';
import { replaceFileSafely } from '../compose/writer.js';
import { pullImage, removeReplacedImage, listComposeContainers, retagImage } from '../engine/docker.js';
import { composeUp, type ComposeProject } from '../engine/compose-cli.js';
import { waitHealthy } from '../engine/health.js';
import type { Credential } from '../registry/types.js';

export interface ApplyContext {
  docker: Docker;
  project: ComposeProject;
  logger: Logger;
  credentials: (registry: string) => Promise<Credential | undefined>;
  /** Compose file texts as dosync last read or wrote them: a file that differs on disk was edited meanwhile. */
  knownTexts: Map<string, string>;
  backupDir?: string;
  keepBackups: number;
  health: { timeoutMs: number; stableMs: number };
  prune: boolean;
}

export type ApplyOutcome =
  | { status: 'updated'; from: string; to: string; backup?: string; pruned: string[]; recreated: boolean; note?: string }
  | { status: 'rolled-back'; from: string; to: string; reason: string; failedTag: string }
  | { status: 'failed'; from: string; to: string; reason: string };

/**
 * One service update: pull first (nothing is touched if that fails), then back up and rewrite the image
 * line, recreate through Compose, and wait for health. On failure the previous image line is written back
 * and the service recreated on its old image, so the stack is as it was.
 */
export async function applyUpdate(plan: ServicePlan, ctx: ApplyContext): Promise<ApplyOutcome> {
  const d = plan.decision;
  if (d.kind !== 'update') throw new Error('applyUpdate called without an update decision');
  const svc = plan.service;
  const log = ctx.logger.child({ service: svc.name });
  const from = svc.rawImage ?? svc.image!;
  const to = d.newImage;
  const file = svc.imageFile!;
  const registry = plan.ref!.registry;

  const before = await listComposeContainers(ctx.docker, { project: ctx.project.name, service: svc.name });
  const running = before.filter((c) => c.state === 'running');
  const oldImageIds = [...new Set(before.map((c) => c.imageId))];

  let newImageId: string;
  try {
    newImageId = await pullImage(ctx.docker, d.pullRef, registry, await ctx.credentials(registry));
    log.debug({ image: d.pullRef, id: newImageId }, 'pulled');
  } catch (err) {
    return { status: 'failed', from, to, reason: errorMessage(err) };
  }

  let backup: string | undefined;
  let original: string | undefined;
  if (d.mode === 'tag') {
    original = ctx.knownTexts.get(file) ?? (await readFile(file, 'utf8'));
    const updated = setServiceImage(original, svc.name, to);
    const written = await replaceFileSafely(file, updated, { expectedOriginal: original, backupDir: ctx.backupDir, keep: ctx.keepBackups });
    ctx.knownTexts.set(file, updated);
    backup = written.backupPath;
    if (written.mode === 'in-place') log.warn({ file }, 'compose file is a single-file bind mount: rewrote it in place (verified) instead of an atomic rename');
    log.info({ file, backup }, `compose file updated: ${from} -> ${to}`);
  }

  if (running.length === 0) {
    // The user has this service stopped (or the stack is down): keep the file current, start nothing.
    return { status: 'updated', from, to, backup, pruned: [], recreated: false };
  }

  const failure = await recreateAndCheck(ctx, svc.name, newImageId, Math.max(svc.replicas, running.length));
  if (!failure) {
    const pruned: string[] = [];
    if (ctx.prune) {
      for (const id of oldImageIds.filter((id) => id !== newImageId)) {
        const oldRef = d.mode === 'tag' ? svc.image : undefined;
        const result = await removeReplacedImage(ctx.docker, id, oldRef).catch((err) => {
          log.warn({ image: id.slice(7, 19) }, `could not prune replaced image: ${errorMessage(err)}`);
          return 'kept' as const;
        });
        if (result === 'removed') pruned.push(id);
      }
    }
    return { status: 'updated', from, to, backup, pruned, recreated: true };
  }

  log.warn({ reason: failure }, `update to ${to} failed; rolling back to ${from}`);
  if (original !== undefined) {
    const current = await readFile(file, 'utf8');
    // Only our line goes back: edits the user made meanwhile survive.
    const reverted = setServiceImage(current, svc.name, from);
    await replaceFileSafely(file, reverted, { expectedOriginal: current, backupDir: ctx.backupDir, keep: ctx.keepBackups });
    ctx.knownTexts.set(file, reverted);
  }
  const oldId = oldImageIds[0];
  // A digest update moved the tag itself: point it back at the old image before recreating.
  if (d.mode === 'digest' && oldId) await retagImage(ctx.docker, oldId, d.pullRef);
  const rollbackFailure = oldId ? await recreateAndCheck(ctx, svc.name, oldId, Math.max(svc.replicas, running.length)) : 'no previous image to return to';
  if (rollbackFailure) {
    return { status: 'failed', from, to, reason: `${failure}; rollback also failed: ${rollbackFailure}` };
  }
  return { status: 'rolled-back', from, to, reason: failure, failedTag: d.mode === 'digest' ? d.remoteDigest! : d.toTag };
}

async function recreateAndCheck(ctx: ApplyContext, service: string, imageId: string, replicas: number): Promise<string | undefined> {
  try {
    await composeUp(ctx.project, [service]);
  } catch (err) {
    return errorMessage(err);
  }
  const health = await waitHealthy(ctx.docker, ctx.project.name, service, imageId, replicas, ctx.health);
  return health.healthy ? undefined : health.reason;
}
