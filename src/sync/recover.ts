import { recoverIntent, type StateStore } from './state.js';
import type { Stack } from '../compose/stack.js';
import type { ApplyContext } from './apply.js';
import { restoreServiceImage } from './rewrite.js';
import { retagImage, listComposeContainers } from '../engine/docker.js';
import { composeUp } from '../engine/compose-cli.js';
import { waitHealthy } from '../engine/health.js';
import { errorMessage } from '../util/errors.js';

/**
 * An update was interrupted (crash, kill -9, power loss): the state holds the step it was in. Before the
 * step where the service was being recreated, put it back as it was; from there on, finish it (recreate
 * and health-gate), and roll back if that fails. A recovery that cannot complete is logged and the intent
 * kept, so the next start tries again instead of acting on a half-known stack.
 */
export async function recoverPending(store: StateStore, stack: Stack, ctx: ApplyContext): Promise<void> {
  const intent = store.pendingIntent()!;
  const name = intent.service.slice(intent.service.indexOf('/') + 1);
  const log = ctx.logger.child({ service: name });
  const service = stack.services.find((s) => s.name === name);
  const plan = recoverIntent(intent);
  log.warn({ step: intent.step, from: intent.from, to: intent.to }, `an interrupted update was found: ${plan.action === 'finish' ? 'finishing' : 'rolling back'} it (${plan.reason})`);
  if (!service) {
    log.warn('the service is no longer in the compose file; dropping the interrupted update');
    await store.endIntent();
    return;
  }
  const replicas = () => listComposeContainers(ctx.docker, { project: ctx.project.name, service: name }).then((c) => Math.max(service.replicas, c.filter((x) => x.state === 'running').length, 1));
  const rollBack = async (recreate: boolean) => {
    await restoreServiceImage(name, intent.from, ctx);
    if (intent.mode === 'digest' && intent.previousImageId) await retagImage(ctx.docker, intent.previousImageId, intent.from);
    if (!recreate) return;
    await composeUp(ctx.project, [name]);
    const h = await waitHealthy(ctx.docker, ctx.project.name, name, () => true, await replicas(), ctx.settings({ service, decision: { kind: 'skipped', reason: '' } }).health);
    if (!h.healthy) throw new Error(`after rolling back: ${h.reason}`);
  };
  try {
    if (plan.action === 'finish') {
      await composeUp(ctx.project, [name]);
      const h = await waitHealthy(ctx.docker, ctx.project.name, name, () => true, await replicas(), ctx.settings({ service, decision: { kind: 'skipped', reason: '' } }).health);
      if (h.healthy) {
        store.recordUpdate(intent.service, { from: intent.from, to: intent.to, outcome: 'updated', backup: intent.backup, detail: 'finished after an interruption' });
        log.info(`interrupted update to ${intent.to} finished`);
      } else {
        await rollBack(true);
        store.recordFailed(intent.service, { tag: tagOf(intent.to), reason: h.reason });
        store.recordUpdate(intent.service, { from: intent.from, to: intent.to, outcome: 'rolled-back', detail: h.reason });
        log.error(`interrupted update to ${intent.to} was unhealthy (${h.reason}); rolled back to ${intent.from}`);
      }
    } else {
      await rollBack(plan.recreate);
      if (plan.markFailed) store.recordFailed(intent.service, { tag: tagOf(intent.to), reason: 'rolled back after an interruption' });
      log.info(`interrupted update rolled back to ${intent.from}`);
    }
    await store.endIntent();
  } catch (err) {
    log.error(`recovery of the interrupted update failed: ${errorMessage(err)}; will retry at the next cycle`);
  }
}

function tagOf(image: string): string {
  const slash = image.lastIndexOf('/');
  const colon = image.lastIndexOf(':');
  return colon > slash ? image.slice(colon + 1).replace(/@.*$/, '') : 'latest';
}
