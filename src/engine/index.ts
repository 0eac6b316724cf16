/**
 * The seam between the sync loop and the container engine: everything `sync/` needs from the engine, as one
 * interface. `sync/` imports nothing else of `engine/` (types included), so the cycle runs against a fake
 * runtime in unit tests, and against Compose (compose-runtime.ts) or a Swarm stack (swarm-runtime.ts) for real.
 *
 * A "project" is what one set of files deploys: a Compose project, or a Swarm stack. An "instance" is what
 * runs for a service: a container, or a swarm task.
 */
import type Docker from 'dockerode';
import type { Credential } from '../registry/types.js';
import type { ContainerSummary, LocalImage } from './docker.js';
import type { ComposeProject } from './compose-cli.js';
import type { HealthOptions, HealthResult } from './health.js';
import type { ProjectHints } from './project.js';
import type { ExecResult } from './exec.js';

export type { LocalImage } from './docker.js';
export type { HealthOptions, HealthResult } from './health.js';
export type { ProjectHints } from './project.js';
/** The client a runtime talks to the engine through (dockerode); sync/ only passes it along. */
export type EngineClient = Docker;
/** A running (or stopped) instance of a service: a container, or a swarm task. */
export type Instance = ContainerSummary;
/** The project a runtime acts on: its name, the directory paths resolve from, and its files. */
export type ProjectRef = ComposeProject;
export type ResolvedProject = ProjectRef & { source: string };
/** Which instances a health gate judges (the new ones). */
export type InstanceFilter = (i: Instance) => boolean;
export type PruneResult = 'removed' | 'in-use' | 'kept';

/** One service to put on an image: the reference the file names, and its local image ID ('' when not known). */
export interface ReplaceTarget {
  service: string;
  image: string;
  imageId: string;
  /** The file's `deploy.update_config` (a swarm service update honours it). */
  updateConfig?: Record<string, unknown>;
  /** The file's `deploy.rollback_config` (the swarm's rollback of the service honours it). */
  rollbackConfig?: Record<string, unknown>;
}

export interface RollingOptions {
  /** How many instances must be healthy on the new image (the old ones are replaced only then). */
  replicas: number;
  /** The instances that run now; everything else of the service after the scale-up is new. */
  oldIds: string[];
  health: HealthOptions;
  /** Called once the new instances were started, before their health gate (the journal's step). */
  started: () => Promise<void>;
}

/** An instance as the self-update bookkeeping asks about it. */
export interface InstanceState {
  running: boolean;
  status: string;
  /** The image ID it runs. */
  imageId: string;
  labels: Record<string, string>;
}

/** The short-lived helper that replaces dosync's own service (compose self-update, see sync/self-update.ts). */
export interface HelperSpec {
  name: string;
  imageId: string;
  /** The command after the `dosync` entrypoint. */
  args: string[];
  labels: Record<string, string>;
  /** A file in the state dir the helper must share with us (it must be on one of our mounts). */
  sharedFile: string;
}

export interface Runtime {
  readonly kind: 'compose' | 'swarm';
  /** Throws an EngineError naming the endpoint when the engine does not answer. */
  ping(): Promise<void>;
  /** Starts slow one-time lookups (which Compose command exists) while other work runs; never throws. */
  warmUp(): void;
  /** Throws a ConfigError when the file asks for what this runtime cannot do (checked before anything is pulled or written). */
  validate(targets: ReplaceTarget[]): void;
  /** Which project the files belong to on this engine, and why it was chosen. */
  resolveProject(hints: ProjectHints): Promise<ResolvedProject>;
  /** The project's instances: all of them, or one service's. */
  instances(project: string, service?: string): Promise<Instance[]>;
  /** A local image by reference or ID; undefined when the engine has none. */
  inspectImage(ref: string): Promise<LocalImage | undefined>;
  /** Pulls `ref` (with the registry's credential) and returns the local image ID. */
  pull(ref: string, registry: string, credential?: Credential): Promise<string>;
  /** Replaces the services' instances with the new image (the file already names it); all at once. */
  replace(project: ProjectRef, targets: ReplaceTarget[]): Promise<void>;
  /**
   * Replaces one service's instances side by side: new ones started, health-gated, then the old ones
   * removed. Returns why it failed (the old instances then were never stopped), or undefined.
   */
  replaceRolling(project: ProjectRef, target: ReplaceTarget, opts: RollingOptions): Promise<string | undefined>;
  /** Waits until the selected instances of `service` are healthy (`expected` of them), or one fails. */
  waitHealthy(project: string, service: string, select: InstanceFilter, expected: number, opts: HealthOptions): Promise<HealthResult>;
  /** Puts the services back on their previous images (the file was restored already). */
  restore(project: ProjectRef, targets: ReplaceTarget[]): Promise<void>;
  /** Points a tag at a local image again: undoes a digest update that moved the tag. */
  repoint(imageId: string, reference: string): Promise<void>;
  /**
   * Runs a command inside an instance (lifecycle hooks), bounded by `timeoutMs`; throws when this runtime
   * cannot reach the instance (a swarm task on another node).
   */
  exec(instanceId: string, cmd: string[], timeoutMs: number): Promise<ExecResult>;
  /** Removes an image an update replaced when nothing uses it any more (never a host-wide prune). */
  prune(imageId: string, reference: string | undefined): Promise<PruneResult>;

  // Self-update: dosync runs as a service of the project it updates.
  /** Our own instance and its service, when we run as a service of `project`. */
  ownInstance(project: string): Promise<{ id: string; service: string } | undefined>;
  /** An instance by ID or name; undefined when it is gone. Any other failure to ask throws. */
  instanceState(id: string): Promise<InstanceState | undefined>;
  /** Starts the self-update helper with our own mounts; `ended` settles when it is gone. */
  startHelper(ownId: string, spec: HelperSpec): Promise<{ ended: Promise<void> }>;
  /** Makes a project directory given by host path readable where we run (sidecar mode); best effort. */
  prepareDirectory(dir: string): Promise<void>;
}

export { exitCodeOf, createDocker } from './docker.js';
export type { ExecResult } from './exec.js';
export { createComposeRuntime } from './compose-runtime.js';
export { createSwarmRuntime, updateConfigOf, rollbackConfigOf } from './swarm-runtime.js';

/** The runtime for a set of files: a Swarm stack's when `stack` is given, else a Compose project's. */
export async function createRuntime(docker: Docker, opts: { stack?: string; credentials?: (registry: string) => Promise<Credential | undefined> } = {}): Promise<Runtime> {
  if (!opts.stack) return (await import('./compose-runtime.js')).createComposeRuntime(docker);
  return (await import('./swarm-runtime.js')).createSwarmRuntime(docker, opts.stack, { credentials: opts.credentials });
}
