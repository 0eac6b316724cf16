/**
 * The one OCI distribution client: tag listing with Link pagination, manifest digests by HEAD,
 * and raw authenticated requests. Authentication lives in auth.ts, HTTP concerns in transport.ts;
 * registry families differ only in how credentials are obtained (providers/).
 */
import { createHash } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { Readable } from 'node:stream';
import LinkHeader from 'http-link-header';
import type { Dispatcher } from '../net/undici-core.js';
import { RegistryError } from '../util/errors.js';
import { collectNow } from '../util/idle-gc.js';
import { Authenticator, type Authorization } from './auth.js';
import { HubRateLimitGate, HubRateLimitGuard, isDockerHub } from './hub-rate-limit.js';
import { MANIFEST_ACCEPT } from './media-types.js';
import { Transport, type BodySink, type HttpMethod, type HttpResponse, type Logger, type RegistryStats, type RequestKind, type RequestObserver } from './transport.js';
import { TagPageError, TagPageScanner } from './tag-scanner.js';
import type { CredentialResolver, RepositoryRef } from './types.js';
import { DigestCheck, VerifyingStream, chunksOf, digestAlgorithm, digestOf } from './upload.js';

export type { HttpMethod, HttpResponse, RegistryStats, RequestKind, RequestObserver } from './transport.js';

export interface RegistryClientOptions {
  /** Asked for a registry host's credentials when a token or Basic header is needed. */
  credentials?: CredentialResolver;
  /** Hosts (`host[:port]`, or a bare host for every port) reached over plain http. */
  insecureRegistries?: string[];
  /** Hosts (`host[:port]`) reached over https even on loopback: configured with an `https://` URL or a `ca_file`. */
  httpsRegistries?: string[];
  /**
   * `host[:port]` -> PEM CA certificates trusted for that registry besides the public roots (a
   * registry's `ca_file`). Such a host gets its own connection pool with those CAs, even when
   * `dispatcher` is given.
   */
  registryCa?: Map<string, string[]>;
  /** Per request (connect, headers and body each), default 15000. */
  timeoutMs?: number;
  /** Tag-list page cap, default 200. */
  maxPages?: number;
  /**
   * Longest one request attempt may take in total (headers and whole body), default 60000: a registry
   * that drips its answer never trips `timeoutMs`, which bounds only the silence between bytes.
   */
  requestDeadlineMs?: number;
  /** Longest the whole listing of one repository (every page, retries, token requests) may take, default 120000. */
  tagListDeadlineMs?: number;
  /** Bytes of tag-list JSON one repository's listing may read over all its pages, default 16 MiB (~1.3 million tags). */
  tagListMaxBytes?: number;
  /**
   * A listing past this many bytes (default 1 MiB, ~80,000 tags) is a large one, and large listings are
   * read one at a time: many registries that send endless lists side by side cannot add up to gigabytes,
   * while small lists (nearly all) never wait.
   */
  largeTagListBytes?: number;
  /** `n` of the tag listing, default 1000 (ECR refuses more). */
  pageSize?: number;
  /** Requests at once per registry host, default 6. */
  concurrencyPerRegistry?: number;
  /** Retries for 5xx, 429 and timeouts, default 3, with exponential backoff and jitter; Retry-After honoured. */
  retries?: number;
  /** First backoff step in ms, default 500 (doubles per retry). */
  backoffBaseMs?: number;
  /** A Retry-After longer than this fails the request instead of waiting, default 60000. */
  maxRetryAfterMs?: number;
  /** How long a host that could not be reached is failed without trying, default 30000. */
  unreachableTtlMs?: number;
  logger?: Logger;
  /** Told about every HTTP request (registry, kind, status, duration, rate-limit budget): `Metrics` from src/metrics fits. */
  observer?: RequestObserver;
  /** undici dispatcher (tests pass a MockAgent or an Agent with their own settings). */
  dispatcher?: Dispatcher;
  /**
   * Docker Hub pull-limit handling (on by default): `reserve` pulls are kept for updates (default
   * 10% of the limit, at least 5); below twice that, manifest GETs are spread over the window; at
   * the reserve, or after a 429, Hub requests are refused until the window allows again (a pause
   * shorter than `maxRetryAfterMs` is waited out instead).
   */
  hubRateLimit?: { reserve?: number } | false;
  /** Clock and sleep, for tests of token expiry and backoff. */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export interface RequestInit {
  method?: HttpMethod;
  headers?: Record<string, string>;
  /** Request body (a buffered body is re-sent on retries and after a 401). */
  body?: string | Buffer;
  /** Token scope; default derived from the path (`repository:<name>:pull`). */
  scope?: string;
  /** Return non-2xx answers instead of throwing a RegistryError (401 still goes through the auth dance first). */
  allowErrors?: boolean;
  /** Overrides the client's per-request timeout. */
  timeoutMs?: number;
}

export class RegistryClient {
  private readonly transport: Transport;
  private readonly auth: Authenticator;
  private readonly insecure: string[];
  private readonly https: string[];
  private readonly maxPages: number;
  private readonly pageSize: number;
  private readonly listings = new Map<string, Promise<string[]>>();
  private readonly tagListDeadlineMs: number;
  private readonly tagListMaxBytes: number;
  private readonly largeTagListBytes: number;
  /** The one large listing allowed at a time (see `largeTagListBytes`). */
  private readonly largeListing = new Turn();
  private readonly logger?: Logger;
  /** Set on a view made by `bounded()`: every request of the view ends when it aborts. */
  private outerSignal?: AbortSignal;

  constructor(opts: RegistryClientOptions = {}) {
    const now = opts.now ?? Date.now;
    const sleep = opts.sleep ?? ((ms: number, signal?: AbortSignal) => delay(ms, undefined, { signal }).catch(() => undefined));
    const maxRetryAfterMs = opts.maxRetryAfterMs ?? 60_000;
    this.insecure = opts.insecureRegistries ?? [];
    this.https = opts.httpsRegistries ?? [];
    this.maxPages = opts.maxPages ?? 200;
    this.pageSize = opts.pageSize ?? 1000;
    this.logger = opts.logger;
    this.tagListDeadlineMs = opts.tagListDeadlineMs ?? 120_000;
    this.tagListMaxBytes = opts.tagListMaxBytes ?? DEFAULT_TAG_LIST_MAX_BYTES;
    this.largeTagListBytes = Math.min(opts.largeTagListBytes ?? 1024 * 1024, this.tagListMaxBytes);
    const gate = opts.hubRateLimit === false
      ? undefined
      : new HubRateLimitGate({ guard: new HubRateLimitGuard({ reserve: opts.hubRateLimit?.reserve, now }), now, sleep, maxWaitMs: maxRetryAfterMs, logger: opts.logger });
    this.transport = new Transport({
      dispatcher: opts.dispatcher,
      timeoutMs: opts.timeoutMs ?? 15_000,
      requestDeadlineMs: opts.requestDeadlineMs ?? 60_000,
      retries: opts.retries ?? 3,
      concurrencyPerRegistry: opts.concurrencyPerRegistry ?? 6,
      backoffBaseMs: opts.backoffBaseMs ?? 500,
      maxRetryAfterMs,
      unreachableTtlMs: opts.unreachableTtlMs ?? 30_000,
      maxRedirects: 5,
      maxBodyBytes: 64 * 1024 * 1024,
      sleep,
      now,
      random: Math.random,
      logger: opts.logger,
      observer: opts.observer,
      gate,
      registryCa: opts.registryCa,
    });
    this.auth = new Authenticator({
      transport: this.transport,
      credentials: opts.credentials,
      baseUrl: (registry) => new URL(this.baseUrl(registry)),
      now,
      logger: opts.logger,
    });
  }

  /**
   * Ends every registry request in flight, and refuses new ones, with a RegistryError (code `stopped`):
   * what SIGTERM calls, so a stop never waits for a registry stuck in I/O.
   */
  abort(): void {
    this.transport.abort();
  }

  /**
   * This client (same connections, tokens, stats and shared listings) with every request also ended
   * when `signal` aborts: a cycle's deadline. The signal's reason (a RegistryError) is the error.
   */
  bounded(signal: AbortSignal): RegistryClient {
    const view = Object.create(this) as RegistryClient;
    view.outerSignal = this.outerSignal ? AbortSignal.any([this.outerSignal, signal]) : signal;
    return view;
  }

  /** Requests sent so far (every retry, redirect hop, ping and token request counts). */
  get stats(): RegistryStats {
    return this.transport.stats;
  }

  /**
   * For credential sources and vendor APIs that send their own HTTP requests for `registry` (cloud
   * SDK token calls: kind `token`; push-time APIs: `other`): counts one request in `stats` and
   * returns the function to call with its status (for the observer).
   */
  recordExternalRequest(registry: string, kind: RequestKind, method: string): (status: number | 'error') => void {
    return this.transport.recordExternal({ registry, kind }, method);
  }

  /**
   * Starts asking `registry` for its challenge (`GET /v2/`) now, for a registry whose first real
   * request comes later: the mirror warms up its target while it still lists the source. The answer
   * is shared with that request; a failure here is left to it.
   */
  warmUp(registry: string): void {
    this.auth.mode(registry).catch(() => undefined);
  }

  /**
   * Every tag of a repository, following `Link: rel="next"` pages. Concurrent calls for the same
   * repository share one listing.
   */
  listTags(repo: RepositoryRef): Promise<string[]> {
    const key = `${repo.registry}/${repo.repository}`;
    let listing = this.listings.get(key);
    if (!listing) {
      listing = this.fetchTags(repo).finally(() => this.listings.delete(key));
      this.listings.set(key, listing);
    }
    return listing;
  }

  /**
   * Digest of a tag or digest reference, by HEAD (full Accept list), falling back to GET + sha256 of
   * the body — except on Docker Hub, where a GET costs a pull: there it is HEAD or an error.
   */
  async getDigest(repo: RepositoryRef, reference: string): Promise<{ digest: string; mediaType?: string }> {
    const where = referenceName(repo, reference);
    const path = `/v2/${repo.repository}/manifests/${encodeURIComponent(reference).replace(/%3A/gi, ':')}`;
    const headers = { accept: MANIFEST_ACCEPT };
    const head = await this.send(repo.registry, path, { method: 'HEAD', headers, scope: pullScope(repo.repository), kind: 'manifest', context: where });
    if (head.res.status === 200) {
      const digest = header(head.res, 'docker-content-digest');
      if (digest !== undefined && isDigest(digest)) return { digest, mediaType: mediaTypeOf(head.res) };
    } else if (head.res.status !== 405 && head.res.status !== 501) {
      throw responseError(where, repo.registry, head, 'manifest');
    }
    refuseHubGetFallback(repo, where, head.res.status);
    // Older registries omit Docker-Content-Digest on HEAD (or refuse HEAD): hash the exact manifest bytes.
    const get = await this.send(repo.registry, path, { method: 'GET', headers, scope: pullScope(repo.repository), kind: 'manifest', context: where });
    if (get.res.status !== 200) throw responseError(where, repo.registry, get, 'manifest');
    if (get.res.body.length === 0) throw new RegistryError(`${where}: ${repo.registry} answered an empty manifest`, { status: 200 });
    return { digest: `sha256:${createHash('sha256').update(get.res.body).digest('hex')}`, mediaType: mediaTypeOf(get.res) };
  }

  /**
   * Raw authenticated request for providers and mirror code: `path` is relative to the registry
   * root (e.g. `/v2/x/manifests/1`). Redirects are followed (without Authorization to another
   * host); the whole body is read.
   */
  async request(registry: string, path: string, init: RequestInit = {}): Promise<HttpResponse> {
    if (!path.startsWith('/')) throw new TypeError(`registry request path must start with "/": ${path}`);
    const scope = init.scope ?? scopeForPath(path);
    const { res, authorization } = await this.send(registry, path, { method: init.method ?? 'GET', headers: init.headers ?? {}, body: init.body, timeoutMs: init.timeoutMs, scope, kind: 'other', context: registry });
    if (!init.allowErrors && (res.status < 200 || res.status > 299)) throw responseError(registry, registry, { res, authorization }, 'other');
    return res;
  }

  /**
   * A manifest's digest, media type and size by HEAD, or null when the registry has nothing under
   * that reference (404). Registries that omit Docker-Content-Digest on HEAD are asked by GET (not
   * Docker Hub, where a GET costs a pull).
   * `scope` lets a pusher reuse its push token for the check.
   */
  async headManifest(repo: RepositoryRef, reference: string, opts: { scope?: string } = {}): Promise<ManifestHead | null> {
    const where = referenceName(repo, reference);
    const path = manifestPath(repo, reference);
    const scope = opts.scope ?? pullScope(repo.repository);
    const headers = { accept: MANIFEST_ACCEPT };
    const head = await this.send(repo.registry, path, { method: 'HEAD', headers, scope, kind: 'manifest', context: where });
    if (head.res.status === 404) return null;
    if (head.res.status === 200) {
      const digest = header(head.res, 'docker-content-digest');
      if (digest !== undefined && isDigest(digest)) return { digest, mediaType: mediaTypeOf(head.res), size: contentLength(head.res) };
    } else if (head.res.status !== 405 && head.res.status !== 501) {
      throw responseError(where, repo.registry, head, 'manifest');
    }
    refuseHubGetFallback(repo, where, head.res.status);
    const got = await this.getManifest(repo, reference, opts).catch((err: unknown) => {
      if (err instanceof RegistryError && err.status === 404) return null;
      throw err;
    });
    return got && { digest: got.digest, mediaType: got.mediaType, size: got.bytes.length };
  }

  /**
   * The exact bytes of a manifest (never re-serialised: its digest is the hash of these bytes).
   * A digest reference is verified against the bytes received.
   */
  async getManifest(repo: RepositoryRef, reference: string, opts: { scope?: string } = {}): Promise<Manifest> {
    const where = referenceName(repo, reference);
    const answer = await this.send(repo.registry, manifestPath(repo, reference), {
      method: 'GET', headers: { accept: MANIFEST_ACCEPT }, scope: opts.scope ?? pullScope(repo.repository), kind: 'manifest', context: where,
    });
    if (answer.res.status !== 200) throw responseError(where, repo.registry, answer, 'manifest');
    const bytes = answer.res.body;
    if (bytes.length === 0) throw new RegistryError(`${where}: ${repo.registry} answered an empty manifest`, { status: 200 });
    const claimed = header(answer.res, 'docker-content-digest');
    const expected = isDigest(reference) ? reference : claimed !== undefined && isDigest(claimed) ? claimed : undefined;
    const digest = digestOf(bytes, expected ?? 'sha256:');
    if (expected !== undefined && digestAlgorithm(expected) && digest !== expected) {
      throw new RegistryError(`${where}: the manifest received hashes to ${digest}, not ${expected}`);
    }
    return { bytes, digest, mediaType: mediaTypeOf(answer.res) ?? mediaTypeInside(bytes) ?? '' };
  }

  /**
   * PUT a manifest's exact bytes under a tag or its digest; the registry's digest must be the hash of
   * those bytes. Every blob and child manifest it references must already be there.
   */
  async putManifest(repo: RepositoryRef, reference: string, bytes: Buffer, mediaType: string): Promise<string> {
    return (await this.putManifestAnswer(repo, reference, bytes, mediaType)).digest;
  }

  /**
   * putManifest, also telling whether the registry indexed the manifest's `subject` for the
   * referrers API: OCI distribution 1.1 says it answers with an `OCI-Subject` header then; without
   * it the pusher maintains the `sha256-<hex>` fallback tag itself.
   */
  async putManifestAnswer(repo: RepositoryRef, reference: string, bytes: Buffer, mediaType: string): Promise<{ digest: string; subjectIndexed: boolean }> {
    const where = referenceName(repo, reference);
    const answer = await this.send(repo.registry, manifestPath(repo, reference), {
      method: 'PUT', headers: { 'content-type': mediaType }, body: bytes, scope: pushScope(repo.repository), kind: 'manifest', context: where,
    });
    if (answer.res.status !== 201 && answer.res.status !== 200) throw responseError(where, repo.registry, answer, 'push');
    const digest = digestOf(bytes);
    const claimed = header(answer.res, 'docker-content-digest');
    if (claimed !== undefined && isDigest(claimed) && claimed.startsWith('sha256:') && claimed !== digest) {
      throw new RegistryError(`${where}: ${repo.registry} stored the manifest as ${claimed}, not ${digest} (it rewrote the bytes)`);
    }
    return { digest, subjectIndexed: header(answer.res, 'oci-subject') !== undefined };
  }

  /**
   * The referrers of a manifest (OCI distribution 1.1 `GET /v2/<name>/referrers/<digest>`), as the
   * descriptors of the image index it answers; null when the registry has no referrers API (404, as
   * the spec has registries without it answer). Pages (`Link: rel=next`) are followed.
   */
  async listReferrers(repo: RepositoryRef, digest: string): Promise<Array<Record<string, unknown>> | null> {
    const where = `${referenceName(repo, digest)} referrers`;
    const base = new URL(this.baseUrl(repo.registry));
    let url: URL | undefined = new URL(`/v2/${repo.repository}/referrers/${digest}`, base);
    const out: Array<Record<string, unknown>> = [];
    for (let page = 1; url; page++) {
      if (page > this.maxPages) throw new RegistryError(`${where}: more than ${this.maxPages} pages of referrers`);
      const answer = await this.send(repo.registry, url, { method: 'GET', headers: { accept: 'application/vnd.oci.image.index.v1+json' }, scope: pullScope(repo.repository), kind: 'manifest', context: where });
      if (answer.res.status === 404 && page === 1) return null;
      if (answer.res.status !== 200) throw responseError(where, repo.registry, answer, 'manifest');
      let doc: { manifests?: unknown };
      try {
        doc = JSON.parse(answer.res.body.toString('utf8')) as { manifests?: unknown };
      } catch {
        throw new RegistryError(`${where}: the referrers answer is not JSON`);
      }
      if (!Array.isArray(doc.manifests)) throw new RegistryError(`${where}: the referrers answer is not an image index`);
      out.push(...(doc.manifests as Array<Record<string, unknown>>));
      url = nextPage(answer.res, url, base, where);
    }
    return out;
  }

  /**
   * DELETE a manifest by tag (OCI distribution 1.1 untags) or by digest. 'unsupported' when the
   * registry refuses that kind of delete: distribution 2.x answers a tag delete with 400
   * (DIGEST_INVALID; others UNSUPPORTED), and registries with deletes turned off answer 405.
   */
  async deleteManifest(repo: RepositoryRef, reference: string): Promise<'deleted' | 'not-found' | 'unsupported'> {
    const where = referenceName(repo, reference);
    const answer = await this.send(repo.registry, manifestPath(repo, reference), {
      method: 'DELETE', headers: {}, scope: pushScope(repo.repository, true), kind: 'manifest', context: where,
    });
    const status = answer.res.status;
    if (status === 202 || status === 200 || status === 204) return 'deleted';
    if (status === 404) return 'not-found';
    // distribution 2.x answers a tag with 400 DIGEST_INVALID (it parses every reference as a digest).
    if (status === 405 || (status === 400 && (registryErrorCode(answer.res.body) === 'UNSUPPORTED' || !isDigest(reference)))) return 'unsupported';
    throw responseError(where, repo.registry, answer, 'push');
  }

  /** A blob's size when the repository has it, null when not (404). */
  async headBlob(repo: RepositoryRef, digest: string, opts: { scope?: string } = {}): Promise<number | null> {
    const where = `${repo.registry}/${repo.repository}@${digest}`;
    const answer = await this.send(repo.registry, `/v2/${repo.repository}/blobs/${digest}`, {
      method: 'HEAD', headers: {}, scope: opts.scope ?? pullScope(repo.repository), kind: 'other', context: where,
    });
    if (answer.res.status === 404) return null;
    if (answer.res.status !== 200) throw responseError(where, repo.registry, answer, 'blob');
    return contentLength(answer.res) ?? 0;
  }

  /**
   * Cross-repository mount (`POST .../blobs/uploads/?mount=&from=`) within one registry: true when
   * mounted (201). When the registry opened an upload session instead (202: it does not mount, or
   * we may not read `from`), its Location is returned for the upload to use. `_size` (the blob's
   * size) is not part of the registry API; an S3 target needs it to pick its form of copy.
   */
  async mountBlob(repo: RepositoryRef, digest: string, from: string, _size?: number): Promise<{ mounted: true } | { mounted: false; location?: URL }> {
    const where = `${repo.registry}/${repo.repository}@${digest}`;
    const path = `/v2/${repo.repository}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`;
    const answer = await this.send(repo.registry, path, {
      method: 'POST', headers: { 'content-length': '0' }, scope: `${pushScope(repo.repository)} ${pullScope(from)}`, kind: 'other', context: where,
    });
    if (answer.res.status === 201) return { mounted: true };
    if (answer.res.status === 202) return { mounted: false, location: this.uploadLocation(repo, answer.res, where) };
    // Some registries refuse mount parameters outright; the caller falls back to a plain upload.
    return { mounted: false };
  }

  /**
   * A blob's content as a stream (redirects to a storage front are followed without our
   * Authorization). The caller must consume or destroy the stream.
   */
  async openBlob(repo: RepositoryRef, digest: string): Promise<{ stream: Readable; size?: number }> {
    const where = `${repo.registry}/${repo.repository}@${digest}`;
    const url = new URL(`/v2/${repo.repository}/blobs/${digest}`, this.baseUrl(repo.registry));
    const answer = await this.sendStream(repo.registry, url, { method: 'GET', headers: {}, scope: pullScope(repo.repository), where });
    if (!answer.stream) throw responseError(where, repo.registry, answer, 'blob');
    return { stream: answer.stream, size: contentLength(answer.res) };
  }

  /**
   * Uploads a blob from `content`: a stream, or a function that opens one once the upload session
   * exists. The bytes are verified against `digest` and `size` while they stream, so a wrong byte
   * aborts the upload before it completes.
   *
   * Monolithic (POST, then one PUT with the body: the fastest, and nothing held in memory) unless
   * `chunkSize` is given or the registry asks for chunks (`OCI-Chunk-Min-Length`): then a PATCH per
   * chunk with its Content-Range and a closing PUT, each accepted chunk's session URL going to
   * `onSession`, so a run killed mid-blob can pass it back as `resume` and send only what the target
   * lacks (the session's `Range`). A session the target no longer knows is replaced by a fresh one.
   *
   * `location` is an upload session already opened (by a refused mount). Returns the bytes sent. A
   * failed upload's session is cancelled (DELETE), unless it holds accepted chunks and the failure
   * was the source's: then it is kept for the retry (and `onSession` still knows it).
   */
  async pushBlob(repo: RepositoryRef, digest: string, size: number | undefined, content: Readable | (() => Promise<Readable>), opts: PushBlobOptions = {}): Promise<number> {
    const where = `${repo.registry}/${repo.repository}@${digest}`;
    const scope = pushScope(repo.repository);
    const dropContent = () => {
      if (typeof content !== 'function') content.destroy();
    };
    let location = opts.location;
    let offset = 0;
    let minChunk: number | undefined;
    if (!location && opts.resume) {
      const resumed = await this.uploadStatus(repo, opts.resume, where).catch(() => undefined);
      if (resumed && (size === undefined || resumed.offset < size)) ({ location, offset } = resumed);
      else opts.onSession?.(undefined);
    }
    if (!location) {
      const answer = await this.send(repo.registry, `/v2/${repo.repository}/blobs/uploads/`, {
        method: 'POST', headers: { 'content-length': '0' }, scope, kind: 'other', context: where,
      }).catch((err: unknown) => {
        dropContent();
        throw err;
      });
      if (answer.res.status !== 202) {
        dropContent();
        throw responseError(where, repo.registry, answer, 'push');
      }
      location = this.uploadLocation(repo, answer.res, where);
      const min = Number(header(answer.res, 'oci-chunk-min-length'));
      if (Number.isFinite(min) && min > 0) minChunk = min;
    }
    let session = location;
    let accepted = offset > 0;
    const cancel = async () => {
      opts.onSession?.(undefined);
      await this.send(repo.registry, session, { method: 'DELETE', headers: {}, scope, kind: 'other', context: where }).catch(() => undefined);
    };
    // The source is opened only once the target has accepted the upload: a refusal costs no download.
    let source: Readable;
    try {
      source = typeof content === 'function' ? await content() : content;
    } catch (err) {
      await cancel();
      throw err;
    }
    const sourceName = opts.sourceName ?? where;
    const chunkSize = opts.chunkSize ?? minChunk;
    const segmented = chunkSize === undefined && (opts.segmentSize !== undefined || offset > 0);
    // Streamed PATCHes read and hash the source themselves; the other paths take it through a VerifyingStream.
    const check = segmented ? new DigestCheck(digest, size, sourceName) : undefined;
    const verifier = segmented ? undefined : new VerifyingStream(digest, size, sourceName);
    const seen = () => check?.bytesSeen ?? verifier!.bytesSeen;
    let sourceFailure: RegistryError | undefined;
    source.on('error', (err) => {
      // Named as the source's failure: the target did nothing wrong (and is not marked down for it).
      sourceFailure = err instanceof RegistryError && err.message.startsWith(sourceName)
        ? err
        : new RegistryError(`${sourceName}: the source stopped sending after ${seen()} of ${size ?? '?'} bytes (${errorText(err)})`, { cause: err });
      verifier?.destroy(sourceFailure);
    });
    if (verifier) source.pipe(verifier);
    try {
      const onAccepted = (url: URL, sent: number) => {
        session = url;
        accepted = true;
        opts.onSession?.(url, sent);
      };
      if (verifier && chunkSize !== undefined) {
        await this.uploadChunks(repo, location, digest, verifier, Math.max(chunkSize, minChunk ?? 0), offset, where, onAccepted);
      } else if (check) {
        // Known before the first byte goes: a target that keeps the bytes of a request cut short
        // (a kill -9 mid-PATCH) and reports them in the session's Range lets the next run go on from there.
        opts.onSession?.(location, offset);
        await this.uploadSegments(repo, location, digest, source, check, opts.segmentSize ?? DEFAULT_SEGMENT, offset, where, onAccepted);
      } else {
        await this.uploadWhole(repo, location, digest, size, verifier!, where);
      }
      opts.onSession?.(undefined);
      return seen() - offset;
    } catch (err) {
      source.destroy();
      verifier?.destroy();
      const failure = sourceFailure ?? (verifier?.errored instanceof RegistryError ? verifier.errored : undefined) ?? err;
      if (!(sourceFailure && accepted)) await cancel();
      throw failure;
    }
  }

  /** DELETE an upload session (best effort by the caller: the target may have expired it already). */
  async cancelUpload(repo: RepositoryRef, url: URL): Promise<void> {
    const where = `${repo.registry}/${repo.repository}`;
    const answer = await this.send(repo.registry, url, { method: 'DELETE', headers: {}, scope: pushScope(repo.repository), kind: 'other', context: where });
    if (answer.res.status >= 300 && answer.res.status !== 404) throw responseError(where, repo.registry, answer, 'push');
  }

  /** Where an upload session stands: its current URL and the first byte the target still needs. */
  private async uploadStatus(repo: RepositoryRef, url: URL, where: string): Promise<{ location: URL; offset: number } | undefined> {
    const status = await this.send(repo.registry, url, { method: 'GET', headers: {}, scope: pushScope(repo.repository), kind: 'other', context: where });
    if (status.res.status !== 204) return undefined;
    const range = /^(?:bytes=)?0-(\d+)$/.exec(header(status.res, 'range') ?? '');
    if (!range) return undefined;
    // distribution writes "0-0" for an empty session as well as for one byte: taken as empty
    // (registry/handlers/blobupload.go, GetUploadStatus); a wrong guess ends in a 416 and a restart.
    const end = Number(range[1]);
    return { location: this.uploadLocation(repo, status.res, where, url), offset: end === 0 ? 0 : end + 1 };
  }

  private async uploadWhole(repo: RepositoryRef, location: URL, digest: string, size: number | undefined, body: VerifyingStream, where: string): Promise<void> {
    const url = withDigest(location, digest);
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
    if (size !== undefined) headers['content-length'] = String(size);
    const answer = await this.sendStream(repo.registry, url, { method: 'PUT', headers, body, scope: pushScope(repo.repository), where, timeoutMs: UPLOAD_TIMEOUT_MS });
    answer.stream?.resume();
    if (body.errored) throw body.errored;
    if (answer.res.status !== 201) throw responseError(where, repo.registry, answer, 'push');
  }

  /**
   * PATCH per chunk, then a closing PUT. Each chunk is read whole before it is sent (the next one is
   * read while the current one is on its way), so a PATCH never carries part of a chunk when the
   * source fails: distribution keeps the bytes of a PATCH cut short but its session URL (an HMAC'd
   * offset, registry/handlers/blobupload.go) then no longer matches, and the session is lost.
   */
  private async uploadChunks(
    repo: RepositoryRef, start: URL, digest: string, body: VerifyingStream, chunkSize: number, offset: number, where: string, accepted: (url: URL, sent: number) => void,
  ): Promise<void> {
    const scope = pushScope(repo.repository);
    let location = start;
    let sent = offset;
    const chunks = chunksOf(body, chunkSize, offset)[Symbol.asyncIterator]();
    let next = chunks.next();
    try {
      for (;;) {
        const current = await next;
        if (current.done) break;
        const chunk = current.value;
        next = chunks.next();
        next.catch(() => undefined);
        const end = sent + chunk.length - 1;
        const answer = await this.send(repo.registry, location, {
          method: 'PATCH',
          headers: { 'content-type': 'application/octet-stream', 'content-length': String(chunk.length), 'content-range': `${sent}-${end}` },
          body: chunk, scope, kind: 'other', context: where, timeoutMs: UPLOAD_TIMEOUT_MS,
        });
        if (answer.res.status === 416) {
          // A retried PATCH whose first attempt did arrive: the session's Range says how far it got.
          const status = await this.uploadStatus(repo, location, where);
          if (!status || status.offset !== end + 1) throw responseError(where, repo.registry, answer, 'push');
          location = status.location;
        } else if (answer.res.status !== 202) {
          throw responseError(where, repo.registry, answer, 'push');
        } else {
          location = this.uploadLocation(repo, answer.res, where, location);
        }
        sent = end + 1;
        accepted(location, sent);
      }
    } finally {
      await chunks.return(undefined).catch(() => undefined);
    }
    const answer = await this.send(repo.registry, withDigest(location, digest), {
      method: 'PUT', headers: { 'content-length': '0', 'content-type': 'application/octet-stream' }, scope, kind: 'other', context: where, timeoutMs: UPLOAD_TIMEOUT_MS,
    });
    if (answer.res.status !== 201) throw responseError(where, repo.registry, answer, 'push');
  }

  /**
   * Streamed PATCHes of up to `segment` bytes each (chunked transfer encoding, no Content-Range), then
   * a closing PUT: the bytes go straight from the source to the target, as in a monolithic PUT, and the
   * session's URL after each accepted PATCH is reported, so a later run can continue from it. When the
   * source fails, the PATCH under way is ended cleanly with the bytes it got: the target keeps them
   * and answers a session URL that matches them (distribution invalidates a session whose request was
   * cut mid-body: the bytes it kept no longer match the offset in the URL). A target that refuses a
   * streamed PATCH first thing gets a StreamedPatchRefused (the caller uploads in one PUT instead).
   */
  private async uploadSegments(
    repo: RepositoryRef, start: URL, digest: string, source: Readable, check: DigestCheck, segment: number, offset: number, where: string, accepted: (url: URL, sent: number) => void,
  ): Promise<void> {
    // The source is read here, hashed here and handed to undici from here: one JS layer per chunk
    // (a VerifyingStream, its iterator and a Readable.from around the PATCH body each took every
    // chunk once more: ~0.15 s of CPU in a 200 MiB copy). Hand-written for that reason.
    const scope = pushScope(repo.repository);
    let location = start;
    let sent = offset;
    let toSkip = offset;
    let carry: Buffer | undefined;
    let ended = false;
    let failure: unknown;
    // One 'readable' listener for the whole upload: removing the last one would set a stream with a
    // 'data' listener (the transport's byte count) flowing, its chunks lost.
    let wake: (() => void) | undefined;
    const poke = () => {
      const w = wake;
      wake = undefined;
      w?.();
    };
    for (const e of ['readable', 'end', 'error', 'close']) source.on(e, poke);
    /** The next chunk already buffered; null at the source's end; undefined when there is none yet. */
    const readNow = (): Buffer | null | undefined => {
      if (carry) {
        const c = carry;
        carry = undefined;
        return c;
      }
      for (;;) {
        if (source.errored) throw source.errored;
        let buf = source.read() as Buffer | null;
        if (buf === null) {
          if (source.readableEnded) return null;
          if (source.destroyed) throw new Error('the source closed before its end');
          return undefined;
        }
        const tooMany = check.add(buf);
        if (tooMany) throw tooMany;
        if (toSkip > 0) {
          const dropped = Math.min(toSkip, buf.length);
          toSkip -= dropped;
          buf = buf.subarray(dropped);
          if (buf.length === 0) continue;
        }
        return buf;
      }
    };
    // A wait with a quiet limit notes when it began; one coarse watchdog for the whole upload ends it
    // once the limit has passed. A timer set and cleared per wait cost ~30 ms of CPU in a 200 MiB copy
    // (most of its 3,200 chunks are waited for).
    let quietWait: { since: number; idleMs: number; resolve: (came: boolean) => void } | undefined;
    const watchdog = setInterval(() => {
      if (quietWait && performance.now() - quietWait.since >= quietWait.idleMs) {
        const { resolve } = quietWait;
        quietWait = undefined;
        wake = undefined;
        resolve(false);
      }
    }, WATCHDOG_TICK_MS).unref();
    /** Waits for the source to have something (or end, or fail); false when it stayed quiet for `idleMs`. */
    const waitForSource = (idleMs?: number) => new Promise<boolean>((resolve) => {
      if (idleMs !== undefined) quietWait = { since: performance.now(), idleMs, resolve };
      wake = () => {
        quietWait = undefined;
        resolve(true);
      };
    });
    /**
     * The next chunk, waited for (the sync read first: most chunks are already there). Its end sets
     * `ended`, its failure `failure`; 'quiet' when nothing came for `idleMs`.
     */
    const nextChunk = async (idleMs?: number): Promise<Buffer | 'end' | 'quiet'> => {
      try {
        let buf = readNow();
        while (buf === undefined) {
          if (!(await waitForSource(idleMs))) return 'quiet';
          buf = readNow();
        }
        if (buf !== null) return buf;
        ended = true;
      } catch (err) {
        failure = err;
      }
      return 'end';
    };
    let bytes = 0;
    // One PATCH's body: at most `segment` bytes. A source failure ends it (cleanly) instead of cutting
    // it; so does a source that sends nothing for IDLE_SEGMENT_MS, so that a run killed while it waits
    // finds a session the target still knows.
    async function* part(): AsyncGenerator<Buffer> {
      let n = 0;
      while (n < segment) {
        let buf = await nextChunk(IDLE_SEGMENT_MS);
        if (!Buffer.isBuffer(buf)) return;
        if (n + buf.length > segment) {
          carry = buf.subarray(segment - n);
          buf = buf.subarray(0, segment - n);
        }
        n += buf.length;
        bytes += buf.length;
        yield buf;
      }
    }
    try {
      for (let first = true; !ended && failure === undefined; first = false) {
        // The next byte is read before a PATCH is opened: no empty PATCH at the end of a blob.
        const head = await nextChunk();
        if (!Buffer.isBuffer(head)) break;
        carry = head;
        bytes = 0;
        const answer = await this.sendStream(repo.registry, location, {
          method: 'PATCH', headers: { 'content-type': 'application/octet-stream' }, body: part(), scope, where, timeoutMs: UPLOAD_TIMEOUT_MS,
        });
        answer.stream?.resume();
        if (answer.res.status !== 202) {
          if (first && offset === 0 && answer.res.status >= 400 && answer.res.status < 500 && answer.res.status !== 401 && answer.res.status !== 403 && answer.res.status !== 404) {
            throw new StreamedPatchRefused(`${where}: ${repo.registry} refused a streamed PATCH (HTTP ${answer.res.status})`, { status: answer.res.status });
          }
          throw responseError(where, repo.registry, answer, 'push');
        }
        location = this.uploadLocation(repo, answer.res, where, location);
        sent += bytes;
        accepted(location, sent);
      }
    } finally {
      clearInterval(watchdog);
      for (const e of ['readable', 'end', 'error', 'close']) source.off(e, poke);
    }
    if (failure !== undefined) throw failure;
    const wrong = check.finish();
    if (wrong) throw wrong;
    const answer = await this.send(repo.registry, withDigest(location, digest), {
      method: 'PUT', headers: { 'content-length': '0', 'content-type': 'application/octet-stream' }, scope, kind: 'other', context: where, timeoutMs: UPLOAD_TIMEOUT_MS,
    });
    if (answer.res.status !== 201) throw responseError(where, repo.registry, answer, 'push');
  }

  /** The `Location` of an upload session (absolute, or relative to the registry), as a URL. */
  private uploadLocation(repo: RepositoryRef, res: HttpResponse, where: string, fallback?: URL): URL {
    const raw = header(res, 'location');
    if (raw === undefined || raw === '') {
      if (fallback) return fallback;
      throw new RegistryError(`${where}: ${repo.registry} opened an upload without a Location header`, { status: res.status });
    }
    let url: URL;
    try {
      url = new URL(raw, this.baseUrl(repo.registry));
    } catch {
      throw new RegistryError(`${where}: ${repo.registry} sent an upload Location that is not a URL`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new RegistryError(`${where}: ${repo.registry} sent an upload Location that is not http(s)`);
    return url;
  }

  private baseUrl(registry: string): string {
    return registryBaseUrl(registry, this.insecure, this.https);
  }

  private origin(registry: string): string {
    return new URL(this.baseUrl(registry)).origin;
  }

  /** A request whose response body (or request body) is a stream; a 401 is answered once when no body was sent. */
  private async sendStream(
    registry: string,
    url: URL,
    req: { method: HttpMethod; headers: Record<string, string>; body?: Readable | AsyncIterable<Buffer>; scope: string; where: string; timeoutMs?: number },
  ): Promise<Answer & { stream?: Readable }> {
    const sameOrigin = url.origin === this.origin(registry);
    const base = { method: req.method, url, registry, kind: 'other' as const, body: req.body, timeoutMs: req.timeoutMs, signal: this.outerSignal };
    try {
      let authorization: Authorization = sameOrigin ? await this.auth.authorize(registry, req.scope) : { withCredentials: false };
      let answer = await this.transport.sendStream({ ...base, headers: withAuthorization(req.headers, authorization) });
      if (answer.res.status === 401 && sameOrigin && !req.body) {
        const retry = await this.auth.reauthorize(registry, req.scope, answer.res, authorization);
        if (retry) {
          authorization = retry;
          answer = await this.transport.sendStream({ ...base, headers: withAuthorization(req.headers, authorization) });
        }
      }
      return { ...answer, authorization };
    } catch (err) {
      if (err instanceof RegistryError && !err.message.startsWith(`${req.where}: `)) {
        throw new RegistryError(`${req.where}: ${err.message}`, { cause: err, status: err.status, code: err.code });
      }
      throw err;
    }
  }

  /**
   * Every page of a repository's tag list, inside the listing's deadline and byte budget: the deadline
   * aborts whatever request is in flight (its own deadline is stacked under it), the budget caps each
   * page's body at what is left of it. A listing that grows past `largeTagListBytes` goes on only as the
   * one large listing of the moment (a page that would cross the line is asked again then). Each page is read
   * as it arrives (tag-scanner.ts) straight into the one list; tags that are not valid tags are left out
   * there, before any policy sees them. A listing that fails leaves nothing behind: its list is dropped.
   */
  private async fetchTags(repo: RepositoryRef): Promise<string[]> {
    const where = `${repo.registry}/${repo.repository}`;
    const listing = new AbortController();
    const timer = setTimeout(() => listing.abort(new RegistryError(
      `${where}: the tag list was not read within ${Math.round(this.tagListDeadlineMs / 1000)} s (the registry answers too slowly); it is tried again next cycle`, { code: 'timeout' })), this.tagListDeadlineMs);
    let release: (() => void) | undefined;
    try {
      // Waiting for the large listing before this one counts against this one's deadline (and the cycle's).
      const waitSignal = this.outerSignal ? AbortSignal.any([listing.signal, this.outerSignal]) : listing.signal;
      return await this.readTagPages(repo, where, listing.signal, async () => { release ??= await this.largeListing.acquire(waitSignal); });
    } finally {
      clearTimeout(timer);
      if (release) {
        release();
        // A large listing leaves tens of MB of garbage at once (the chunks read, a failed listing's tags): collected
        // now, so the next large listing starts from the tags kept, not from those plus everything read to get them.
        collectNow();
      }
    }
  }

  private async readTagPages(repo: RepositoryRef, where: string, signal: AbortSignal, becomeLarge: () => Promise<void>): Promise<string[]> {
    const base = new URL(this.baseUrl(repo.registry));
    let url: URL | undefined = new URL(`/v2/${repo.repository}/tags/list?n=${this.pageSize}`, base);
    const visited = new Set<string>();
    // Every page's tags go straight into this one list as they are read (tag-scanner.ts): no page is held
    // whole. No Set of a million strings beside it either (the policy de-duplicates a list once).
    const tags: string[] = [];
    let dropped = 0;
    let held = 0;
    let isLarge = false;
    for (let page = 1; url; page++) {
      if (page > this.maxPages) {
        throw new RegistryError(`${where}: the tag list has more than ${this.maxPages} pages of ${this.pageSize}; raise the page cap if this repository really is that large`, { code: 'too-large' });
      }
      visited.add(url.href);
      if (!isLarge && held >= this.largeTagListBytes) { await becomeLarge(); isLarge = true; }
      // What this page added is taken back when it is read again (a retry, or asked again as a large listing).
      const mark = tags.length;
      const markDropped = dropped;
      let scanner: TagPageScanner | undefined;
      let pageBytes = 0;
      const sink = () => {
        tags.length = mark;
        dropped = markDropped;
        pageBytes = 0;
        const s = new TagPageScanner(
          (tag) => { if (isValidTag(tag)) tags.push(tag); else dropped++; },
          // A repeated "tags" key replaces the earlier one, as JSON.parse would read the page.
          () => { tags.length = mark; dropped = markDropped; },
        );
        scanner = s;
        return { write: (chunk: Buffer) => { pageBytes += chunk.length; s.write(chunk); } };
      };
      let answer: Answer;
      try {
        answer = await this.send(repo.registry, url, {
          method: 'GET', headers: { accept: 'application/json' }, scope: pullScope(repo.repository), kind: 'tags', context: where,
          signal, maxBodyBytes: (isLarge ? this.tagListMaxBytes : this.largeTagListBytes) - held, sink,
        });
        if (answer.res.status === 200) {
          if (!scanner) throw new RegistryError(`${where}: the registry answered the tag list with something that is not JSON`, { status: 200 });
          scanner.end();
        }
      } catch (err) {
        tags.length = mark;
        dropped = markDropped;
        if (err instanceof TagPageError) {
          throw err.kind === 'not-json'
            ? new RegistryError(`${where}: the registry answered the tag list with something that is not JSON`, { status: 200, cause: err })
            : new RegistryError(`${where}: the registry's tag list has no "tags" array of strings`, { status: 200, code: 'invalid', cause: err });
        }
        if (!(err instanceof RegistryError) || err.code !== 'too-large') throw err;
        if (isLarge || this.largeTagListBytes >= this.tagListMaxBytes) {
          throw new RegistryError(`${where}: the tag list is larger than ${mib(this.tagListMaxBytes)} MiB (limits.tag_list_max_mib in dosync.yaml); raise it if this repository really is that large`, { code: 'too-large', cause: err });
        }
        // This page makes the listing a large one: ask for it again as the large listing of the moment.
        await becomeLarge();
        isLarge = true;
        visited.delete(url.href);
        page--;
        continue;
      } finally {
        scanner = undefined;
      }
      if (answer.res.status !== 200) throw responseError(where, repo.registry, answer, 'tags');
      held += pageBytes;
      url = nextPage(answer.res, url, base, where);
      if (url && visited.has(url.href)) throw new RegistryError(`${where}: the tag list's next-page link loops back to a page already read`, { code: 'invalid' });
    }
    if (dropped > 0) this.logger?.debug({ repository: where, dropped }, 'left out tags that are not valid tags (the distribution spec allows [A-Za-z0-9_][A-Za-z0-9._-]{0,127})');
    return tags;
  }

  /** One request with the registry's authorization, answering a 401 once with a fresh token. */
  private async send(
    registry: string,
    pathOrUrl: string | URL,
    req: { method: HttpMethod; headers: Record<string, string>; body?: string | Buffer; timeoutMs?: number; scope?: string; kind: RequestKind; context: string; signal?: AbortSignal; maxBodyBytes?: number; sink?: () => BodySink },
  ): Promise<Answer> {
    const url = typeof pathOrUrl === 'string' ? new URL(pathOrUrl, this.baseUrl(registry)) : pathOrUrl;
    const signal = req.signal && this.outerSignal ? AbortSignal.any([req.signal, this.outerSignal]) : req.signal ?? this.outerSignal;
    const base = { method: req.method, url, registry, kind: req.kind, body: req.body, timeoutMs: req.timeoutMs, signal, maxBodyBytes: req.maxBodyBytes, sink: req.sink };
    try {
      const sameOrigin = url.origin === this.origin(registry);
      // An upload Location may point elsewhere (a storage front): credentials stay with the registry.
      let authorization: Authorization = sameOrigin ? await untilAborted(this.auth.authorize(registry, req.scope), signal) : { withCredentials: false };
      let res = await this.transport.send({ ...base, headers: withAuthorization(req.headers, authorization) });
      if (res.status === 401 && sameOrigin) {
        const retry = await untilAborted(this.auth.reauthorize(registry, req.scope, res, authorization), signal);
        if (retry) {
          authorization = retry;
          res = await this.transport.send({ ...base, headers: withAuthorization(req.headers, authorization) });
        }
      }
      return { res, authorization };
    } catch (err) {
      if (err instanceof RegistryError && !err.message.startsWith(`${req.context}: `)) {
        throw new RegistryError(`${req.context}: ${err.message}`, { cause: err, status: err.status, code: err.code });
      }
      throw err;
    }
  }
}

interface Answer {
  res: HttpResponse;
  authorization: Authorization;
}

export interface ManifestHead {
  digest: string;
  mediaType?: string;
  size?: number;
}

export interface Manifest {
  /** Exactly as the registry sent them. */
  bytes: Buffer;
  digest: string;
  /** Content-Type of the answer, else the manifest's own `mediaType` field. */
  mediaType: string;
}

/** A target that does not take streamed PATCH uploads (its first one was refused): upload in one PUT. */
export class StreamedPatchRefused extends RegistryError {}

/** A streamed PATCH is ended when the source has sent nothing for this long (the next one goes on from there). */
const IDLE_SEGMENT_MS = 1000;
/** How often an upload checks for a quiet source: the quiet limit is met within this much after it passes. */
const WATCHDOG_TICK_MS = 100;

/** Streamed PATCH size for a resumed upload that did not say (the one a BlobCopier uses by default). */
const DEFAULT_SEGMENT = 32 * 1024 * 1024;

/** How long a registry may take to answer the request that completes an upload (it may verify and move a big blob). */
const UPLOAD_TIMEOUT_MS = 5 * 60_000;
export interface PushBlobOptions {
  /** An upload session already opened (by a refused mount). */
  location?: URL;
  /** Upload in PATCH chunks of this size, each accepted chunk's session URL reported to `onSession`. */
  chunkSize?: number;
  /**
   * Stream the blob in PATCHes of up to this many bytes (no buffering, chunked transfer encoding), each
   * accepted one's session URL reported to `onSession`: resumable at each PATCH's end. Ignored with `chunkSize`.
   */
  segmentSize?: number;
  /** A session a previous attempt or run left: continued from where the target stopped when it still knows it. */
  resume?: URL;
  /** The session's URL and the bytes accepted, after each chunk; undefined once it is finished, cancelled or unknown. */
  onSession?: (url: URL | undefined, offset?: number) => void;
  /** `registry/repository@digest` of the source, for messages about the bytes it sent. */
  sourceName?: string;
}

function errorText(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  return typeof code === 'string' && !message.includes(code) ? `${code}: ${message}` : message;
}

/**
 * Docker Hub counts every manifest GET against the pull limit and none of the HEADs, and always
 * sends Docker-Content-Digest on HEAD: a HEAD without one is an anomaly to report, not a reason to spend a pull.
 */
function refuseHubGetFallback(repo: RepositoryRef, where: string, status: number): void {
  if (!isDockerHub(repo.registry)) return;
  throw new RegistryError(`${where}: Docker Hub answered the manifest HEAD (HTTP ${status}) without a usable Docker-Content-Digest; not asking by GET, which would count against the pull limit`, { status });
}

function manifestPath(repo: RepositoryRef, reference: string): string {
  return `/v2/${repo.repository}/manifests/${encodeURIComponent(reference).replace(/%3A/gi, ':')}`;
}

function withDigest(location: URL, digest: string): URL {
  const url = new URL(location);
  url.searchParams.append('digest', digest);
  return url;
}

function contentLength(res: HttpResponse): number | undefined {
  const n = Number(header(res, 'content-length'));
  return Number.isInteger(n) && n >= 0 ? n : undefined;
}

/** The `mediaType` field of a manifest, for registries that answer with a generic Content-Type. */
function mediaTypeInside(bytes: Buffer): string | undefined {
  try {
    const m = (JSON.parse(bytes.toString('utf8')) as { mediaType?: unknown }).mediaType;
    return typeof m === 'string' ? m : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Registry host -> API base URL: docker.io/index.docker.io -> https://registry-1.docker.io;
 * loopback hosts (localhost, 127.0.0.0/8, [::1]) use http as Docker itself treats them as
 * insecure by default, unless listed in `https` (the config names them with https:// or a CA);
 * hosts in `insecure` use http; everything else https.
 */
export function registryBaseUrl(registry: string, insecure: string[] = [], https: string[] = []): string {
  const host = registry.toLowerCase();
  if (host === 'docker.io' || host === 'index.docker.io' || host === 'registry-1.docker.io') return 'https://registry-1.docker.io';
  const hostname = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':')[0]!;
  if (https.some((entry) => entry.toLowerCase() === host)) return `https://${host}`;
  const loopback = hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
  const listed = insecure.some((entry) => {
    const e = entry.toLowerCase().replace(/^https?:\/\//, '').replace(/\/+$/, '');
    return e === host || e === hostname;
  });
  return `${loopback || listed ? 'http' : 'https'}://${host}`;
}

/** `repository:<name>:pull,push`, the scope a write needs (it covers reads of that repository too). */
/** `withDelete`: token servers grant DELETE only for the `delete` action (distribution's token auth spec). */
export function pushScope(repository: string, withDelete = false): string {
  return `repository:${repository}:pull,push${withDelete ? ',delete' : ''}`;
}

/** `repository:<name>:pull`, the scope a read needs. */
export function pullScope(repository: string): string {
  return `repository:${repository}:pull`;
}

/** The scope a raw request path needs: the repository's pull scope, or the catalog's. */
export function scopeForPath(path: string): string | undefined {
  const p = path.split('?')[0]!;
  if (p === '/v2/_catalog') return 'registry:catalog:*';
  const m = /^\/v2\/(.+?)\/(?:tags\/list|manifests\/|blobs\/|referrers\/)/.exec(p);
  return m ? pullScope(m[1]!) : undefined;
}

/** The distribution spec's tag grammar: `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`. Anything else cannot be pulled. */
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

function isValidTag(tag: string): boolean {
  return TAG.test(tag);
}

/** Default of dosync.yaml `limits.cycle_timeout`: how long the registry part of one cycle may take. */
export const DEFAULT_CYCLE_DEADLINE_MS = 5 * 60_000;

/**
 * `client` bounded by a cycle's deadline: once `ms` have passed, its requests (and those still waiting)
 * end with one line per service, and the cycle goes on to apply what it could plan.
 */
export function cycleBounded(client: RegistryClient, ms = DEFAULT_CYCLE_DEADLINE_MS): RegistryClient {
  const deadline = new AbortController();
  setTimeout(() => deadline.abort(new RegistryError(`the cycle's registry deadline of ${Math.round(ms / 1000)} s passed (limits.cycle_timeout in dosync.yaml); tried again next cycle`, { code: 'timeout' })), ms).unref();
  return client.bounded(deadline.signal);
}

/**
 * `pending`, or the signal's reason once it aborts (token requests go through the transport with their
 * own deadline, but not with the listing's or the cycle's signal).
 */
function untilAborted<T>(pending: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return pending;
  if (signal.aborted) return Promise.reject(abortReason(signal));
  let onAbort!: () => void;
  const aborted = new Promise<never>((_, reject) => { onAbort = () => reject(abortReason(signal)); });
  signal.addEventListener('abort', onAbort, { once: true });
  return Promise.race([pending, aborted]).finally(() => signal.removeEventListener('abort', onAbort));
}

function abortReason(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  return r instanceof Error && !(r.name === 'AbortError' || r.name === 'TimeoutError') ? r : new RegistryError('the registry request was stopped', { code: 'stopped' });
}

/**
 * One holder at a time, first come first served; a waiter whose signal aborts leaves the queue with the
 * signal's reason. (p-limit, used for the per-host slots, cannot take a waiter out of its queue.)
 */
class Turn {
  private busy = false;
  private waiting: Array<() => void> = [];

  async acquire(signal: AbortSignal): Promise<() => void> {
    if (signal.aborted) throw abortReason(signal);
    if (this.busy) {
      await new Promise<void>((resolve, reject) => {
        const wake = () => { signal.removeEventListener('abort', leave); resolve(); };
        const leave = () => { this.waiting = this.waiting.filter((w) => w !== wake); reject(abortReason(signal)); };
        this.waiting.push(wake);
        signal.addEventListener('abort', leave, { once: true });
      });
    }
    this.busy = true;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      // The turn passes straight to the next waiter, or is free.
      const next = this.waiting.shift();
      if (next) next();
      else this.busy = false;
    };
  }
}

const DEFAULT_TAG_LIST_MAX_BYTES = 16 * 1024 * 1024;

const mib = (bytes: number) => +(bytes / 1024 / 1024).toFixed(1);


/** The `rel="next"` Link resolved against the page's URL; refused when it leaves the registry. */
function nextPage(res: HttpResponse, current: URL, base: URL, where: string): URL | undefined {
  const raw = res.headers.link;
  const value = Array.isArray(raw) ? raw.join(', ') : raw;
  if (!value) return undefined;
  let target: string | undefined;
  try {
    target = LinkHeader.parse(value).rel('next')[0]?.uri;
  } catch {
    throw new RegistryError(`${where}: the registry sent an unreadable Link header`);
  }
  if (!target) return undefined;
  let next: URL;
  try {
    next = new URL(target, current);
  } catch {
    throw new RegistryError(`${where}: the registry's next-page link is not a URL`);
  }
  // A next page elsewhere would receive our Authorization header: treat it as an attack (SSRF), not a page.
  if (next.origin !== base.origin) {
    throw new RegistryError(`${where}: refused the tag list's next-page link to ${next.origin}, which is not the registry ${base.origin}`);
  }
  return next;
}

function responseError(where: string, registry: string, answer: Answer, what: 'tags' | 'manifest' | 'blob' | 'push' | 'other'): RegistryError {
  const { res, authorization } = answer;
  const status = res.status;
  const code = registryErrorCode(res.body);
  const suffix = code ? ` (HTTP ${status}, ${code})` : ` (HTTP ${status})`;
  let text: string;
  if (status === 401 || status === 403) {
    text = authorization.withCredentials
      ? `credentials rejected for ${registry}, or they lack ${what === 'push' ? 'push' : 'pull'} access to this repository; check the username and password or token configured for ${registry}`
      : `${registry} requires authentication (or the repository does not exist) and no credentials are configured for ${registry}`;
  } else if (status === 404) {
    text = what === 'tags' ? 'repository not found' : what === 'manifest' ? 'tag or digest not found' : what === 'blob' ? 'blob not found' : 'not found';
  } else if (status === 429) {
    const after = header(res, 'retry-after');
    text = `rate limited by ${registry}${after ? `; it asks to retry after ${after}` : ''}`;
  } else if (status >= 500) {
    text = `${registry} failed with a server error`;
  } else {
    text = `${registry} answered unexpectedly`;
  }
  return new RegistryError(`${where}: ${text}${suffix}`, { status });
}

/** The `errors[0].code` of a distribution error body (`NAME_UNKNOWN`, `UNAUTHORIZED`, ...), when there is one. */
function registryErrorCode(body: Buffer): string | undefined {
  if (body.length === 0 || body.length > 64 * 1024) return undefined;
  try {
    const code = (JSON.parse(body.toString('utf8')) as { errors?: Array<{ code?: unknown }> }).errors?.[0]?.code;
    return typeof code === 'string' && /^[A-Z_]{1,64}$/.test(code) ? code : undefined;
  } catch {
    return undefined;
  }
}

function withAuthorization(headers: Record<string, string>, authorization: Authorization): Record<string, string> {
  return authorization.header ? { ...headers, authorization: authorization.header } : headers;
}

function header(res: HttpResponse, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function mediaTypeOf(res: HttpResponse): string | undefined {
  return header(res, 'content-type')?.split(';')[0]?.trim() || undefined;
}

/** `registry/repo:tag`, or `registry/repo@sha256:…` for a digest (how Docker writes a reference). */
export function referenceName(repo: RepositoryRef, reference: string): string {
  return `${repo.registry}/${repo.repository}${isDigest(reference) ? '@' : ':'}${reference}`;
}

function isDigest(value: string): boolean {
  return /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/.test(value);
}
