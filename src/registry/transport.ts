/**
 * The HTTP layer under the OCI client: one request with timeouts, manual redirects (Authorization
 * never crosses to another origin), bounded retries with backoff for 5xx/429/timeouts, a
 * concurrency limit per host, and a short memory of hosts that cannot be reached so a registry
 * that is down costs one failure per batch, not one per repository.
 */
import { Readable } from 'node:stream';
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { Agent, type Dispatcher } from '../net/undici-core.js';
import pLimit, { type LimitFunction } from 'p-limit';
import { RegistryError } from '../util/errors.js';

export type RequestKind = 'ping' | 'token' | 'tags' | 'manifest' | 'other';

export interface HttpResponse {
  status: number;
  statusText: string;
  /** Lower-cased header names. */
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** The URL that answered (after redirects). */
  url: URL;
}

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface SendRequest {
  method: HttpMethod;
  url: URL;
  headers?: Record<string, string>;
  /** A buffered body can be sent again, so requests with one are retried like any other. */
  body?: string | Buffer;
  /** Registry the request is made for (stats and concurrency are accounted to it). */
  registry: string;
  kind: RequestKind;
  /** Overrides the transport's timeout for this request (a registry may take long to finish a big upload). */
  timeoutMs?: number;
  /**
   * Ends the request (and its retries and backoff waits) when it aborts: the deadline of the whole
   * operation the request is part of (a tag listing), stacked on the request's own deadline.
   */
  signal?: AbortSignal;
  /** Overrides the transport's body cap (a tag listing passes what is left of its byte budget). */
  maxBodyBytes?: number;
  /**
   * A 2xx body goes to a sink made for each attempt (a retry starts a new one) instead of into `body`, which
   * is then empty: a tag list is read as it arrives, within the same cap and deadline as a buffered body.
   */
  sink?: () => BodySink;
}

export interface BodySink {
  write(chunk: Buffer): void;
}

/** A request whose body is a stream (a blob on its way from one registry to another). */
export interface StreamRequest extends Omit<SendRequest, 'body'> {
  /** A stream, or chunks undici writes as they come (a blob upload's PATCH body, with no stream in between). */
  body?: Readable | AsyncIterable<Buffer>;
}

/**
 * The answer to a streamed request: for a 2xx, `stream` carries the body unread (the caller must
 * consume or destroy it) and `res.body` is empty; any other status has its body read into `res.body`.
 */
export interface StreamAnswer {
  res: HttpResponse;
  stream?: Readable;
}

export interface RegistryStats {
  /**
   * HTTP requests sent (every redirect hop and retry counts), including those the credential
   * sources send for a registry (cloud SDK token calls, the ACR exchange: kind `token`) and vendor
   * push-time APIs (kind `other`), accounted to the registry they were made for.
   */
  requests: number;
  byRegistry: Record<string, number>;
  byKind: Record<RequestKind, number>;
  /** Requests by HTTP method (`HEAD`, `GET`, `PUT`, ...). */
  byMethod: Record<string, number>;
  /** Request body bytes sent and response body bytes received (streamed blobs included). */
  bytesSent: number;
  bytesReceived: number;
}

export interface Logger {
  debug(obj: object, msg?: string): void;
  info?(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/**
 * Consulted around every request (each retry and redirect hop): `before` may wait or refuse it by
 * throwing (Docker Hub's pull limit, see hub-rate-limit.ts), `after` sees each answer's status and headers.
 */
export interface RequestGate {
  before(req: { registry: string; kind: RequestKind; method: HttpMethod; url: URL }): Promise<void>;
  after(req: { registry: string; kind: RequestKind; method: HttpMethod; url: URL }, status: number, headers: Record<string, string | string[] | undefined>): void;
}

export interface TransportOptions {
  dispatcher?: Dispatcher;
  /** Longest silence: connect, headers, and the gap between two body chunks. */
  timeoutMs: number;
  /**
   * Longest one attempt may take in total, headers and whole body (a registry that drips its answer a
   * byte at a time never trips `timeoutMs`). Streamed bodies (blobs) are bounded by their reader.
   */
  requestDeadlineMs: number;
  retries: number;
  concurrencyPerRegistry: number;
  /** First backoff step; doubles per retry, with full jitter. */
  backoffBaseMs: number;
  /** A Retry-After longer than this is not waited for: the request fails instead. */
  maxRetryAfterMs: number;
  /** How long a host that could not be reached is failed fast. */
  unreachableTtlMs: number;
  maxRedirects: number;
  /** Responses larger than this are refused (a tag list of 100k tags is ~3 MB). */
  maxBodyBytes: number;
  /** Waits `ms`; may end early when `signal` aborts (the transport stops waiting then anyway). */
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  now: () => number;
  random: () => number;
  logger?: Logger;
  observer?: RequestObserver;
  gate?: RequestGate;
  /** `host[:port]` -> PEM CAs trusted for that host besides the public roots (a registry's `ca_file`). */
  registryCa?: Map<string, string[]>;
}

/** Told about every HTTP request sent (metrics); `status` is 'error' when no response came. */
export interface RequestObserver {
  onRequest(event: { registry: string; kind: RequestKind; status: number | 'error'; durationMs: number; rateLimitRemaining?: number }): void;
}

/** Connection errors that mean "nobody answers there": not retried, remembered per host. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT', 'EAI_FAIL']);
/** Errors worth another attempt (the host answered before, or might in a moment). */
const TRANSIENT = new Set(['ECONNRESET', 'EPIPE', 'EAI_AGAIN', 'UND_ERR_SOCKET', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CLOSED', 'ECONNABORTED']);
const TIMEOUTS = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT']);

export class Transport {
  readonly stats: RegistryStats = { requests: 0, byRegistry: {}, byKind: { ping: 0, token: 0, tags: 0, manifest: 0, other: 0 }, byMethod: {}, bytesSent: 0, bytesReceived: 0 };
  private readonly dispatcher: Dispatcher;
  /** Hosts with their own CAs get their own pool (TLS trust is a property of the connection). */
  private readonly hostDispatchers = new Map<string, Dispatcher>();
  private readonly limits = new Map<string, LimitFunction>();
  private readonly unreachable = new Map<string, { message: string; until: number }>();
  /** Aborted by `abort()` (SIGTERM): every request in flight or waiting ends at once. */
  private readonly shutdown = new AbortController();

  constructor(private readonly opts: TransportOptions) {
    this.dispatcher = opts.dispatcher ?? new Agent({ connect: { timeout: opts.timeoutMs } });
    for (const [host, pems] of opts.registryCa ?? []) {
      this.hostDispatchers.set(host.toLowerCase(), new Agent({ connect: { timeout: opts.timeoutMs, ca: trustedCas(pems) } }));
    }
  }

  /**
   * Sends a request, following redirects and retrying what is worth retrying. Returns the final
   * response whatever its status (the caller knows what a 404 means); throws a RegistryError when
   * no response could be had.
   */
  async send(req: SendRequest): Promise<HttpResponse> {
    for (let attempt = 0; ; attempt++) {
      this.throwIfAborted(req);
      let res: HttpResponse;
      try {
        res = await this.sendFollowingRedirects(req);
      } catch (err) {
        const stop = this.abortError(req, err);
        if (stop) throw stop;
        const code = errorCode(err);
        if (code !== undefined && TRANSIENT.has(code) && attempt < this.opts.retries) {
          const delay = this.backoff(attempt);
          this.opts.logger?.warn({ registry: req.registry, host: req.url.host, error: code, attempt: attempt + 1, delayMs: delay }, 'registry request failed, retrying');
          await this.wait(delay, req);
          continue;
        }
        throw this.connectionError(req.url, err);
      }
      if (!isRetryableStatus(res.status) || attempt >= this.opts.retries) return res;
      const retryAfter = parseRetryAfter(res.headers['retry-after'], this.opts.now());
      if (retryAfter !== undefined && retryAfter > this.opts.maxRetryAfterMs) return res;
      const delay = retryAfter ?? this.backoff(attempt);
      this.opts.logger?.warn({ registry: req.registry, host: res.url.host, status: res.status, attempt: attempt + 1, delayMs: delay }, 'registry answered with a retryable status, retrying');
      await this.wait(delay, req);
    }
  }

  /**
   * Ends every request in flight and every one sent from now on with a RegistryError (code `stopped`):
   * SIGTERM must not wait for a registry that answers slowly or not at all.
   */
  abort(): void {
    this.shutdown.abort();
  }

  /** A backoff wait that ends early (throwing) when the request's signal or the transport aborts. */
  private async wait(ms: number, req: { signal?: AbortSignal; url: URL }): Promise<void> {
    const signal = req.signal ? AbortSignal.any([this.shutdown.signal, req.signal]) : this.shutdown.signal;
    if (!signal.aborted) {
      let onAbort!: () => void;
      const aborted = new Promise<void>((resolve) => { onAbort = resolve; });
      signal.addEventListener('abort', onAbort, { once: true });
      try {
        await Promise.race([this.opts.sleep(ms, signal), aborted]);
      } finally {
        signal.removeEventListener('abort', onAbort);
      }
    }
    this.throwIfAborted(req);
  }

  private throwIfAborted(req: { signal?: AbortSignal; url: URL }): void {
    const err = this.abortError(req, undefined);
    if (err) throw err;
  }

  /**
   * The error to end a request with when the transport was stopped or the request's own signal (a
   * listing's deadline or budget) fired; undefined when neither did.
   */
  private abortError(req: { signal?: AbortSignal; url: URL }, cause: unknown): RegistryError | undefined {
    if (this.shutdown.signal.aborted) return new RegistryError(`request to ${req.url.host} stopped: dosync is shutting down`, { code: 'stopped', cause });
    if (req.signal?.aborted) {
      const reason: unknown = req.signal.reason;
      return reason instanceof RegistryError ? reason : new RegistryError(`request to ${req.url.host} aborted`, { code: 'stopped', cause: reason ?? cause });
    }
    return undefined;
  }

  /**
   * Like `send`, but the 2xx body is handed over as a stream instead of being read. Without a
   * request body, redirects are followed and 5xx/429/timeouts retried as in `send`; with one (a
   * stream cannot be replayed) there is exactly one attempt and a redirect is returned as is.
   * The per-host concurrency slot is released once the headers arrive: holding it while the body
   * flows would let a copy between two repositories of one registry (GET from one, PUT to the
   * other) deadlock on its own slots. Callers bound their own streaming concurrency.
   */
  async sendStream(req: StreamRequest): Promise<StreamAnswer> {
    if (req.body) {
      try {
        return await this.sendOnceStreaming(req, req.method, req.url, { ...req.headers }, req.body);
      } catch (err) {
        // The body's own failure (a digest mismatch) is the error to report, not the aborted request.
        throw this.abortError(req, err) ?? this.connectionError(req.url, (req.body instanceof Readable ? req.body.errored : undefined) ?? err);
      }
    }
    for (let attempt = 0; ; attempt++) {
      let answer: StreamAnswer;
      try {
        answer = await this.streamFollowingRedirects(req);
      } catch (err) {
        const stop = this.abortError(req, err);
        if (stop) throw stop;
        const code = errorCode(err);
        if (code !== undefined && TRANSIENT.has(code) && attempt < this.opts.retries) {
          await this.wait(this.backoff(attempt), req);
          continue;
        }
        throw this.connectionError(req.url, err);
      }
      const { res } = answer;
      if (!isRetryableStatus(res.status) || attempt >= this.opts.retries) return answer;
      const retryAfter = parseRetryAfter(res.headers['retry-after'], this.opts.now());
      if (retryAfter !== undefined && retryAfter > this.opts.maxRetryAfterMs) return answer;
      const delay = retryAfter ?? this.backoff(attempt);
      this.opts.logger?.warn({ registry: req.registry, host: res.url.host, status: res.status, attempt: attempt + 1, delayMs: delay }, 'registry answered with a retryable status, retrying');
      answer.stream?.destroy();
      await this.wait(delay, req);
    }
  }

  private async streamFollowingRedirects(req: StreamRequest): Promise<StreamAnswer> {
    let url = req.url;
    let headers = { ...req.headers };
    for (let hop = 0; ; hop++) {
      const answer = await this.sendOnceStreaming(req, req.method, url, headers, undefined);
      const location = answer.res.headers.location;
      if (!isRedirect(answer.res.status) || typeof location !== 'string') return answer;
      ({ url, headers } = this.nextHop(req, url, headers, location, answer.res.status, hop));
    }
  }

  /** Validates one redirect hop (cap, scheme) and where it goes; Authorization never crosses to another origin. */
  private nextHop(req: { registry: string; url: URL }, url: URL, headers: Record<string, string>, location: string, status: number, hop: number): { url: URL; headers: Record<string, string> } {
    if (hop >= this.opts.maxRedirects) throw new RegistryError(`too many redirects from ${req.url.host}`, { status });
    const next = new URL(location, url);
    if (next.protocol !== 'https:' && next.protocol !== 'http:') throw new RegistryError(`${url.host} redirected to an unsupported URL scheme ${next.protocol}`);
    this.opts.logger?.debug({ registry: req.registry, from: url.host, to: next.host, status }, 'following redirect');
    // The distribution spec: Authorization MUST NOT be forwarded across host boundaries (blob CDNs).
    return { url: next, headers: next.origin !== url.origin ? withoutAuthorization(headers) : headers };
  }

  /**
   * One request, inside the host's concurrency slot: fail fast on a host known down, count it, tell the
   * observer. `deadline` aborts it when the attempt's total time is up, the transport stops or the
   * request's own signal fires; the caller ends the deadline once it has what it waits for.
   */
  private async dispatch(req: { registry: string; kind: RequestKind; signal?: AbortSignal }, method: HttpMethod, url: URL, headers: Record<string, string>, body: Dispatcher.DispatchOptions['body'], timeout: number, deadline: AttemptDeadline) {
    // Checked again: the host may have been found down, or the request stopped, while it waited for a slot.
    this.failFastIfUnreachable(url.host);
    this.throwIfAborted({ ...req, url });
    this.count(req, method);
    const started = this.opts.now();
    const dispatcher = (url.protocol === 'https:' && this.hostDispatchers.get(url.host)) || this.dispatcher;
    deadline.start();
    const res = await this.observed(req, started, dispatcher.request({
      origin: url.origin,
      path: url.pathname + url.search,
      method: method as Dispatcher.HttpMethod,
      headers,
      body,
      headersTimeout: timeout,
      bodyTimeout: timeout,
      signal: deadline.signal,
      // undici closes the connection after every HEAD, in case a server sends a body with it; registries
      // (the distribution spec, Go's net/http, nginx) never do. Kept open, a mirror's HEAD-per-blob no
      // longer costs a TCP connection each (20x5 mirror: 924 -> ~30 connects).
      ...(method === 'HEAD' ? { reset: false } : {}),
    }));
    this.opts.gate?.after({ registry: req.registry, kind: req.kind, method, url }, res.statusCode, res.headers);
    return { res, started };
  }

  /** The deadline of one attempt, stacked on the transport's stop and the request's own signal. */
  private attemptDeadline(req: { signal?: AbortSignal }, url: URL): AttemptDeadline {
    return new AttemptDeadline(this.opts.requestDeadlineMs, url.host, [this.shutdown.signal, ...(req.signal ? [req.signal] : [])]);
  }

  /** The gate's wait (Docker Hub's pull window) ends early when the request is stopped. */
  private async passGate(req: { registry: string; kind: RequestKind; signal?: AbortSignal }, method: HttpMethod, url: URL): Promise<void> {
    if (!this.opts.gate) return;
    const signal = req.signal ? AbortSignal.any([this.shutdown.signal, req.signal]) : this.shutdown.signal;
    let onAbort!: () => void;
    const aborted = new Promise<void>((resolve) => { onAbort = resolve; });
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      await Promise.race([this.opts.gate.before({ registry: req.registry, kind: req.kind, method, url }), aborted]);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
    this.throwIfAborted({ ...req, url });
  }

  private async sendOnceStreaming(req: StreamRequest, method: HttpMethod, url: URL, headers: Record<string, string>, body: StreamRequest['body']): Promise<StreamAnswer> {
    const hostKey = url.host;
    this.failFastIfUnreachable(hostKey);
    await this.passGate(req, method, url);
    const timeout = req.timeoutMs ?? this.opts.timeoutMs;
    const deadline = this.attemptDeadline(req, url);
    const sent = await this.limiter(hostKey)(async () => {
      try {
        // undici's types name Readable only; its HTTP/1 writer takes any async iterable (writeIterable).
        const { res, started } = await this.dispatch(req, method, url, headers, body && (body instanceof Readable ? counting(body, (n) => (this.stats.bytesSent += n)) : countingChunks(body, (n) => (this.stats.bytesSent += n)) as unknown as Readable), timeout, deadline);
        this.opts.logger?.debug({ registry: req.registry, kind: req.kind, method, host: url.host, path: url.pathname, status: res.statusCode, ms: this.opts.now() - started }, 'registry request');
        return res;
      } catch (err) {
        throw deadline.error(err);
      } finally {
        // A streamed body (a blob) takes as long as it takes: its reader bounds it (idle timeout, stop signal).
        deadline.end();
      }
    });
    const base = { status: sent.statusCode, statusText: sent.statusText ?? '', headers: sent.headers, url };
    if (method !== 'HEAD' && sent.statusCode >= 200 && sent.statusCode <= 299) {
      const stream = counting(sent.body as unknown as Readable, (n) => (this.stats.bytesReceived += n));
      return { res: { ...base, body: Buffer.alloc(0) }, stream };
    }
    if (method === 'HEAD' || isRedirect(sent.statusCode)) {
      await sent.body.dump();
      return { res: { ...base, body: Buffer.alloc(0) } };
    }
    return { res: { ...base, body: await readLimited(sent.body, 64 * 1024, url.host).catch(() => Buffer.alloc(0)) } };
  }

  private async sendFollowingRedirects(req: SendRequest): Promise<HttpResponse> {
    let url = req.url;
    let method = req.method;
    let body = req.body;
    let headers = { ...req.headers };
    for (let hop = 0; ; hop++) {
      const res = await this.sendOnce(req, method, url, headers, body);
      const location = res.headers.location;
      if (!isRedirect(res.status) || typeof location !== 'string') return res;
      ({ url, headers } = this.nextHop(req, url, headers, location, res.status, hop));
      if (res.status === 303 && method !== 'HEAD') {
        method = 'GET';
        body = undefined;
      }
    }
  }

  private async sendOnce(req: SendRequest, method: HttpMethod, url: URL, headers: Record<string, string>, body: string | Buffer | undefined): Promise<HttpResponse> {
    const hostKey = url.host;
    this.failFastIfUnreachable(hostKey);
    await this.passGate(req, method, url);
    const timeout = req.timeoutMs ?? this.opts.timeoutMs;
    const max = Math.min(req.maxBodyBytes ?? this.opts.maxBodyBytes, this.opts.maxBodyBytes);
    return this.limiter(hostKey)(async () => {
      // The whole attempt, body included, is inside the deadline: the slot is never held longer than that.
      const deadline = this.attemptDeadline(req, url);
      try {
        const { res, started } = await this.dispatch(req, method, url, headers, body, timeout, deadline);
        if (body !== undefined) this.stats.bytesSent += Buffer.byteLength(body);
        let buf: Buffer;
        if (method === 'HEAD' || isRedirect(res.statusCode)) {
          await res.body.dump();
          buf = Buffer.alloc(0);
        } else if (req.sink && res.statusCode >= 200 && res.statusCode <= 299) {
          this.stats.bytesReceived += await streamLimited(res.body, req.sink(), max, url.host, contentLengthOf(res.headers));
          buf = Buffer.alloc(0);
        } else {
          buf = await readLimited(res.body, max, url.host, contentLengthOf(res.headers));
          this.stats.bytesReceived += buf.length;
        }
        this.opts.logger?.debug({ registry: req.registry, kind: req.kind, method, host: url.host, path: url.pathname, status: res.statusCode, ms: this.opts.now() - started }, 'registry request');
        return { status: res.statusCode, statusText: res.statusText ?? '', headers: res.headers, body: buf, url };
      } catch (err) {
        throw deadline.error(err);
      } finally {
        deadline.end();
      }
    });
  }

  /** Reports the request to the observer once its headers arrived (or it failed), then passes it on. */
  private async observed<T extends { statusCode: number; headers: Record<string, string | string[] | undefined> }>(
    req: { registry: string; kind: RequestKind },
    started: number,
    pending: Promise<T>,
  ): Promise<T> {
    const observer = this.opts.observer;
    if (!observer) return pending;
    const report = (status: number | 'error', headers?: T['headers']) => {
      try {
        observer.onRequest({ registry: req.registry, kind: req.kind, status, durationMs: this.opts.now() - started, rateLimitRemaining: rateLimitRemaining(headers?.['ratelimit-remaining']) });
      } catch {
        // Metrics must never break a request.
      }
    };
    try {
      const res = await pending;
      report(res.statusCode, res.headers);
      return res;
    } catch (err) {
      report('error');
      throw err;
    }
  }

  /**
   * Accounts for a request sent outside this transport on behalf of a registry (a cloud SDK's
   * token call, a vendor API): counted now like any other; the returned function tells the
   * observer its status once it is known.
   */
  recordExternal(req: { registry: string; kind: RequestKind }, method: string): (status: number | 'error') => void {
    this.count(req, method);
    const started = this.opts.now();
    let reported = false;
    return (status) => {
      if (reported) return;
      reported = true;
      try {
        this.opts.observer?.onRequest({ registry: req.registry, kind: req.kind, status, durationMs: this.opts.now() - started });
      } catch {
        // Metrics must never break a request.
      }
    };
  }

  private count(req: { registry: string; kind: RequestKind }, method: string): void {
    this.stats.requests++;
    this.stats.byMethod[method] = (this.stats.byMethod[method] ?? 0) + 1;
    this.stats.byRegistry[req.registry] = (this.stats.byRegistry[req.registry] ?? 0) + 1;
    this.stats.byKind[req.kind]++;
  }

  private limiter(host: string): LimitFunction {
    let limit = this.limits.get(host);
    if (!limit) {
      limit = pLimit(this.opts.concurrencyPerRegistry);
      this.limits.set(host, limit);
    }
    return limit;
  }

  private failFastIfUnreachable(host: string): void {
    const mark = this.unreachable.get(host);
    if (!mark) return;
    if (mark.until > this.opts.now()) throw new RegistryError(mark.message, { code: 'unreachable' });
    this.unreachable.delete(host);
  }

  private connectionError(url: URL, err: unknown): Error {
    if (err instanceof DeadlineError) {
      // A host that cannot finish one answer in time will not finish the next one either: fail fast for a while.
      this.unreachable.set(url.host, { message: err.message, until: this.opts.now() + this.opts.unreachableTtlMs });
      return new RegistryError(err.message, { code: 'timeout', cause: err });
    }
    if (err instanceof RegistryError) return err;
    const code = errorCode(err);
    if (code === undefined) return err instanceof Error ? err : new Error(String(err));
    // It did answer, with more header bytes than an HTTP client accepts (a WWW-Authenticate or Link run wild).
    if (code === 'UND_ERR_HEADERS_OVERFLOW') return new RegistryError(`${url.host} answered with response headers too large to read (${code}); the registry or a proxy in front of it is misbehaving`, { code: 'invalid', cause: err });
    if (code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH' || code === 'HPE_INVALID_CONSTANT' || code === 'HPE_INVALID_HEADER_TOKEN') {
      return new RegistryError(`${url.host} sent an answer that is not valid HTTP (${code})`, { code: 'invalid', cause: err });
    }
    const tls = tlsProblem(code, url);
    const message = TIMEOUTS.has(code)
      ? `cannot reach ${url.host}: no answer within ${this.opts.timeoutMs} ms (${code})`
      : tls
        ? `cannot reach ${url.host} over TLS: ${tls}`
        : `cannot reach ${url.host}: ${code}`;
    // A certificate that is not trusted now will not be in a moment either: one failure per batch, like a host that is down.
    if (UNREACHABLE.has(code) || TRANSIENT.has(code) || tls) {
      this.unreachable.set(url.host, { message, until: this.opts.now() + this.opts.unreachableTtlMs });
    }
    return new RegistryError(message, { cause: err, code: TIMEOUTS.has(code) ? 'timeout' : 'unreachable' });
  }

  private backoff(attempt: number): number {
    const ceiling = Math.min(this.opts.backoffBaseMs * 2 ** attempt, 30_000);
    // "Full jitter": spreads the retries of many clients hitting the same registry.
    return Math.round(ceiling / 2 + (this.opts.random() * ceiling) / 2);
  }
}

/**
 * The public roots Node ships (what every other host is checked against), the certificates of
 * NODE_EXTRA_CA_CERTS (Node drops them too when `ca` is given), and `extra`.
 */
export function trustedCas(extra: string[], env: Record<string, string | undefined> = process.env): string[] {
  const out = [...rootCertificates];
  const file = env.NODE_EXTRA_CA_CERTS;
  if (file) {
    try {
      out.push(readFileSync(file, 'utf8'));
    } catch {
      // Node itself only warns about an unreadable NODE_EXTRA_CA_CERTS.
    }
  }
  return [...out, ...extra];
}

/** OpenSSL's certificate verification results and Node's TLS checks, as undici reports them. */
const UNTRUSTED_CERT = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'CERT_UNTRUSTED', 'CERT_SIGNATURE_FAILURE', 'CERT_CHAIN_TOO_LONG', 'INVALID_CA',
]);

/** One line on what is wrong with a registry's TLS, or undefined when `code` is not about TLS. */
function tlsProblem(code: string, url: URL): string | undefined {
  const hint = 'set ca_file for this registry in dosync.yaml (registry.custom, harbor or gitlab) to the PEM of the CA that signed it';
  if (UNTRUSTED_CERT.has(code)) return `its certificate is not signed by a trusted CA (${code}); ${hint}`;
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') return `its certificate is outside its validity period (${code})`;
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return `its certificate is not valid for the name ${url.hostname} (${code})`;
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG' || code === 'EPROTO') {
    return `it does not answer TLS on this port (${code}); if the registry really is plain http, give it an http:// url with insecure: true in dosync.yaml`;
  }
  return undefined;
}

export function isRetryableStatus(status: number): boolean {
  return status === 429 || status === 408 || (status >= 500 && status !== 501 && status !== 505);
}

function isRedirect(status: number): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}

function withoutAuthorization(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([k]) => k.toLowerCase() !== 'authorization'));
}

/** Docker Hub's `RateLimit-Remaining: 100;w=21600` -> 100. */
export function rateLimitRemaining(value: string | string[] | undefined): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  const m = v === undefined ? null : /^\s*(\d+)/.exec(v);
  return m ? Number(m[1]) : undefined;
}

/** Retry-After in milliseconds: delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | string[] | undefined, now: number): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v.trim() === '') return undefined;
  if (/^\s*\d+\s*$/.test(v)) return Number(v) * 1000;
  const date = Date.parse(v);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** The first error code in an error's cause chain (undici wraps system errors). */
export function errorCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/**
 * The same bytes through a pass-through that counts them (a 'data' listener on the stream itself
 * would start it flowing before its consumer is attached). Errors travel to the returned stream.
 */
function counting(stream: Readable, add: (n: number) => void): Readable {
  // A listener rather than a Transform in between: a blob's every chunk would pass one more stream
  // (~10% of a 200 MiB copy's CPU time). Paused first, so the listener does not start the flow: the
  // consumer does (pipe, undici's writer, an iterator), and read() emits 'data' in every mode.
  stream.pause();
  stream.on('data', (chunk: Buffer) => add(chunk.length));
  return stream;
}

/** The same chunks, counted as undici takes them (undici writes an async iterable body chunk by chunk, waiting for drain). */
async function* countingChunks(chunks: AsyncIterable<Buffer>, add: (n: number) => void): AsyncGenerator<Buffer> {
  for await (const chunk of chunks) {
    add(chunk.length);
    yield chunk;
  }
}

/** The body handed to `sink` chunk by chunk, refused past `max` bytes (or past its Content-Length); the bytes read. */
async function streamLimited(body: AsyncIterable<Buffer>, sink: BodySink, max: number, host: string, announced?: number): Promise<number> {
  if (announced !== undefined && announced > max) throw tooLargeError(host, max);
  const limit = announced ?? max;
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > limit) throw announced === undefined ? tooLargeError(host, max) : new RegistryError(`${host} sent more bytes than its Content-Length (${announced})`);
    sink.write(chunk);
  }
  return size;
}

function tooLargeError(host: string, max: number): RegistryError {
  return new RegistryError(`${host} sent a response larger than ${max} bytes`, { code: 'too-large' });
}

/**
 * The whole body, refused past `max` bytes. When the length is announced (and within the cap) the bytes
 * go straight into one buffer of that size: no list of chunks plus a concatenated copy.
 */
async function readLimited(body: AsyncIterable<Buffer | Uint8Array>, max: number, host: string, announced?: number): Promise<Buffer> {
  const tooLarge = () => tooLargeError(host, max);
  if (announced !== undefined && announced > max) throw tooLarge();
  if (announced !== undefined) {
    const out = Buffer.allocUnsafe(announced);
    let size = 0;
    for await (const chunk of body) {
      if (size + chunk.length > announced) throw new RegistryError(`${host} sent more bytes than its Content-Length (${announced})`);
      out.set(chunk, size);
      size += chunk.length;
    }
    return size === announced ? out : out.subarray(0, size);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > max) throw tooLarge();
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks, size);
}

function contentLengthOf(headers: Record<string, string | string[] | undefined>): number | undefined {
  const v = headers['content-length'];
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : undefined;
  return n !== undefined && Number.isSafeInteger(n) ? n : undefined;
}

/** An attempt that used up its total time (`requestDeadlineMs`). */
class DeadlineError extends Error {}

/**
 * The total deadline of one attempt: its signal aborts when the time is up (started once a slot is
 * held, so waiting for a slot does not count), or when any of `outer` aborts (stop, the listing's own
 * deadline or budget).
 */
class AttemptDeadline {
  private readonly own = new AbortController();
  private timer?: NodeJS.Timeout;
  private expired = false;
  readonly signal: AbortSignal;

  constructor(private readonly ms: number, private readonly host: string, outer: AbortSignal[]) {
    this.signal = AbortSignal.any([this.own.signal, ...outer]);
  }

  start(): void {
    this.timer ??= setTimeout(() => {
      this.expired = true;
      this.own.abort(new DeadlineError(`${this.host} did not finish its answer within ${this.ms} ms`));
    }, this.ms);
  }

  end(): void {
    clearTimeout(this.timer);
  }

  /** The error to throw for `err`: the deadline's own when it expired, else `err`. */
  error(err: unknown): unknown {
    return this.expired ? (this.own.signal.reason as DeadlineError) : err;
  }
}
