/**
 * The Compose runtime: a project is a Compose project on one engine, an instance is a container. Services
 * are replaced by `docker compose up -d --no-deps` (the file already names the new image), side by side with
 * docker-rollout's technique, and health-gated by polling the containers.
 */
import type Docker from 'dockerode';
import { dirname } from 'node:path';
import { errorMessage } from '../util/errors.js';
import { composeUp, detectCompose } from './compose-cli.js';
import {
  LABEL_PROJECT, LABEL_SERVICE, inspectImage, listComposeContainers, pingEngine, pullImage, removeContainers, removeReplacedImage, retagImage,
} from './docker.js';
import { waitHealthy } from './health.js';
import { aliasHostDirectory, ownContainerId, resolveProject } from './project.js';
import { execInContainer } from './exec.js';
import type { HelperSpec, InstanceFilter, InstanceState, Runtime } from './index.js';

/** Time between taking old replicas out of DNS and stopping them, for clients that resolved just before. */
const ROLLING_DRAIN_MS = 1000;

export function createComposeRuntime(docker: Docker): Runtime {
  return {
    kind: 'compose',
    ping: () => pingEngine(docker),
    // A failure surfaces where composeUp awaits the same (memoized) promise.
    warmUp: () => void detectCompose().catch(() => undefined),
    validate: () => undefined,
    resolveProject: (hints) => resolveProject(docker, hints),
    instances: (project, service) => listComposeContainers(docker, { project, service }),
    inspectImage: (ref) => inspectImage(docker, ref),
    pull: (ref, registry, credential) => pullImage(docker, ref, registry, credential),
    replace: (project, targets) => composeUp(project, targets.map((t) => t.service)),
    restore: (project, targets) => composeUp(project, targets.map((t) => t.service)),

    /**
     * docker-rollout's technique: scale to twice the replicas without recreating (the new ones get the new
     * image), wait until the new containers are healthy, then remove the old ones. If the new ones fail they
     * are removed and the old ones never stopped serving.
     */
    async replaceRolling(project, target, opts) {
      const name = target.service;
      const oldIds = new Set(opts.oldIds);
      const isNew: InstanceFilter = (c) => !oldIds.has(c.id);
      let failed: string | undefined;
      try {
        await composeUp(project, [name], ['--no-recreate', '--scale', `${name}=${opts.replicas * 2}`]);
        await opts.started();
        const health = await waitHealthy(docker, project.name, name, isNew, opts.replicas, opts.health);
        failed = health.healthy ? undefined : health.reason;
      } catch (err) {
        failed = errorMessage(err);
      }
      const current = await listComposeContainers(docker, { project: project.name, service: name });
      if (failed) {
        await removeContainers(docker, current.filter(isNew).map((c) => c.id));
        return failed;
      }
      await removeContainers(docker, current.filter((c) => oldIds.has(c.id)).map((c) => c.id), ROLLING_DRAIN_MS);
      return undefined;
    },

    waitHealthy: (project, service, select, expected, opts) => waitHealthy(docker, project, service, select, expected, opts),
    repoint: (imageId, reference) => retagImage(docker, imageId, reference),
    exec: (id, cmd, timeoutMs) => execInContainer(docker, id, cmd, timeoutMs),
    prune: (imageId, reference) => removeReplacedImage(docker, imageId, reference),

    async ownInstance(project) {
      const id = ownContainerId();
      if (!id) return undefined;
      const info = await docker.getContainer(id).inspect().catch(() => undefined);
      const labels = info?.Config?.Labels ?? {};
      if (!info || labels[LABEL_PROJECT] !== project || !labels[LABEL_SERVICE]) return undefined;
      return { id: info.Id, service: labels[LABEL_SERVICE] };
    },

    async instanceState(id): Promise<InstanceState | undefined> {
      // Only a 404 means it is gone; any other failure (a busy engine) is the caller's to judge.
      const info = await docker.getContainer(id).inspect().catch((err: { statusCode?: number }) => {
        if (err?.statusCode === 404) return undefined;
        throw err;
      });
      if (!info) return undefined;
      return { running: info.State?.Running ?? false, status: info.State?.Status ?? '', imageId: info.Image, labels: info.Config?.Labels ?? {} };
    },

    startHelper: (ownId, spec) => startHelper(docker, ownId, spec),
    prepareDirectory: (dir) => aliasHostDirectory(docker, dir),
  };
}

/** A container from the new image with our own mounts, network and DOCKER_/DOSYNC_/COMPOSE_ environment. */
async function startHelper(docker: Docker, ownId: string, spec: HelperSpec): Promise<{ ended: Promise<void> }> {
  const own = await docker.getContainer(ownId).inspect();
  const shared = (own.Mounts ?? []).some((m) => spec.sharedFile.startsWith(`${m.Destination.replace(/\/+$/, '')}/`));
  if (!shared) {
    throw new Error(`the state dir ${dirname(spec.sharedFile)} is not on a mount, so a helper container cannot share it; mount it from the host (e.g. ./backups:/app/backups)`);
  }
  // The same view of the files as ours (socket, compose file, env file, state dir), by host path.
  const binds = (own.Mounts ?? []).flatMap((m) => {
    const mode = m.RW ? '' : ':ro';
    if (m.Type === 'bind') return [`${m.Source}:${m.Destination}${mode}`];
    if (m.Type === 'volume' && m.Name) return [`${m.Name}:${m.Destination}${mode}`];
    return [];
  });
  const network = own.HostConfig?.NetworkMode;
  const env = (own.Config?.Env ?? []).filter((e) => /^(DOCKER_|DOSYNC_|COMPOSE_)/.test(e) && !e.startsWith('DOSYNC_LOG_FORMAT='));
  const helper = await docker.createContainer({
    name: spec.name,
    Image: spec.imageId,
    // Explicit: a release with a broken ENTRYPOINT must still be able to put the old one back.
    Entrypoint: ['dosync'],
    Cmd: spec.args,
    Env: [...env, 'DOSYNC_LOG_FORMAT=json'],
    User: own.Config?.User ?? '',
    Labels: spec.labels,
    HostConfig: {
      AutoRemove: true,
      Binds: binds,
      // A network namespace borrowed from another container would vanish with it.
      NetworkMode: network && !network.startsWith('container:') ? network : undefined,
    },
  });
  try {
    await helper.start();
  } catch (err) {
    await helper.remove({ force: true }).catch(() => undefined);
    throw err;
  }
  return { ended: helper.wait({ condition: 'removed' }).then(() => undefined, () => undefined) };
}
