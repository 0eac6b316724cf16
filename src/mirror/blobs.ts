/**
 * Getting one blob into a target repository, cheapest way first: already there (HEAD), mounted from
 * another repository of the same registry (the source, or a target repository the state file
 * knows holds it, from this run or an earlier one), else streamed from the source with its digest
 * verified on the way. A large blob goes up in streamed PATCHes (or `chunkSize` chunks) whose session
 * is kept in the state file after each: a run killed mid-blob, or a retry after the source failed,
 * continues where the target stopped (a target that lost the session gets a fresh upload). Copies of one blob into one
 * repository share a single transfer, and at most `streams` transfers run at once.
 */
import pLimit, { type LimitFunction } from 'p-limit';
import type { RegistryClient } from '../registry/client.js';
import { StreamedPatchRefused, pushScope } from '../registry/client.js';
import { isRetryableStatus } from '../registry/transport.js';
import type { RepositoryRef } from '../registry/types.js';
import { RegistryError } from '../util/errors.js';
import type { Descriptor } from './manifest.js';
import { MirrorStateFile } from './state-file.js';

export type BlobOutcome = 'present' | 'mounted' | 'uploaded';

/** How a blob got there, and the bytes sent for it (less than its size when an upload was resumed). */
export interface BlobResult {
  outcome: BlobOutcome;
  bytes: number;
}

export interface BlobEvent {
  type: 'blob';
  outcome: BlobOutcome;
  target: RepositoryRef;
  digest: string;
  bytes: number;
}

export interface BlobCopierOptions {
  client: RegistryClient;
  /** Transfers at once (default 4). */
  streams?: number;
  /** Attempts per blob for failures worth retrying (5xx, 429, 408, a connection reset mid-stream); default 3. */
  attempts?: number;
  backoffMs?: number;
  sleep?: (ms: number) => Promise<void>;
  onEvent?: (e: BlobEvent) => void;
  /** Blob locations and upload sessions kept across runs (default: this process only). */
  state?: MirrorStateFile;
}

/** Chunk size used when a registry refuses a blob that large in one request (HTTP 413). */
const FALLBACK_CHUNK = 4 * 1024 * 1024;

/**
 * Blobs larger than this go up in streamed PATCHes (unless `chunkSize` is set), of SEGMENT_SIZE each,
 * then a closing PUT with the digest: the session is saved before the first byte goes and after each
 * PATCH, and a source that fails or goes quiet ends the PATCH cleanly, so a retry or the next run
 * continues where the target stopped. A smaller blob is cheap to send again: one PUT.
 */
export const SEGMENTED_ABOVE = 32 * 1024 * 1024;

/**
 * One PATCH per GiB. distribution spends time on every PATCH (it reopens the upload and stores the
 * hash state; a debug log showed the seven 32 MiB PATCHes of a 200 MiB layer taking 2.8 s where one
 * PUT took 1.6 s). Five interleaved rounds on a loaded machine, whole `mirror --once` processes: 32 MiB
 * PATCHes 4.8-8.9 s wall, 1.20-1.28 s CPU; this (one PATCH, read straight from the source) 2.8-7.4 s,
 * 0.91-1.26 s; one PUT 2.3-6.3 s, 0.83-0.98 s, but a PUT cannot be ended cleanly when the source fails
 * or goes quiet, so it cannot be resumed. Smaller PATCHes would not resume more: distribution loses a
 * session whose PATCH was cut mid-body whatever its size, and a registry that keeps a cut PATCH's bytes
 * reports them in the session's Range, which the next run reads from the session saved before the first byte.
 */
export const SEGMENT_SIZE = 1024 * 1024 * 1024;

export class BlobCopier {
  private readonly limit: LimitFunction;
  private readonly inflight = new Map<string, Promise<BlobResult>>();
  /** Registries that refused a streamed PATCH: blobs go up to them in one PUT. */
  private readonly noSegments = new Set<string>();
  readonly state: MirrorStateFile;

  constructor(private readonly opts: BlobCopierOptions) {
    this.limit = pLimit(opts.streams ?? 4);
    this.state = opts.state ?? MirrorStateFile.inMemory();
  }

  /**
   * Makes sure `target` has the blob; `chunkSize` forces chunked uploads. A caller that joins a
   * transfer already under way gets 'present' (the bytes are counted once, by the first caller).
   */
  async ensure(source: RepositoryRef, target: RepositoryRef, blob: Descriptor, chunkSize?: number): Promise<BlobResult> {
    const key = `${target.registry}/${target.repository}@${blob.digest}`;
    const pending = this.inflight.get(key);
    if (pending) {
      await pending;
      return { outcome: 'present', bytes: 0 };
    }
    const started = this.copy(source, target, blob, chunkSize).finally(() => this.inflight.delete(key));
    this.inflight.set(key, started);
    return started;
  }

  private async copy(source: RepositoryRef, target: RepositoryRef, blob: Descriptor, chunkSize?: number): Promise<BlobResult> {
    const { client } = this.opts;
    const scope = pushScope(target.repository);
    const upload = `${target.registry}/${target.repository}@${blob.digest}`;
    const done = (outcome: BlobOutcome, bytes: number): BlobResult => {
      this.state.remember(target.registry, target.repository, blob.digest);
      if (source.registry === target.registry) this.state.remember(source.registry, source.repository, blob.digest);
      this.opts.onEvent?.({ type: 'blob', outcome, target, digest: blob.digest, bytes });
      return { outcome, bytes };
    };
    if ((await client.headBlob(target, blob.digest, { scope })) !== null) {
      this.state.dropSession(upload);
      return done('present', 0);
    }

    let location: URL | undefined;
    const resumable = this.state.session(upload) !== undefined;
    const from = resumable ? undefined : this.mountSource(source, target, blob.digest);
    if (from) {
      const mount = await client.mountBlob(target, blob.digest, from, blob.size);
      if (mount.mounted) return done('mounted', 0);
      // Refused: that repository no longer has it (or we may not read it); not offered again.
      if (from !== source.repository || source.registry !== target.registry) this.state.forget(target.registry, from, blob.digest);
      location = mount.location;
    }
    const attempts = this.opts.attempts ?? 3;
    let chunks = chunkSize;
    const sourceName = `${source.registry}/${source.repository}@${blob.digest}`;
    const onSession = (url: URL | undefined, offset = 0) => (url ? this.state.setSession(upload, url.href, offset) : this.state.dropSession(upload));
    for (let attempt = 1; ; attempt++) {
      try {
        const saved = location ? undefined : this.state.session(upload);
        const segmentSize = blob.size > SEGMENTED_ABOVE && !this.noSegments.has(target.registry) ? SEGMENT_SIZE : undefined;
        const bytes = await this.limit(async () => {
          // The source's GET goes out with the target's POST (one round trip less); if the upload
          // fails before it reads the source, the opened stream is dropped.
          const opening = client.openBlob(source, blob.digest).then((o) => {
            // Until the upload takes it, a failure of the stream is only recorded (an 'error' with no listener would throw).
            o.stream.on('error', () => undefined);
            return o.stream;
          });
          opening.catch(() => undefined);
          let taken = false;
          const take = async () => {
            taken = true;
            const stream = await opening;
            if (stream.errored || stream.destroyed) throw new RegistryError(`${sourceName}: the source failed before the upload began (${stream.errored instanceof Error ? stream.errored.message : 'closed'})`);
            return stream;
          };
          try {
            return await client.pushBlob(target, blob.digest, blob.size, take, {
              location, chunkSize: chunks, segmentSize, resume: saved ? new URL(saved.url) : undefined, onSession, sourceName,
            });
          } finally {
            if (!taken) opening.then((s) => s.destroy(), () => undefined);
          }
        });
        return done('uploaded', bytes);
      } catch (err) {
        // The session a refused mount opened is used (or cancelled) by the first attempt only.
        location = undefined;
        if (err instanceof StreamedPatchRefused && !this.noSegments.has(target.registry)) {
          this.noSegments.add(target.registry);
          continue;
        }
        if (err instanceof RegistryError && err.status === 413 && chunks === undefined) {
          chunks = FALLBACK_CHUNK;
          continue;
        }
        if (attempt >= attempts || !worthRetrying(err)) throw err;
        await (this.opts.sleep ?? delay)((this.opts.backoffMs ?? 500) * 2 ** (attempt - 1));
      }
    }
  }

  /** A repository of the target's registry that has the blob: the source itself, or one the state knows. */
  private mountSource(source: RepositoryRef, target: RepositoryRef, digest: string): string | undefined {
    if (source.registry === target.registry) return source.repository;
    return this.state.locations(target.registry, digest).find((r) => r !== target.repository);
  }

  /**
   * Cancels the upload sessions the state file holds that no copy has moved on since `before` (ms):
   * a blob no longer wanted, or a run that ended before it could resume them. Returns how many.
   */
  async cancelOrphans(before: number, owned: (target: RepositoryRef) => boolean = () => true): Promise<number> {
    let cancelled = 0;
    for (const [upload, session] of this.state.sessions()) {
      if (session.at >= before || this.inflight.has(upload)) continue;
      const m = /^([^/]+)\/(.+)@([^@]+)$/.exec(upload);
      if (m && !owned({ registry: m[1]!, repository: m[2]! })) continue;
      this.state.dropSession(upload);
      if (!m) continue;
      await this.opts.client.cancelUpload({ registry: m[1]!, repository: m[2]! }, new URL(session.url)).catch(() => undefined);
      cancelled++;
    }
    return cancelled;
  }
}

function worthRetrying(err: unknown): boolean {
  if (!(err instanceof RegistryError)) return false;
  if (err.status !== undefined) return isRetryableStatus(err.status);
  // A stream cut mid-way (the source or target dropped the connection) is worth one more try;
  // a host that refuses connections is not (the transport remembers it as down).
  return /ECONNRESET|EPIPE|UND_ERR_SOCKET|terminated|other side closed/i.test(err.message) && !/cannot reach .*ECONNREFUSED/.test(err.message);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
