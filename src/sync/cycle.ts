import type Docker from 'dockerode';
import { readFile, access } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Logger } from '../util/logger.js';
import { ConfigError, errorMessage } from '../util/errors.js';
import { readStack, parseEnvFile, type Stack } from '../compose/stack.js';
import type { RegistryClient } from '../registry/client.js';
import type { ConfigFile } from '../config/file.js';
import type { Credential } from '../registry/types.js';
import { repositoryKey } from '../reference/index.js';
import { resolveProject } from '../engine/project.js';
import { pingEngine } from '../engine/docker.js';
import { planService, type ServicePlan, type PlanContext } from './plan.js';
import { applyUpdate, type ApplyOutcome } from './apply.js';
import { ComposeChangedError } from '../compose/writer.js';

export interface CycleSettings {
  files: string[];
  envFile?: string;
  configPath?: string;
  config: ConfigFile;
  dryRun: boolean;
  backupDir?: string;
  keepBackups: number;
  health: { timeoutMs: number; stableMs: number };
  prune: boolean;
  projectName?: string;
}

export interface CycleDeps {
  docker: Docker;
  registry: RegistryClient;
  logger: Logger;
  credentials: (registry: string) => Promise<Credential | undefined>;
  registryPolicySource: PlanContext['registryPolicySource'];
  /** Remembered across cycles: tags (or digests) that failed their health gate, per repository. */
  failedTags: Map<string, Set<string>>;
  /** Set when a stop was requested: finish the current service, start no other. */
  stopping?: () => boolean;
}

export interface CycleReport {
  plans: ServicePlan[];
  outcomes: Array<{ service: string; outcome: ApplyOutcome }>;
  durationMs: number;
  /** Services whose check or update failed (a rollback counts). */
  failures: number;
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(code === 'ENOENT' ? `${what} ${path} does not exist; check -f/--file` : `cannot read ${what} ${path}: ${errorMessage(err)}`);
  }
}

/** Environment for interpolation, as Compose sees it: the project's .env, then -e, with the shell winning. */
export async function loadStackEnv(files: string[], envFile?: string): Promise<{ env: Record<string, string | undefined>; envFiles: string[] }> {
  const envFiles: string[] = [];
  const dotenv = join(dirname(resolve(files[0])), '.env');
  if (await access(dotenv).then(() => true, () => false)) envFiles.push(dotenv);
  if (envFile) {
    const path = resolve(envFile);
    await access(path).catch(() => { throw new ConfigError(`env file ${envFile} does not exist; check -e/--env-file`); });
    if (!envFiles.includes(path)) envFiles.push(path);
  }
  let fromFiles: Record<string, string> = {};
  for (const f of envFiles) fromFiles = { ...fromFiles, ...parseEnvFile(await readText(f, 'env file')) };
  return { env: { ...fromFiles, ...process.env }, envFiles };
}

export async function loadStack(files: string[], env: Record<string, string | undefined>): Promise<{ stack: Stack; texts: Map<string, string> }> {
  const texts = await Promise.all(files.map(async (f) => ({ path: resolve(f), text: await readText(resolve(f), 'compose file') })));
  return { stack: readStack(texts, env), texts: new Map(texts.map((t) => [t.path, t.text])) };
}

/** One full cycle: read the stack, plan every service, apply the updates one service at a time. */
export async function runCycle(settings: CycleSettings, deps: CycleDeps): Promise<CycleReport> {
  const started = Date.now();
  const { env, envFiles } = await loadStackEnv(settings.files, settings.envFile);
  const { stack, texts } = await loadStack(settings.files, env);
  await pingEngine(deps.docker);
  const project = await resolveProject(deps.docker, {
    files: settings.files, envFiles, explicitName: settings.projectName ?? stack.projectName, serviceNames: stack.services.map((s) => s.name),
  });
  deps.logger.debug({ project: project.name, workingDir: project.workingDir, source: project.source }, 'compose project');

  const ctx: PlanContext = {
    docker: deps.docker, registry: deps.registry, projectName: project.name, config: settings.config, configPath: settings.configPath,
    registryPolicySource: deps.registryPolicySource,
    failedTags: (key) => deps.failedTags.get(key) ?? new Set(),
  };
  const plans = await Promise.all(stack.services.map((s) => planService(s, ctx)));
  const applyCtx = {
    docker: deps.docker, project, logger: deps.logger, credentials: deps.credentials, knownTexts: texts,
    backupDir: settings.backupDir, keepBackups: settings.keepBackups, health: settings.health, prune: settings.prune,
  };
  const outcomes: CycleReport['outcomes'] = [];
  let failures = 0;
  for (const plan of plans) {
    const d = plan.decision;
    const log = deps.logger.child({ service: plan.service.name });
    if (d.kind === 'error') { failures++; log.error(d.reason); continue; }
    if (d.kind === 'skipped') { log.info(`skipped: ${d.reason}`); continue; }
    if (d.kind === 'up-to-date') { log.debug(`up to date: ${d.reason}`); continue; }
    if (settings.dryRun) { log.info(`would update: ${d.reason}`); continue; }
    if (deps.stopping?.()) { log.info('stop requested: update left for the next run'); continue; }
    log.info(`updating: ${d.reason}`);
    let outcome: ApplyOutcome;
    try {
      outcome = await applyUpdate(plan, applyCtx).catch(async (err) => {
        if (!(err instanceof ComposeChangedError)) throw err;
        // Someone edited the compose file since we read it: re-read and re-plan rather than overwrite.
        log.warn(`${err.message}; re-reading and re-planning`);
        const fresh = await loadStack(settings.files, env);
        for (const [path, text] of fresh.texts) texts.set(path, text);
        const service = fresh.stack.services.find((s) => s.name === plan.service.name);
        const replanned = service ? await planService(service, ctx) : undefined;
        if (replanned?.decision.kind !== 'update') return { status: 'updated', from: plan.service.rawImage ?? '', to: plan.service.rawImage ?? '', pruned: [], recreated: false, note: 'no longer needed after re-plan' } as ApplyOutcome;
        return applyUpdate(replanned, applyCtx);
      });
    } catch (err) {
      outcome = { status: 'failed', from: plan.service.rawImage ?? '', to: d.newImage, reason: errorMessage(err) };
    }
    outcomes.push({ service: plan.service.name, outcome });
    if (outcome.status === 'updated') {
      log.info({ from: outcome.from, to: outcome.to, backup: outcome.backup, pruned: outcome.pruned.length }, outcome.recreated ? 'updated' : 'updated compose file (service not running, not started)');
    } else if (outcome.status === 'rolled-back') {
      failures++;
      const key = repositoryKey(plan.ref!);
      deps.failedTags.set(key, (deps.failedTags.get(key) ?? new Set()).add(outcome.failedTag));
      log.error({ from: outcome.from, to: outcome.to }, `rolled back: ${outcome.reason}`);
    } else {
      failures++;
      log.error({ from: outcome.from, to: outcome.to }, `update failed: ${outcome.reason}`);
    }
  }
  const durationMs = Date.now() - started;
  const count = (k: string) => plans.filter((p) => p.decision.kind === k).length;
  deps.logger.info({ durationMs, services: plans.length, updates: count('update'), upToDate: count('up-to-date'), skipped: count('skipped'), errors: failures },
    settings.dryRun ? 'dry run done' : 'cycle done');
  return { plans, outcomes, durationMs, failures };
}
