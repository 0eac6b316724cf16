import { recoverIntent, type StateStore } from './state.js';
import type { Stack, StackService } from '../compose/stack.js';
import { replaceTarget, type ApplyContext } from './apply.js';
import { restoreServiceImage } from './rewrite.js';
import { errorMessage } from '../util/errors.js';

interface Member {
  key: string;
  name: string;
  from: string;
  to: string;
  previousImageId?: string;
  /** Whether it ran when the update began (a stopped job is not started by recovery). */
  running: boolean;
  service?: StackService;
}

/**
 * An update was interrupted (crash, kill -9, power loss): the state holds the step it was in. Before the
 * step where the services were being recreated, put them back as they were; from there on, finish it
 * (recreate and health-gate), and roll back if that fails. A unit (services one edit moved together) is
 * finished or rolled back as a whole. A recovery that cannot complete is logged and the intent kept, so the
 * next start tries again instead of acting on a half-known stack.
 */
export async function recoverPending(store: StateStore, stack: Stack, ctx: ApplyContext): Promise<void> {
  const intent = store.pendingIntent()!;
  const members: Member[] = (intent.members ?? [{ service: intent.service, from: intent.from, to: intent.to, previousImageId: intent.previousImageId, running: true }])
    .map((m) => {
      const name = m.service.slice(m.service.indexOf('/') + 1);
      return { key: m.service, name, from: m.from, to: m.to, previousImageId: m.previousImageId, running: m.running ?? true, service: stack.services.find((s) => s.name === name) };
    });
  const what = intent.unit ? `unit ${intent.unit}` : members[0].name;
  const log = ctx.logger.child(intent.unit ? { unit: intent.unit } : { service: members[0].name });
  const plan = recoverIntent(intent);
  log.warn({ step: intent.step, from: intent.from, to: intent.to }, `an interrupted update was found${intent.unit ? ` (unit ${intent.unit})` : ''}: ${plan.action === 'finish' ? 'finishing' : 'rolling back'} it (${plan.reason})`);
  const present = members.filter((m) => m.service);
  if (present.length === 0) {
    log.warn('the service is no longer in the compose file; dropping the interrupted update');
    await store.endIntent();
    return;
  }
  const active = present.filter((m) => m.running);
  const runtime = ctx.runtime;
  const replicas = (m: Member) => runtime.instances(ctx.project.name, m.name).then((c) => Math.max(m.service!.replicas, c.filter((x) => x.state === 'running').length, 1));
  // What the file names now, finishing (the new images) or rolling back (the old ones, once restored).
  const settle = async (back: boolean): Promise<string | undefined> => {
    if (active.length === 0) return undefined;
    const targets = active.map((m) => replaceTarget(m.service!, back ? m.from : m.to, (back ? m.previousImageId : undefined) ?? ''));
    await (back ? runtime.restore(ctx.project, targets) : runtime.replace(ctx.project, targets));
    const verdicts = await Promise.all(active.map(async (m) => {
      const h = await runtime.waitHealthy(ctx.project.name, m.name, () => true, await replicas(m), ctx.settings({ service: m.service!, decision: { kind: 'skipped', reason: '' } }).health);
      return h.healthy ? undefined : (active.length > 1 ? `${m.name}: ${h.reason}` : h.reason);
    }));
    const bad = verdicts.filter(Boolean);
    return bad.length > 0 ? bad.join('; ') : undefined;
  };
  const rollBack = async (recreate: boolean) => {
    for (const m of present) await restoreServiceImage(m.name, m.from, ctx);
    if (intent.mode === 'digest') for (const m of present) if (m.previousImageId) await runtime.repoint(m.previousImageId, m.from);
    if (!recreate) return;
    const failed = await settle(true);
    if (failed) throw new Error(`after rolling back: ${failed}`);
  };
  try {
    if (plan.action === 'finish') {
      const failed = await settle(false);
      if (!failed) {
        for (const m of present) store.recordUpdate(m.key, { from: m.from, to: m.to, outcome: 'updated', backup: intent.backup, detail: 'finished after an interruption', unit: intent.unit });
        log.info(`interrupted update of ${what} to ${intent.to} finished`);
      } else {
        await rollBack(true);
        for (const m of present) {
          store.recordFailed(m.key, { tag: tagOf(m.to), reason: failed });
          store.recordUpdate(m.key, { from: m.from, to: m.to, outcome: 'rolled-back', detail: failed, unit: intent.unit });
        }
        log.error(`interrupted update of ${what} to ${intent.to} was unhealthy (${failed}); rolled back to ${intent.from}`);
      }
    } else {
      await rollBack(plan.recreate);
      if (plan.markFailed) for (const m of present) store.recordFailed(m.key, { tag: tagOf(m.to), reason: 'rolled back after an interruption' });
      log.info(`interrupted update of ${what} rolled back to ${intent.from}`);
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
