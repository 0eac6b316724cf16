import { readFile, access } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Logger } from '../util/logger.js';
import { ConfigError, errorMessage } from '../util/errors.js';
import { parseImageReference } from '../reference/index.js';
import { readStack, type Stack, type StackService } from '../compose/stack.js';
import { isPaused, parseWindows, updateHold, validateTimeZone, type PauseStatus } from './schedule.js';
import { cycleBounded, type RegistryClient } from '../registry/client.js';
import { listingUses, shareListings } from '../registry/shared-listings.js';
import type { ConfigFile } from '../config/file.js';
import type { Credential } from '../registry/types.js';
import { serviceKey, type StateStore } from './state.js';
import { resolveStateDir } from './dirs.js';
import { Journal } from './journal.js';
import { recoverPending } from './recover.js';
import { createComposeRuntime, createDocker, exitCodeOf, type EngineClient, type ResolvedProject, type Runtime } from '../engine/index.js';
import { NOT_REQUESTED, planService, engineView, type ServicePlan, type PlanContext } from './plan.js';
import { applyGroup, marksTagFailed, type ApplyContext, type ApplyOutcome } from './apply.js';
import { orderByDependencies } from './groups.js';
import { planUnits, type ForcedTag, type Presence, type UnitPlan, type UpdatePlan } from './unit-plan.js';
import { stackUnits } from '../compose/units.js';
import type { ImageEdit } from '../compose/image-source.js';
import { serviceSettings } from './service-settings.js';
import { ComposeChangedError } from '../compose/writer.js';
import { prepareSelfUpdate, selfLast } from './self-update.js';
import { approvalGate, type Announcement, type ApproveMode } from './approvals.js';
import { recordStatuses } from './status-record.js';

export interface CycleSettings {
  files: string[];
  /** -e: one env file, or several (a whole-host project started with several --env-file), later ones winning. */
  envFile?: string | readonly string[];
  configPath?: string;
  config: ConfigFile;
  dryRun: boolean;
  backupDir?: string;
  keepBackups: number;
  health: { timeoutMs: number; stableMs: number };
  /** Where the state file and the pause flag live. */
  stateDir?: string;
  /** Only these services are checked and updated (API `?service=`, registry webhooks); the rest are left alone this cycle. */
  onlyServices?: string[];
  /**
   * `sync --once`: dosync's own service is left alone, because its recreated container would run one
   * cycle and exit, which the health gate would take for a failed release.
   */
  oneShot?: boolean;
  /** The clock (tests inject one). */
  now?: () => Date;
  /** --rolling-update: roll out every eligible service side by side (per service: label dosync.rollout). */
  rolling: boolean;
  prune: boolean;
  projectName?: string;
  /** `dosync update SERVICE --to TAG`: this unit goes to that tag, past its policy (health gate and rollback kept). */
  forced?: ForcedTag;
  /** Whole host: why a service is left alone (not opted in, opted out), or undefined to check it. */
  notWatched?: (service: StackService) => string | undefined;
  /** issue-18: `--approve manual` (labels and dosync.yaml per service win). */
  approve?: ApproveMode;
  /** issue-18: a dry run that still stores the check and status (`--check-only`: the daemon's state is its own). */
  recordChecks?: boolean;
}

export interface CycleDeps {
  /** The engine's client; the Compose runtime is made from it unless `runtime` is given. */
  docker?: EngineClient;
  /** What the cycle does to the engine (a fake in unit tests); default: the Compose runtime over `docker`. */
  runtime?: Runtime;
  registry: RegistryClient;
  logger: Logger;
  credentials: (registry: string) => Promise<Credential | undefined>;
  registryPolicySource: PlanContext['registryPolicySource'];
  pushTimes?: PlanContext['pushTimes'];
  /** The state file: failed tags, history, and the intent of an update in progress (crash recovery). */
  state?: StateStore;
  /** Set when a stop was requested: finish the current service, start no other. */
  stopping?: () => boolean;
  /** Digests asked this cycle, shared by every project of a whole-host cycle (default: this cycle's own). */
  digests?: PlanContext['digests'];
}

export interface CycleReport {
  plans: ServicePlan[];
  /** The update units of the stack and what each did. */
  units: UnitPlan[];
  outcomes: Array<{ service: string; outcome: ApplyOutcome; unit?: string }>;
  durationMs: number;
  /** Services whose check or update failed (a rollback counts). */
  failures: number;
  /** Updates that began waiting for approval this cycle (announced once). */
  announcements?: Announcement[];
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(code === 'ENOENT' ? `${what} ${path} does not exist; check -f/--file` : `cannot read ${what} ${path}: ${errorMessage(err)}`);
  }
}

/** The env files Compose reads for interpolation: the project's .env, then -e. The shell environment wins over both. */
export async function stackEnvFiles(files: string[], envFileOrFiles?: string | readonly string[]): Promise<string[]> {
  const envFiles: string[] = [];
  const dotenv = join(dirname(resolve(files[0])), '.env');
  if (await access(dotenv).then(() => true, () => false)) envFiles.push(dotenv);
  for (const envFile of typeof envFileOrFiles === 'string' ? [envFileOrFiles] : envFileOrFiles ?? []) {
    const path = resolve(envFile);
    await access(path).catch(() => { throw new ConfigError(`env file ${envFile} does not exist; check -e/--env-file`); });
    if (!envFiles.includes(path)) envFiles.push(path);
  }
  return envFiles;
}

// The daemon reads the same files every cycle; parsing a 200-service file is most of an idle cycle's
// garbage. The parse is reused while the texts (the -f and env files, and every file an include: or
// extends: file: brought in) and the environment are the same (nothing mutates a Stack).
// Kept per stack (the first compose file), so a whole-host daemon keeps each project's parse too; bounded.
const lastParses = new Map<string, { key: string; stack: Stack; followed: Map<string, string | undefined> }>();
const MAX_KEPT_PARSES = 256;

function readIfPresent(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return undefined;
    throw new ConfigError(`cannot read ${path}: ${errorMessage(err)}`);
  }
}

function parsedStack(composeTexts: Array<{ path: string; text: string }>, envTexts: Array<{ path: string; text: string }>): { stack: Stack; followed: Map<string, string | undefined> } {
  const key = JSON.stringify([composeTexts, envTexts, process.env]);
  const slot = composeTexts[0]?.path ?? '';
  const lastParse = lastParses.get(slot);
  if (lastParse?.key === key && [...lastParse.followed].every(([path, text]) => readIfPresent(path) === text)) return lastParse;
  const followed = new Map<string, string | undefined>();
  const readFile = (path: string) => {
    if (!followed.has(path)) followed.set(path, readIfPresent(path));
    return followed.get(path);
  };
  const parsed = { key, stack: readStack(composeTexts, process.env, { envFiles: envTexts, readFile }), followed };
  lastParses.delete(slot);
  if (lastParses.size >= MAX_KEPT_PARSES) lastParses.delete(lastParses.keys().next().value!);
  lastParses.set(slot, parsed);
  return parsed;
}

/** Reads and merges the compose files; `texts` holds every file read (compose, env, included and extended files) by absolute path. */
export async function loadStack(files: string[], envFiles: string[]): Promise<{ stack: Stack; texts: Map<string, string> }> {
  const read = (paths: string[], what: string) => Promise.all(paths.map(async (f) => ({ path: resolve(f), text: await readText(resolve(f), what) })));
  const composeTexts = await read(files, 'compose file');
  const envTexts = await read(envFiles, 'env file');
  const { stack, followed } = parsedStack(composeTexts, envTexts);
  const texts = new Map([...composeTexts, ...envTexts].map((t) => [t.path, t.text]));
  for (const [path, text] of followed) if (text !== undefined && !texts.has(path)) texts.set(path, text);
  return { stack, texts };
}

export interface Prepared {
  stack: Stack;
  texts: Map<string, string>;
  envFiles: string[];
  project: ResolvedProject;
  planContext: PlanContext;
  runtime: Runtime;
}

/** The runtime a cycle acts through: the one given, else Compose over the given (or default) engine client. */
export function cycleRuntime(deps: Pick<CycleDeps, 'docker' | 'runtime'>): Runtime {
  return deps.runtime ?? createComposeRuntime(deps.docker ?? createDocker());
}

/** Reads the stack, reaches the engine and finds the Compose project: what both `check` and `sync` start from. */
export async function prepare(settings: Pick<CycleSettings, 'files' | 'envFile' | 'config' | 'configPath' | 'projectName' | 'stateDir' | 'now'>, deps: Pick<CycleDeps, 'docker' | 'runtime' | 'registry' | 'logger' | 'registryPolicySource' | 'pushTimes' | 'state' | 'digests'>): Promise<Prepared> {
  const runtime = cycleRuntime(deps);
  // The engine is asked while the files are read and parsed; a bad file is still the error reported first.
  const ping = runtime.ping();
  ping.catch(() => undefined);
  const envFiles = await stackEnvFiles(settings.files, settings.envFile);
  const { stack, texts } = await loadStack(settings.files, envFiles);
  for (const w of stack.warnings) deps.logger.warn(w);
  await ping;
  const project = await runtime.resolveProject({
    files: settings.files, envFiles, explicitName: settings.projectName ?? stack.projectName, serviceNames: stack.services.map((s) => s.name),
  });
  deps.logger.debug({ project: project.name, workingDir: project.workingDir, source: project.source }, 'compose project');
  // Read once per cycle, not once per service.
  const paused = settings.stateDir ? await isPaused(settings.stateDir, process.env) : undefined;
  const planContext: PlanContext = {
    runtime, registry: shareListings(deps.registry, listingUses(stack.services.map((s) => s.image))), projectName: project.name, config: settings.config, configPath: settings.configPath,
    registryPolicySource: deps.registryPolicySource, pushTimes: deps.pushTimes,
    // `dosync skip SERVICE TAG` takes a tag out of the offer the way a failed one is (newer tags still come).
    isFailed: (service, tag, digest) => (deps.state?.isFailed(serviceKey(project.name, service), tag, digest) || deps.state?.skippedTags(serviceKey(project.name, service)).has(tag)) ?? false,
    failedTags: (service) => new Set([...deps.state?.failedTags(serviceKey(project.name, service)) ?? [], ...deps.state?.skippedTags(serviceKey(project.name, service)) ?? []]),
    holdFor: (service, pushedAt) => holdFor(service, pushedAt, settings, paused, deps.state?.get(serviceKey(project.name, service.name))?.paused !== undefined),
    engine: engineView(runtime, project.name),
    digests: deps.digests ?? new Map(),
  };
  return { stack, texts, envFiles, project, planContext, runtime };
}

/** One full cycle: read the stack, plan every service, apply the updates one group at a time. */
export async function runCycle(settings: CycleSettings, deps: CycleDeps): Promise<CycleReport> {
  const started = Date.now();
  // `docker compose version` takes ~0.15 s (the CLI, its plugin handshake, the plugin): find the Compose
  // command while the registries are asked, so an update never waits for it. Once per process (memoized);
  // a failure surfaces where composeUp awaits the same promise.
  const runtime = cycleRuntime(deps);
  if (!settings.dryRun) runtime.warmUp();
  const prepared = await prepare(settings, { ...deps, runtime });
  const { texts, envFiles, project, planContext: ctx } = prepared;
  ctx.registry = cycleBounded(ctx.registry, settings.config.limits?.cycle_timeout);
  let stack = prepared.stack;
  const applyCtx: ApplyContext = {
    runtime, project, logger: deps.logger, credentials: deps.credentials, knownTexts: texts,
    reloadStack: async () => (await loadStack(settings.files, envFiles)).stack,
    backupDir: settings.backupDir, keepBackups: settings.keepBackups, prune: settings.prune,
    settings: (plan) => serviceSettings(plan.service, settings.config, { health: settings.health, rolling: settings.rolling }),
    journal: new Journal(deps.state),
    stateKey: (service) => serviceKey(project.name, service),
  };
  if (deps.state?.pendingIntent() && !settings.dryRun) {
    await recoverPending(deps.state, stack, applyCtx);
    const reread = await loadStack(settings.files, envFiles);
    stack = reread.stack;
    texts.clear();
    for (const [path, text] of reread.texts) texts.set(path, text);
  }
  // Sidecar mode: dosync's own service is updated through a helper container (see self-update.ts).
  const self = await prepareSelfUpdate({ runtime, rewrite: applyCtx, project: project.name, state: deps.state, logger: deps.logger, prune: settings.prune, dryRun: settings.dryRun,
    stateDir: settings.stateDir ?? resolveStateDir({ flags: { backupDir: settings.backupDir }, env: {}, files: settings.files }) });
  applyCtx.self = self.target;
  // `dosync update SERVICE --to TAG`: only that service's unit is looked at.
  const forcedUnit = settings.forced && stackUnits(stack).find((u) => u.services.includes(settings.forced!.service));
  if (settings.forced && !forcedUnit) throw new ConfigError(`dosync update: there is no service ${settings.forced.service} in ${settings.files.join(', ')}`);
  const only = forcedUnit ? forcedUnit.services : settings.onlyServices;
  const own = await Promise.all(stack.services.map((s): ServicePlan | Promise<ServicePlan> => (only && !only.includes(s.name)
    ? { service: s, decision: { kind: 'skipped' as const, reason: NOT_REQUESTED } }
    : settings.notWatched?.(s) ? { service: s, decision: { kind: 'skipped' as const, reason: settings.notWatched(s)! } }
    : s.name === self.busy ? { service: s, decision: { kind: 'skipped' as const, reason: 'its self-update is in progress' } }
    : settings.oneShot && s.name === self.target?.service
      ? { service: s, decision: { kind: 'skipped' as const, reason: 'dosync\'s own service: a one-shot run (--once) does not update itself; the daemon does' } }
    : planService(s, ctx))));
  const unitPlans = await planStackUnits(stack, own, ctx, settings.config, settings.forced);
  const plans = unitPlans.flatMap((u) => u.members).sort((a, b) => stack.services.indexOf(a.service) - stack.services.indexOf(b.service));
  const outcomes: CycleReport['outcomes'] = [...self.settled];
  const announcements: Announcement[] = [];
  let failures = 0;
  const dependsOn = (name: string) => stack.services.find((s) => s.name === name)?.dependsOn.map((d) => d.service) ?? [];
  const groups = unitPlans.map((u) => ({ plans: u.members, unit: u }));
  for (const { unit: up } of selfLast(orderByDependencies(groups, dependsOn), self.target?.service)) {
    for (const plan of up.members) {
      const d = plan.decision;
      const log = deps.logger.child({ service: plan.service.name });
      if (d.kind === 'error') { failures++; log.error(d.reason); continue; }
      if (d.kind === 'skipped') { log.info(`skipped: ${d.reason}`); continue; }
      if (d.kind === 'up-to-date') { log.debug(`up to date: ${d.reason}`); continue; }
      if (d.kind === 'held') { log.info(d.reason); continue; }
    }
    const decision = up.decision;
    if (settings.forced && up.unit.services.includes(settings.forced.service) && decision.kind !== 'update') {
      failures++;
      deps.logger.child({ service: settings.forced.service }).error(`not updated to ${settings.forced.tag}: ${decision.reason}`);
    }
    if (decision.kind !== 'update') continue;
    const label = up.unit.services.length > 1 ? up.unit.label : undefined;
    const log = deps.logger.child(label ? { unit: label } : { service: up.unit.services[0] });
    // issue-18: `approve: manual` holds the unit until it is approved (an explicit `update --to` is approval).
    // A recorded check (the daemon's /v1/check) keeps the pending approvals current too; it never applies.
    if (!settings.forced && (!settings.dryRun || settings.recordChecks) && !approvalGate(up, { state: deps.state, config: settings.config, flag: settings.approve, stateKey: applyCtx.stateKey, now: (settings.now ?? (() => new Date()))(), announce: announcements, dryRun: settings.dryRun })) {
      log.info(`waiting for approval: ${decision.reason} (dosync approve ${up.unit.services[0]})`);
      continue;
    }
    if (settings.dryRun) { for (const u of decision.updates) deps.logger.child({ service: u.service.name }).info(`would update: ${u.decision.reason}`); continue; }
    if (deps.stopping?.()) { log.info('stop requested: update left for the next run'); continue; }
    try {
      for (const u of decision.updates) applyCtx.settings(u); // a bad dosync.* label fails the unit before anything is touched
    } catch (err) {
      failures++; log.error(errorMessage(err)); continue;
    }
    for (const u of decision.updates) deps.logger.child({ service: u.service.name }).info(`updating: ${u.decision.reason}`);
    const updates = decision.updates;
    const results = await applyGroupReplanning(updates, decision.edits, label, applyCtx, async () => {
      // Someone edited a file since we read it: re-read and re-plan rather than overwrite.
      const fresh = await loadStack(settings.files, envFiles);
      for (const [path, text] of fresh.texts) texts.set(path, text);
      const members = fresh.stack.services.filter((s) => up.unit.services.includes(s.name));
      const replanned = await planStackUnits(fresh.stack, await Promise.all(fresh.stack.services.map((s) => (members.includes(s) ? planService(s, ctx) : { service: s, decision: { kind: 'skipped' as const, reason: 'not in this unit' } }))), ctx, settings.config, settings.forced);
      const again = replanned.find((u) => u.unit.services.includes(updates[0].service.name))?.decision;
      return again?.kind === 'update' ? { updates: again.updates, edits: again.edits } : undefined;
    }, deps.logger);
    results.updates.forEach((plan, i) => {
      const outcome = results.outcomes[i];
      deps.state?.recordUpdate(applyCtx.stateKey(plan.service.name), {
        from: outcome.from, to: outcome.to, outcome: outcome.status, backup: outcome.status === 'updated' ? outcome.backup : undefined,
        detail: outcome.status === 'updated' ? outcome.note : outcome.reason, digest: plan.decision.remoteDigest,
        cycle: new Date(started).toISOString(), unit: label,
      });
      const slog = deps.logger.child({ service: plan.service.name, ...(label ? { unit: label } : {}) });
      outcomes.push({ service: plan.service.name, outcome, unit: label });
      if (outcome.status === 'updated') {
        slog.info({ from: outcome.from, to: outcome.to, backup: outcome.backup, pruned: outcome.pruned.length, rollout: outcome.rollout }, outcome.recreated ? 'updated' : `updated the file (${outcome.note ?? 'not recreated'})`);
      } else if (outcome.status === 'rolled-back') {
        failures++;
        if (marksTagFailed(outcome)) deps.state?.recordFailed(applyCtx.stateKey(plan.service.name), { tag: outcome.failedTag, digest: outcome.failedDigest, reason: outcome.reason });
        slog.error({ from: outcome.from, to: outcome.to }, `rolled back: ${outcome.reason}`);
      } else {
        failures++;
        slog.error({ from: outcome.from, to: outcome.to }, `update failed: ${outcome.reason}`);
      }
    });
  }
  if (deps.state && (!settings.dryRun || settings.recordChecks)) {
    for (const plan of plans) {
      const d = plan.decision;
      const applied = outcomes.some((o) => o.service === plan.service.name && o.outcome.status === 'updated');
      const outcome = applied ? 'up-to-date' : d.kind === 'update' ? 'update-available' : d.kind;
      deps.state.recordCheck(serviceKey(project.name, plan.service.name), outcome, d.reason);
    }
    await recordStatuses(deps.state, only ? plans.filter((p) => only.includes(p.service.name)) : plans, outcomes, { stateKey: (s) => serviceKey(project.name, s), engine: ctx.engine });
    await deps.state.save();
  }
  const durationMs = Date.now() - started;
  const count = (k: string) => plans.filter((p) => p.decision.kind === k).length;
  const updated = outcomes.filter((o) => o.outcome.status === 'updated').length;
  deps.logger.info({ durationMs, services: plans.length, updates: settings.dryRun ? count('update') : updated, upToDate: count('up-to-date'), skipped: count('skipped'), errors: failures },
    settings.dryRun ? 'dry run done' : 'cycle done');
  return { plans, units: unitPlans, outcomes, durationMs, failures, announcements };
}

/** Per-service plans joined into update units, with what runs now and `update_stopped` (label > services.X > top level). */
export async function planStackUnits(stack: Stack, own: ServicePlan[], ctx: PlanContext, config: ConfigFile, forced?: ForcedTag): Promise<UnitPlan[]> {
  own = [...own];
  const engine = ctx.engine ?? engineView(ctx.runtime, ctx.projectName);
  const names = new Set(own.filter((p) => p.decision.kind === 'update').map((p) => p.service.name));
  const units = stackUnits(stack);
  if (forced) {
    // Policies are bypassed, so a member's tag list may not have been asked for (a disabled or pinned service).
    const unit = units.find((u) => u.services.includes(forced.service));
    if (!unit) throw new ConfigError(`dosync update: there is no service ${forced.service} in the compose file`);
    for (const p of own) if (unit.services.includes(p.service.name)) names.add(p.service.name);
    own = await Promise.all(own.map(async (p) => {
      if (!unit.services.includes(p.service.name) || p.tags || !p.service.image) return p;
      try {
        const ref = p.ref ?? parseImageReference(p.service.image);
        return { ...p, ref, tags: await ctx.registry.listTags(ref) };
      } catch (err) {
        return { ...p, decision: { kind: 'error' as const, reason: errorMessage(err) } };
      }
    }));
  }
  // Presence is asked only for units with an update: a cycle with nothing to do does not wait on the engine.
  const wanted = units.filter((u) => u.services.some((s) => names.has(s))).flatMap((u) => u.services);
  const presence = new Map<string, Presence>();
  await Promise.all(wanted.map(async (name) => {
    const containers = await engine.containers(name);
    const service = stack.services.find((s) => s.name === name);
    const noRestart = !service?.restart || service.restart === 'no';
    presence.set(name, {
      running: containers.filter((c) => c.state === 'running').length,
      containers: containers.length,
      job: noRestart && containers.length > 0 && containers.every((c) => exitCodeOf(c) === 0),
    });
  }));
  return planUnits({
    stack, units, plans: own, forced,
    presence: (name) => presence.get(name) ?? { running: 0, containers: 0, job: false },
    updateStopped: (service) => updateStopped(service, config),
  });
}

function updateStopped(service: StackService, config: ConfigFile): boolean {
  const label = service.labels['dosync.update_stopped'];
  if (label !== undefined) {
    if (label !== 'true' && label !== 'false') throw new ConfigError(`services.${service.name}.labels.dosync.update_stopped: "${label}" is not true or false`);
    return label === 'true';
  }
  return config.services?.[service.name]?.update_stopped ?? config.update_stopped ?? false;
}

interface Applied { updates: UpdatePlan[]; outcomes: ApplyOutcome[] }

/** applyGroup, re-planned once when a file changed under us (ComposeChangedError) instead of overwriting it. */
async function applyGroupReplanning(updates: UpdatePlan[], edits: ImageEdit[], unit: string | undefined, ctx: ApplyContext, replan: () => Promise<{ updates: UpdatePlan[]; edits: ImageEdit[] } | undefined>, logger: Logger): Promise<Applied> {
  const failed = (list: UpdatePlan[], err: unknown): Applied => ({ updates: list, outcomes: list.map((u) => ({ status: 'failed', from: u.service.image ?? '', to: u.decision.newImage, reason: errorMessage(err) })) });
  try {
    return { updates, outcomes: await applyGroup(updates, ctx, { edits, unit }) };
  } catch (err) {
    if (!(err instanceof ComposeChangedError)) return failed(updates, err);
    logger.warn(`${err.message}; re-reading and re-planning`);
    const again = await replan();
    if (!again) return { updates, outcomes: updates.map((u) => ({ status: 'updated', from: u.service.image ?? '', to: u.service.image ?? '', pruned: [], recreated: false, note: 'no longer needed after re-plan' })) };
    return applyGroup(again.updates, ctx, { edits: again.edits, unit }).then((outcomes) => ({ updates: again.updates, outcomes }), (e) => failed(again.updates, e));
  }
}

/** Pause (env, `dosync pause`, `services.X.paused`), min_age and maintenance windows, per service, most specific first. */
async function holdFor(service: StackService, pushedAt: () => Promise<Date | undefined>, settings: Pick<CycleSettings, 'config' | 'configPath' | 'now'>, pause: PauseStatus | undefined, servicePaused = false) {
  const cfg = settings.config;
  const own = cfg.services?.[service.name];
  const file = settings.configPath ?? 'dosync.yaml';
  const paused = own?.paused ? `paused in ${file} (services.${service.name}.paused)` : servicePaused ? 'this service is paused (dashboard or POST /v1/pause?service=); resume it there' : pause?.paused ? `updates are paused (${pause.source === 'env' ? `${pause.variable}=1` : '`dosync pause`; `dosync resume` ends it'})` : undefined;
  const windowText = own?.maintenance_window ?? cfg.maintenance_window;
  const field = own?.maintenance_window ? `${file}: services.${service.name}.maintenance_window` : `${file}: maintenance_window`;
  const minAgeMs = own?.min_age ?? cfg.min_age;
  return updateHold({
    now: (settings.now ?? (() => new Date()))(),
    paused,
    windows: windowText ? parseWindows(windowText, field) : undefined,
    timeZone: cfg.timezone ? validateTimeZone(cfg.timezone, `${file}: timezone`) : undefined,
    minAgeMs,
    pushedAt: minAgeMs ? await pushedAt() : undefined,
  });
}
