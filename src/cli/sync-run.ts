/** The work of `dosync sync`, loaded only when that command runs. */
import { dirname } from 'node:path';
import { ConfigError } from '../util/errors.js';
import { envValue } from './env-defaults.js';
import { isHostMode, stackInputs } from './common.js';
import type { SyncFlags } from './sync.js';
import { healthOf, keepBackupsOf, resolveSettings } from '../settings/index.js';
import type { ConfigFile } from '../config/file.js';
import { Host, hostFailures, type HostAsk, type ProjectRun } from '../projects/host.js';
import { heartbeatFile, instanceHeartbeatFile } from '../sync/heartbeat.js';
import { ownContainerId } from '../engine/project.js';
import { createDocker } from '../engine/docker.js';
import { runCycle, loadStack, stackEnvFiles, type CycleSettings, type CycleReport } from '../sync/cycle.js';
import { StateStore, defaultStatePath } from '../sync/state.js';
import { ensureStateDir, resolveBackupDir, resolveHostStateDir, resolveStateDir } from '../sync/dirs.js';
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


/** The numbers and switches of a run, from the one resolver (flag > env > dosync.yaml > default). */
function runSettings(flags: SyncFlags, config: ConfigFile, configPath: string | undefined) {
  const s = resolveSettings(flags, process.env, config, configPath ?? 'dosync.yaml');
  // Parsed before anything runs: a bad --interval/--schedule is a startup error even with --once.
  const schedule = parseSchedule({ interval: s.interval?.value, schedule: s.schedule?.value, jitter: s.jitter?.value, timeZone: config.timezone });
  return { s, schedule, keepBackups: keepBackupsOf(s), health: healthOf(s) };
}

export async function syncAction(flags: SyncFlags): Promise<number> {
  const env = process.env;
  const inputs = await stackInputs(flags);
  const { files, envFile, configEnv, config, configPath, logger, projectName: explicitProject } = inputs;
  const { s, schedule, keepBackups, health } = runSettings(flags, config, configPath);
  const host = isHostMode(flags, inputs);
  // --project NAME: that project of the whole host, with the state and backup dirs the host daemon gives it.
  const backupDir = inputs.dirs?.backupDir ?? resolveBackupDir({ flags, env, config });
  const settings: CycleSettings = {
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
  if (host && flags.forced) throw new ConfigError('dosync update names one service of one project: pass -f (or -p) instead of --all');
  const docker = createDocker();
  let projectName = explicitProject ?? 'host';
  let stateDir: string;
  let state: StateStore | undefined;
  if (host) {
    stateDir = resolveHostStateDir({ flags, env, config });
    await ensureStateDir(stateDir);
  } else {
    // Read the stack once up front: a bad compose file is a startup error, and it names the project to lock.
    const envFiles = await stackEnvFiles(settings.files, envFile);
    const { stack } = await loadStack(settings.files, envFiles);
    // The containers' labels name the project (in a sidecar the file's directory is just /app); the
    // directory name is the fallback when the engine cannot be asked yet.
    projectName = settings.projectName ?? stack.projectName
      ?? (await resolveProject(docker, { files: settings.files, envFiles, serviceNames: stack.services.map((sv) => sv.name) }).then((p) => p.name, () => undefined))
      ?? defaultProjectName(dirname(settings.files[0]));
    stateDir = inputs.dirs?.stateDir ?? resolveStateDir({ flags, env, config, files: settings.files });
    state = await StateStore.open(defaultStatePath(stateDir));
    for (const w of state.warnings) logger.warn(w);
    if (!settings.dryRun) {
      // A dry run only reads, so it may run next to the daemon; anything that writes holds the project's lock.
      const lock = await acquireLock(stateDir, projectName);
      for (const w of lock.warnings) logger.warn(w);
    }
  }
  // Only a daemon that serves /metrics keeps metrics: prom-client alone is ~13 MB resident.
  const listen = flags.once ? undefined : s.listen?.value;
  const metrics = listen ? (await import('../metrics/index.js')).createMetrics() : undefined;
  const registry = await createRegistryRuntime(config, configEnv, logger, configPath, { observer: metrics });
  const controller = new AbortController();
  const deps = { docker, logger, state, stopping: () => controller.signal.aborted, ...registry };

  const checkOnly = s.checkOnly.value;
  settings.dryRun ||= checkOnly;
  settings.stateDir = stateDir;
  const notifyUrls = s.notify?.value ?? [];
  const notifier = notifyUrls.length > 0 ? createNotifier(parseChannels(notifyUrls), { logger }) : undefined;
  const errorStreaks = new Map<string, Map<string, number>>();
  const unverified = new Map<string, Set<string>>();
  const streaksOf = (project: string) => errorStreaks.get(project) ?? errorStreaks.set(project, new Map()).get(project)!;
  const unverifiedOf = (project: string) => unverified.get(project) ?? unverified.set(project, new Set()).get(project)!;
  let last: { report?: CycleReport; at?: Date; ok: boolean } = { ok: true };
  const hostRunner = host ? new Host({
    docker, logger, hostConfig: config, configPath, configEnv, stateDir, backupDir,
    discover: flags.all === true, root: s.projectsRoot?.value, exclude: s.excludeProjects?.value ?? [],
    watchByDefault: s.watchByDefault.value, lock: !settings.dryRun,
  }) : undefined;

  // What the next cycle was asked for by the API or a webhook: check only, or only some services (of one project).
  let requested: HostAsk | undefined;
  const cycle = async (): Promise<{ failures: number }> => {
    const ask = requested;
    requested = undefined;
    const at = () => new Date();
    if (hostRunner) {
      const started = Date.now();
      const runs = await hostRunner.cycle(settings, deps, ask);
      const failures = hostFailures(runs);
      last = { at: at(), ok: failures === 0 };
      // One batch per cycle: the notifier groups what every project found into the same messages.
      const events = runs.flatMap((r) => (r.report ? cycleEvents(r.report, { project: r.project, checkOnly, errorStreaks: streaksOf(r.project), unverified: unverifiedOf(r.project), persistAfter: 3, now: last.at! }) : []));
      if (metrics) {
        for (const r of runs) if (r.report) recordMetrics(metrics, r.report, r.project, false);
        metrics.cycleFinished({ durationMs: Date.now() - started, ok: failures === 0, at: last.at! });
      }
      if (notifier && events.length > 0) void notifier.notify(events);
      logger.info({ projects: runs.length, failures }, 'host cycle done');
      return { failures };
    }
    const report = await runCycle({ ...settings, dryRun: settings.dryRun || ask?.checkOnly === true, onlyServices: ask?.services }, deps);
    last = { report, at: at(), ok: report.failures === 0 };
    if (metrics) recordMetrics(metrics, report, projectName);
    const events = cycleEvents(report, { project: projectName, checkOnly, errorStreaks: streaksOf(projectName), unverified: unverifiedOf(projectName), persistAfter: 3, now: last.at! });
    // Delivery is retried in the background; it never holds up the next update.
    if (notifier && events.length > 0) void notifier.notify(events);
    return report;
  };

  if (flags.once) {
    const report = await cycle();
    await notifier?.flush();
    hostRunner?.close();
    return report.failures > 0 ? 1 : 0;
  }

  // The API is bound before the first cycle: a --listen that cannot be bound stops dosync with one line,
  // instead of leaving a daemon running without its API.
  let daemon: ReturnType<typeof startDaemon> | undefined;
  const api = listen && metrics ? await (await import('../api/index.js')).startApiServer({
    listen, token: s.apiToken?.value, metrics, logger,
    status: () => (hostRunner ? hostStatusDoc(hostRunner.last) : statusDoc(last.report, state!, projectName)),
    trigger: async (what, service, project?: string) => {
      if (hostRunner) {
        const known = hostRunner.last.find((r) => r.project === project);
        if (project && !known) return { accepted: false, reason: `no project "${project}" is watched` };
        if (service && !project) return { accepted: false, reason: 'several projects are watched: name the project too (?project=&service=)' };
        if (service && known?.report && !known.report.plans.some((p) => p.service.name === service)) return { accepted: false, reason: `no service "${service}" in project ${project}` };
      } else {
        const known = last.report?.plans.map((p) => p.service.name);
        if (service && known && !known.includes(service)) return { accepted: false, reason: `no service "${service}" in the compose file` };
      }
      requested = { checkOnly: what === 'check', services: service ? [service] : undefined, project };
      daemon?.wake();
      return { accepted: true };
    },
    onRegistryPush: async (images) => {
      // Check at once only the services that run a pushed repository, in every project that runs it.
      const pushed = new Set(images.map((i) => { try { return repositoryKey(parseImageReference(i)); } catch { return i; } }));
      const reports = hostRunner ? hostRunner.last.flatMap((r) => (r.report ? [r.report] : [])) : last.report ? [last.report] : [];
      const runs = (p: CycleReport) => p.plans.filter((pl) => pl.ref && pushed.has(repositoryKey(pl.ref))).map((pl) => pl.service.name);
      if (hostRunner) {
        const byProject = Object.fromEntries(hostRunner.last.flatMap((r) => (r.report && runs(r.report).length > 0 ? [[r.project, runs(r.report)]] : [])));
        if (Object.keys(byProject).length === 0) return;
        requested = { byProject };
        daemon?.wake();
        return;
      }
      const services = reports.flatMap(runs);
      if (services.length === 0) return;
      requested = { services: [...new Set(services)] };
      daemon?.wake();
    },
    healthy: () => {
      const maxAge = (schedule.kind === 'interval' ? schedule.intervalMs : 3_600_000) * 2 + 300_000;
      if (!last.at) return { ok: true };
      return Date.now() - last.at.getTime() < maxAge ? { ok: true } : { ok: false, reason: `no cycle finished since ${last.at.toISOString()}` };
    },
  }) : undefined;
  if (api) logger.info({ url: api.url }, 'HTTP endpoint listening');
  // One heartbeat per instance, in its state dir; in a container also the image HEALTHCHECK's default file.
  const heartbeat = await startHeartbeat({
    intervalMs: schedule.kind === 'interval' ? schedule.intervalMs : 3_600_000,
    file: instanceHeartbeatFile(stateDir), alsoTo: ownContainerId() && !env.DOSYNC_HEARTBEAT_FILE ? [heartbeatFile({})] : [],
  });
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
      if (hostRunner) hostRunner.reload(next);
      logger.info({ config: configPath }, 'SIGHUP: configuration reloaded');
      daemon?.wake();
    }, (err) => logger.error(`SIGHUP: the new configuration is invalid, keeping the old one: ${errorMessage(err)}`));
  });
  await daemon.done;
  hostRunner?.close();
  await api?.close();
  await notifier?.flush();
  return 0;
}

/** /v1/status of a whole-host daemon: one entry per project, each as a single-project daemon reports it. */
function hostStatusDoc(runs: readonly ProjectRun[]): StatusDoc {
  return {
    project: '*',
    services: [],
    projects: runs.map((r) => ({ ...statusDocOf(r.report, r.state, r.project), ...(r.error ? { error: r.error } : {}) })),
  } as StatusDoc;
}

function recordMetrics(metrics: Metrics, report: CycleReport, project: string, wholeCycle = true): void {
  for (const plan of report.plans) {
    metrics.checked(plan.service.name, project);
    const applied = report.outcomes.some((o) => o.service === plan.service.name && o.outcome.status === 'updated');
    metrics.setUpdateAvailable(plan.service.name, !applied && (plan.decision.kind === 'update' || plan.decision.kind === 'held'), project);
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

function statusDoc(report: CycleReport | undefined, state: StateStore | undefined, project: string): StatusDoc {
  return statusDocOf(report, state, project);
}

function statusDocOf(report: CycleReport | undefined, state: StateStore | undefined, project: string): StatusDoc {
  return {
    project,
    services: (report?.plans ?? []).map((p) => {
      const d = p.decision;
      const saved = state?.get(serviceKey(project, p.service.name));
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
