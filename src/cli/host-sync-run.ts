/**
 * `dosync sync --all` (or with a `projects:` list and no -f): the whole-host daemon. Every cycle finds the
 * projects and runs each one's cycle with its own state (src/projects/host.ts); the API, notifications,
 * metrics and the heartbeat are the instance's, grouped by project.
 */
import { join } from 'node:path';
import type { StackInputs } from './common.js';
import type { SyncFlags } from './sync.js';
import { ConfigError, errorMessage } from '../util/errors.js';
import { envFlag, envValue } from './env-defaults.js';
import { createDocker } from '../engine/docker.js';
import { ensureStateDir, resolveBackupDir, resolveHostStateDir } from '../sync/dirs.js';
import { startDaemon } from '../sync/daemon.js';
import { cycleEvents } from '../sync/events.js';
import { serviceKey } from '../sync/state.js';
import type { CycleSettings } from '../sync/cycle.js';
import { createNotifier, parseChannels } from '../notify/index.js';
import { loadConfigFile } from '../config/file.js';
import { parseImageReference, repositoryKey } from '../reference/index.js';
import { createRegistryRuntime } from './registry-runtime.js';
import { Host, hostFailures, type HostAsk } from '../projects/host.js';
import { healthyFor, installPressed, onStopSignals, pollInboxes, recordMetrics, runSettings, startInstanceDaemon } from './sync-run.js';
import { HostPlans, hostStatusDoc } from '../projects/host-status.js';
import { createDaemonControl, type CycleRequest, type DaemonControl } from '../sync/daemon-control.js';
import type { Action, ActionResult } from '../sync/control.js';
import { isPaused } from '../sync/schedule.js';
import { followStatus, isMqttUrl, parseMqttUrl, startHaBridge } from '../notify/homeassistant.js';

export async function hostSyncAction(flags: SyncFlags, inputs: StackInputs): Promise<number> {
  const env = process.env;
  const { configEnv, config, configPath, logger } = inputs;
  if (flags.forced) throw new ConfigError('dosync update names one service of one project: pass -f (or --project) instead of --all');
  const { s, schedule, keepBackups, health, approve } = runSettings(flags, config, configPath);
  const backupDir = resolveBackupDir({ flags, env, config });
  const stateDir = resolveHostStateDir({ flags, env, config });
  await ensureStateDir(stateDir);
  const checkOnly = s.checkOnly.value;
  const settings: Omit<CycleSettings, 'files' | 'config'> = {
    configPath, dryRun: s.dryRun.value || checkOnly, backupDir, keepBackups, health, prune: s.prune.value, rolling: s.rollingUpdate.value,
    oneShot: flags.once ?? false, stateDir, approve,
    // --check-only changes no stack, but its state (checks, status, what was announced) is the daemon's own.
    recordChecks: checkOnly && !(flags.dryRun ?? envFlag(env, 'DOSYNC_DRY_RUN') ?? false),
  };
  const docker = createDocker();
  const listen = flags.once ? undefined : s.listen?.value;
  const metrics = listen ? (await import('../metrics/index.js')).createMetrics() : undefined;
  const registry = await createRegistryRuntime(config, configEnv, logger, configPath, { observer: metrics });
  const controller = new AbortController();
  const deps = { docker, logger, stopping: () => controller.signal.aborted, ...registry };
  // mqtt:// and mqtts:// are Home Assistant entities (src/notify/homeassistant.ts), not messages.
  const mqttTargets = (s.notify?.value ?? []).filter(isMqttUrl).map(parseMqttUrl);
  const notifyUrls = (s.notify?.value ?? []).filter((u) => !isMqttUrl(u));
  const notifier = notifyUrls.length > 0 ? createNotifier(parseChannels(notifyUrls), { logger }) : undefined;
  const errorStreaks = new Map<string, Map<string, number>>();
  const unverified = new Map<string, Set<string>>();
  const of = <T>(m: Map<string, T>, project: string, make: () => T) => m.get(project) ?? m.set(project, make()).get(project)!;
  let last: { at?: Date; ok: boolean } = { ok: true };
  let daemon: ReturnType<typeof startDaemon> | undefined;
  let cycleRunning = false;
  // Per project: the controls a single-project daemon has (approve, skip, rollback, retry, pause, the inbox).
  const controls = new Map<string, { control: DaemonControl; stateDir: string }>();
  const plans = new HostPlans();
  const changed = new Set<() => void>();
  const emitChange = () => { for (const l of changed) l(); };
  const host: Host = new Host({
    docker, logger, hostConfig: config, configPath, configEnv, stateDir, backupDir,
    discover: flags.all === true, root: s.projectsRoot?.value, exclude: s.excludeProjects?.value ?? [],
    watchByDefault: s.watchByDefault.value, lock: !s.dryRun.value,
    onProject: (project, k) => {
      const services = () => host.last.find((r) => r.project === project)?.report?.plans.map((p) => p.service.name);
      controls.set(project, { stateDir: k.stateDir, control: createDaemonControl({
        state: k.state, project, stateDir: k.stateDir, logger: logger.child({ project }), checkOnly, services,
        rollback: (service) => host.rollback(project, service, settings, deps), wake: () => daemon?.wake(),
      }) });
      k.state.onChange(emitChange);
    },
    onGone: (project) => {
      controls.delete(project);
      plans.forget(project);
      errorStreaks.delete(project);
      unverified.delete(project);
      // A gone project's series leave /metrics with it.
      void metrics?.forgetProject(project).catch((err: unknown) => logger.warn(`metrics: ${errorMessage(err)}`));
    },
  });

  // What the next cycle was asked for across all projects (the API without ?project=); per project: its control.
  let requestedAll: { checkOnly?: boolean } | undefined;
  const askAll = (checkOnly: boolean) => {
    requestedAll = { checkOnly: (requestedAll?.checkOnly ?? true) && checkOnly };
    daemon?.wake();
  };
  const cycle = async (): Promise<{ failures: number }> => {
    cycleRunning = true;
    emitChange();
    try {
      const byProject: Record<string, CycleRequest> = {};
      for (const [project, c] of controls) {
        const r = await c.control.beforeCycle();
        if (r) byProject[project] = r;
      }
      const all = requestedAll;
      requestedAll = undefined;
      // Nothing asked for: the scheduled cycle of every project.
      const ask: HostAsk = { byProject, ...(all || Object.keys(byProject).length === 0 ? { all: all ?? {} } : {}) };
      const started = Date.now();
      const runs = await host.cycle(settings, deps, ask);
      plans.remember(runs);
      const failures = hostFailures(runs);
      last = { at: new Date(), ok: failures === 0 };
      // One batch per cycle: what every project found goes out together.
      const events = runs.flatMap((r) => {
        if (!r.report) return [];
        const state = r.state;
        const key = (svc: string) => serviceKey(r.project, svc);
        return cycleEvents(r.report, {
          project: r.project, checkOnly, errorStreaks: of(errorStreaks, r.project, () => new Map()), unverified: of(unverified, r.project, () => new Set()), persistAfter: 3, now: last.at!,
          every: config.notify_every ?? 'once', dashboard: config.public_url,
          announced: state && { get: (svc) => state.get(key(svc))?.announced, set: (svc, tag) => state.setAnnounced(key(svc), tag) },
          links: (svc) => state?.get(key(svc))?.status?.link,
        });
      });
      // What was announced is the projects' state too (--dry-run writes nothing).
      if (!settings.dryRun || settings.recordChecks) for (const r of runs) void r.state?.save().catch((err: unknown) => logger.warn(errorMessage(err)));
      if (metrics) {
        for (const r of runs) if (r.report) recordMetrics(metrics, r.report, r.project, false);
        metrics.cycleFinished({ durationMs: Date.now() - started, ok: failures === 0, at: last.at! });
      }
      if (notifier && events.length > 0) void notifier.notify(events);
      logger.info({ projects: runs.length, failures }, 'host cycle done');
      return { failures };
    } finally {
      cycleRunning = false;
      emitChange();
    }
  };

  if (flags.once) {
    const report = await cycle();
    await notifier?.flush();
    host.close();
    return report.failures > 0 ? 1 : 0;
  }

  const statusNow = async () => {
    const paused = new Set<string>();
    await Promise.all(host.last.map(async (r) => { if (r.stateDir && (await isPaused(r.stateDir, env).catch(() => undefined))?.paused) paused.add(r.project); }));
    return hostStatusDoc(host.last, { plans, paused, checkOnly, cycle: { running: cycleRunning, lastAt: last.at?.toISOString() }, unconfigured: host.unconfigured });
  };
  // The one project an action is for: named, or the only one watched.
  const projectFor = (project: string | undefined): { project: string; control: DaemonControl } | { error: string } => {
    if (project === undefined && controls.size === 1) project = [...controls.keys()][0];
    if (project === undefined) return { error: 'several projects are watched: name the project too (project=)' };
    const c = controls.get(project);
    return c ? { project, control: c.control } : { error: `no project "${project}" is watched` };
  };
  const act = async (action: Action): Promise<ActionResult> => {
    // Check, pause or resume without a project or a service: every project.
    if (!action.project && !('service' in action && action.service) && controls.size > 1 && (action.kind === 'check' || action.kind === 'pause' || action.kind === 'resume')) {
      if (action.kind === 'check') { askAll(true); return { ok: true, message: 'a check of every project runs now', queued: true }; }
      for (const c of controls.values()) await c.control.handle(action);
      return { ok: true, message: `every project: updates ${action.kind === 'pause' ? 'paused (checks go on)' : 'resumed'}` };
    }
    const target = projectFor(action.project);
    if ('error' in target) return { ok: false, status: 404, message: target.error };
    return target.control.handle({ ...action, project: target.project });
  };
  // Home Assistant: one connection for the host; entities per (project, service), following the status.
  const bridges = await Promise.all(mqttTargets.map((t) => startHaBridge(t, {
    logger, dashboard: config.public_url, current: statusNow,
    onInstall: async (service, project) => {
      const target = projectFor(project);
      if ('error' in target) return target.error;
      const pending = Boolean(host.last.find((r) => r.project === target.project)?.state?.get(serviceKey(target.project, service))?.pending);
      return installPressed(target.control, service, { pending, checkOnly, project: target.project });
    },
  })));
  const follow = followStatus(bridges, statusNow, logger);
  if (bridges.length > 0) changed.add(follow.changed);

  const api = listen && metrics ? await (await import('../api/index.js')).startApiServer({
    listen, token: s.apiToken?.value,
    sessionsFile: join(stateDir, 'dashboard-sessions.json'), // the dashboard stays signed in across restarts
    readonlyToken: envValue(env, 'DOSYNC_API_TOKEN_READONLY') ?? config.api_token_readonly, publicUrl: config.public_url, metrics, logger,
    status: statusNow,
    act,
    onChange: (listener) => { changed.add(listener); return () => changed.delete(listener); },
    backups: async () => (await host.backups()).slice(-20).reverse().map((b) => ({ name: b.name, time: b.time.toISOString(), file: b.file, project: b.project })),
    trigger: async (what, service, project) => {
      if (what === 'update' && checkOnly) return { accepted: false, reason: 'dosync runs with --check-only: it reports updates and never applies them; POST /v1/check checks now' };
      if (!project && !service) { askAll(what === 'check'); return { accepted: true }; }
      const target = projectFor(project);
      if ('error' in target) return { accepted: false, reason: target.error };
      const known = host.last.find((r) => r.project === target.project)?.report;
      if (service && known && !known.plans.some((p) => p.service.name === service)) return { accepted: false, reason: `no service "${service}" in project ${target.project}` };
      target.control.request({ checkOnly: what === 'check', services: service ? [service] : undefined });
      return { accepted: true };
    },
    onRegistryPush: async (images) => {
      // Every project that runs a pushed repository checks those services now.
      const pushed = new Set(images.map((i) => { try { return repositoryKey(parseImageReference(i)); } catch { return i; } }));
      for (const r of host.last) {
        const services = (r.report?.plans ?? []).filter((p) => p.ref && pushed.has(repositoryKey(p.ref))).map((p) => p.service.name);
        if (services.length > 0) controls.get(r.project)?.control.request({ services });
      }
    },
    healthy: () => healthyFor(schedule, last.at),
  }) : undefined;
  if (api) logger.info({ url: api.url }, 'HTTP endpoint listening');
  daemon = await startInstanceDaemon({ logger, signal: controller.signal, schedule, stateDir, cycle, ok: () => last.ok });
  // `dosync approve|skip --project P` leave requests in that project's inbox.
  const inboxPoll = pollInboxes(() => [...controls.values()].map((c) => c.stateDir), () => daemon?.wake());
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
  clearInterval(inboxPoll);
  follow.stop();
  await Promise.all(bridges.map((b) => b.close()));
  host.close();
  await api?.close();
  await notifier?.flush();
  return 0;
}
