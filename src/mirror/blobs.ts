/**
 * Getting one blob into a target repository, cheapest way first: already there (HEAD), mounted from
 * another repository of the same registry (the source, or a target repository this process put it
 * in), else streamed from the source with its digest verified on the way. Copies of one blob into
 * one repository share a single transfer, and at most `streams` transfers run at once.
 */
import pLimit, { type LimitFunction } from 'p-limit';
import type { RegistryClient } from '../registry/client.js';
import { pushScope } from '../registry/client.js';
import { isRetryableStatus } from '../registry/transport.js';
import type { RepositoryRef } from '../registry/types.js';
import { RegistryError } from '../util/errors.js';
import type { Descriptor } from './manifest.js';

export type BlobOutcome = 'present' | 'mounted' | 'uploaded';

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
}

/** Chunk size used when a registry refuses a blob that large in one request (HTTP 413). */
const FALLBACK_CHUNK = 4 * 1024 * 1024;
/** Blob locations remembered per registry, for mounts (digests are immutable, so entries never go stale). */
const MAX_KNOWN = 200_000;

export class BlobCopier {
  private readonly limit: LimitFunction;
  private readonly inflight = new Map<string, Promise<BlobOutcome>>();
  /** registry -> digest -> repositories known to hold it. */
  private readonly known = new Map<string, Map<string, Set<string>>>();
  private knownCount = 0;

  constructor(private readonly opts: BlobCopierOptions) {
    this.limit = pLimit(opts.streams ?? 4);
  }

  /**
   * Makes sure `target` has the blob; `chunkSize` forces chunked uploads. A caller that joins a
   * transfer already under way gets 'present' (the bytes are counted once, by the first caller).
   */
  async ensure(source: RepositoryRef, target: RepositoryRef, blob: Descriptor, chunkSize?: number): Promise<BlobOutcome> {
    const key = `${target.registry}/${target.repository}@${blob.digest}`;
    const pending = this.inflight.get(key);
    if (pending) {
      await pending;
      return 'present';
    }
    const started = this.copy(source, target, blob, chunkSize).finally(() => this.inflight.delete(key));
    this.inflight.set(key, started);
    return started;
  }

  private async copy(source: RepositoryRef, target: RepositoryRef, blob: Descriptor, chunkSize?: number): Promise<BlobOutcome> {
    const { client } = this.opts;
    const scope = pushScope(target.repository);
    const done = (outcome: BlobOutcome, bytes: number): BlobOutcome => {
      this.remember(target, blob.digest);
      this.opts.onEvent?.({ type: 'blob', outcome, target, digest: blob.digest, bytes });
      return outcome;
    };
    if ((await client.headBlob(target, blob.digest, { scope })) !== null) return done('present', 0);

    let location: URL | undefined;
    const from = this.mountSource(source, target, blob.digest);
    if (from) {
      const mount = await client.mountBlob(target, blob.digest, from);
      if (mount.mounted) return done('mounted', 0);
      location = mount.location;
    }
    const attempts = this.opts.attempts ?? 3;
    let chunks = chunkSize;
    for (let attempt = 1; ; attempt++) {
      try {
        const bytes = await this.limit(() =>
          client.pushBlob(target, blob.digest, blob.size, async () => (await client.openBlob(source, blob.digest)).stream, { location, chunkSize: chunks }));
        return done('uploaded', bytes);
      } catch (err) {
        // The session a refused mount opened is used (or cancelled) by the first attempt only.
        location = undefined;
        if (err instanceof RegistryError && err.status === 413 && chunks === undefined) {
          chunks = FALLBACK_CHUNK;
          continue;
        }
        if (attempt >= attempts || !worthRetrying(err)) throw err;
        await (this.opts.sleep ?? delay)((this.opts.backoffMs ?? 500) * 2 ** (attempt - 1));
      }
    }
  }

  /** A repository of the target's registry that has the blob: the source itself, or one we copied it to. */
  private mountSource(source: RepositoryRef, target: RepositoryRef, digest: string): string | undefined {
    if (source.registry === target.registry) return source.repository;
    const repos = this.known.get(target.registry)?.get(digest);
    if (!repos) return undefined;
    for (const r of repos) if (r !== target.repository) return r;
    return undefined;
  }

  private remember(repo: RepositoryRef, digest: string): void {
    if (this.knownCount >= MAX_KNOWN) {
      this.known.clear();
      this.knownCount = 0;
    }
    let byDigest = this.known.get(repo.registry);
    if (!byDigest) this.known.set(repo.registry, (byDigest = new Map()));
    let repos = byDigest.get(digest);
    if (!repos) byDigest.set(digest, (repos = new Set()));
    if (!repos.has(repo.repository)) {
      repos.add(repo.repository);
      this.knownCount++;
    }
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
