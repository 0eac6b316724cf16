/**
 * A small fake of the engine calls the swarm runtime makes (dockerode: info, listServices, getService,
 * listTasks, getImage, listContainers), for unit tests of its waiting and rollback decisions. One service;
 * `plan` scripts what the swarm does after an update that changes the image: one UpdateStatus state per
 * look at the service. The real engine is exercised by test/integration/swarm*.test.ts.
 */
import type Docker from 'dockerode';

export interface FakeSpec {
  Name: string;
  Labels?: Record<string, string>;
  TaskTemplate: { ContainerSpec: { Image: string } };
  Mode?: { Replicated?: { Replicas?: number } };
  UpdateConfig?: Record<string, unknown>;
  RollbackConfig?: Record<string, unknown>;
}

export interface FakeService {
  ID: string;
  Version: { Index: number };
  Spec: FakeSpec;
  PreviousSpec?: FakeSpec;
  UpdateStatus?: { State?: string; Message?: string; StartedAt?: string };
}

export type Step = 'updating' | 'completed' | 'paused' | 'rollback_started' | 'rollback_completed' | 'rollback_paused';

export class FakeSwarm {
  readonly service: FakeService;
  /** Every update request: its query and body (the spec sent). */
  readonly updates: Array<{ query: Record<string, unknown>; body: FakeSpec }> = [];
  /** What the swarm does after the next image update / rollback, one state per inspect. */
  plan: Step[] = ['updating', 'completed'];
  rollbackPlan: Step[] = ['rollback_started', 'rollback_completed'];
  private steps: Step[] = [];
  /** The images the service's running tasks run. */
  taskImage: string;

  constructor(readonly stack: string, name: string, image: string, opts: { replicas?: number; previous?: string; status?: FakeService['UpdateStatus'] } = {}) {
    const spec = (img: string): FakeSpec => ({ Name: `${stack}_${name}`, Labels: { 'com.docker.stack.namespace': stack }, TaskTemplate: { ContainerSpec: { Image: img } }, Mode: { Replicated: { Replicas: opts.replicas ?? 2 } } });
    this.service = { ID: 'svc1', Version: { Index: 10 }, Spec: spec(image), ...(opts.previous ? { PreviousSpec: spec(opts.previous) } : {}), ...(opts.status ? { UpdateStatus: opts.status } : {}) };
    this.taskImage = image;
  }

  private look(): FakeService {
    const s = this.service;
    const next = this.steps.shift();
    if (next) {
      s.UpdateStatus = { ...s.UpdateStatus, State: next };
      if (next === 'rollback_started' && s.PreviousSpec && !s.UpdateStatus.Message?.includes('manually')) {
        // The swarm's own rollback (failure_action: rollback): the previous spec comes back.
        [s.Spec, s.PreviousSpec] = [s.PreviousSpec, undefined];
      }
      if (next === 'completed' || next === 'rollback_completed') this.taskImage = s.Spec.TaskTemplate.ContainerSpec.Image;
    }
    return structuredClone(s);
  }

  private update(query: Record<string, unknown>, body: FakeSpec): void {
    const s = this.service;
    if (query.version !== s.Version.Index) throw Object.assign(new Error('update out of sequence'), { statusCode: 500 });
    this.updates.push({ query, body: structuredClone(body) });
    s.Version.Index += 1;
    const now = new Date().toISOString();
    if (query.rollback === 'previous') {
      [s.Spec, s.PreviousSpec] = [s.PreviousSpec!, s.Spec];
      s.UpdateStatus = { State: 'rollback_started', Message: 'manually requested rollback', StartedAt: now };
      this.steps = this.rollbackPlan.filter((x) => x !== 'rollback_started');
      return;
    }
    const imageChanged = body.TaskTemplate.ContainerSpec.Image !== s.Spec.TaskTemplate.ContainerSpec.Image;
    s.PreviousSpec = s.Spec;
    s.Spec = structuredClone(body);
    // A spec change that changes no task starts no rollout: UpdateStatus stays as it was.
    if (imageChanged) {
      s.UpdateStatus = { State: 'updating', StartedAt: now };
      this.steps = [...this.plan];
    }
  }

  get docker(): Docker {
    const fake = {
      info: async () => ({ Swarm: { ControlAvailable: true, NodeID: 'node1' } }),
      ping: async () => 'OK',
      listServices: async () => [this.look()],
      getService: () => ({
        inspect: async () => this.look(),
        update: async (_auth: unknown, opts: { _query: Record<string, unknown>; _body: FakeSpec }) => this.update(opts._query, opts._body),
      }),
      listTasks: async () => Array.from({ length: this.service.Spec.Mode?.Replicated?.Replicas ?? 1 }, (_, i) => ({
        ID: `task${i}`, Slot: i + 1, NodeID: 'node1', Spec: { ContainerSpec: { Image: this.taskImage } }, Status: { State: 'running' },
      })),
      getImage: () => ({ inspect: async () => { throw Object.assign(new Error('no such image'), { statusCode: 404 }); } }),
      listContainers: async () => [],
    };
    return fake as unknown as Docker;
  }
}
