/**
 * The Swarm runtime: a project is a stack (`docker stack deploy -c FILE NAME`) on a swarm manager, an
 * instance is a task. A service is replaced by a service update through the engine's API: the current spec
 * and version index, the image pinned by digest (`repo:tag@sha256:…`, as `docker stack deploy` pins it), the
 * registry credential in X-Registry-Auth (what `--with-registry-auth` sends), and the file's
 * `deploy.update_config`. The swarm rolls it out; the health gate waits for its UpdateStatus. A rollback is
 * the engine's own (`rollback=previous`: the previous spec), unless the swarm rolled back already.
 */
import type Docker from 'dockerode';
import { dirname } from 'node:path';
import { ConfigError, EngineError, errorMessage } from '../util/errors.js';
import { durationMs } from '../util/duration.js';
import type { Credential } from '../registry/types.js';
import { dockerAuthConfig } from '../registry/credentials.js';
import { LABEL_STACK, inspectImage, pingEngine, pullImage, removeReplacedImage } from './docker.js';
import { ownContainerId } from './project.js';
import { execInContainer } from './exec.js';
import type { HealthResult, Instance, LocalImage, ReplaceTarget, Runtime } from './index.js';

const LABEL_SWARM_SERVICE = 'com.docker.swarm.service.name';

/**
 * dosync's own service updates stop-first with failure_action rollback, whatever its update_config says: the
 * old dosync holds the project's lock and must be gone before the new one starts, and a release that fails
 * must come back by itself, as no dosync is left running to undo it. The dosync that runs next settles it.
 */
const SELF_UPDATE_CONFIG = { Order: 'stop-first', FailureAction: 'rollback' };

/** What dosync keeps between a replace and its health gate, per service. */
interface Pending {
  /** `update`: our update must complete; `rollback`: our (or the swarm's) rollback must. */
  expect: 'update' | 'rollback';
  image: string;
  /** When dosync asked for it: an UpdateStatus that started before is an older update's (0: any). */
  since: number;
}

interface SwarmService {
  ID: string;
  Version: { Index: number };
  Spec: ServiceSpec;
  PreviousSpec?: ServiceSpec;
  UpdateStatus?: { State?: string; Message?: string; StartedAt?: string };
}

interface ServiceSpec {
  Name: string;
  Labels?: Record<string, string>;
  TaskTemplate: { ContainerSpec: { Image: string } };
  Mode?: { Replicated?: { Replicas?: number }; Global?: object };
  UpdateConfig?: Record<string, unknown>;
  RollbackConfig?: Record<string, unknown>;
}

/** Update states that end an update (https://docs.docker.com/engine/api/: ServiceUpdateStatus). */
const FAILED_STATES = new Set(['paused', 'rollback_paused', 'rollback_completed']);
const BUSY_STATES = new Set(['updating', 'rollback_started']);

/**
 * `deploy.update_config` of a stack file as the engine's UpdateConfig: compose durations (`10s`, `1m30s`)
 * become nanoseconds. Pure. Unknown keys are left out (the engine rejects them); a bad value throws a
 * ConfigError naming the field.
 */
export function updateConfigOf(service: string, raw: Record<string, unknown> | undefined, block: 'update_config' | 'rollback_config' = 'update_config'): Record<string, unknown> {
  if (!raw) return {};
  const where = (k: string) => `services.${service}.deploy.${block}.${k}`;
  const ns = (k: string) => {
    const ms = durationMs(String(raw[k]));
    if (ms === undefined) throw new ConfigError(`${where(k)}: "${String(raw[k])}" is not a duration (e.g. 10s, 1m30s)`);
    return ms * 1_000_000;
  };
  const out: Record<string, unknown> = {};
  if (raw.parallelism !== undefined) out.Parallelism = Number(raw.parallelism);
  if (raw.delay !== undefined) out.Delay = ns('delay');
  if (raw.monitor !== undefined) out.Monitor = ns('monitor');
  if (raw.max_failure_ratio !== undefined) out.MaxFailureRatio = Number(raw.max_failure_ratio);
  if (raw.failure_action !== undefined) {
    const a = String(raw.failure_action);
    // A rollback that fails cannot itself be rolled back (the engine takes continue or pause there).
    const allowed = block === 'update_config' ? ['continue', 'pause', 'rollback'] : ['continue', 'pause'];
    if (!allowed.includes(a)) throw new ConfigError(`${where('failure_action')}: "${a}" is not ${allowed.slice(0, -1).join(', ')} or ${allowed.at(-1)}`);
    out.FailureAction = a;
  }
  if (raw.order !== undefined) {
    const o = String(raw.order);
    if (!['start-first', 'stop-first'].includes(o)) throw new ConfigError(`${where('order')}: "${o}" is not start-first or stop-first`);
    out.Order = o;
  }
  for (const k of ['Parallelism', 'MaxFailureRatio']) {
    if (k in out && !Number.isFinite(out[k] as number)) throw new ConfigError(`${where(k === 'Parallelism' ? 'parallelism' : 'max_failure_ratio')}: not a number`);
  }
  return out;
}

/** `deploy.rollback_config` as the engine's RollbackConfig (same fields; failure_action continue or pause). Pure. */
export function rollbackConfigOf(service: string, raw: Record<string, unknown> | undefined): Record<string, unknown> {
  return updateConfigOf(service, raw, 'rollback_config');
}

/** True when `current` (as the engine returns it: zero values left out) already says everything `wanted` says. */
export function configCovers(current: Record<string, unknown> | undefined, wanted: Record<string, unknown>): boolean {
  return Object.entries(wanted).every(([k, v]) => (current?.[k] ?? 0) === v);
}

/** `repo:tag@sha256:…` → `repo:tag`; a reference without a digest as it is. */
const withoutDigest = (ref: string) => ref.replace(/@sha256:[a-f0-9]{64}$/, '');
const digestOf = (ref: string) => /@(sha256:[a-f0-9]{64})$/.exec(ref)?.[1];
/** The repository of a reference (`host:5000/team/app:1.0@sha256:…` → `host:5000/team/app`). */
function repositoryOf(ref: string): string {
  const name = withoutDigest(ref);
  const slash = name.lastIndexOf('/');
  const colon = name.lastIndexOf(':');
  return colon > slash ? name.slice(0, colon) : name;
}

export interface SwarmRuntimeOptions {
  /** The registry credential for an image, sent with every service update (as --with-registry-auth). */
  credentials?: (registry: string) => Promise<Credential | undefined>;
  /** Between two looks at a service's UpdateStatus. */
  pollMs?: number;
}

export function createSwarmRuntime(docker: Docker, stack: string, opts: SwarmRuntimeOptions = {}): Runtime {
  const pending = new Map<string, Pending>();
  /** Registry host of each pulled reference (for the X-Registry-Auth of the update that uses it). */
  const registries = new Map<string, string>();
  const pollMs = opts.pollMs ?? 500;
  const fullName = (service: string) => `${stack}_${service}`;

  async function services(): Promise<SwarmService[]> {
    return (await docker.listServices({ filters: { label: [`${LABEL_STACK}=${stack}`] } })) as unknown as SwarmService[];
  }

  async function service(name: string): Promise<SwarmService> {
    try {
      return (await docker.getService(fullName(name)).inspect()) as SwarmService;
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) throw new EngineError(`stack ${stack} has no service ${name} (${fullName(name)}); deploy it with \`docker stack deploy -c FILE ${stack}\``);
      throw new EngineError(`cannot inspect service ${fullName(name)}: ${errorMessage(err)}`, { cause: err });
    }
  }

  async function authFor(image: string): Promise<Docker.AuthConfig | undefined> {
    const registry = registries.get(withoutDigest(image)) ?? registries.get(image);
    if (!registry || !opts.credentials) return undefined;
    return dockerAuthConfig(registry, await opts.credentials(registry)) as Docker.AuthConfig | undefined;
  }

  /** One service update: the current spec and version, the new image, the file's update_config. */
  async function update(target: ReplaceTarget, current: SwarmService, override: Record<string, unknown> = {}): Promise<void> {
    const image = target.imageId && digestOf(target.imageId) ? target.imageId : await pinned(target.image);
    const auth = await authFor(image);
    const rollback = rollbackConfigOf(target.service, target.rollbackConfig);
    if (!configCovers(current.Spec.RollbackConfig, rollback)) {
      // The swarm rolls back with the RollbackConfig of the spec it goes back to (the previous one), so that
      // spec must carry the file's: one update of RollbackConfig alone first (it changes no task).
      const first = structuredClone(current.Spec);
      first.RollbackConfig = { ...first.RollbackConfig, ...rollback };
      await docker.getService(current.ID).update(auth as never, { _query: { version: current.Version.Index }, _body: first } as never);
      current = await service(target.service);
    }
    const wanted = { ...updateConfigOf(target.service, target.updateConfig), ...override };
    // The same image (recovery finishing an update that was sent): the swarm starts no new update to wait for,
    // so any UpdateStatus counts (the one in flight, or the last one).
    const sameImage = current.Spec.TaskTemplate.ContainerSpec.Image === image;
    if (sameImage && configCovers(current.Spec.UpdateConfig, wanted)) {
      pending.set(target.service, { expect: 'update', image, since: 0 });
      return;
    }
    const spec = structuredClone(current.Spec);
    spec.TaskTemplate.ContainerSpec.Image = image;
    spec.UpdateConfig = { ...spec.UpdateConfig, ...wanted };
    const since = Date.now();
    await docker.getService(current.ID).update(auth as never, { _query: { version: current.Version.Index }, _body: spec } as never);
    pending.set(target.service, { expect: 'update', image, since: sameImage ? 0 : since });
  }

  /** `repo:tag@digest` for a reference, from the local image the pull left (the manager pulled it). */
  async function pinned(ref: string): Promise<string> {
    if (digestOf(ref)) return ref;
    const local = await inspectImage(docker, ref);
    const repo = repositoryOf(ref);
    const digest = local?.repoDigests.find((d) => d.startsWith(`${repo}@`))?.split('@')[1];
    if (!digest) throw new EngineError(`${ref} has no registry digest on this manager; cannot pin the service update`);
    return `${ref}@${digest}`;
  }

  async function rollBack(name: string): Promise<void> {
    const current = await service(name);
    const state = current.UpdateStatus?.State;
    // The swarm put the previous spec back itself (failure_action: rollback): nothing to undo.
    if (state === 'rollback_completed' || state === 'rollback_started') {
      pending.set(name, { expect: 'rollback', image: current.Spec.TaskTemplate.ContainerSpec.Image, since: 0 });
      return;
    }
    if (!current.PreviousSpec) throw new EngineError(`service ${fullName(name)} has no previous spec to roll back to`);
    const since = Date.now();
    await docker.getService(current.ID).update(undefined as never, { _query: { version: current.Version.Index, rollback: 'previous', registryAuthFrom: 'previous-spec' }, _body: current.PreviousSpec } as never);
    pending.set(name, { expect: 'rollback', image: current.PreviousSpec.TaskTemplate.ContainerSpec.Image, since });
  }

  /** Until the service's update (or rollback) ends: healthy when every task it wants runs the image dosync asked for. */
  async function settled(name: string, select: (i: Instance) => boolean, health: { timeoutMs: number }): Promise<HealthResult> {
    const deadline = Date.now() + health.timeoutMs;
    for (;;) {
      const s = await service(name);
      const want = pending.get(name);
      const status = s.UpdateStatus;
      // A status that began before dosync's request belongs to an older update: ours has not started yet.
      const ours = !want || !status?.StartedAt || Date.parse(status.StartedAt) >= want.since - 1000;
      const state = ours ? status?.State : 'updating';
      const message = status?.Message ? `: ${status.Message}` : '';
      const all = await tasks(name);
      const running = all.filter((t) => t.state === 'running' && (!want || t.imageId === want.image) && select(t));
      const names = running.map((t) => t.name);
      const busy = state !== undefined && BUSY_STATES.has(state);
      if (!busy && state && want?.expect === 'update' && FAILED_STATES.has(state)) {
        return { healthy: false, reason: state === 'rollback_completed' ? `the swarm rolled the update back${message}` : `the service update is ${state.replace('_', ' ')}${message}`, containers: names };
      }
      if (!busy && state === 'rollback_paused') return { healthy: false, reason: `the rollback is paused${message}`, containers: names };
      // Replicated: its replica count; global: one task per eligible node (the tasks it wants running).
      const needed = s.Spec.Mode?.Replicated?.Replicas ?? all.length;
      if (!busy && running.length >= needed) return { healthy: true, containers: names };
      if (Date.now() >= deadline) {
        return { healthy: false, reason: `not updated after ${Math.round(health.timeoutMs / 1000)}s (update ${state ?? 'not started'}${message}; ${running.length} of ${needed} tasks on ${want?.image ?? 'the new image'})`, containers: names };
      }
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  async function replace(targets: ReplaceTarget[]): Promise<void> {
    for (const t of targets) {
      const current = await service(t.service);
      const previous = current.PreviousSpec?.TaskTemplate.ContainerSpec.Image;
      // Going back to what the service ran before (`dosync rollback`) is the engine's rollback: the previous spec.
      const back = previous && current.UpdateStatus?.State === 'completed' && withoutDigest(previous) === withoutDigest(t.image)
        && withoutDigest(current.Spec.TaskTemplate.ContainerSpec.Image) !== withoutDigest(t.image);
      if (back) await rollBack(t.service);
      else await update(t, current);
    }
  }

  async function tasks(name?: string): Promise<Instance[]> {
    const all = await services();
    const chosen = name ? all.filter((s) => s.Spec.Name === fullName(name)) : all;
    const out: Instance[] = [];
    for (const s of chosen) {
      const short = s.Spec.Name.startsWith(`${stack}_`) ? s.Spec.Name.slice(stack.length + 1) : s.Spec.Name;
      const list = (await docker.listTasks({ filters: { service: [s.ID], 'desired-state': ['running'] } })) as Array<{
        ID: string; Slot?: number; NodeID?: string; Spec?: { ContainerSpec?: { Image?: string } }; Status?: { State?: string; Err?: string; ContainerStatus?: { ExitCode?: number } };
      }>;
      for (const t of list) {
        const image = t.Spec?.ContainerSpec?.Image ?? '';
        const state = t.Status?.State ?? 'unknown';
        out.push({
          id: t.ID, name: `${s.Spec.Name}.${t.Slot ?? t.NodeID ?? t.ID.slice(0, 12)}`, service: short,
          // A task runs what its spec pins: the reference is its image "ID" (the digest identifies it).
          imageId: image, image,
          state: state === 'running' ? 'running' : state === 'failed' || state === 'complete' || state === 'shutdown' ? 'exited' : state,
          status: t.Status?.ContainerStatus?.ExitCode !== undefined && state !== 'running' ? `Exited (${t.Status.ContainerStatus.ExitCode})` : state,
          labels: s.Spec.Labels ?? {},
        });
      }
    }
    return out;
  }

  /** Our own task's container and service, when dosync runs as a service of this stack. */
  let own: { id: string; service: string } | undefined;
  const busy = (s: SwarmService) => BUSY_STATES.has(s.UpdateStatus?.State ?? '');

  return {
    kind: 'swarm',
    async ping() {
      await pingEngine(docker);
      const info = (await docker.info()) as { Swarm?: { ControlAvailable?: boolean; LocalNodeState?: string } };
      if (!info.Swarm?.ControlAvailable) {
        throw new ConfigError(`--stack ${stack}: the engine at ${process.env.DOCKER_HOST ?? '/var/run/docker.sock'} is not a swarm manager (swarm: ${info.Swarm?.LocalNodeState || 'inactive'}); point DOCKER_HOST at a manager, or drop --stack for a Compose project`);
      }
    },
    warmUp: () => undefined,
    validate(targets) {
      for (const t of targets) {
        updateConfigOf(t.service, t.updateConfig);
        rollbackConfigOf(t.service, t.rollbackConfig);
      }
    },
    async resolveProject(hints) {
      const count = (await services()).length;
      return { name: stack, workingDir: dirname(hints.files[0]), files: hints.files, envFiles: hints.envFiles, source: count > 0 ? `swarm stack ${stack} (${count} services)` : `swarm stack ${stack} (not deployed yet)` };
    },
    instances: (_project, name) => tasks(name),
    async inspectImage(ref): Promise<LocalImage | undefined> {
      // A pinned reference names its image: the manager need not have it (the tasks may run on workers).
      const digest = digestOf(ref);
      if (digest) {
        const local = await inspectImage(docker, ref).catch(() => undefined);
        return { id: ref, repoTags: [withoutDigest(ref)], repoDigests: [`${repositoryOf(ref)}@${digest}`], labels: local?.labels ?? {} };
      }
      return inspectImage(docker, ref);
    },
    async pull(ref, registry, credential) {
      await pullImage(docker, ref, registry, credential);
      registries.set(ref, registry);
      // The "image ID" of a swarm update is the pinned reference the services will run.
      return pinned(ref);
    },
    replace: (_project, targets) => replace(targets),
    async replaceRolling(_project, target, o) {
      // The swarm always rolls (update_config says how); a failed update is undone here, as a rolling update leaves the old running.
      await replace([target]);
      await o.started();
      const h = await settled(target.service, () => true, o.health);
      if (h.healthy) return undefined;
      await rollBack(target.service);
      await settled(target.service, () => true, o.health);
      return h.reason;
    },
    waitHealthy: (_project, name, select, _expected, health) => settled(name, select, health),
    async restore(_project, targets) {
      for (const t of targets) await rollBack(t.service);
    },
    // A swarm service names its image by digest: there is no local tag to move back.
    repoint: async () => undefined,
    // A task's container can be reached only on its own node: hooks run there, and refuse elsewhere.
    async exec(taskId, cmd, timeoutMs) {
      const task = (await docker.getTask(taskId).inspect()) as { NodeID?: string; Status?: { ContainerStatus?: { ContainerID?: string } } };
      const containerId = task.Status?.ContainerStatus?.ContainerID;
      const here = ((await docker.info()) as { Swarm?: { NodeID?: string } }).Swarm?.NodeID;
      if (!containerId || task.NodeID !== here) throw new EngineError(`task ${taskId.slice(0, 12)} runs on another node; lifecycle hooks run only in tasks on the node dosync talks to`);
      return execInContainer(docker, containerId, cmd, timeoutMs);
    },
    /**
     * On this manager only (dosync talks to no other node; workers keep their copies): the replaced image,
     * once no running container uses it. The stopped containers of this stack's finished tasks that ran it
     * go first (the swarm keeps the task records, `docker service ps` still lists them), as the engine
     * refuses to remove an image any container uses.
     */
    async prune(pinnedRef, reference) {
      const digest = digestOf(pinnedRef);
      const local = await inspectImage(docker, digest ? `${repositoryOf(pinnedRef)}@${digest}` : pinnedRef);
      if (!local) return 'kept';
      const users = (await docker.listContainers({ all: true })).filter((c) => c.ImageID === local.id);
      if (users.some((c) => c.State === 'running' || c.Labels?.[LABEL_STACK] !== stack)) return 'in-use';
      for (const c of users) await docker.getContainer(c.Id).remove({ force: false });
      return removeReplacedImage(docker, local.id, reference);
    },
    async ownInstance() {
      const id = ownContainerId();
      if (!id) return undefined;
      const info = await docker.getContainer(id).inspect().catch(() => undefined);
      const labels = info?.Config?.Labels ?? {};
      const name = labels[LABEL_SWARM_SERVICE];
      if (!info || labels[LABEL_STACK] !== stack || !name?.startsWith(`${stack}_`)) return undefined;
      own = { id: info.Id, service: name.slice(stack.length + 1) };
      return own;
    },
    /**
     * A container, by ID or name (its image "ID" is the pinned reference its task runs). Anything else is the
     * "helper" of a self-update, which on a swarm is the update of our own service: there while it runs.
     */
    async instanceState(id) {
      const info = await docker.getContainer(id).inspect().catch((err: { statusCode?: number }) => {
        if (err?.statusCode === 404) return undefined;
        throw err;
      });
      if (info) return { running: info.State?.Running ?? false, status: info.State?.Status ?? '', imageId: info.Config?.Image ?? info.Image, labels: info.Config?.Labels ?? {} };
      if (!own) return undefined;
      const s = await service(own.service);
      return busy(s) ? { running: true, status: s.UpdateStatus!.State!, imageId: s.Spec.TaskTemplate.ContainerSpec.Image, labels: {} } : undefined;
    },
    /** A swarm needs no helper container: the service update of our own service replaces us. */
    async startHelper(_ownId, spec) {
      if (!own) throw new EngineError('dosync\'s own swarm service is not known; cannot update it');
      const name = own.service;
      const since = Date.now();
      await update({ service: name, image: withoutDigest(spec.imageId), imageId: spec.imageId }, await service(name), SELF_UPDATE_CONFIG);
      // Normally the swarm stops us first; if we still run when the update ends, it failed.
      const ended = (async () => {
        for (;;) {
          await new Promise((r) => setTimeout(r, pollMs));
          const s = await service(name).catch(() => undefined);
          const started = s?.UpdateStatus?.StartedAt ? Date.parse(s.UpdateStatus.StartedAt) >= since - 1000 : false;
          if (s && started && !busy(s)) return;
        }
      })();
      return { ended };
    },
    prepareDirectory: async () => undefined,
  };
}
