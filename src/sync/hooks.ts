/**
 * Lifecycle hooks: a command run inside a service's container around its update (exec through the engine),
 * named by compose labels:
 *   dosync.hook.pre-update / dosync.hook.post-update                      (the command, run with `sh -c`)
 *   dosync.hook.pre-update-timeout / dosync.hook.post-update-timeout      (a duration, default 1m)
 *   com.centurylinklabs.watchtower.lifecycle.pre-update / post-update     (Watchtower's names, honoured too)
 *   com.centurylinklabs.watchtower.lifecycle.pre-update-timeout / ...     (Watchtower's: minutes)
 * pre-update runs in every running container of the service before anything is pulled or changed; a failure
 * (non-zero exit, timeout, no shell) skips the update with the hook's output in the reason, nothing touched.
 * post-update runs in the new containers once they are healthy; a failure is reported, the update stays.
 */
import type { ExecResult, Runtime } from '../engine/index.js';
import { errorMessage } from '../util/errors.js';
import { parseDuration } from '../util/duration.js';
import type { Logger } from '../util/logger.js';
import type { StackService } from '../compose/stack.js';

export type HookPhase = 'pre-update' | 'post-update';

export interface Hook { phase: HookPhase; command: string; timeoutMs: number; label: string }

const DEFAULT_TIMEOUT_MS = 60_000;

/** The labels of each phase, dosync's first, then Watchtower's (whose timeout counts minutes). */
const LABELS: Record<HookPhase, { own: string; ownTimeout: string; watchtower: string; watchtowerTimeout: string }> = {
  'pre-update': {
    own: 'dosync.hook.pre-update', ownTimeout: 'dosync.hook.pre-update-timeout',
    watchtower: 'com.centurylinklabs.watchtower.lifecycle.pre-update', watchtowerTimeout: 'com.centurylinklabs.watchtower.lifecycle.pre-update-timeout',
  },
  'post-update': {
    own: 'dosync.hook.post-update', ownTimeout: 'dosync.hook.post-update-timeout',
    watchtower: 'com.centurylinklabs.watchtower.lifecycle.post-update', watchtowerTimeout: 'com.centurylinklabs.watchtower.lifecycle.post-update-timeout',
  },
};

/** The hook a service's labels set for a phase, dosync's label first, then Watchtower's (pure). */
export function hookFor(labels: Record<string, string>, phase: HookPhase): Hook | undefined {
  const names = LABELS[phase];
  const label = labels[names.own]?.trim() ? names.own : labels[names.watchtower]?.trim() ? names.watchtower : undefined;
  if (!label) return undefined;
  let timeoutMs = DEFAULT_TIMEOUT_MS;
  const ownTimeout = labels[names.ownTimeout];
  const wtTimeout = labels[names.watchtowerTimeout];
  if (ownTimeout) timeoutMs = parseDuration(ownTimeout, `label ${names.ownTimeout}`);
  else if (wtTimeout && /^\d+$/.test(wtTimeout.trim())) timeoutMs = Number(wtTimeout) * 60_000;
  return { phase, command: labels[label].trim(), timeoutMs, label };
}

export type HookResult = ExecResult;

/** `pre-update hook (label ...) exited 3: <output>`, one line. */
export function describeFailure(hook: Hook, result: HookResult | { error: string }): string {
  const what = `${hook.phase} hook (label ${hook.label})`;
  if ('error' in result) return `${what} could not run: ${result.error}`;
  const how = result.timedOut ? `timed out after ${Math.round(hook.timeoutMs / 1000)}s` : `exited ${result.exitCode ?? '?'}`;
  const output = result.output.replace(/\s*\n\s*/g, ' | ');
  return `${what} ${how}${output ? `: ${output}` : ''}`;
}

export interface HookContext {
  runtime: Runtime;
  project: { name: string };
  logger: Logger;
}

/** Runs a phase's hook in every running container of the service; the first failure, described, or undefined. */
async function runPhase(service: StackService, phase: HookPhase, ctx: HookContext): Promise<string | undefined> {
  const hook = hookFor(service.labels ?? {}, phase);
  if (!hook) return undefined;
  const containers = (await ctx.runtime.instances(ctx.project.name, service.name)).filter((c) => c.state === 'running');
  for (const c of containers) {
    const log = ctx.logger.child({ service: service.name, container: c.name, hook: phase });
    let result: HookResult;
    try {
      result = await ctx.runtime.exec(c.id, ['sh', '-c', hook.command], hook.timeoutMs);
    } catch (err) {
      return describeFailure(hook, { error: errorMessage(err) });
    }
    if (!result.ok) return describeFailure(hook, result);
    log.info(`${phase} hook ran${result.output ? `: ${result.output.split('\n').pop()}` : ''}`);
  }
  return undefined;
}

const HOOK_LABELS = Object.values(LABELS).flatMap((l) => [l.own, l.watchtower]);

/** `enforce`: a failing pre-update hook skips the update; `advisory` (rollbacks): it is reported and the change goes on. */
export type HookMode = 'enforce' | 'advisory';

type Outcome = { status: string; reason?: string; note?: string; recreated?: boolean };

/**
 * Wraps one unit's update in its services' hooks: pre-update first (a failure returns `refuse(reason)`
 * and the update is not started), then the update, then post-update in each updated, recreated service.
 */
export async function withLifecycleHooks<O extends Outcome>(
  services: StackService[], ctx: HookContext, refuse: (reason: string) => O[], update: () => Promise<O[]>,
  mode: HookMode = 'enforce',
): Promise<O[]> {
  if (!services.some((s) => HOOK_LABELS.some((l) => s.labels?.[l]?.trim()))) return update();
  for (const s of services) {
    const failure = await runPhase(s, 'pre-update', ctx).catch((err: unknown) => errorMessage(err));
    if (failure && mode === 'advisory') ctx.logger.warn({ service: s.name }, `${failure}; going on (a rollback is never held back by a hook)`);
    else if (failure) {
      ctx.logger.warn({ service: s.name }, `update skipped: ${failure}`);
      return refuse(failure);
    }
  }
  const outcomes = await update();
  for (const [i, s] of services.entries()) {
    const o = outcomes[i];
    if (o?.status !== 'updated' || o.recreated === false) continue;
    const failure = await runPhase(s, 'post-update', ctx).catch((err: unknown) => errorMessage(err));
    if (failure) {
      ctx.logger.warn({ service: s.name }, failure);
      o.note = o.note ? `${o.note}; ${failure}` : failure;
    }
  }
  return outcomes;
}
