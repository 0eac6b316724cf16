/** The work of `dosync sync`, loaded only when that command runs. */
import { dirname } from 'node:path';
import { ConfigError } from '../util/errors.js';
import { parseDuration } from '../util/duration.js';
import { envFlag, envValue } from './env-defaults.js';
import { stackInputs } from './common.js';
import { DEFAULT_INTERVAL, type SyncFlags } from './sync.js';
import { createDocker, createRuntime } from '../engine/index.js';
import { runCycle, loadStack, stackEnvFiles, type CycleSettings, type CycleReport } from '../sync/cycle.js';
import { StateStore, defaultStatePath } from '../sync/state.js';
import { resolveBackupDir, resolveStateDir } from '../sync/dirs.js';
import { acquireLock } from '../sync/lock.js';
import { defaultProjectName, resolveProject } from '../engine/project.js';
import { startDaemon } from '../sync/daemon.js';
import { parseSchedule, nextRun } from '../sync/schedule.js';
import { startHeartbeat } from '../sync/heartbeat.js';
import { cycleEvents } from '../sync/events.js';
import { createNotifier, parseChannels } from '../notify/index.js';
import type { Metrics } from '../metrics/index.js';
import type { StatusDoc } from '../api/index.js';
import { loadConfigFile } from '../config/file.js';
import { errorMessage } from '../util/errors.js';
import { serviceKey } from '../sync/state.js';
import { parseImageReference, repositoryKey } from '../reference/index.js';
import { createRegistryRuntime } from './registry-runtime.js';


export async function syncAction(flags: SyncFlags): Promise<number> {
  const env = process.env;
  const { files, envFile, configEnv, config, configPath, logger, projectName: explicitProject, stack: stackName } = await stackInputs(flags);
  // Parsed before anything runs: a bad --interval/--schedule is a startup error even with --once.
  const schedule = parseSchedule({
    interval: flags.interval ?? envValue(env, 'DOSYNC_INTERVAL', 'CHECK_INTERVAL') ?? (config.schedule ? undefined : config.interval ?? DEFAULT_INTERVAL),
    schedule: flags.schedule ?? envValue(env, 'DOSYNC_SCHEDULE') ?? config.schedule,
    jitter: flags.jitter ?? envValue(env, 'DOSYNC_JITTER') ?? config.jitter,
    timeZone: config.timezone,
  });
  const keep = flags.keepBackups ?? envValue(env, 'DOSYNC_KEEP_BACKUPS');
  const keepBackups = keep !== undefined ? Number(keep) : config.keep_backups ?? 10;
  if (!Number.isInteger(keepBackups) || keepBackups < 1) throw new ConfigError(`--keep-backups: "${keep}" is not a whole number of at least 1`);
  const backupDir = resolveBackupDir({ flags, env, config });
  const settings: CycleSettings = {
    files,
    envFile,
    configPath,
    config,
    dryRun: flags.dryRun ?? envFlag(env, 'DOSYNC_DRY_RUN') ?? false,
    backupDir,
    keepBackups,
    health: {
      timeoutMs: flags.healthTimeout ? parseDuration(flags.healthTimeout, '--health-timeout') : config.health?.timeout ?? 120_000,
      stableMs: flags.healthStable ? parseDuration(flags.healthStable, '--health-stable') : config.health?.stable ?? 10_000,
    },
    prune: flags.prune && config.prune !== false,
    rolling: flags.rollingUpdate ?? envFlag(env, 'DOSYNC_ROLLING_UPDATE') ?? false,
    projectName: explicitProject,
    oneShot: flags.once ?? false,
    forced: flags.forced,
  };
  // Read the stack once up front: a bad compose file is a startup error, and it names the project to lock.
  const docker = createDocker();
  const envFiles = await stackEnvFiles(settings.files, envFile);
  const { stack } = await loadStack(settings.files, envFiles);
  // The containers' labels name the project (in a sidecar the file's directory is just /app); the
  // directory name is the fallback when the engine cannot be asked yet.
  const projectName = settings.projectName ?? stack.projectName
    ?? (await resolveProject(docker, { files: settings.files, envFiles, serviceNames: stack.services.map((s) => s.name) }).then((p) => p.name, () => undefined))
    ?? defaultProjectName(dirname(settings.files[0]));
  const stateDir = resolveStateDir({ flags, env, config, files: settings.files });
  const state = await StateStore.open(defaultStatePath(stateDir));
  for (const w of state.warnings) logger.warn(w);
  if (!settings.dryRun) {
    // A dry run only reads, so it may run next to the daemon; anything that writes holds the project's lock.
    const lock = await acquireLock(stateDir, projectName);
    for (const w of lock.warnings) logger.warn(w);
  }
  // Only a daemon that serves /metrics keeps metrics: prom-client alone is ~13 MB resident.
  const listen = flags.once ? undefined : flags.listen ?? envValue(env, 'DOSYNC_LISTEN') ?? config.listen;
  const metrics = listen ? (await import('../metrics/index.js')).createMetrics() : undefined;
  const registry = await createRegistryRuntime(config, configEnv, logger, configPath, { observer: metrics });
  const controller = new AbortController();
  const runtime = await createRuntime(docker, { stack: stackName, credentials: registry.credentials });
  const deps = { docker, runtime, logger, state, stopping: () => controller.signal.aborted, ...registry };

  const checkOnly = flags.checkOnly ?? envFlag(env, 'DOSYNC_CHECK_ONLY') ?? config.check_only ?? false;
  settings.dryRun ||= checkOnly;
  settings.stateDir = stateDir;
  const notifyUrls = [...(config.notify ?? []), ...flags.notify, ...(envValue(env, 'DOSYNC_NOTIFY')?.split(/\s*,\s*/).filter(Boolean) ?? [])];
  const notifier = notifyUrls.length > 0 ? createNotifier(parseChannels(notifyUrls), { logger }) : undefined;
  const errorStreaks = new Map<string, number>();
  const unverified = new Set<string>();
  let last: { report?: CycleReport; at?: Date; ok: boolean } = { ok: true };

  // What the next cycle was asked for by the API or a webhook: check only, or only some services.
  let requested: { checkOnly?: boolean; services?: string[] } | undefined;
  const cycle = async () => {
    const ask = requested;
    requested = undefined;
    const report = await runCycle({ ...settings, dryRun: settings.dryRun || ask?.checkOnly === true, onlyServices: ask?.services }, deps);
    const at = new Date();
    last = { report, at, ok: report.failures === 0 };
    if (metrics) recordMetrics(metrics, report);
    const events = cycleEvents(report, { project: projectName, checkOnly, errorStreaks, unverified, persistAfter: 3, now: at });
    // Delivery is retried in the background; it never holds up the next update.
    if (notifier && events.length > 0) void notifier.notify(events);
    return report;
  };

  if (flags.once) {
    const report = await cycle();
    await notifier?.flush();
    return report.failures > 0 ? 1 : 0;
  }

  // The API is bound before the first cycle: a --listen that cannot be bound stops dosync with one line,
  // instead of leaving a daemon running without its API.
  let daemon: ReturnType<typeof startDaemon> | undefined;
  const api = listen && metrics ? await (await import('../api/index.js')).startApiServer({
    listen, token: flags.apiToken ?? envValue(env, 'DOSYNC_API_TOKEN') ?? config.api_token, metrics, logger,
    status: () => statusDoc(last.report, state, projectName),
    trigger: async (what, service) => {
      const known = last.report?.plans.map((p) => p.service.name);
      if (service && known && !known.includes(service)) return { accepted: false, reason: `no service "${service}" in the compose file` };
      requested = { checkOnly: what === 'check', services: service ? [service] : undefined };
      daemon?.wake();
      return { accepted: true };
    },
    onRegistryPush: async (images) => {
      // Check at once only the services that run a pushed repository.
      const pushed = new Set(images.map((i) => { try { return repositoryKey(parseImageReference(i)); } catch { return i; } }));
      const services = (last.report?.plans ?? []).filter((p) => p.ref && pushed.has(repositoryKey(p.ref))).map((p) => p.service.name);
      if (services.length === 0) return;
      requested = { services };
      daemon?.wake();
    },
    healthy: () => {
      const maxAge = (schedule.kind === 'interval' ? schedule.intervalMs : 3_600_000) * 2 + 300_000;
      if (!last.at) return { ok: true };
      return Date.now() - last.at.getTime() < maxAge ? { ok: true } : { ok: false, reason: `no cycle finished since ${last.at.toISOString()}` };
    },
  }) : undefined;
  if (api) logger.info({ url: api.url }, 'HTTP endpoint listening');
  const heartbeat = await startHeartbeat({ intervalMs: schedule.kind === 'interval' ? schedule.intervalMs : 3_600_000 });
  daemon = startDaemon({
    logger, signal: controller.signal, next: (after) => nextRun(schedule, after),
    cycle: async () => {
      try {
        await cycle();
      } finally {
        await heartbeat.cycleDone(last.ok);
      }
    },
  });

  const stop = (sig: string) => {
    if (controller.signal.aborted) { logger.warn(`${sig} again: exiting now`); process.exit(130); }
    logger.info(`${sig} received: finishing the current step, then exiting`);
    controller.abort();
    // A registry stuck in I/O must not hold the stop: its requests end now, with one line per service.
    registry.registry.abort();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => {
    // A new config replaces the old only when it is valid; the running daemon never ends up without one.
    void loadConfigFile(configPath ?? flags.config ?? envValue(env, 'DOSYNC_CONFIG'), configEnv).then(({ config: next }) => {
      settings.config = next;
      logger.info({ config: configPath }, 'SIGHUP: configuration reloaded');
      daemon?.wake();
    }, (err) => logger.error(`SIGHUP: the new configuration is invalid, keeping the old one: ${errorMessage(err)}`));
  });
  await daemon.done;
  await api?.close();
  await notifier?.flush();
  return 0;
}

function recordMetrics(metrics: Metrics, report: CycleReport): void {
  for (const plan of report.plans) {
    metrics.checked(plan.service.name);
    const applied = report.outcomes.some((o) => o.service === plan.service.name && o.outcome.status === 'updated');
    metrics.setUpdateAvailable(plan.service.name, !applied && (plan.decision.kind === 'update' || plan.decision.kind === 'held'));
    if (plan.decision.kind === 'error') metrics.failed(plan.service.name, 'check');
    if (plan.signatures) metrics.setSignatureUnverified(plan.service.name, plan.signatures.running !== undefined);
  }
  const units = new Map<string, string>();
  for (const { service, outcome, unit } of report.outcomes) {
    const result = outcome.status === 'updated' ? 'success' : outcome.status === 'rolled-back' ? 'rolled-back' : 'failed';
    metrics.updated(service, result);
    if (outcome.status === 'rolled-back') metrics.rolledBack(service);
    if (unit) units.set(unit, result);
  }
  for (const [unit, result] of units) metrics.unitUpdated(unit, result as 'success' | 'rolled-back' | 'failed');
  metrics.cycleFinished({ durationMs: report.durationMs, ok: report.failures === 0, at: new Date() });
}

function statusDoc(report: CycleReport | undefined, state: StateStore, project: string): StatusDoc {
  return {
    project,
    services: (report?.plans ?? []).map((p) => {
      const d = p.decision;
      const saved = state.get(serviceKey(project, p.service.name));
      const updated = report?.outcomes.find((o) => o.service === p.service.name)?.outcome.status === 'updated';
      const toTag = d.kind === 'update' || d.kind === 'held' ? d.toTag : undefined;
      return {
        name: p.service.name, image: updated && d.kind === 'update' ? d.newImage : p.service.image, currentTag: updated ? toTag : p.ref?.tag,
        availableTag: updated ? undefined : toTag,
        lastCheck: saved?.lastCheck?.at, lastCheckResult: saved?.lastCheck?.outcome,
        lastUpdate: saved?.lastUpdate?.at, lastUpdateResult: saved?.lastUpdate?.outcome,
        held: d.kind === 'held' ? d.reason : undefined,
        signatureUnverified: p.signatures?.running?.why,
      };
    }),
  };
}
