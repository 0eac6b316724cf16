/**
 * `dosync mirror`: keeps images in sync between registries through the registry API alone (no
 * Docker daemon). This module wires the pieces for the CLI: one OCI client and credential resolver
 * for the process, the caches that make later cycles cheap, once or as a daemon, and /metrics.
 */
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';
import { RegistryClient, type RequestObserver } from '../registry/client.js';
import { parseRegistryConfig } from '../registry/config.js';
import { readRegistryCas } from '../registry/ca-files.js';
import { createCredentialResolver } from '../registry/credentials.js';
import { providerFor, registryCaFiles, type ProviderContext } from '../registry/providers/index.js';
import { ConfigError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import type { RepositoryRef } from '../registry/types.js';
import type { MirrorConfig, MirrorTask } from './config.js';
import { runMirrorDaemon } from './daemon.js';
import type { MirrorMetrics } from './metrics.js';
import { MirrorStateFile } from './state-file.js';
import { MirrorClient, type MultipartLimits } from './s3-target.js';
import { MirrorState, runTask, summaryLine, type TaskSummary } from './run.js';

export { parseMirrorConfig, oneShotTask, type MirrorConfig, type MirrorTask, type MirrorImage, type OneShotFlags } from './config.js';
export { runTask, summaryLine, MirrorState, type TaskSummary, type ItemResult, type RunOptions } from './run.js';
export { copyTag, type CopyResult } from './copy.js';
export type { MirrorMetrics } from './metrics.js';
export { runMirrorDaemon } from './daemon.js';
export { MirrorStateFile } from './state-file.js';

export interface MirrorRuntime {
  client: RegistryClient;
  state: MirrorState;
}

/** The OCI client with credentials from the `registry:` section, the environment and Docker's config. */
export function createMirrorRuntime(
  config: Pick<MirrorConfig, 'registry'>,
  opts: { env: Record<string, string | undefined>; logger: Logger; file?: string; insecureRegistries?: string[]; observer?: RequestObserver; stateFile?: MirrorStateFile; s3Multipart?: MultipartLimits },
): MirrorRuntime {
  const parsed = parseRegistryConfig(config.registry ?? {}, { env: opts.env, file: opts.file ?? 'mirror.yaml' });
  for (const w of parsed.warnings) opts.logger.warn(w);
  const ctx: ProviderContext = { env: opts.env, config: parsed.config, logger: opts.logger };
  const credentials = createCredentialResolver(ctx);
  const client = new MirrorClient({
    credentials, insecureRegistries: [...parsed.insecureRegistries, ...(opts.insecureRegistries ?? [])], httpsRegistries: parsed.httpsRegistries,
    registryCa: readRegistryCas(registryCaFiles(parsed.config), opts.file ?? 'mirror.yaml'), logger: opts.logger, observer: opts.observer,
  }, opts.env, opts.s3Multipart);
  ctx.registry = client;
  const pushTimes = async (repo: { registry: string; repository: string }) => providerFor(repo.registry, ctx).pushTimes?.(repo);
  const createRepository = async (repo: RepositoryRef) => {
    const create = providerFor(repo.registry, ctx).createRepository;
    if (!create) throw new ConfigError(`${repo.registry}: create_repositories is for ECR targets; this registry creates repositories on push`);
    return create.call(providerFor(repo.registry, ctx), repo);
  };
  return { client, state: new MirrorState(client, { pushTimes, file: opts.stateFile, createRepository }) };
}

export interface MirrorCommandSettings {
  config: MirrorConfig;
  configPath?: string;
  env: Record<string, string | undefined>;
  logger: Logger;
  once: boolean;
  dryRun: boolean;
  insecureRegistries?: string[];
  /** Serve /metrics here in daemon mode (`127.0.0.1:9181`). */
  listen?: string;
  /** Stops the daemon (the CLI wires SIGTERM/SIGINT to it). */
  signal?: AbortSignal;
  /** The state file (blob locations, upload sessions); undefined keeps them for this process only. */
  statePath?: string;
}

/** Runs the command; resolves with the exit code (0 fine, 1 an image failed / maxErrors reached). */
export async function mirrorCommand(s: MirrorCommandSettings): Promise<number> {
  // prom-client is loaded only when /metrics is served (a daemon with --listen): nothing else reads the
  // counters, and the library with its default collectors is ~12 MB of a --once run's peak RSS.
  const served = s.listen !== undefined && !(s.once || s.dryRun) ? await servedMetrics() : undefined;
  const stateFile = s.statePath ? await MirrorStateFile.open(s.statePath, (msg) => s.logger.warn(msg)) : undefined;
  const { client, state } = createMirrorRuntime(s.config, { env: s.env, logger: s.logger, file: s.configPath, insecureRegistries: s.insecureRegistries, observer: served?.observer, stateFile });
  const metrics = served?.mirror;
  const cycle = async (task: MirrorTask): Promise<TaskSummary> => {
    const summary = await runTask(task, { client, state, logger: s.logger, dryRun: s.dryRun, metrics, signal: s.signal });
    report(summary, s.logger);
    return summary;
  };
  if (s.once || s.dryRun) {
    let failed = 0;
    for (const task of s.config.tasks) {
      if (s.signal?.aborted) break;
      const summary = await cycle(task);
      failed += summary.failed;
    }
    return failed > 0 ? 1 : 0;
  }
  const server = served && s.listen ? await serveMetrics(s.listen, served.registry, s.logger) : undefined;
  try {
    return await runMirrorDaemon({ tasks: s.config.tasks, cycle, logger: s.logger, signal: s.signal ?? new AbortController().signal });
  } finally {
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  }
}

/** dosync's metrics (registry requests, rate-limit budget, process) with the mirror's counters beside them. */
async function servedMetrics(): Promise<{ registry: Registry; observer: RequestObserver; mirror: MirrorMetrics }> {
  const [{ createMetrics }, { createMirrorMetrics }] = await Promise.all([import('../metrics/index.js'), import('./metrics.js')]);
  const base = createMetrics();
  return { registry: base.registry, observer: base, mirror: createMirrorMetrics(base.registry) };
}

function report(summary: TaskSummary, logger: Logger): void {
  for (const item of summary.items) {
    if (item.status === 'planned') logger.info({ source: item.source, target: item.target, digest: item.targetDigest }, `would copy${item.note ? ` (${item.note})` : ''}`);
  }
  const line = summaryLine(summary);
  if (summary.failed > 0) logger.warn({ failed: summary.items.filter((i) => i.status === 'failed').map((i) => `${i.source}: ${i.error}`) }, line);
  else logger.info(line);
}

/**
 * A bare GET /metrics for the standalone mirror daemon (the sync daemon's API server is not running
 * here); everything else is 404.
 */
async function serveMetrics(listen: string, registry: Registry, logger: Logger): Promise<Server> {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(listen.trim());
  if (!m) throw new ConfigError(`--listen: "${listen}" is not host:port (e.g. 127.0.0.1:9181 or :9181)`);
  const host = m[1] ?? (m[2] || '0.0.0.0');
  const port = Number(m[3]);
  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url?.split('?')[0] === '/metrics') {
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        () => res.writeHead(500).end(),
      );
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(new ConfigError(`--listen ${listen}: ${err.code ?? err.message}`)));
    server.listen(port, host, resolve);
  });
  logger.info({ listen: `${host}:${port}` }, 'metrics at /metrics');
  return server;
}

