import Docker from 'dockerode';
import { EngineError, errorMessage } from '../util/errors.js';
import type { Credential } from '../registry/types.js';
import { dockerAuthConfig } from '../registry/credentials.js';

export const LABEL_PROJECT = 'com.docker.compose.project';
export const LABEL_SERVICE = 'com.docker.compose.service';
export const LABEL_WORKDIR = 'com.docker.compose.project.working_dir';
/** What `docker stack deploy` puts on every service, network, secret and config of a stack. */
export const LABEL_STACK = 'com.docker.stack.namespace';
export const LABEL_CONFIG_FILES = 'com.docker.compose.project.config_files';

export interface ContainerSummary {
  id: string;
  name: string;
  /** The service it runs for (the Compose service label). */
  service: string;
  imageId: string;
  /** The image reference the container was created from, as given to the engine. */
  image: string;
  state: string;
  /** The engine's status line (`Up 5 minutes`, `Exited (0) 2 hours ago`). */
  status: string;
  labels: Record<string, string>;
}

/** The exit code of an exited container, from its status line (`Exited (0) 2 hours ago`). */
export function exitCodeOf(c: Pick<ContainerSummary, 'state' | 'status'>): number | undefined {
  if (c.state !== 'exited') return undefined;
  const m = /^Exited \((-?\d+)\)/.exec(c.status);
  return m ? Number(m[1]) : undefined;
}

/** dockerode reads DOCKER_HOST (and the TLS variables) itself; the default is /var/run/docker.sock. */
export function createDocker(): Docker {
  return new Docker();
}

function describeEndpoint(): string {
  return process.env.DOCKER_HOST ?? '/var/run/docker.sock';
}

export async function pingEngine(docker: Docker): Promise<void> {
  try {
    await docker.ping();
  } catch (err) {
    throw new EngineError(
      `cannot reach the Docker engine at ${describeEndpoint()} (${errorMessage(err)}); is dockerd running and is the socket mounted/readable? set DOCKER_HOST to use another endpoint`,
      { cause: err },
    );
  }
}

export async function listComposeContainers(docker: Docker, filter: { project?: string; service?: string } = {}): Promise<ContainerSummary[]> {
  const labels = [filter.project ? `${LABEL_PROJECT}=${filter.project}` : LABEL_PROJECT];
  if (filter.service) labels.push(`${LABEL_SERVICE}=${filter.service}`);
  const list = await docker.listContainers({ all: true, filters: { label: labels } });
  return list.map((c) => ({
    id: c.Id,
    name: (c.Names[0] ?? c.Id).replace(/^\//, ''),
    service: c.Labels?.[LABEL_SERVICE] ?? '',
    imageId: c.ImageID,
    image: c.Image,
    state: c.State,
    status: c.Status ?? '',
    labels: c.Labels ?? {},
  }));
}

/** Pulls `image` and resolves once the engine has it; returns the local image ID. */
export async function pullImage(docker: Docker, image: string, registry: string, cred?: Credential): Promise<string> {
  try {
    const stream = await docker.pull(image, { authconfig: dockerAuthConfig(registry, cred) as Docker.AuthConfig | undefined });
    await new Promise<void>((resolve, reject) => {
      docker.modem.followProgress(stream, (err: Error | null, events: Array<{ error?: string }>) => {
        const failed = events?.find((e) => e.error);
        if (err || failed) reject(err ?? new Error(failed?.error));
        else resolve();
      });
    });
  } catch (err) {
    throw new EngineError(`pull of ${image} failed: ${errorMessage(err).replace(/^\(HTTP code \d+\)\s*[^-]*-\s*/, '')}`, { cause: err });
  }
  return (await docker.getImage(image).inspect()).Id;
}

export interface LocalImage {
  id: string;
  repoTags: string[];
  repoDigests: string[];
  labels: Record<string, string>;
}

export async function inspectImage(docker: Docker, ref: string): Promise<LocalImage | undefined> {
  try {
    const info = await docker.getImage(ref).inspect();
    return { id: info.Id, repoTags: info.RepoTags ?? [], repoDigests: info.RepoDigests ?? [], labels: info.Config?.Labels ?? {} };
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return undefined;
    throw new EngineError(`cannot inspect image ${ref}: ${errorMessage(err)}`, { cause: err });
  }
}

/**
 * Removes an image that an update replaced, only if no container (running or not) still uses it.
 * `reference` is untagged first (the old tag dosync moved away from); the image itself goes when nothing
 * else refers to it. Never a host-wide prune.
 */
export async function removeReplacedImage(docker: Docker, imageId: string, reference: string | undefined): Promise<'removed' | 'in-use' | 'kept'> {
  const users = await docker.listContainers({ all: true });
  if (users.some((c) => c.ImageID === imageId)) return 'in-use';
  const image = await inspectImage(docker, imageId);
  if (!image) return 'removed';
  try {
    if (reference) {
      const named = await inspectImage(docker, reference);
      // Untag only when the name still points at the replaced image (a digest update moved the tag already).
      if (named?.id === imageId) await docker.getImage(reference).remove();
    }
    const after = await inspectImage(docker, imageId);
    if (!after) return 'removed';
    if (after.repoTags.length > 0) return 'kept';
    await docker.getImage(imageId).remove();
    return 'removed';
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 409) return 'in-use';
    throw new EngineError(`could not remove replaced image ${imageId.slice(7, 19)}: ${errorMessage(err)}`, { cause: err });
  }
}

/** Points `reference` (`repo:tag`) at an image already present locally. */
export async function retagImage(docker: Docker, imageId: string, reference: string): Promise<void> {
  const colon = reference.lastIndexOf(':');
  await docker.getImage(imageId).tag({ repo: reference.slice(0, colon), tag: reference.slice(colon + 1) });
}

/**
 * Stops (briefly, then kills) and removes containers. With `drainMs`, each is first disconnected from its
 * networks, which takes it out of Compose's DNS round robin, so no new request reaches a container that is
 * about to stop (a stopping container otherwise stays resolvable for a moment and its requests fail).
 */
export async function removeContainers(docker: Docker, ids: string[], drainMs = 0): Promise<void> {
  if (drainMs > 0) {
    await Promise.all(ids.map(async (id) => {
      const info = await docker.getContainer(id).inspect().catch(() => undefined);
      for (const name of Object.keys(info?.NetworkSettings?.Networks ?? {})) {
        await docker.getNetwork(name).disconnect({ Container: id }).catch(() => undefined);
      }
    }));
    await new Promise((r) => setTimeout(r, drainMs));
  }
  await Promise.all(ids.map(async (id) => {
    const c = docker.getContainer(id);
    await c.stop({ t: 10 }).catch((err: { statusCode?: number }) => { if (err.statusCode !== 304 && err.statusCode !== 404) throw err; });
    await c.remove({ force: true }).catch((err: { statusCode?: number }) => { if (err.statusCode !== 404) throw err; });
  }));
}
