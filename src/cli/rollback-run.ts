/** The work of `dosync rollback`, loaded only when that command runs. */
import { readFile } from 'node:fs/promises';
import { UserError, errorMessage } from '../util/errors.js';
import { stackInputs } from './common.js';
import { healthOf, keepBackupsOf, resolveSettings } from '../settings/index.js';
import { envFlag } from './env-defaults.js';
import { createRegistryRuntime } from './registry-runtime.js';
import { createDocker, createRuntime } from '../engine/index.js';
import { prepare } from '../sync/cycle.js';
import { StateStore, defaultStatePath, serviceKey } from '../sync/state.js';
import { resolveBackupDir, resolveStateDir } from '../sync/dirs.js';
import { acquireLock } from '../sync/lock.js';
import { readStack } from '../compose/stack.js';
import { findBackup, listBackups, type StackFile } from '../compose/backups.js';
import { backupTargets, executeRollback, lastUpdateTargets, previousFromHistory, tagOf, type Selection, type ServiceView } from '../sync/rollback.js';
import type { RollbackFlags } from './rollback.js';

export async function rollbackAction(service: string | undefined, flags: RollbackFlags, write: (text: string) => void): Promise<number> {
  const env = process.env;
  // stdout carries the result; logs (quiet unless -v) go to stderr.
  const inputs = await stackInputs({ ...flags, logFormat: flags.logFormat ?? 'json' }, process.stderr);
  const { config, logger } = inputs;
  if (!(flags.verbose ?? envFlag(env, 'DOSYNC_VERBOSE', 'VERBOSE'))) logger.level = 'warn';
  // The same resolver as sync: flag > env > dosync.yaml > default.
  const resolved = resolveSettings(flags, env, config, inputs.configPath);
  const keepBackups = keepBackupsOf(resolved);
  const health = healthOf(resolved);
  const backupDir = inputs.dirs?.backupDir ?? resolveBackupDir({ flags, env, config });
  const stateDir = inputs.dirs?.stateDir ?? resolveStateDir({ flags, env, config, files: inputs.files });
  const state = await StateStore.open(defaultStatePath(stateDir));
  for (const w of state.warnings) logger.warn(w);

  const runtime = await createRegistryRuntime(config, inputs.configEnv, logger, inputs.configPath);
  const docker = createDocker();
  const prepared = await prepare({ ...inputs }, { docker, runtime: await createRuntime(docker, { stack: inputs.stack, credentials: runtime.credentials }), logger, state, ...runtime });
  const key = (name: string) => serviceKey(prepared.project.name, name);
  const views = new Map<string, ServiceView>(prepared.stack.services.map((s) => [s.name, { image: s.image, history: state.get(key(s.name))?.history ?? [] }]));

  let selection: Selection;
  if (flags.to) {
    const files: StackFile[] = [...inputs.files.map((path) => ({ path, kind: 'compose' as const })), ...prepared.envFiles.map((path) => ({ path, kind: 'env' as const }))];
    const backup = await findBackup(flags.to, await listBackups(files, backupDir), files);
    const text = await readFile(backup.path, 'utf8');
    // The stack as it was: the backup read in place of the file it was taken of.
    const textOf = (path: string) => (path === backup.target.path ? text : prepared.texts.get(path) ?? '');
    const then = readStack(
      inputs.files.map((path) => ({ path, text: textOf(path) })), process.env,
      { envFiles: prepared.envFiles.map((path) => ({ path, text: textOf(path) })) },
    );
    selection = backupTargets({ current: views, backup: new Map(then.services.map((s) => [s.name, s.image])), backupName: backup.name, backupTime: backup.time, service });
  } else if (service) {
    selection = { targets: [previousFromHistory(service, views.get(service))], notes: [] };
  } else {
    selection = lastUpdateTargets(views);
  }
  for (const note of selection.notes) write(`note: ${note}\n`);

  const prune = flags.prune && config.prune !== false;
  if (flags.dryRun) {
    for (const t of selection.targets) {
      const tag = tagOf(t.from);
      write(`would roll back ${t.service}: ${t.from} -> ${t.to} (${t.why})${tag ? `; tag ${tag} would be recorded as failed` : ''}\n`);
    }
    const pending = state.pendingIntent();
    if (pending) write(`note: an interrupted update of ${pending.service} is pending; a real rollback would refuse until \`dosync sync --once\` recovers it\n`);
    return 0;
  }

  const pending = state.pendingIntent();
  if (pending) throw new UserError(`an interrupted update of ${pending.service} (${pending.step}) is still pending in ${state.path}; run \`dosync sync --once\` to recover it, then roll back`);
  const lock = await acquireLock(stateDir, prepared.project.name).catch((err) => {
    throw new UserError(`${errorMessage(err)} (a rollback changes that dosync's stack and state: stop it first and start it again afterwards)`);
  });
  try {
    for (const w of lock.warnings) logger.warn(w);
    const results = await executeRollback(selection.targets, {
      files: inputs.files, envFiles: prepared.envFiles, texts: prepared.texts, stack: prepared.stack, project: prepared.project,
      config, health, rolling: envFlag(env, 'DOSYNC_ROLLING_UPDATE') ?? false, prune, backupDir, keepBackups,
    }, { runtime: prepared.runtime, logger, credentials: runtime.credentials, state });
    const done = results.filter((r) => r.status === 'rolled-back');
    if (done.length === results.length) {
      for (const r of done) {
        write(`rolled back ${r.service}: ${r.from} -> ${r.to} (healthy${r.backup ? `; previous file in ${r.backup}` : ''})\n`);
        if (r.status === 'rolled-back' && r.failedTag) write(`${r.service}: tag ${r.failedTag} recorded as failed; dosync will not update to it again (a newer tag still applies)\n`);
      }
      return 0;
    }
    // Members that were fine carry "<the failing one> failed: ..."; name only the failure itself.
    const reasons = results.flatMap((r) => (r.status !== 'rolled-back' && !results.some((o) => o !== r && r.reason.startsWith(`${o.service} failed: `))
      ? [`${r.service} on ${r.to}: ${r.reason}`] : []));
    const failed = results.some((r) => r.status === 'failed');
    throw new UserError(failed
      ? `rollback failed and could not put everything back: ${reasons.join('; ')}; check \`docker compose ps\` and the compose file`
      : `rollback not applied: ${reasons.join('; ')}; ${results.map((r) => r.service).join(', ')} ${results.length > 1 ? 'are' : 'is'} back on the image ${results.length > 1 ? 'they' : 'it'} had`);
  } finally {
    lock.release();
  }
}
