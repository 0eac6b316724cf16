import type Docker from 'dockerode';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, symlink } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { hostname } from 'node:os';
import { listComposeContainers, LABEL_CONFIG_FILES, LABEL_PROJECT, LABEL_WORKDIR, type ContainerSummary } from './docker.js';
import type { ComposeProject } from './compose-cli.js';

/** Compose's default project name: the directory name, lowercased, with only [a-z0-9_-]. */
export function defaultProjectName(dir: string): string {
  return basename(resolve(dir)).toLowerCase().replace(/[^a-z0-9_-]/g, '');
}

/**
 * The id of the container we run in, when we do (sidecar mode): the engine bind-mounts the container's own
 * `containers/<id>/hostname` on /etc/hostname. (Any `/containers/<id>/` line would do inside a container, but
 * a host's mount table may list other containers' shm mounts.)
 */
export function ownContainerId(): string | undefined {
  try {
    const cgroup = readFileSync('/proc/self/mountinfo', 'utf8');
    const m = cgroup.match(/\/containers\/([a-f0-9]{64})\/hostname \/etc\/hostname /);
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

export interface MountInfo {
  Type?: string;
  Source: string;
  Destination: string;
}

/**
 * Where a path we see inside our container is on the host, through our bind mounts (the deepest mount that
 * holds it); undefined when no bind mount holds it. Pure.
 */
export function hostPathOf(path: string, mounts: readonly MountInfo[]): string | undefined {
  const holder = mounts
    .filter((m) => m.Type === 'bind' && (path === m.Destination || path.startsWith(m.Destination.endsWith('/') ? m.Destination : `${m.Destination}/`)))
    .sort((a, b) => b.Destination.length - a.Destination.length)[0];
  if (!holder) return undefined;
  const rest = path.slice(holder.Destination.length).replace(/^\/+/, '');
  return rest ? `${holder.Source.replace(/\/+$/, '')}/${rest}` : holder.Source;
}

/** The inverse of hostPathOf: where a host path is inside our container, through a bind mount of it or of a directory above it. Pure. */
export function containerPathOf(hostPath: string, mounts: readonly MountInfo[]): string | undefined {
  const trim = (p: string) => p.replace(/\/+$/, '') || '/';
  const holder = mounts
    .filter((m) => m.Type === 'bind' && (trim(m.Source) === hostPath || hostPath.startsWith(`${trim(m.Source)}/`)))
    .sort((a, b) => b.Source.length - a.Source.length)[0];
  if (!holder) return undefined;
  const rest = hostPath.slice(trim(holder.Source).length).replace(/^\/+/, '');
  return rest ? `${trim(holder.Destination)}/${rest}` : holder.Destination;
}

let mountsOfOwn: { id: string; mounts: Promise<MountInfo[]> } | undefined;

/** Our container's mounts; they never change while it runs, so the daemon asks the engine once. */
async function ownMounts(docker: Docker, own: string | undefined): Promise<MountInfo[]> {
  if (!own) return [];
  if (mountsOfOwn?.id !== own) {
    const mounts = docker.getContainer(own).inspect().then((info) => info.Mounts ?? []);
    mountsOfOwn = { id: own, mounts };
    // A failed lookup is not kept: the next cycle asks again.
    mounts.catch(() => { if (mountsOfOwn?.mounts === mounts) mountsOfOwn = undefined; });
  }
  return mountsOfOwn.mounts.catch(() => []);
}

/**
 * Sidecar mode: makes the host's project directory reachable at its host path inside our container, as a
 * symlink to where it is mounted. Compose runs with the host directory as --project-directory so that
 * bind-mount sources are host paths for the engine, but it reads `env_file:`, `extends:` and the like itself,
 * by that same path: without the alias those reads fail in the container. Does nothing on the host, when the
 * path exists, or when no mount holds the directory (then such files cannot be read anyway).
 */
export async function aliasHostDirectory(docker: Docker, hostDir: string, mounts?: readonly MountInfo[]): Promise<void> {
  const own = ownContainerId();
  if (!own || existsSync(hostDir)) return;
  const inside = containerPathOf(hostDir, mounts ?? await ownMounts(docker, own));
  if (!inside || inside === hostDir) return;
  await mkdir(dirname(hostDir), { recursive: true });
  await symlink(inside, hostDir).catch((err: NodeJS.ErrnoException) => { if (err.code !== 'EEXIST') throw err; });
}

/**
 * Works out which Compose project the files belong to, so `up` addresses the running stack even when
 * dosync sees the compose file at another path (sidecar: /app/docker-compose.yml on the host's ./docker-compose.yml).
 * Order: explicit name; containers whose config_files label lists our file; our own container's project
 * (sidecar); the directory-name default.
 *
 * In a container our paths are translated to host paths through our mounts first: every dosync sidecar on a
 * host sees its file as /app/docker-compose.yml, so that path alone would match another stack's containers.
 * A container label naming our in-container path counts only with our host directory as working_dir (that
 * is how dosync's own `compose up` labels the containers it recreates).
 */
export async function resolveProject(docker: Docker, hints: ProjectHints): Promise<ComposeProject & { source: string }> {
  const files = hints.files.map((f) => resolve(f));
  const own = ownContainerId();
  // Two independent questions to the engine, asked together.
  const [all, mounts] = await Promise.all([listComposeContainers(docker).catch(() => [] as ContainerSummary[]), ownMounts(docker, own)]);
  const hostFiles = files.map((f) => hostPathOf(f, mounts) ?? f);
  const hostDir = dirname(hostFiles[0]);
  const fromLabels = async (name: string, source: string) => {
    const member = all.find((c) => c.labels[LABEL_PROJECT] === name && c.labels[LABEL_WORKDIR]);
    const workingDir = member?.labels[LABEL_WORKDIR] ?? hostDir;
    // Best effort (a read-only root filesystem refuses it): compose then reports any file it cannot read.
    if (own) await aliasHostDirectory(docker, workingDir, mounts).catch(() => undefined);
    return { name, workingDir, files, envFiles: hints.envFiles, source };
  };
  if (hints.explicitName) return fromLabels(hints.explicitName, 'explicit name');
  const translated = hostFiles.some((f, i) => f !== files[i]);
  const byFile = all.find((c) => {
    const listed = (c.labels[LABEL_CONFIG_FILES] ?? '').split(',');
    if (listed.some((f) => hostFiles.includes(f))) return true;
    return listed.some((f) => files.includes(f)) && (!translated || c.labels[LABEL_WORKDIR] === hostDir);
  });
  if (byFile) return fromLabels(byFile.labels[LABEL_PROJECT], 'containers using this compose file');
  const self = own && all.find((c) => c.id.startsWith(own));
  if (self) return fromLabels(self.labels[LABEL_PROJECT], 'the project dosync runs in');
  const name = defaultProjectName(hostDir);
  const hasServices = all.some((c) => c.labels[LABEL_PROJECT] === name);
  return fromLabels(name, hasServices ? 'directory name' : 'directory name (no containers yet)');
}
