import type Docker from 'dockerode';
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { hostname } from 'node:os';
import { listComposeContainers, LABEL_CONFIG_FILES, LABEL_PROJECT, LABEL_WORKDIR, type ContainerSummary } from './docker.js';
import type { ComposeProject } from './compose-cli.js';

/** Compose's default project name: the directory name, lowercased, with only [a-z0-9_-]. */
export function defaultProjectName(dir: string): string {
  return basename(resolve(dir)).toLowerCase().replace(/[^a-z0-9_-]/g, '');
}

/** The id of the container we run in, when we do (sidecar mode). */
function ownContainerId(): string | undefined {
  try {
    const cgroup = readFileSync('/proc/self/mountinfo', 'utf8');
    const m = cgroup.match(/\/containers\/([a-f0-9]{64})\//);
    if (m) return m[1];
  } catch { /* not Linux or no procfs */ }
  return existsSync('/.dockerenv') ? hostname() : undefined;
}

export interface ProjectHints {
  files: string[];
  envFiles: string[];
  /** --project-name / DOSYNC_PROJECT, or the compose file's top-level `name:`. */
  explicitName?: string;
  serviceNames: string[];
}

/**
 * Works out which Compose project the files belong to, so `up` addresses the running stack even when
 * dosync sees the compose file at another path (sidecar: /app/docker-compose.yml on the host's ./docker-compose.yml).
 * Order: explicit name; running containers whose config_files label lists our file; our own container's
 * project (sidecar); the directory-name default.
 */
export async function resolveProject(docker: Docker, hints: ProjectHints): Promise<ComposeProject & { source: string }> {
  const files = hints.files.map((f) => resolve(f));
  const fileDir = dirname(files[0]);
  const all = await listComposeContainers(docker).catch(() => [] as ContainerSummary[]);
  const fromLabels = (name: string, source: string) => {
    const member = all.find((c) => c.labels[LABEL_PROJECT] === name && c.labels[LABEL_WORKDIR]);
    return { name, workingDir: member?.labels[LABEL_WORKDIR] ?? fileDir, files, envFiles: hints.envFiles, source };
  };
  if (hints.explicitName) return fromLabels(hints.explicitName, 'explicit name');
  const byFile = all.find((c) => (c.labels[LABEL_CONFIG_FILES] ?? '').split(',').some((f) => files.includes(f)));
  if (byFile) return fromLabels(byFile.labels[LABEL_PROJECT], 'containers using this compose file');
  const own = ownContainerId();
  const self = own && all.find((c) => c.id.startsWith(own));
  if (self) return fromLabels(self.labels[LABEL_PROJECT], 'the project dosync runs in');
  const name = defaultProjectName(fileDir);
  const hasServices = all.some((c) => c.labels[LABEL_PROJECT] === name);
  return fromLabels(name, hasServices ? 'directory name' : 'directory name (no containers yet)');
}
