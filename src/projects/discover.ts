/**
 * Which compose projects a whole-host dosync looks after: the ones the engine runs (from the labels compose
 * puts on every container), the ones dosync.yaml lists, minus the excluded ones and those outside the
 * projects root. Pure: the caller lists the containers and says which files exist.
 */
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { LABEL_CONFIG_FILES, LABEL_PROJECT, LABEL_STACK, LABEL_WORKDIR, type ContainerSummary } from '../engine/docker.js';
import type { ConfigFile } from '../config/file.js';

export const LABEL_ENV_FILE = 'com.docker.compose.project.environment_file';

export interface ProjectSpec {
  name: string;
  /** Absolute compose file paths, in -f order. */
  files: string[];
  /** An env file besides the project's own .env (compose's --env-file). */
  /** Several when the project was started with several --env-file (the label lists them all). */
  envFile?: string | string[];
  workingDir: string;
  /** `engine` (found from containers' labels) or `dosync.yaml` (listed). */
  source: string;
  /** A Swarm stack of this name (updated through the swarm runtime), not a Compose project. */
  stack?: string;
}

const split = (v: string | undefined) => (v ?? '').split(',').map((s) => s.trim()).filter(Boolean);

/** One spec per project the containers belong to; the newest container's labels win when they differ (a redeploy with other -f files). */
export function projectsFromContainers(containers: readonly ContainerSummary[]): ProjectSpec[] {
  const byName = new Map<string, ProjectSpec>();
  for (const c of containers) {
    const name = c.labels[LABEL_PROJECT];
    if (!name) continue;
    const files = split(c.labels[LABEL_CONFIG_FILES]);
    const workingDir = c.labels[LABEL_WORKDIR] ?? (files[0] ? dirname(files[0]) : '');
    if (files.length === 0 && !workingDir) continue;
    if (byName.has(name) && (byName.get(name)!.files.length > 0 || files.length === 0)) continue;
    // Compose records the .env it read too; only env files other than the project's own .env are passed as -e
    // (issue-18b: every one of them, in the label's order, later ones winning as in compose).
    const others = split(c.labels[LABEL_ENV_FILE]).filter((e) => resolve(e) !== join(workingDir, '.env'));
    const envFile = others.length > 1 ? others : others[0];
    byName.set(name, { name, files: files.map((f) => (isAbsolute(f) ? f : resolve(workingDir, f))), envFile, workingDir, source: 'engine' });
  }
  return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** The files `docker compose` reads in a directory without -f: the first default name, plus its override. */
export const COMPOSE_DEFAULT_NAMES = ['compose.yaml', 'compose.yml', 'docker-compose.yml', 'docker-compose.yaml'];
const OVERRIDE_OF: Record<string, string[]> = {
  'compose.yaml': ['compose.override.yaml', 'compose.override.yml'], 'compose.yml': ['compose.override.yml', 'compose.override.yaml'],
  'docker-compose.yml': ['docker-compose.override.yml', 'docker-compose.override.yaml'], 'docker-compose.yaml': ['docker-compose.override.yaml', 'docker-compose.override.yml'],
};

export function composeFilesIn(dir: string, exists: (path: string) => boolean): string[] | undefined {
  const main = COMPOSE_DEFAULT_NAMES.find((n) => exists(join(dir, n)));
  if (!main) return undefined;
  const override = OVERRIDE_OF[main].find((n) => exists(join(dir, n)));
  return [join(dir, main), ...(override ? [join(dir, override)] : [])];
}

/** Compose's default project name: the directory name, lowercased, with only [a-z0-9_-]. */
export function projectNameOf(dir: string): string {
  return (dir.split('/').filter(Boolean).pop() ?? '').toLowerCase().replace(/[^a-z0-9_-]/g, '');
}

export interface ListedResult { specs: ProjectSpec[]; problems: Array<{ name: string; message: string }> }

/**
 * dosync.yaml's `projects:` as specs. Relative paths are relative to dosync.yaml's directory. A project
 * without a name takes the one the engine's containers give its files, else its directory's name.
 */
export function projectsFromConfig(list: NonNullable<ConfigFile['projects']>, opts: { baseDir: string; file: string; exists: (path: string) => boolean; running: readonly ProjectSpec[] }): ListedResult {
  const specs: ProjectSpec[] = [];
  const problems: ListedResult['problems'] = [];
  list.forEach((p, i) => {
    const where = `${opts.file}: projects[${i}]`;
    const files = p.files ? p.files.map((f) => resolve(opts.baseDir, f)) : composeFilesIn(resolve(opts.baseDir, p.dir!), opts.exists);
    const dir = p.dir ? resolve(opts.baseDir, p.dir) : dirname(files![0]);
    if (!files) {
      problems.push({ name: p.name ?? projectNameOf(dir), message: `${where}: no ${COMPOSE_DEFAULT_NAMES.join(', ')} in ${dir}; give files: or fix dir:` });
      return;
    }
    const name = p.name ?? p.stack ?? opts.running.find((r) => r.files.includes(files[0]))?.name ?? projectNameOf(dir);
    specs.push({ name, files, envFile: p.env_file ? resolve(opts.baseDir, p.env_file) : undefined, workingDir: dir, source: opts.file, ...(p.stack ? { stack: p.stack } : {}) });
  });
  return { specs, problems };
}

/** A service label naming its stack's file (absolute path): lets `--all` update a stack nobody listed. */
export const LABEL_STACK_FILE = 'dosync.stack.file';

export interface FoundStacks {
  /** Stacks whose services name their file (label dosync.stack.file): looked after like listed ones. */
  specs: ProjectSpec[];
  /** Stacks the engine runs that no `projects:` entry and no label gives a file for (sorted). */
  unconfigured: string[];
}

/**
 * The swarm stacks a manager runs, from its services' labels. A swarm service does not record the file it was
 * deployed from, so a stack is updated only when dosync.yaml lists it (`stack:` + `files:`) or one of its
 * services carries `dosync.stack.file`; the others are named so the user can add them. Pure.
 */
export function stacksFromServices(services: ReadonlyArray<{ labels: Readonly<Record<string, string>> }>, listed: readonly ProjectSpec[]): FoundStacks {
  const files = new Map<string, string | undefined>();
  for (const s of services) {
    const name = s.labels[LABEL_STACK];
    if (!name) continue;
    const file = s.labels[LABEL_STACK_FILE]?.trim();
    if (!files.get(name)) files.set(name, file && isAbsolute(file) ? file : undefined);
  }
  const specs: ProjectSpec[] = [];
  const unconfigured: string[] = [];
  for (const [name, file] of [...files].sort(([a], [b]) => a.localeCompare(b))) {
    if (listed.some((l) => l.stack === name)) continue;
    if (file) specs.push({ name, files: [file], workingDir: dirname(file), source: `engine (label ${LABEL_STACK_FILE})`, stack: name });
    else unconfigured.push(name);
  }
  return { specs, unconfigured };
}

/** The one line for a stack `--all` found but cannot update (no file known). */
export function unconfiguredStackLine(name: string): string {
  return `stack ${name}: add it to projects: with its file to let dosync update it (projects: [{ stack: ${name}, files: [stack.yml] }]), or label one of its services ${LABEL_STACK_FILE}=/abs/path/stack.yml`;
}

/** True when `path` is `root` or inside it. */
export function isUnder(path: string, root: string): boolean {
  const rel = relative(resolve(root), resolve(path));
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/**
 * Listed projects first (they win over a found one of the same name), then found ones; minus excluded
 * names and, with a root, found projects whose working dir lies outside it.
 */
export function selectProjects(listed: readonly ProjectSpec[], found: readonly ProjectSpec[], opts: { root?: string; exclude?: readonly string[] }): ProjectSpec[] {
  const out = new Map<string, ProjectSpec>();
  for (const p of listed) if (!opts.exclude?.includes(p.name) && !out.has(p.name)) out.set(p.name, p);
  // The root scopes what is found; a listed project is named on purpose, wherever it lives.
  for (const p of found) {
    if (out.has(p.name) || listed.some((l) => l.name === p.name)) continue;
    if (opts.exclude?.includes(p.name)) continue;
    if (opts.root && !isUnder(p.workingDir, opts.root)) continue;
    out.set(p.name, p);
  }
  return [...out.values()];
}

/** Labels that opt a service in (watch_by_default: false) or, set to false, out: dosync's, Watchtower's and What's Up Docker's. */
export const OPT_IN_LABELS = ['dosync.enable', 'com.centurylinklabs.watchtower.enable', 'wud.watch'];

/** Why a service is left alone under the opt-in rules, or undefined when it is watched. */
export function notWatched(labels: Readonly<Record<string, string>>, watchByDefault: boolean): string | undefined {
  const set = OPT_IN_LABELS.filter((l) => labels[l] !== undefined);
  if (set.some((l) => labels[l].trim().toLowerCase() === 'false')) return `opted out (label ${set.find((l) => labels[l].trim().toLowerCase() === 'false')}=false)`;
  if (watchByDefault || set.some((l) => labels[l].trim().toLowerCase() === 'true')) return undefined;
  return 'not opted in (watch_by_default: false; label the service dosync.enable=true to watch it)';
}

/** The one line for a project whose files this dosync cannot read (a sidecar without the mount). */
export function unreadableLine(spec: ProjectSpec, path: string, reason: string): string {
  return `project ${spec.name}: cannot read ${path} (${reason}); mount ${spec.workingDir} into the dosync container at the same path (dosync init --host does), or exclude it with --exclude-project ${spec.name}`;
}
