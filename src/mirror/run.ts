/**
 * One cycle of one mirror task: list and select each image's tags, copy them `parallel` at a time,
 * keep going past failures until `maxErrors`, and sum up what happened.
 */
import pLimit from 'p-limit';
import type { RegistryClient } from '../registry/client.js';
import type { RepositoryRef } from '../registry/types.js';
import { errorMessage } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import { scrubSecrets } from '../util/logger.js';
import { BlobCopier, type BlobEvent } from './blobs.js';
import type { MirrorStateFile } from './state-file.js';
import type { MirrorImage, MirrorTask } from './config.js';
import { CopyMemory, copyTag, type CopyResult } from './copy.js';
import type { MirrorMetrics } from './metrics.js';
import { isReferrerTag } from './purge.js';
import { purgeTags } from './purge-run.js';
import { copyTreeReferrers } from './referrers.js';
import { filterTags, namesOnly, needsTimes, rankTags } from './tags.js';
import { TagTimes, type PushTimesLookup } from './times.js';

/** `deleted` / `would-delete`: a target tag purged (or to be purged by a dry run). */
export type ItemStatus = 'copied' | 'skipped' | 'planned' | 'failed' | 'deleted' | 'would-delete';

export interface ItemResult {
  /** `registry/repository:tag` */
  source: string;
  target: string;
  status: ItemStatus;
  sourceDigest?: string;
  targetDigest?: string;
  bytes: number;
  note?: string;
  error?: string;
}

export interface TaskSummary {
  task: string;
  dryRun: boolean;
  startedAt: Date;
  durationMs: number;
  items: ItemResult[];
  copied: number;
  skipped: number;
  planned: number;
  failed: number;
  /** Target tags purged (or, in a dry run, that would be). */
  deleted: number;
  /** Blob bytes uploaded. */
  bytes: number;
  blobs: { present: number; mounted: number; uploaded: number };
  manifestsPushed: number;
  /** HTTP requests this cycle made, in total and by method. */
  requests: { total: number; byMethod: Record<string, number> };
  /** maxErrors was reached: the rest of the cycle was not attempted. */
  aborted: boolean;
}

/** What lives as long as the process: caches that make later cycles cheap. */
export class MirrorState {
  readonly memory = new CopyMemory();
  readonly blobs: BlobCopier;
  readonly times: TagTimes;
  /** Registries found without the OCI referrers API (asked once per process). */
  readonly noReferrersApi = new Set<string>();
  /** Target repositories made sure of (`create_repositories`), once per process each. */
  private readonly ensured = new Map<string, Promise<'created' | 'exists'>>();
  private readonly createRepository?: CreateRepository;
  constructor(client: RegistryClient, opts: { pushTimes?: PushTimesLookup; streams?: number; onBlob?: (e: BlobEvent) => void; file?: MirrorStateFile; createRepository?: CreateRepository } = {}) {
    this.createRepository = opts.createRepository;
    this.blobs = new BlobCopier({ client, streams: opts.streams, onEvent: opts.onBlob, state: opts.file });
    this.times = new TagTimes(client, opts.pushTimes);
  }

  /** Creates `repo` when its registry wants that before a push; undefined when it does not. A failure is asked again next time. */
  ensureRepository(repo: RepositoryRef): Promise<'created' | 'exists'> | undefined {
    if (!this.createRepository) return undefined;
    const key = `${repo.registry}/${repo.repository}`;
    let pending = this.ensured.get(key);
    if (!pending) {
      pending = this.createRepository(repo);
      this.ensured.set(key, pending);
      pending.catch(() => this.ensured.delete(key));
    }
    return pending;
  }
}

/** A registry family's way of creating a repository (ECR's CreateRepository). */
export type CreateRepository = (repo: RepositoryRef) => Promise<'created' | 'exists'>;

export interface RunOptions {
  client: RegistryClient;
  state: MirrorState;
  logger: Logger;
  dryRun?: boolean;
  metrics?: MirrorMetrics;
  /** Stops starting new copies (in-flight ones finish). */
  signal?: AbortSignal;
  now?: () => number;
}

export async function runTask(task: MirrorTask, opts: RunOptions): Promise<TaskSummary> {
  const now = opts.now ?? Date.now;
  const started = now();
  const wallStart = Date.now();
  const statsBefore = snapshot(opts.client);
  const items: ItemResult[] = [];
  const blobs = { present: 0, mounted: 0, uploaded: 0 };
  let manifestsPushed = 0;
  let failures = 0;
  let aborted = false;
  const limit = pLimit(task.parallel);
  const log = opts.logger.child({ task: task.name });

  const fail = (item: ItemResult) => {
    items.push(item);
    failures++;
    opts.metrics?.error(task.name);
    opts.metrics?.image(task.name, 'failed');
    log.error({ source: item.source, target: item.target }, `mirror failed: ${item.error}`);
    if (failures >= task.maxErrors && !aborted) {
      aborted = true;
      log.error(`${failures} failures reached maxErrors (${task.maxErrors}): the rest of this cycle is skipped`);
    }
  };
  const stopped = () => aborted || opts.signal?.aborted === true;

  const copyOne = async (image: MirrorImage, tag: string, sourceTags: ReadonlySet<string>) => {
    if (stopped()) return;
    const source = `${ref(image.source)}:${tag}`;
    const target = `${ref(image.target)}:${tag}`;
    try {
      const ctx = { client: opts.client, blobs: opts.state.blobs, memory: opts.state.memory, platforms: image.platforms, dryRun: opts.dryRun ?? false, chunkSize: task.chunkSize };
      const r: CopyResult = await copyTag(image.source, image.target, tag, ctx);
      // Signatures and attestations name the digest they sign: a platform subset (a new index digest) has
      // none of its own, but the children it kept are the source's, and keep theirs.
      if (image.referrers && !ctx.dryRun && r.targetDigest !== undefined) {
        const rctx = { ...ctx, sourceTags, noReferrersApi: opts.state.noReferrersApi };
        const attached = await copyTreeReferrers(image.source, image.target, { digest: r.targetDigest, own: r.targetDigest === r.sourceDigest, children: r.children }, rctx, r);
        const parts = [attached.referrers > 0 ? `${attached.referrers} referrer${attached.referrers === 1 ? '' : 's'}` : '', attached.cosignTags > 0 ? `${attached.cosignTags} cosign tag${attached.cosignTags === 1 ? '' : 's'}` : ''].filter(Boolean);
        if (parts.length > 0) r.note = [r.note, `with ${parts.join(' and ')}`].filter(Boolean).join('; ');
      }
      blobs.present += r.blobs.present;
      blobs.mounted += r.blobs.mounted;
      blobs.uploaded += r.blobs.uploaded;
      manifestsPushed += r.manifests.pushed;
      items.push({ source, target, status: r.status, sourceDigest: r.sourceDigest, targetDigest: r.targetDigest, bytes: r.bytes, note: r.note });
      if (r.status !== 'planned') opts.metrics?.image(task.name, r.status);
      if (r.bytes > 0) opts.metrics?.bytes(task.name, r.bytes);
      const fields = { source, target, digest: r.targetDigest, bytes: r.bytes || undefined, blobs: r.status === 'copied' ? r.blobs : undefined, note: r.note };
      if (r.status === 'skipped') log.debug(fields, 'up to date');
      else log.info(fields, r.status === 'planned' ? 'would copy' : 'copied');
    } catch (err) {
      fail({ source, target, status: 'failed', bytes: 0, error: scrubSecrets(errorMessage(err)) });
    }
  };

  const perImage = task.images.map(async (image) => {
    let tags: string[];
    let listed: string[] | undefined;
    // The target's ping goes out beside the source's listing (it comes next anyway, for the manifest HEAD).
    if (!opts.dryRun) opts.client.warmUp(image.target.registry);
    try {
      ({ selected: tags, listed } = await selectTags(image, opts, now()));
    } catch (err) {
      fail({ source: `${ref(image.source)}`, target: `${ref(image.target)}`, status: 'failed', bytes: 0, error: scrubSecrets(errorMessage(err)) });
      return;
    }
    log.debug({ source: ref(image.source), tags: tags.length, selector: image.tags.describe }, 'tags selected');
    if (task.createRepositories && !opts.dryRun && tags.length > 0) {
      try {
        if ((await opts.state.ensureRepository(image.target)) === 'created') log.info({ target: ref(image.target) }, 'created the target repository');
      } catch (err) {
        fail({ source: `${ref(image.source)}`, target: `${ref(image.target)}`, status: 'failed', bytes: 0, error: scrubSecrets(errorMessage(err)) });
        return;
      }
    }
    const sourceTags = new Set(listed);
    await Promise.all(tags.map((tag) => limit(() => copyOne(image, tag, sourceTags))));
    if (image.purge && !stopped()) {
      try {
        const present = new Set(listed);
        const wanted = new Set(tags.filter((t) => present.has(t)));
        for (const item of await purgeTags(opts.client, image.target, wanted, image.purge, opts.dryRun ?? false, image.where)) {
          items.push(item);
          log.info({ target: item.target, digest: item.targetDigest }, item.status === 'deleted' ? 'purged' : 'would purge');
        }
      } catch (err) {
        fail({ source: `${ref(image.source)}`, target: `${ref(image.target)}`, status: 'failed', bytes: 0, error: scrubSecrets(errorMessage(err)) });
      }
    }
  });
  await Promise.all(perImage);

  if (!opts.dryRun && !aborted && opts.signal?.aborted !== true) {
    // Sessions of this task's repositories that no copy of this cycle resumed: nobody will.
    const targets = new Set(task.images.map((i) => `${i.target.registry}/${i.target.repository}`));
    const cancelled = await opts.state.blobs.cancelOrphans(wallStart, (t) => targets.has(`${t.registry}/${t.repository}`));
    if (cancelled > 0) log.info({ cancelled }, 'cancelled upload sessions no copy resumed');
  }
  await opts.state.blobs.state.flush().catch((err: Error) => log.warn({ file: opts.state.blobs.state.path }, `cannot write the mirror state file: ${err.message} (blob locations and upload sessions are not kept for the next run)`));

  const statsAfter = snapshot(opts.client);
  const count = (s: ItemStatus) => items.filter((i) => i.status === s).length;
  const summary: TaskSummary = {
    task: task.name,
    dryRun: opts.dryRun ?? false,
    startedAt: new Date(started),
    durationMs: now() - started,
    items: items.sort((a, b) => (a.source < b.source ? -1 : a.source > b.source ? 1 : 0)),
    copied: count('copied'),
    skipped: count('skipped'),
    planned: count('planned'),
    failed: count('failed'),
    deleted: count('deleted') + count('would-delete'),
    bytes: items.reduce((n, i) => n + i.bytes, 0),
    blobs,
    manifestsPushed,
    requests: { total: statsAfter.total - statsBefore.total, byMethod: diff(statsAfter.byMethod, statsBefore.byMethod) },
    aborted,
  };
  opts.metrics?.cycle(task.name, summary.failed === 0, new Date(now()));
  return summary;
}

/**
 * The tags of one image to copy: the names as given (no listing needed unless a purge must know
 * what the source still has), or the selector over the source's tag list.
 */
async function selectTags(image: MirrorImage, opts: RunOptions, now: number): Promise<{ selected: string[]; listed?: string[] }> {
  if (namesOnly(image.tags) && !image.purge && !image.referrers) return { selected: image.tags.names };
  const all = await opts.client.listTags(image.source);
  if (namesOnly(image.tags)) return { selected: image.tags.names, listed: all };
  // Fallback and cosign tags travel with the manifest they describe, not as tags of their own.
  const { candidates } = filterTags(image.referrers ? all.filter((t) => !isReferrerTag(t)) : all, image.tags);
  const infos = needsTimes(image.tags, candidates) ? await opts.state.times.lookup(image.source, candidates) : candidates.map((tag) => ({ tag }));
  return { selected: rankTags(infos, image.tags, now).selected, listed: all };
}

function ref(r: RepositoryRef): string {
  return `${r.registry}/${r.repository}`;
}

function snapshot(client: RegistryClient): { total: number; byMethod: Record<string, number> } {
  return { total: client.stats.requests, byMethod: { ...client.stats.byMethod } };
}

function diff(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) if (v - (before[k] ?? 0) > 0) out[k] = v - (before[k] ?? 0);
  return out;
}

/** One line: `copied 3, skipped 10, failed 1; 12.3 MB in 14 blobs (2 mounted, 30 present); 61 requests (HEAD 40, GET 12, ...)`. */
export function summaryLine(s: TaskSummary): string {
  const purged = s.deleted > 0 ? `, ${s.dryRun ? 'would purge' : 'purged'} ${s.deleted}` : '';
  const counts = s.dryRun
    ? `would copy ${s.planned}, up to date ${s.skipped}${purged}, failed ${s.failed}`
    : `copied ${s.copied}, up to date ${s.skipped}${purged}, failed ${s.failed}`;
  const methods = Object.entries(s.requests.byMethod).sort((a, b) => b[1] - a[1]).map(([m, n]) => `${m} ${n}`).join(', ');
  const blobs = s.dryRun ? '' : `; ${formatBytes(s.bytes)} in ${s.blobs.uploaded} blob${s.blobs.uploaded === 1 ? '' : 's'} uploaded (${s.blobs.mounted} mounted, ${s.blobs.present} already there)`;
  return `${s.task}: ${counts}${blobs}; ${s.requests.total} requests${methods ? ` (${methods})` : ''} in ${(s.durationMs / 1000).toFixed(1)}s${s.aborted ? '; stopped at maxErrors' : ''}`;
}

export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = -1;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}
