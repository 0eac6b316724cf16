/**
 * Docker Hub's pull limit, as the OCI client sees it. Docker documents `ratelimit-limit: 100;w=21600`
 * and `ratelimit-remaining: 20;w=21600` on manifest answers (GET and HEAD); only manifest GETs count
 * as pulls, and the headers are absent for unlimited accounts. The guard reads them (and 429s) and
 * decides whether Hub checks go ahead, spread the pulls left over the window, or pause until pulls
 * have aged out of it; the gate applies that decision to every request the client sends for Hub.
 */
import { RegistryError } from '../util/errors.js';
import type { HttpMethod, Logger, RequestGate, RequestKind } from './transport.js';

const HUB_HOSTS = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com']);

/** Whether a registry host (as written in an image reference, or the API host) is Docker Hub. */
export function isDockerHub(host: string): boolean {
  return HUB_HOSTS.has(host.toLowerCase());
}

export interface HubRateLimit {
  limit: number;
  remaining: number;
  /** Length of the sliding window, seconds (21600 = 6 h). */
  windowSeconds: number;
}

type HeaderBag = { get(name: string): string | null } | Record<string, string | string[] | undefined>;

function headerValue(headers: HeaderBag, name: string): string | undefined {
  if (typeof (headers as { get?: unknown }).get === 'function') return (headers as { get(n: string): string | null }).get(name) ?? undefined;
  const v = (headers as Record<string, string | string[] | undefined>)[name];
  return Array.isArray(v) ? v[0] : v;
}

/** `<n>;w=<seconds>` -> {n, w}. */
function parseQuota(value: string | undefined): { n: number; w?: number } | undefined {
  if (!value) return undefined;
  const m = /^\s*(\d+)\s*(?:;\s*w\s*=\s*(\d+))?/.exec(value);
  if (!m) return undefined;
  return { n: Number(m[1]), w: m[2] !== undefined ? Number(m[2]) : undefined };
}

/** The pull limit a Docker Hub answer reports, or undefined when it reports none (unlimited or not Hub). */
export function parseHubRateLimit(headers: HeaderBag): HubRateLimit | undefined {
  const limit = parseQuota(headerValue(headers, 'ratelimit-limit'));
  const remaining = parseQuota(headerValue(headers, 'ratelimit-remaining'));
  if (!limit || !remaining) return undefined;
  return { limit: limit.n, remaining: remaining.n, windowSeconds: remaining.w ?? limit.w ?? 21_600 };
}

export type HubRateDecision =
  | { action: 'go' }
  /** Space requests that count as pulls by `delayMs`. */
  | { action: 'slow'; delayMs: number; reason: string; reading: HubRateLimit }
  /** No Hub checks until `until` (epoch ms). `reading` is the limit seen, when the pause comes from one. */
  | { action: 'pause'; until: number; reason: string; reading?: HubRateLimit };

/**
 * Decides, from the last pull-limit headers (and 429s), whether Docker Hub checks go ahead, slow
 * down, or pause, keeping `reserve` pulls for the updates themselves. Pure apart from the clock
 * it is given.
 */
export class HubRateLimitGuard {
  private last?: HubRateLimit;
  private pausedUntil = 0;
  private pauseReason = '';
  private pauseReading?: HubRateLimit;

  constructor(private readonly opts: { reserve?: number; now?: () => number } = {}) {}

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  private reserveFor(limit: number): number {
    return this.opts.reserve ?? Math.max(5, Math.ceil(limit * 0.1));
  }

  /** Feed every Docker Hub registry answer (status and headers). */
  observe(status: number, headers: HeaderBag): void {
    const rl = parseHubRateLimit(headers);
    if (rl) this.last = rl;
    if (status === 429) {
      const retryAfter = parseRetryAfterMs(headerValue(headers, 'retry-after'), this.now());
      // Without Retry-After: wait until one pull has aged out of the sliding window.
      const wait = retryAfter ?? (rl ? Math.ceil((rl.windowSeconds * 1000) / Math.max(rl.limit, 1)) : 60_000);
      const until = Math.max(this.pausedUntil, this.now() + wait);
      this.pausedUntil = until;
      this.pauseReading = rl ?? this.last;
      // As after any pause: the reading is stale once it ends, the next (free) HEAD brings a fresh one.
      this.last = undefined;
      this.pauseReason = `Docker Hub answered 429 (pull rate limit reached); pausing Docker Hub checks for ${formatDuration(until - this.now())}, until ${new Date(until).toISOString()}`;
    }
  }

  /** The latest limit seen, if any. */
  get state(): HubRateLimit | undefined {
    return this.last;
  }

  decide(): HubRateDecision {
    const now = this.now();
    if (this.pausedUntil > now) return { action: 'pause', until: this.pausedUntil, reason: this.pauseReason, reading: this.pauseReading };
    const rl = this.last;
    if (!rl) return { action: 'go' };
    const reserve = this.reserveFor(rl.limit);
    const perPullMs = Math.ceil((rl.windowSeconds * 1000) / Math.max(rl.limit, 1));
    const window = formatDuration(rl.windowSeconds * 1000);
    if (rl.remaining <= reserve) {
      // The window slides: roughly one pull ages out every window/limit.
      const wait = (reserve - rl.remaining + 1) * perPullMs;
      this.pausedUntil = now + wait;
      this.pauseReading = rl;
      // Forget the reading: after the pause, the next (uncounted) HEAD brings a fresh one.
      this.last = undefined;
      this.pauseReason = `Docker Hub pull limit: ${rl.remaining} of ${rl.limit} pulls left in the ${window} window; pausing Docker Hub checks for ${formatDuration(wait)} to keep ${reserve} for updates, until ${new Date(this.pausedUntil).toISOString()}`;
      return { action: 'pause', until: this.pausedUntil, reason: this.pauseReason, reading: rl };
    }
    if (rl.remaining <= 2 * reserve) {
      return { action: 'slow', delayMs: perPullMs, reading: rl, reason: `Docker Hub pull limit: ${rl.remaining} of ${rl.limit} pulls left in the ${window} window; spacing Docker Hub pulls (manifest GETs) ${formatDuration(perPullMs)} apart` };
    }
    return { action: 'go' };
  }
}

/** A Docker Hub request refused while Hub checks are paused; `until` is when they resume. */
export class HubPausedError extends RegistryError {
  constructor(reason: string, readonly until: Date) {
    super(`skipped: ${reason}`, { status: 429 });
  }
}

export interface HubRateLimitGateOptions {
  guard: HubRateLimitGuard;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  /** A pause that ends within this is waited out (a short Retry-After); a longer one skips Hub requests. */
  maxWaitMs: number;
  logger?: Logger;
}

interface GatedRequest {
  registry: string;
  kind: RequestKind;
  method: HttpMethod;
  url: URL;
}

/**
 * Applies the guard to the OCI client's requests for Docker Hub (every hop and retry: ping, token,
 * tag list, manifests, blobs). While paused, a request is refused with a one-line HubPausedError
 * saying why and until when (the client's error about the request keeps it as `cause`), or waited
 * for if the pause ends within `maxWaitMs`; while slow, manifest GETs — the only requests that
 * cost a pull — are spaced evenly. Each pause and each slow-down is logged once, with its reason.
 */
export class HubRateLimitGate implements RequestGate {
  private nextPullAt = 0;
  private loggedPause = 0;
  private slowLogged = false;

  constructor(private readonly opts: HubRateLimitGateOptions) {}

  async before(req: GatedRequest): Promise<void> {
    if (!isDockerHub(req.registry)) return;
    let decision = this.opts.guard.decide();
    if (decision.action === 'pause') {
      const wait = decision.until - this.opts.now();
      if (wait > this.opts.maxWaitMs) {
        this.logPause(decision);
        throw new HubPausedError(decision.reason, new Date(decision.until));
      }
      await this.opts.sleep(wait);
      decision = this.opts.guard.decide();
      if (decision.action === 'pause') throw new HubPausedError(decision.reason, new Date(decision.until));
    }
    if (decision.action !== 'slow') {
      this.slowLogged = false;
      return;
    }
    if (!this.slowLogged) {
      this.slowLogged = true;
      const log = this.opts.logger;
      (log?.info ?? log?.warn)?.call(log, { registry: 'docker.io', ...decision.reading, delayMs: decision.delayMs }, decision.reason);
    }
    if (!countsAsPull(req)) return;
    // Slots are taken in order, so concurrent pulls queue behind each other at the spacing.
    const now = this.opts.now();
    const at = Math.max(now, this.nextPullAt);
    this.nextPullAt = at + decision.delayMs;
    if (at > now) await this.opts.sleep(at - now);
  }

  after(req: GatedRequest, status: number, headers: Record<string, string | string[] | undefined>): void {
    if (isDockerHub(req.registry)) this.opts.guard.observe(status, headers);
  }

  private logPause(decision: Extract<HubRateDecision, { action: 'pause' }>): void {
    if (this.loggedPause === decision.until) return;
    this.loggedPause = decision.until;
    this.opts.logger?.warn({ registry: 'docker.io', ...decision.reading, resumeAt: new Date(decision.until).toISOString() }, decision.reason);
  }
}

/** Docker's definition of a pull: a GET of a manifest on the registry (HEAD and tag lists are free). */
function countsAsPull(req: GatedRequest): boolean {
  return req.method === 'GET' && /^\/v2\/.+\/manifests\/[^/]+$/.test(req.url.pathname) && isDockerHub(req.url.hostname);
}

function parseRetryAfterMs(value: string | undefined, now: number): number | undefined {
  if (!value) return undefined;
  if (/^\s*\d+\s*$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 120) return `${m} min`;
  return `${Math.round((m / 60) * 10) / 10} h`;
}
