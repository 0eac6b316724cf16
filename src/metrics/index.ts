/**
 * Prometheus metrics (prom-client) on a registry of dosync's own, with typed helpers so callers never
 * spell a metric name or label. Label values are bounded by the stack: services, registries, request
 * kinds and HTTP statuses.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { buildInfo, type BuildInfo } from '../util/build-info.js';

export type UpdateResult = 'success' | 'failed' | 'rolled-back';

/** What the OCI client reports per HTTP request it makes (every retry and redirect hop counts). */
export interface RegistryRequestEvent {
  /** Registry host, e.g. `docker.io`, `ghcr.io`, `127.0.0.1:5000`. */
  registry: string;
  /** `ping`, `token`, `tags`, `manifest`, `other`. */
  kind: string;
  /** HTTP status, or `error` when no response came (connection refused, timeout). */
  status: number | 'error';
  durationMs: number;
  /** Rate-limit budget left, when the registry says (Docker Hub's `ratelimit-remaining: 100;w=21600`). */
  rateLimitRemaining?: number;
}

/** The small interface the OCI client is given; `Metrics` implements it. */
export interface RegistryRequestObserver {
  onRequest(event: RegistryRequestEvent): void;
}

export interface Metrics extends RegistryRequestObserver {
  readonly registry: Registry;
  /** `Content-Type` of `render()`'s output. */
  readonly contentType: string;
  /** The exposition text for GET /metrics. */
  render(): Promise<string>;
  /** A service was checked for a newer image. */
  checked(service: string, project?: string): void;
  /** An update ended: deployed, failed before deploying, or deployed then rolled back. */
  updated(service: string, result: UpdateResult, project?: string): void;
  /** A unit of services that one edit moves together ended its update (once per unit, besides each service's). */
  unitUpdated(unit: string, result: UpdateResult, project?: string): void;
  /** Something failed for a service at a stage (`check`, `pull`, `update`, `health`, `rollback`, ...). */
  failed(service: string, stage: string, project?: string): void;
  rolledBack(service: string, project?: string): void;
  /**
   * 1 when a newer image is allowed but not deployed; `tags` (current and newest) become labels, so an alert
   * can say what to; a service keeps one series, its old one dropped when the tags change.
   */
  setUpdateAvailable(service: string, available: boolean, tags?: { current?: string | null; newest?: string | null }, project?: string): void;
  /** 1 while the running image does not verify under `verify:`. */
  setSignatureUnverified(service: string, unverified: boolean, project?: string): void;
  /** A cycle ended; `ok` cycles move the last-success timestamp. */
  cycleFinished(cycle: { durationMs: number; ok: boolean; at: Date }): void;
  /** Drops every series of a service that left the stack (after a config reload). */
  forgetService(service: string, project?: string): void;
  /** Whole host (issue-18b): drops every series of a project that is gone (its services, units, failures). */
  forgetProject(project: string): Promise<void>;
}

export interface MetricsOptions {
  /** Node process metrics (CPU, memory, event loop, GC) under their conventional `process_*` / `nodejs_*` names. Default true. */
  processMetrics?: boolean;
  /** For dosync_build_info (default: this build's). */
  build?: BuildInfo;
}

/**
 * prom-client's default metrics include three gauges named `..._total` (a sum of the typed `nodejs_active_*`
 * series next to them), which `promtool check metrics` rejects: non-counters must not end in `_total`.
 */
const LINT_FAILING_DEFAULTS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/**
 * Registry errors are failures to get an answer (`error`), server errors, and 429; a 401 is the normal
 * first step of the token dance and a 404 a normal "no such tag", so neither counts.
 */
export function isRegistryError(status: number | 'error'): boolean {
  return status === 'error' || status === 429 || status >= 500;
}

export function createMetrics(opts: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  const registers = [registry];
  if (opts.processMetrics ?? true) {
    collectDefaultMetrics({ register: registry });
    for (const name of LINT_FAILING_DEFAULTS) registry.removeSingleMetric(name);
  }
  const build = opts.build ?? buildInfo();
  new Gauge({ name: 'dosync_build_info', help: 'Always 1; the labels say which dosync build runs.', labelNames: ['version', 'revision', 'nodejs_version'] as const, registers })
    .set({ version: build.version, revision: build.revision, nodejs_version: process.version }, 1);

  const checks = new Counter({ name: 'dosync_checks_total', help: 'Services checked for a newer image.', labelNames: ['service', 'project'] as const, registers });
  const updates = new Counter({ name: 'dosync_updates_total', help: 'Updates by outcome: success, failed (not deployed), rolled-back (deployed, then reverted).', labelNames: ['service', 'result', 'project'] as const, registers });
  const failures = new Counter({ name: 'dosync_failures_total', help: 'Failures by service and stage (check, pull, update, health, rollback, ...).', labelNames: ['service', 'stage', 'project'] as const, registers });
  const unitUpdates = new Counter({ name: 'dosync_unit_updates_total', help: 'Updates of units (services that one edit moves together, such as a shared .env tag) by outcome.', labelNames: ['unit', 'result', 'project'] as const, registers });
  const rollbacks = new Counter({ name: 'dosync_rollbacks_total', help: 'Rollbacks to the previous image.', labelNames: ['service', 'project'] as const, registers });
  const requests = new Counter({ name: 'dosync_registry_requests_total', help: 'HTTP requests to registries by kind and status (error: no response).', labelNames: ['registry', 'kind', 'status'] as const, registers });
  const duration = new Histogram({
    name: 'dosync_registry_request_duration_seconds',
    help: 'Registry request latency.',
    labelNames: ['registry'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  });
  const registryErrors = new Counter({ name: 'dosync_registry_errors_total', help: 'Registry requests without an answer, or answered 429 or 5xx.', labelNames: ['registry'] as const, registers });
  const rateLimit = new Gauge({ name: 'dosync_ratelimit_remaining', help: 'Pull rate-limit budget left, as last reported by the registry.', labelNames: ['registry'] as const, registers });
  const lastSuccess = new Gauge({ name: 'dosync_last_successful_cycle_timestamp_seconds', help: 'Unix time the last cycle without errors ended.', registers });
  const unverified = new Gauge({ name: 'dosync_signature_unverified', help: '1 when the running image does not verify under verify: (reported, not redeployed).', labelNames: ['service', 'project'] as const, registers });
  const available = new Gauge({ name: 'dosync_update_available', help: '1 when a newer image is allowed by the policy but not deployed; current_tag and newest_tag say from what to what.', labelNames: ['service', 'project', 'current_tag', 'newest_tag'] as const, registers });
  const availableLabels = new Map<string, { service: string; project?: string; current_tag: string; newest_tag: string }>();
  const cycleDuration = new Histogram({
    name: 'dosync_cycle_duration_seconds',
    help: 'Duration of a check/update cycle.',
    buckets: [0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
    registers,
  });

  // Stages are open-ended, so the ones seen are remembered to remove a service's series later.
  const stagesSeen = new Map<string, Set<string>>();
  const RESULTS: UpdateResult[] = ['success', 'failed', 'rolled-back'];
  // The `project` label (the compose project; several with sync --all) is set when the caller names one.
  const p = <L extends Record<string, string>>(labels: L, project: string | undefined): L & { project?: string } => (project ? { ...labels, project } : labels);

  return {
    registry,
    contentType: registry.contentType,
    render: () => registry.metrics(),
    checked: (service, project) => checks.inc(p({ service }, project)),
    updated: (service, result, project) => updates.inc(p({ service, result }, project)),
    unitUpdated: (unit, result, project) => unitUpdates.inc(p({ unit, result }, project)),
    failed(service, stage, project) {
      failures.inc(p({ service, stage }, project));
      const key = `${project ?? ''}/${service}`;
      if (!stagesSeen.has(key)) stagesSeen.set(key, new Set());
      stagesSeen.get(key)!.add(stage);
    },
    rolledBack: (service, project) => rollbacks.inc(p({ service }, project)),
    setUpdateAvailable(service, yes, tags, project) {
      const labels = p({ service, current_tag: tags?.current ?? '', newest_tag: (yes ? tags?.newest : tags?.current) ?? '' }, project);
      const key = `${project ?? ''}/${service}`;
      const old = availableLabels.get(key);
      if (old && (old.current_tag !== labels.current_tag || old.newest_tag !== labels.newest_tag)) available.remove(old);
      availableLabels.set(key, labels);
      available.set(labels, yes ? 1 : 0);
    },
    setSignatureUnverified: (service, yes, project) => unverified.set(p({ service }, project), yes ? 1 : 0),
    cycleFinished({ durationMs, ok, at }) {
      cycleDuration.observe(durationMs / 1000);
      if (ok) lastSuccess.set(at.getTime() / 1000);
    },
    onRequest({ registry: host, kind, status, durationMs, rateLimitRemaining }) {
      requests.inc({ registry: host, kind, status: String(status) });
      duration.observe({ registry: host }, durationMs / 1000);
      if (isRegistryError(status)) registryErrors.inc({ registry: host });
      if (rateLimitRemaining !== undefined && Number.isFinite(rateLimitRemaining)) rateLimit.set({ registry: host }, rateLimitRemaining);
    },
    forgetService(service, project) {
      checks.remove(p({ service }, project));
      rollbacks.remove(p({ service }, project));
      const key = `${project ?? ''}/${service}`;
      const shown = availableLabels.get(key);
      if (shown) available.remove(shown);
      availableLabels.delete(key);
      unverified.remove(p({ service }, project));
      for (const result of RESULTS) updates.remove(p({ service, result }, project));
      for (const stage of stagesSeen.get(key) ?? []) failures.remove(p({ service, stage }, project));
      stagesSeen.delete(key);
    },
    async forgetProject(project) {
      // Every series whose project label is this one, whatever its other labels (units, stages, tags).
      for (const metric of [checks, updates, failures, unitUpdates, rollbacks, unverified, available] as Array<Counter<string> | Gauge<string>>) {
        for (const v of (await metric.get()).values) if (v.labels.project === project) metric.remove(v.labels as Record<string, string>);
      }
      for (const m of [availableLabels, stagesSeen] as Array<Map<string, unknown>>) for (const key of [...m.keys()]) if (key.startsWith(`${project}/`)) m.delete(key);
    },
  };
}
