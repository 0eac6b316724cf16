/** The work of `dosync sync`, loaded only when that command runs. */
import { dirname, join } from 'node:path';
import { ConfigError } from '../util/errors.js';
import { envFlag, envValue } from './env-defaults.js';
import { isHostMode, stackInputs } from './common.js';
import type { SyncFlags } from './sync.js';
import { healthOf, keepBackupsOf, resolveSettings } from '../settings/index.js';
import type { ConfigFile } from '../config/file.js';
import { heartbeatFile, instanceHeartbeatFile } from '../sync/heartbeat.js';
import { ownContainerId } from '../engine/project.js';
import { createDocker, createRuntime } from '../engine/index.js';
import { runCycle, loadStack, stackEnvFiles, type CycleSettings, type CycleReport } from '../sync/cycle.js';
import type { ApproveMode } from '../sync/approvals.js';
import { StateStore, defaultStatePath } from '../sync/state.js';
import { resolveBackupDir, resolveStateDir } from '../sync/dirs.js';
import { acquireLock } from '../sync/lock.js';
import { defaultProjectName, resolveProject } from '../engine/project.js';
import { startDaemon } from '../sync/daemon.js';
import { parseSchedule, nextRun, type Schedule } from '../sync/schedule.js';
import type { Logger } from '../util/logger.js';
import { startHeartbeat } from '../sync/heartbeat.js';
import { cycleEvents } from '../sync/events.js';
import { createNotifier, parseChannels } from '../notify/index.js';
import type { Metrics } from '../metrics/index.js';
import { loadConfigFile } from '../config/file.js';
import { errorMessage } from '../util/errors.js';
import { serviceKey } from '../sync/state.js';
import { parseImageReference, repositoryKey } from '../reference/index.js';
import { createRegistryRuntime } from './registry-runtime.js';
import { PlanMemory, buildStatusDoc } from '../api/status-doc.js';
import { createDaemonControl, type DaemonControl } from '../sync/daemon-control.js';
import { rollbackOne } from '../sync/daemon-rollback.js';
import { isPaused } from '../sync/schedule.js';
import { inboxWaiting } from '../sync/control.js';
import { listBackups } from '../compose/backups.js';
import { followStatus, isMqttUrl, parseMqttUrl, startHaBridge } from '../notify/homeassistant.js';


/** The numbers and switches of a run, from the one resolver (flag > env > dosync.yaml > default). */
export function runSettings(flags: SyncFlags, config: ConfigFile, configPath: string | undefined) {
  const s = resolveSettings(flags, process.env, config, configPath ?? 'dosync.yaml');
  // Parsed before anything runs: a bad --interval/--schedule is a startup error even with --once.
  const schedule = parseSchedule({ interval: s.interval?.value, schedule: s.schedule?.value, jitter: s.jitter?.value, timeZone: config.timezone });
  // --approve / DOSYNC_APPROVE over dosync.yaml's `approve:` (which the cycle reads itself).
  const approve = flags.approve ?? envValue(process.env, 'DOSYNC_APPROVE');
  if (approve !== undefined && approve !== 'auto' && approve !== 'manual') throw new ConfigError(`DOSYNC_APPROVE: "${approve}" is not auto or manual`);
  return { s, schedule, keepBackups: keepBackupsOf(s), health: healthOf(s), approve: approve as ApproveMode | undefined };
}

export async function syncAction(flags: SyncFlags): Promise<number> {
  const env = process.env;
  const inputs = await stackInputs(flags);
  // Whole host (--all, or a projects: list): every project with its own state (src/projects/host.ts).
  if (isHostMode(flags, inputs)) return (await import('./host-sync-run.js')).hostSyncAction(flags, inputs);
  const { files, envFile, configEnv, config, configPath, logger, projectName: explicitProject, stack: stackName } = inputs;
  const { s, schedule, keepBackups, health, approve } = runSettings(flags, config, configPath);
  // --project NAME: that project of the whole host, with the state and backup dirs the host daemon gives it.
  const backupDir = inputs.dirs?.backupDir ?? resolveBackupDir({ flags, env, config });
  const settings: CycleSettings = {
    approve,
    files,
    envFile,
    configPath,
    config,
    dryRun: s.dryRun.value,
    backupDir,
    keepBackups,
    health,
    prune: s.prune.value,
    rolling: s.rollingUpdate.value,
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
  const stateDir = inputs.dirs?.stateDir ?? resolveStateDir({ flags, env, config, files: settings.files });
  const state = await StateStore.open(defaultStatePath(stateDir));
  for (const w of state.warnings) logger.warn(w);
  if (!settings.dryRun) {
    // A dry run only reads, so it may run next to the daemon; anything that writes holds the project's lock.
    const lock = await acquireLock(stateDir, projectName);
    for (const w of lock.warnings) logger.warn(w);
  }
  // Only a daemon that serves /metrics keeps metrics: prom-client alone is ~13 MB resident.
  const listen = flags.once ? undefined : s.listen?.value;
  const metrics = listen ? (await import('../metrics/index.js')).createMetrics() : undefined;
  const registry = await createRegistryRuntime(config, configEnv, logger, configPath, { observer: metrics });
  const controller = new AbortController();
  const runtime = await createRuntime(docker, { stack: stackName, credentials: registry.credentials });
  const deps = { docker, runtime, logger, state, stopping: () => controller.signal.aborted, ...registry };

  const checkOnly = s.checkOnly.value;
  settings.dryRun ||= checkOnly;
  // --check-only changes no stack, but its state (checks, status, what was announced) is the daemon's own.
  settings.recordChecks = checkOnly && !(flags.dryRun ?? envFlag(env, 'DOSYNC_DRY_RUN') ?? false);
  settings.stateDir = stateDir;
  const allNotifyUrls = s.notify?.value ?? [];
  // mqtt:// and mqtts:// are Home Assistant entities (src/notify/homeassistant.ts), not messages.
  const mqttTargets = allNotifyUrls.filter(isMqttUrl).map(parseMqttUrl);
  const notifyUrls = allNotifyUrls.filter((u) => !isMqttUrl(u));
  const notifier = notifyUrls.length > 0 ? createNotifier(parseChannels(notifyUrls), { logger }) : undefined;
  const errorStreaks = new Map<string, number>();
  const unverified = new Set<string>();
  let last: { report?: CycleReport; at?: Date; ok: boolean } = { ok: true };

  // What the next cycle was asked for by the API, the dashboard, a webhook or the inbox (src/sync/daemon-control.ts).
  let daemon: ReturnType<typeof startDaemon> | undefined;
  let cycleRunning = false;
  const control = createDaemonControl({
    state, project: projectName, stateDir, logger, checkOnly,
    services: () => last.report?.plans.map((p) => p.service.name),
    rollback: (service) => rollbackOne(service, settings, deps),
    wake: () => daemon?.wake(),
  });
  const key = (service: string) => serviceKey(projectName, service);
  // A cycle asked for some services only leaves the others unplanned: the status shows their last real plan.
  const planMemory = new PlanMemory();
  const cycle = async () => {
    cycleRunning = true;
    try {
      const ask = await control.beforeCycle();
      const report = await runCycle({ ...settings, dryRun: settings.dryRun || ask?.checkOnly === true, recordChecks: settings.recordChecks || ask?.checkOnly === true, onlyServices: ask?.services, forced: ask?.forced ?? settings.forced }, deps);
      return afterCycle(report);
    } finally {
      cycleRunning = false;
    }
  };
  const afterCycle = (report: CycleReport) => {
    const at = new Date();
    last = { report, at, ok: report.failures === 0 };
    planMemory.remember(report.plans);
    if (metrics) recordMetrics(metrics, report, projectName);
    const events = cycleEvents(report, {
      project: projectName, checkOnly, errorStreaks, unverified, persistAfter: 3, now: at,
      every: config.notify_every ?? 'once', dashboard: config.public_url,
      announced: { get: (s) => state.get(key(s))?.announced, set: (s, tag) => state.setAnnounced(key(s), tag) },
      links: (s) => state.get(key(s))?.status?.link,
    });
    // --dry-run writes nothing (no state either), as cycle.ts records nothing then.
    if (!settings.dryRun || settings.recordChecks) void state.save().catch((err: unknown) => logger.warn(errorMessage(err)));
    // Delivery is retried in the background; it never holds up the next update.
    if (notifier && events.length > 0) void notifier.notify(events);
    return report;
  };

  const statusNow = async () => buildStatusDoc({
    project: projectName, plans: planMemory.of(last.report?.plans ?? []), get: (k) => state.get(k), key, intent: state.pendingIntent(),
    paused: (await isPaused(stateDir, env).catch(() => undefined))?.paused, checkOnly,
    cycle: { running: cycleRunning, lastAt: last.at?.toISOString() },
  });
  // Home Assistant: the entities follow the status (each change, at most every 300 ms).
  const bridges = flags.once ? [] : await Promise.all(mqttTargets.map((t) => startHaBridge(t, {
    project: projectName, logger, dashboard: config.public_url, current: statusNow,
    onInstall: (service) => installPressed(control, service, { pending: Boolean(state.get(key(service))?.pending), checkOnly }),
  })));
  const follow = followStatus(bridges, statusNow, logger);
  if (bridges.length > 0) state.onChange(follow.changed);

  if (flags.once) {
    const report = await cycle();
    await notifier?.flush();
    return report.failures > 0 ? 1 : 0;
  }

  // The API is bound before the first cycle: a --listen that cannot be bound stops dosync with one line,
  // instead of leaving a daemon running without its API.
  const api = listen && metrics ? await (await import('../api/index.js')).startApiServer({
    listen, token: s.apiToken?.value,
    sessionsFile: join(stateDir, 'dashboard-sessions.json'), // the dashboard stays signed in across restarts
    readonlyToken: envValue(env, 'DOSYNC_API_TOKEN_READONLY') ?? config.api_token_readonly, publicUrl: config.public_url, metrics, logger,
    status: statusNow,
    act: (action) => control.handle(action),
    onChange: (listener) => state.onChange(listener),
    backups: async () => (await listBackups([...files.map((path) => ({ path, kind: 'compose' as const })), ...envFiles.map((path) => ({ path, kind: 'env' as const }))], backupDir))
      .slice(-20).reverse().map((b) => ({ name: b.name, time: b.time.toISOString(), file: b.file })),
    trigger: async (what, service) => {
      const known = last.report?.plans.map((p) => p.service.name);
      if (service && known && !known.includes(service)) return { accepted: false, reason: `no service "${service}" in the compose file` };
      // In --check-only mode an update is refused for what it is, not accepted and silently not done.
      if (what === 'update' && checkOnly) return { accepted: false, reason: 'dosync runs with --check-only: it reports updates and never applies them; POST /v1/check checks now' };
      control.request({ checkOnly: what === 'check', services: service ? [service] : undefined });
      return { accepted: true };
    },
    onRegistryPush: async (images) => {
      // Check at once only the services that run a pushed repository.
      const pushed = new Set(images.map((i) => { try { return repositoryKey(parseImageReference(i)); } catch { return i; } }));
      const services = (last.report?.plans ?? []).filter((p) => p.ref && pushed.has(repositoryKey(p.ref))).map((p) => p.service.name);
      if (services.length === 0) return;
      control.request({ services });
    },
    healthy: () => healthyFor(schedule, last.at),
  }) : undefined;
  if (api) logger.info({ url: api.url }, 'HTTP endpoint listening');
  daemon = await startInstanceDaemon({ logger, signal: controller.signal, schedule, stateDir, cycle, ok: () => last.ok });

  // `dosync approve` / `dosync skip` leave requests in the state dir's inbox; a waiting one wakes the daemon.
  const inboxPoll = pollInboxes(() => [stateDir], () => daemon?.wake());
  onStopSignals(logger, controller, () => registry.registry.abort());
  process.on('SIGHUP', () => {
    // A new config replaces the old only when it is valid; the running daemon never ends up without one.
    void loadConfigFile(configPath ?? flags.config ?? envValue(env, 'DOSYNC_CONFIG'), configEnv).then(({ config: next }) => {
      settings.config = next;
      logger.info({ config: configPath }, 'SIGHUP: configuration reloaded');
      daemon?.wake();
    }, (err) => logger.error(`SIGHUP: the new configuration is invalid, keeping the old one: ${errorMessage(err)}`));
  });
  await daemon.done;
  clearInterval(inboxPoll);
  follow.stop();
  await Promise.all(bridges.map((b) => b.close()));
  await api?.close();
  await notifier?.flush();
  return 0;
}

/**
 * Home Assistant's Install button on a service: approves the tag waiting for approval, else asks for an
 * update cycle of that service. `project`: the whole host's project it is in.
 */
export async function installPressed(control: DaemonControl, service: string, o: { pending: boolean; checkOnly: boolean; project?: string }): Promise<string> {
  if (o.pending) return (await control.handle({ kind: 'approve', service, ...(o.project ? { project: o.project } : {}) })).message;
  if (o.checkOnly) return 'dosync runs with --check-only: nothing is applied';
  control.request({ services: [service] });
  return `${o.project ? `${o.project}/` : ''}${service}: an update cycle runs now`;
}

/** `dosync approve|skip` leave requests in a state dir's inbox: a waiting one wakes the daemon (looked at every second). */
export function pollInboxes(stateDirs: () => string[], wake: () => void): NodeJS.Timeout {
  const poll = setInterval(() => {
    void Promise.all(stateDirs().map((d) => inboxWaiting(d))).then((w) => { if (w.some(Boolean)) wake(); }, () => undefined);
  }, 1000);
  poll.unref();
  return poll;
}

/** A cycle's figures for /metrics; `wholeCycle: false` for one project of a whole-host cycle (the host observes the cycle once). */
export function recordMetrics(metrics: Metrics, report: CycleReport, project: string, wholeCycle = true): void {
  for (const plan of report.plans) {
    metrics.checked(plan.service.name, project);
    const applied = report.outcomes.some((o) => o.service === plan.service.name && o.outcome.status === 'updated');
    const current = plan.ref?.tag ?? (plan.ref && !plan.ref.digest ? 'latest' : null);
    const newest = plan.decision.kind === 'update' || plan.decision.kind === 'held' ? plan.decision.toTag : current;
    metrics.setUpdateAvailable(plan.service.name, !applied && (plan.decision.kind === 'update' || plan.decision.kind === 'held'), { current, newest }, project);
    if (plan.decision.kind === 'error') metrics.failed(plan.service.name, 'check', project);
    if (plan.signatures) metrics.setSignatureUnverified(plan.service.name, plan.signatures.running !== undefined, project);
  }
  const units = new Map<string, string>();
  for (const { service, outcome, unit } of report.outcomes) {
    const result = outcome.status === 'updated' ? 'success' : outcome.status === 'rolled-back' ? 'rolled-back' : 'failed';
    metrics.updated(service, result, project);
    if (outcome.status === 'rolled-back') metrics.rolledBack(service, project);
    if (unit) units.set(unit, result);
  }
  for (const [unit, result] of units) metrics.unitUpdated(unit, result as 'success' | 'rolled-back' | 'failed', project);
  if (wholeCycle) metrics.cycleFinished({ durationMs: report.durationMs, ok: report.failures === 0, at: new Date() });
}

/** SIGTERM/SIGINT: finish the current step, then exit; a second one exits at once. */
export function onStopSignals(logger: Logger, controller: AbortController, abortRegistry: () => void): void {
  const stop = (sig: string) => {
    if (controller.signal.aborted) { logger.warn(`${sig} again: exiting now`); process.exit(130); }
    logger.info(`${sig} received: finishing the current step, then exiting`);
    controller.abort();
    // A registry stuck in I/O must not hold the stop: its requests end now, with one line per service.
    abortRegistry();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

/** `/healthz`: a cycle finished within two intervals (an hour for a cron schedule) plus 5 minutes. */
export function healthyFor(schedule: Schedule, lastAt: Date | undefined): { ok: boolean; reason?: string } {
  const maxAge = (schedule.kind === 'interval' ? schedule.intervalMs : 3_600_000) * 2 + 300_000;
  if (!lastAt) return { ok: true };
  return Date.now() - lastAt.getTime() < maxAge ? { ok: true } : { ok: false, reason: `no cycle finished since ${lastAt.toISOString()}` };
}

/** The daemon loop with this instance's heartbeat (in its state dir; in a container also the image HEALTHCHECK's default file). */
export async function startInstanceDaemon(o: { logger: Logger; signal: AbortSignal; schedule: Schedule; stateDir: string; cycle: () => Promise<unknown>; ok: () => boolean }): Promise<ReturnType<typeof startDaemon>> {
  const heartbeat = await startHeartbeat({
    intervalMs: o.schedule.kind === 'interval' ? o.schedule.intervalMs : 3_600_000,
    file: instanceHeartbeatFile(o.stateDir), alsoTo: ownContainerId() && !process.env.DOSYNC_HEARTBEAT_FILE ? [heartbeatFile({})] : [],
  });
  return startDaemon({
    logger: o.logger, signal: o.signal, next: (after) => nextRun(o.schedule, after),
    cycle: async () => {
      try {
        await o.cycle();
      } finally {
        await heartbeat.cycleDone(o.ok());
      }
    },
  });
}
