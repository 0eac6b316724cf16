/** A rollback the daemon runs itself between cycles (dashboard, API): the same path as `dosync rollback SERVICE`. */
import { prepare, type CycleDeps, type CycleSettings } from './cycle.js';
import { executeRollback, previousFromHistory, tagOf } from './rollback.js';
import { serviceKey, type StateStore } from './state.js';

export async function rollbackOne(service: string, settings: CycleSettings, deps: CycleDeps & { state: StateStore }): Promise<string> {
  const prepared = await prepare(settings, deps);
  const svc = prepared.stack.services.find((s) => s.name === service);
  const target = previousFromHistory(service, { image: svc?.image, history: deps.state.get(serviceKey(prepared.project.name, service))?.history ?? [] });
  const [r] = await executeRollback([target], {
    files: settings.files, envFiles: prepared.envFiles, texts: prepared.texts, stack: prepared.stack, project: prepared.project,
    config: settings.config, health: settings.health, rolling: settings.rolling, prune: settings.prune, backupDir: settings.backupDir, keepBackups: settings.keepBackups,
  }, { runtime: prepared.runtime, logger: deps.logger, credentials: deps.credentials, state: deps.state });
  const key = serviceKey(prepared.project.name, service);
  if (r.status === 'rolled-back') {
    deps.state.setStatus(key, { kind: 'rolled-back', current: tagOf(r.to), tag: r.failedTag, reason: `rolled back by request from ${r.from} to ${r.to}` });
    await deps.state.save();
    return `rolled back ${service}: ${r.from} -> ${r.to}`;
  }
  deps.state.setStatus(key, { kind: 'error', reason: `rollback to ${r.to} failed: ${r.reason}` });
  await deps.state.save();
  return `rollback of ${service} to ${r.to} failed: ${r.reason}`;
}
