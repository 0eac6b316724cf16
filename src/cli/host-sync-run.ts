/**
 * `dosync sync --all` (or with a `projects:` list and no -f): the whole-host daemon. Every cycle finds the
 * projects and runs each one's cycle with its own state (src/projects/host.ts); the API, notifications,
 * metrics and the heartbeat are the instance's, grouped by project.
 */
import type { StackInputs } from './common.js';
import type { SyncFlags } from './sync.js';
import { ConfigError, errorMessage } from '../util/errors.js';
import { envValue } from './env-defaults.js';
import { createDocker } from '../engine/docker.js';
import { ensureStateDir, resolveBackupDir, resolveHostStateDir } from '../sync/dirs.js';
import { startDaemon } from '../sync/daemon.js';
import { cycleEvents } from '../sync/events.js';
import { serviceKey, type StateStore } from '../sync/state.js';
import type { CycleReport, CycleSettings } from '../sync/cycle.js';
import { createNotifier, parseChannels } from '../notify/index.js';
import { loadConfigFile } from '../config/file.js';
import { parseImageReference, repositoryKey } from '../reference/index.js';
import { createRegistryRuntime } from './registry-runtime.js';
import { Host, hostFailures, type HostAsk, type ProjectRun } from '../projects/host.js';
import { healthyFor, onStopSignals, recordMetrics, runSettings, startInstanceDaemon } from './sync-run.js';
import type { StatusDoc } from '../api/index.js';

export async function hostSyncAction(flags: SyncFlags, inputs: StackInputs): Promise<number> {
  const env = process.env;
  const { configEnv, config, configPath, logger } = inputs;
  if (flags.forced) throw new ConfigError('dosync update names one service of one project: pass -f (or --project) instead of --all');
  const { s, schedule, keepBackups, health } = runSettings(flags, config, configPath);
  const backupDir = resolveBackupDir({ flags, env, config });
  const stateDir = resolveHostStateDir({ flags, env, config });
  await ensureStateDir(stateDir);
  const checkOnly = s.checkOnly.value;
  const settings: Omit<CycleSettings, 'files' | 'config'> = {
    configPath, dryRun: s.dryRun.value || checkOnly, backupDir, keepBackups, health, prune: s.prune.value, rolling: s.rollingUpdate.value,
    oneShot: flags.once ?? false, stateDir,
  };
  const docker = createDocker();
  const listen = flags.once ? undefined : s.listen?.value;
  const metrics = listen ? (await import('../metrics/index.js')).createMetrics() : undefined;
  const registry = await createRegistryRuntime(config, configEnv, logger, configPath, { observer: metrics });
  const controller = new AbortController();
  const deps = { docker, logger, stopping: () => controller.signal.aborted, ...registry };
  // mqtt:// (Home Assistant entities) follows one project's status; the whole-host daemon sends messages only.
  const notifyUrls = (s.notify?.value ?? []).filter((u) => !/^mqtts?:\/\//i.test(u));
  const notifier = notifyUrls.length > 0 ? createNotifier(parseChannels(notifyUrls), { logger }) : undefined;
  const errorStreaks = new Map<string, Map<string, number>>();
  const unverified = new Map<string, Set<string>>();
  const of = <T>(m: Map<string, T>, project: string, make: () => T) => m.get(project) ?? m.set(project, make()).get(project)!;
  let last: { at?: Date; ok: boolean } = { ok: true };
  const host = new Host({
    docker, logger, hostConfig: config, configPath, configEnv, stateDir, backupDir,
    discover: flags.all === true, root: s.projectsRoot?.value, exclude: s.excludeProjects?.value ?? [],
    watchByDefault: s.watchByDefault.value, lock: !settings.dryRun,
  });

  // What the next cycle was asked for by the API or a webhook: check only, one project, some services.
  let requested: HostAsk | undefined;
  const cycle = async (): Promise<{ failures: number }> => {
    const ask = requested;
    requested = undefined;
    const started = Date.now();
    const runs = await host.cycle(settings, deps, ask);
    const failures = hostFailures(runs);
    last = { at: new Date(), ok: failures === 0 };
    // One batch per cycle: what every project found goes out together.
    const events = runs.flatMap((r) => (r.report ? cycleEvents(r.report, { project: r.project, checkOnly, errorStreaks: of(errorStreaks, r.project, () => new Map()), unverified: of(unverified, r.project, () => new Set()), persistAfter: 3, now: last.at! }) : []));
    if (metrics) {
      for (const r of runs) if (r.report) recordMetrics(metrics, r.report, r.project, false);
      metrics.cycleFinished({ durationMs: Date.now() - started, ok: failures === 0, at: last.at! });
    }
    if (notifier && events.length > 0) void notifier.notify(events);
    logger.info({ projects: runs.length, failures }, 'host cycle done');
    return { failures };
  };

  if (flags.once) {
    const report = await cycle();
    await notifier?.flush();
    host.close();
    return report.failures > 0 ? 1 : 0;
  }

  let daemon: ReturnType<typeof startDaemon> | undefined;
  const api = listen && metrics ? await (await import('../api/index.js')).startApiServer({
    listen, token: s.apiToken?.value, metrics, logger,
    status: () => hostStatusDoc(host.last),
    trigger: async (what, service, project) => {
      const known = host.last.find((r) => r.project === project);
      if (project && !known) return { accepted: false, reason: `no project "${project}" is watched` };
      if (service && !project) return { accepted: false, reason: 'several projects are watched: name the project too (?project=&service=)' };
      if (service && known?.report && !known.report.plans.some((p) => p.service.name === service)) return { accepted: false, reason: `no service "${service}" in project ${project}` };
      if (what === 'update' && checkOnly) return { accepted: false, reason: 'dosync runs with --check-only: it reports updates and never applies them; POST /v1/check checks now' };
      requested = { checkOnly: what === 'check', services: service ? [service] : undefined, project };
      daemon?.wake();
      return { accepted: true };
    },
    onRegistryPush: async (images) => {
      // Every project that runs a pushed repository checks those services now.
      const pushed = new Set(images.map((i) => { try { return repositoryKey(parseImageReference(i)); } catch { return i; } }));
      const running = (r: CycleReport) => r.plans.filter((p) => p.ref && pushed.has(repositoryKey(p.ref))).map((p) => p.service.name);
      const byProject = Object.fromEntries(host.last.flatMap((r) => (r.report && running(r.report).length > 0 ? [[r.project, running(r.report)]] : [])));
      if (Object.keys(byProject).length === 0) return;
      requested = { byProject };
      daemon?.wake();
    },
    healthy: () => healthyFor(schedule, last.at),
  }) : undefined;
  if (api) logger.info({ url: api.url }, 'HTTP endpoint listening');
  daemon = await startInstanceDaemon({ logger, signal: controller.signal, schedule, stateDir, cycle, ok: () => last.ok });
  onStopSignals(logger, controller, () => registry.registry.abort());
  process.on('SIGHUP', () => {
    // A new config replaces the old only when it is valid.
    void loadConfigFile(configPath ?? flags.config ?? envValue(env, 'DOSYNC_CONFIG'), configEnv).then(({ config: next }) => {
      host.reload(next);
      logger.info({ config: configPath }, 'SIGHUP: configuration reloaded');
      daemon?.wake();
    }, (err) => logger.error(`SIGHUP: the new configuration is invalid, keeping the old one: ${errorMessage(err)}`));
  });
  await daemon.done;
  host.close();
  await api?.close();
  await notifier?.flush();
  return 0;
}

/** /v1/status of a whole-host daemon: one entry per project. */
function hostStatusDoc(runs: readonly ProjectRun[]): StatusDoc {
  return {
    project: '*',
    services: [],
    projects: runs.map((r) => ({ project: r.project, ...(r.error ? { error: r.error } : {}), services: servicesOf(r.report, r.state, r.project) })),
  };
}

function servicesOf(report: CycleReport | undefined, state: StateStore | undefined, project: string) {
  return (report?.plans ?? []).map((p) => {
    const d = p.decision;
    const saved = state?.get(serviceKey(project, p.service.name));
    const updated = report?.outcomes.find((o) => o.service === p.service.name)?.outcome.status === 'updated';
    const toTag = d.kind === 'update' || d.kind === 'held' ? d.toTag : undefined;
    return {
      name: p.service.name, image: updated && d.kind === 'update' ? d.newImage : p.service.image, currentTag: updated ? toTag : p.ref?.tag,
      availableTag: updated ? undefined : toTag, lastUpdate: saved?.lastUpdate?.at, lastUpdateResult: saved?.lastUpdate?.outcome,
      held: d.kind === 'held' ? d.reason : undefined,
    };
  });
}
