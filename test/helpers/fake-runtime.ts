/**
 * A small in-memory engine behind the Runtime interface (src/engine/index.ts), for unit tests of the cycle.
 * It models what the cycle can observe: per service, the instances and the image each runs; local images by
 * reference; which images are "bad" (their instances fail the health gate). Like Compose, `replace` and
 * `restore` start the service on the image the project's files name now (read from disk), so a test sees
 * whether the file and the instances agree.
 *
 * The world outlives a runtime: a test "restarts" dosync by making a new runtime over the same world.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { HealthResult, Instance, LocalImage, ProjectRef, ReplaceTarget, Runtime } from '../../src/engine/index.js';
import { readStack } from '../../src/compose/stack.js';
import type { RegistryClient } from '../../src/registry/client.js';

export interface FakeWorld {
  /** Local images: reference (and ID) -> image. */
  images: Map<string, LocalImage>;
  /** What each service runs: one entry per instance, the image ID. */
  services: Map<string, { ids: string[]; imageId: string; state: 'running' | 'exited' }>;
  /** Image IDs whose instances fail the health gate. */
  bad: Set<string>;
  /** Registry contents: reference -> { image ID, digest } (what a pull gives). */
  registry: Map<string, { id: string; digest: string; labels?: Record<string, string> }>;
  /** Every call the runtime got, in order (`pull ref`, `replace web,api`, `prune sha256:…`). */
  calls: string[];
  /** Pulls of these references fail. */
  failingPulls: Set<string>;
  /** Commands (joined by spaces) that exit 1 when run in an instance (lifecycle hooks). */
  failingExecs: Set<string>;
}

export function fakeWorld(): FakeWorld {
  return { images: new Map(), services: new Map(), bad: new Set(), registry: new Map(), calls: [], failingPulls: new Set(), failingExecs: new Set() };
}

let nextId = 1;
const containerId = () => `c${String(nextId++).padStart(63, '0')}`;

const sha = (text: string) => `sha256:${createHash('sha256').update(text).digest('hex')}`;

/** Puts an image in the registry under `ref` (a new build of it when `build` differs) and returns its ID. */
export function publish(world: FakeWorld, ref: string, opts: { bad?: boolean; build?: string } = {}): string {
  const id = sha(`image ${ref} ${opts.build ?? ''}`);
  world.registry.set(ref, { id, digest: sha(`manifest ${ref} ${opts.build ?? ''}`) });
  if (opts.bad) world.bad.add(id);
  return id;
}

/** Pulls `ref` into the local store (what the stack ran before dosync came). */
export function pullInto(world: FakeWorld, ref: string): string {
  const r = world.registry.get(ref);
  if (!r) throw new Error(`fake registry has no ${ref}`);
  const repo = ref.slice(0, ref.lastIndexOf(':'));
  const existing = world.images.get(r.id);
  const image: LocalImage = existing ?? { id: r.id, repoTags: [], repoDigests: [], labels: r.labels ?? {} };
  if (!image.repoTags.includes(ref)) image.repoTags.push(ref);
  if (!image.repoDigests.includes(`${repo}@${r.digest}`)) image.repoDigests.push(`${repo}@${r.digest}`);
  world.images.set(r.id, image);
  world.images.set(ref, image);
  return r.id;
}

/** Starts `service` with `replicas` instances of a local image. */
export function run(world: FakeWorld, service: string, ref: string, replicas = 1): void {
  const image = world.images.get(ref) ?? world.images.get(pullInto(world, ref))!;
  world.services.set(service, { ids: Array.from({ length: replicas }, containerId), imageId: image.id, state: 'running' });
}

/** The image reference each service runs, by the local image's tags (first tag). */
export function runningRefs(world: FakeWorld): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, s] of world.services) out[name] = world.images.get(s.imageId)?.repoTags[0] ?? s.imageId;
  return out;
}

/** A registry client over the world's registry: tag lists and digests, nothing else. */
export function fakeRegistry(world: FakeWorld): RegistryClient {
  const repoOf = (r: { registry: string; repository: string }) => `${r.registry}/${r.repository}`;
  const client = {
    listTags: async (r: { registry: string; repository: string }) => [...world.registry.keys()].filter((k) => k.slice(0, k.lastIndexOf(':')) === repoOf(r)).map((k) => k.slice(k.lastIndexOf(':') + 1)),
    getDigest: async (r: { registry: string; repository: string }, tag: string) => {
      const hit = world.registry.get(`${repoOf(r)}:${tag}`);
      if (!hit) throw new Error(`${repoOf(r)}:${tag}: manifest unknown`);
      return { digest: hit.digest };
    },
    bounded: () => client,
  };
  return client as unknown as RegistryClient;
}

export interface FakeRuntimeOptions {
  /** Called before each call with its name; may throw, or return a promise that never settles (a crash). */
  before?: (call: string) => void | Promise<void>;
}

export function fakeRuntime(world: FakeWorld, opts: FakeRuntimeOptions = {}): Runtime {
  const step = async (call: string) => {
    world.calls.push(call);
    await opts.before?.(call);
  };
  const fileImage = (project: ProjectRef, service: string) => {
    const read = (paths: string[]) => paths.map((path) => ({ path, text: readFileSync(path, 'utf8') }));
    const stack = readStack(read(project.files), {}, { envFiles: read(project.envFiles) });
    const image = stack.services.find((s) => s.name === service)?.image;
    if (!image) throw new Error(`no image for ${service} in the file`);
    return image;
  };
  const startFromFile = (project: ProjectRef, targets: ReplaceTarget[]) => {
    for (const t of targets) {
      const ref = fileImage(project, t.service);
      const image = world.images.get(ref);
      if (!image) throw new Error(`compose up of ${t.service} failed: no local image ${ref}`);
      const replicas = Math.max(world.services.get(t.service)?.ids.length ?? 1, 1);
      world.services.set(t.service, { ids: Array.from({ length: replicas }, containerId), imageId: image.id, state: 'running' });
    }
  };
  const instances = (service?: string): Instance[] => [...world.services]
    .filter(([name]) => !service || name === service)
    .flatMap(([name, s]) => s.ids.map((id) => ({
      id, name: `${name}-${id.slice(-3)}`, service: name, imageId: s.imageId, image: world.images.get(s.imageId)?.repoTags[0] ?? s.imageId,
      state: s.state, status: s.state === 'running' ? 'Up 1 minute' : 'Exited (0) 1 minute ago', labels: {},
    })));
  return {
    kind: 'compose',
    ping: async () => { await step('ping'); },
    warmUp: () => undefined,
    exec: async (id, cmd) => {
      await step(`exec ${id.slice(-3)} ${cmd.join(' ')}`);
      return world.failingExecs.has(cmd.join(' ')) ? { ok: false, exitCode: 1, output: 'no space left for the dump' } : { ok: true, exitCode: 0, output: '' };
    },
    validate: () => undefined,
    resolveProject: async (hints) => ({ name: 'fake', workingDir: '/', files: hints.files, envFiles: hints.envFiles, source: 'fake' }),
    instances: async (_project, service) => { await step(`instances ${service ?? '*'}`); return instances(service); },
    inspectImage: async (ref) => world.images.get(ref),
    async pull(ref) {
      await step(`pull ${ref}`);
      if (world.failingPulls.has(ref)) throw new Error(`pull of ${ref} failed: manifest unknown`);
      return pullInto(world, ref);
    },
    async replace(project, targets) {
      await step(`replace ${targets.map((t) => t.service).join(',')}`);
      startFromFile(project, targets);
    },
    async replaceRolling(project, target, o) {
      await step(`rolling ${target.service}`);
      startFromFile(project, [target]);
      await o.started();
      return world.bad.has(world.services.get(target.service)!.imageId) ? `${target.service} reports unhealthy` : undefined;
    },
    async waitHealthy(_project, service, select, expected): Promise<HealthResult> {
      await step(`health ${service}`);
      const chosen = instances(service).filter(select);
      const names = chosen.map((c) => c.name);
      const bad = chosen.find((c) => world.bad.has(c.imageId));
      if (bad) return { healthy: false, reason: `${bad.name} reports unhealthy`, containers: names };
      if (chosen.length < expected) return { healthy: false, reason: `not healthy after 1s (${chosen.length} of ${expected})`, containers: names };
      return { healthy: true, containers: names };
    },
    async restore(project, targets) {
      await step(`restore ${targets.map((t) => t.service).join(',')}`);
      startFromFile(project, targets);
    },
    async repoint(imageId, reference) {
      await step(`repoint ${reference}`);
      const image = world.images.get(imageId);
      if (image) world.images.set(reference, image);
    },
    async prune(imageId) {
      await step(`prune ${imageId}`);
      if ([...world.services.values()].some((s) => s.imageId === imageId)) return 'in-use';
      for (const [key, image] of world.images) if (image.id === imageId) world.images.delete(key);
      return 'removed';
    },
    ownInstance: async () => undefined,
    instanceState: async () => undefined,
    startHelper: async () => { throw new Error('the fake runtime has no self-update helper'); },
    prepareDirectory: async () => undefined,
  };
}
