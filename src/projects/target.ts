/**
 * `--project NAME` on rollback, retry, backups, check, pause and config print: the files and the per-project
 * state and backup dirs a whole-host dosync uses for that project, found the way it finds them (dosync.yaml
 * `projects:` first, then the engine's labels: Compose containers', then swarm stacks' `dosync.stack.file`).
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ConfigError } from '../util/errors.js';
import type { ConfigFile } from '../config/file.js';
import { createDocker, listComposeContainers } from '../engine/docker.js';
import { resolveBackupDir, resolveHostStateDir } from '../sync/dirs.js';
import { projectsFromConfig, projectsFromContainers, stacksFromServices, unconfiguredStackLine, type ProjectSpec } from './discover.js';
import { stackServiceLabels } from '../engine/swarm-stacks.js';
import { projectStateDir } from './host.js';

export interface ProjectDirs { stateDir: string; backupDir: string }

/** The dirs alone (no engine needed): what `dosync pause --project` writes to. */
export function projectDirs(name: string, s: { flags?: { stateDir?: string; backupDir?: string }; env: Readonly<Record<string, string | undefined>>; config: ConfigFile }): ProjectDirs {
  const stateDir = projectStateDir(resolveHostStateDir(s), name);
  const hostBackups = resolveBackupDir(s);
  return { stateDir, backupDir: hostBackups ? join(hostBackups, name) : join(stateDir, 'backups') };
}

export async function findProject(name: string, opts: { config: ConfigFile; configPath?: string; env: Readonly<Record<string, string | undefined>>; flags?: { stateDir?: string; backupDir?: string } }): Promise<ProjectSpec & ProjectDirs> {
  const docker = createDocker();
  const running = projectsFromContainers(await listComposeContainers(docker).catch(() => []));
  const listed = opts.config.projects
    ? projectsFromConfig(opts.config.projects, { baseDir: opts.configPath ? dirname(opts.configPath) : process.cwd(), file: opts.configPath ?? 'dosync.yaml', exists: existsSync, running }).specs
    : [];
  let spec = [...listed, ...running].find((p) => p.name === name);
  // Else a swarm stack whose service labels name its file, as `--all` finds it; one with no file is told what to do.
  const stacks = spec ? undefined : stacksFromServices(await stackServiceLabels(docker).catch(() => []), listed);
  spec ??= stacks?.specs.find((p) => p.name === name);
  if (!spec && stacks?.unconfigured.includes(name)) throw new ConfigError(`--project ${name}: ${unconfiguredStackLine(name)}`);
  if (!spec) {
    const known = [...new Set([...listed, ...running, ...(stacks?.specs ?? [])].map((p) => p.name))].sort();
    throw new ConfigError(`--project ${name}: no such compose project (${known.length > 0 ? `known: ${known.join(', ')}` : 'none runs and dosync.yaml lists none'}); check the name, or pass -f`);
  }
  return { ...spec, ...projectDirs(name, { flags: opts.flags, env: opts.env, config: opts.config }) };
}
