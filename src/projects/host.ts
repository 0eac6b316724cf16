/**
 * Whole-host mode: every cycle finds the projects (engine labels, dosync.yaml `projects:`), then runs each
 * one's ordinary cycle with its own state, lock, journal, backups and pause flag under
 * `<state dir>/projects/<name>/`. One registry client, one tag listing and one digest per repository per
 * cycle serve every project. A failure in one project (unreadable file, bad compose file, locked by another
 * dosync, a rollback) is that project's result and never stops the others.
 */
import { access, constants } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type Docker from 'dockerode';
import pLimit from 'p-limit';
import type { Logger } from '../util/logger.js';
import { errorMessage } from '../util/errors.js';
import type { ConfigFile } from '../config/file.js';
import { loadConfigFile } from '../config/file.js';
import { shareListings } from '../registry/shared-listings.js';
import { listComposeContainers } from '../engine/docker.js';
import { runCycle, stackEnvFiles, type CycleDeps, type CycleReport, type CycleSettings } from '../sync/cycle.js';
import { compareBackups, listBackups, type Backup } from '../compose/backups.js';
import { rollbackOne } from '../sync/daemon-rollback.js';
import type { CycleRequest } from '../sync/daemon-control.js';
import { StateStore, defaultStatePath } from '../sync/state.js';
import { acquireLock, type ProjectLock } from '../sync/lock.js';
import { mergeProjectConfig } from './config.js';
import { notWatched, projectsFromConfig, projectsFromContainers, selectProjects, unreadableLine, type ProjectSpec } from './discover.js';
import { createSwarmRuntime, type Runtime } from '../engine/index.js';
import { foundStacks } from './stacks.js';

/** The project's own dosync.yaml: next to its first compose file (not the host's file itself). */
export function ownConfigFile(files: readonly string[], hostConfigPath?: string): string | undefined {
  return ['dosync.yaml', 'dosync.yml'].map((n) => join(dirname(files[0]), n)).find((p) => existsSync(p) && p !== hostConfigPath);
}

/** `<state dir>/projects/<name>`: where one project's state, lock, pause flag and (by default) backups live. */
export function projectStateDir(hostStateDir: string, project: string): string {
  return join(hostStateDir, 'projects', project.replace(/[^A-Za-z0-9_.-]/g, '_'));
}

export interface HostOptions {
  docker: Docker;
  logger: Logger;
  hostConfig: ConfigFile;
  configPath?: string;
  configEnv: Record<string, string | undefined>;
  stateDir: string;
  /** Host-wide backup dir: each project's backups go to `<dir>/<project>`; unset: `<project state dir>/backups`. */
  backupDir?: string;
  /** `--all`: the engine's projects too (else only dosync.yaml's `projects:`). */
  discover: boolean;
  root?: string;
  exclude: string[];
  watchByDefault: boolean;
  /** Hold each project's lock (anything that may write); a dry run only reads. */
  lock: boolean;
  /** Projects whose cycles run at once (their registry work is shared; an update holds only its project). */
  concurrency?: number;
  /** A project is looked after from now on (its state is open): the daemon gives it its controls. */
  onProject?: (project: string, kept: { stateDir: string; state: StateStore }) => void;
  /** A project is gone (no longer found). */
  onGone?: (project: string) => void;
}

export interface ProjectRun {
  project: string;
  files: string[];
  workingDir?: string;
  stateDir?: string;
  report?: CycleReport;
  state?: StateStore;
  /** Why this project did not run this cycle (unreadable file, locked elsewhere, bad compose file). */
  error?: string;
}

/**
 * What a host cycle was asked for. `all`: every project runs (a scheduled cycle, or the API asked for all);
 * `byProject`: what one project was asked for (API, dashboard, inbox, a registry push). Without `all` only
 * the projects in `byProject` run.
 */
export interface HostAsk {
  all?: { checkOnly?: boolean };
  byProject?: Record<string, CycleRequest>;
}

/** What one project's cycle does under a host ask; undefined: it does not run this cycle. Pure. */
export function projectAsk(ask: HostAsk, project: string): CycleRequest | undefined {
  const own = ask.byProject?.[project];
  if (!ask.all) return ask.byProject ? own : {};
  if (!own) return { checkOnly: ask.all.checkOnly };
  // The whole project runs anyway; a check asked for one project never narrows an update of all.
  return { checkOnly: ask.all.checkOnly === true && own.checkOnly === true, forced: own.forced };
}

interface Kept { stateDir: string; state: StateStore; lock?: ProjectLock; runtime?: Runtime }

export class Host {
  private readonly kept = new Map<string, Kept>();
  private readonly specs = new Map<string, ProjectSpec>();
  /** The projects of the last cycle, for the API and webhooks. */
  last: ProjectRun[] = [];
  /** Swarm stacks the last look found running with no file known (not excluded): the status names them. */
  unconfigured: string[] = [];

  constructor(private readonly opts: HostOptions) {}

  /** SIGHUP: the next cycle runs with the new host configuration. */
  reload(config: ConfigFile): void {
    this.opts.hostConfig = config;
  }

  /** The projects to look after now, and one line for each that cannot be looked after. */
  async find(): Promise<{ specs: ProjectSpec[]; problems: ProjectRun[]; unconfigured: string[] }> {
    const o = this.opts;
    const containers = await listComposeContainers(o.docker);
    const running = projectsFromContainers(containers);
    const listed = o.hostConfig.projects
      ? projectsFromConfig(o.hostConfig.projects, { baseDir: o.configPath ? dirname(o.configPath) : process.cwd(), file: o.configPath ?? 'dosync.yaml', exists: existsSync, running })
      : { specs: [], problems: [] };
    const problems: ProjectRun[] = listed.problems.map((p) => ({ project: p.name, files: [], error: p.message }));
    // Swarm stacks (issue 17): found ones with a file label join the found projects; the others get one line.
    const stacks = o.discover ? await foundStacks(o.docker, listed.specs, this.opts.logger, o.exclude) : { specs: [], unconfigured: [] };
    const candidates = selectProjects(listed.specs, o.discover ? [...running, ...stacks.specs] : [], { root: o.root, exclude: o.exclude });
    const specs: ProjectSpec[] = [];
    await Promise.all(candidates.map(async (spec) => {
      for (const f of spec.files) {
        const err = await access(f, constants.R_OK).then(() => undefined, (e: NodeJS.ErrnoException) => e.code ?? e.message);
        if (err) { problems.push({ project: spec.name, files: spec.files, workingDir: spec.workingDir, error: unreadableLine(spec, f, err) }); return; }
      }
      specs.push(spec);
    }));
    specs.sort((a, b) => a.name.localeCompare(b.name));
    this.unconfigured = stacks.unconfigured;
    return { specs, problems, unconfigured: stacks.unconfigured };
  }

  /** One cycle over every project; the base settings are the host's (files, project and dirs are set per project). */
  async cycle(base: Omit<CycleSettings, 'files' | 'config'>, deps: Omit<CycleDeps, 'state' | 'digests'>, ask: HostAsk = {}): Promise<ProjectRun[]> {
    const { specs, problems } = await this.find();
    for (const p of problems) this.opts.logger.warn(p.error!);
    // Projects gone since the last cycle are dropped: their locks released, nothing of them reported.
    for (const [name, k] of this.kept) {
      if (!specs.some((s) => s.name === name)) {
        k.lock?.release();
        this.kept.delete(name);
        this.specs.delete(name);
        this.opts.logger.info({ project: name }, 'project gone: no longer watched');
        this.opts.onGone?.(name);
      }
    }
    for (const spec of specs) this.specs.set(spec.name, spec);
    // Every project asking for a repository's tags this host cycle gets the one listing.
    const shared = { ...deps, registry: shareListings(deps.registry), digests: new Map() };
    const limit = pLimit(this.opts.concurrency ?? 4);
    const chosen = specs.flatMap((spec) => { const a = projectAsk(ask, spec.name); return a ? [{ spec, a }] : []; });
    const runs = await Promise.all(chosen.map(({ spec, a }) => limit(() => this.runProject(spec, base, shared, a))));
    // A cycle of some projects only keeps the others' last run (the status and the dashboard show them).
    const ran = new Set(runs.map((r) => r.project));
    const kept = this.last.filter((r) => !ran.has(r.project) && !r.error && specs.some((s) => s.name === r.project));
    this.last = [...runs, ...kept, ...problems].sort((a, b) => a.project.localeCompare(b.project));
    return runs.concat(problems);
  }

  private async keep(spec: ProjectSpec): Promise<Kept> {
    let k = this.kept.get(spec.name);
    if (k) return k;
    const stateDir = projectStateDir(this.opts.stateDir, spec.name);
    // The lock first: it creates the private dir the state file goes in.
    const lock = this.opts.lock ? await acquireLock(stateDir, spec.name) : undefined;
    for (const w of lock?.warnings ?? []) this.opts.logger.warn(w);
    const state = await StateStore.open(defaultStatePath(stateDir));
    for (const w of state.warnings) this.opts.logger.warn(w);
    k = { stateDir, state, lock };
    this.kept.set(spec.name, k);
    this.opts.onProject?.(spec.name, k);
    return k;
  }

  /** The host's dosync.yaml with the project's own (next to its first compose file) on top. */
  async projectConfig(spec: ProjectSpec, logger: Logger): Promise<ConfigFile> {
    const own = ownConfigFile(spec.files, this.opts.configPath);
    if (!own) return this.opts.hostConfig;
    const { config } = await loadConfigFile(own, this.opts.configEnv);
    const merged = mergeProjectConfig(this.opts.hostConfig, config, own);
    for (const w of merged.warnings) logger.warn(w);
    return merged.config;
  }

  /** One project's cycle settings: the host's with the project's files, config, dirs and watch rule. */
  private async settingsFor(spec: ProjectSpec, k: Kept, base: Omit<CycleSettings, 'files' | 'config'>, logger: Logger): Promise<CycleSettings> {
    const config = await this.projectConfig(spec, logger);
    const watchByDefault = config.watch_by_default ?? this.opts.watchByDefault;
    return {
      ...base, files: spec.files, envFile: spec.envFile, config, projectName: spec.name, stateDir: k.stateDir,
      backupDir: this.backupDirOf(spec.name, k),
      notWatched: (s) => notWatched(s.labels, watchByDefault),
    };
  }

  private backupDirOf(project: string, k: Kept): string {
    return this.opts.backupDir ? join(this.opts.backupDir, project) : join(k.stateDir, 'backups');
  }

  /**
   * The backups of every watched project's files (compose and env files, as `dosync backups list --project`
   * finds them), oldest first; a project whose files cannot be read lists none.
   */
  async backups(): Promise<Array<Backup & { project: string }>> {
    const lists = await Promise.all([...this.specs.values()].map(async (spec) => {
      const k = this.kept.get(spec.name);
      if (!k) return [];
      const envFiles = await stackEnvFiles(spec.files, spec.envFile).catch(() => [] as string[]);
      const files = [...spec.files.map((path) => ({ path, kind: 'compose' as const })), ...envFiles.map((path) => ({ path, kind: 'env' as const }))];
      return (await listBackups(files, this.backupDirOf(spec.name, k)).catch(() => [])).map((b) => ({ ...b, project: spec.name }));
    }));
    return lists.flat().sort(compareBackups);
  }

  /** A rollback of one service of one project (dashboard, API), between cycles: the path `dosync rollback` takes. */
  async rollback(project: string, service: string, base: Omit<CycleSettings, 'files' | 'config'>, deps: Omit<CycleDeps, 'state' | 'digests'>): Promise<string> {
    const spec = this.specs.get(project);
    const k = this.kept.get(project);
    if (!spec || !k) return `rollback of ${service}: project ${project} is no longer watched`;
    const logger = this.opts.logger.child({ project });
    return rollbackOne(service, await this.settingsFor(spec, k, base, logger), { ...deps, logger, state: k.state, ...this.runtimeOf(spec, k, deps) });
  }

  /** A Swarm stack goes through the swarm runtime (kept per project: it remembers pending updates); a Compose project through the default. */
  private runtimeOf(spec: ProjectSpec, k: Kept, deps: Pick<CycleDeps, 'credentials'>): { runtime?: Runtime } {
    if (spec.stack && !k.runtime) k.runtime = createSwarmRuntime(this.opts.docker, spec.stack, { credentials: deps.credentials });
    return k.runtime ? { runtime: k.runtime } : {};
  }

  private async runProject(spec: ProjectSpec, base: Omit<CycleSettings, 'files' | 'config'>, deps: Omit<CycleDeps, 'state'>, ask: CycleRequest): Promise<ProjectRun> {
    const logger = this.opts.logger.child({ project: spec.name });
    const run: ProjectRun = { project: spec.name, files: spec.files, workingDir: spec.workingDir };
    try {
      const k = await this.keep(spec);
      run.stateDir = k.stateDir;
      run.state = k.state;
      const settings = await this.settingsFor(spec, k, base, logger);
      run.report = await runCycle({
        ...settings, dryRun: base.dryRun || ask.checkOnly === true, recordChecks: base.recordChecks || ask.checkOnly === true,
        onlyServices: ask.services, forced: ask.forced,
      }, { ...deps, logger, state: k.state, ...this.runtimeOf(spec, k, deps) });
    } catch (err) {
      run.error = errorMessage(err);
      logger.error(run.error);
    }
    return run;
  }

  /** Releases every project's lock (the daemon stops). */
  close(): void {
    for (const k of this.kept.values()) k.lock?.release();
    this.kept.clear();
  }
}

/** Failures of a whole-host cycle: failed services plus projects that could not run. */
export function hostFailures(runs: readonly ProjectRun[]): number {
  return runs.reduce((n, r) => n + (r.error ? 1 : r.report?.failures ?? 0), 0);
}
