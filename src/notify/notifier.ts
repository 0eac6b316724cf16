/**
 * Delivers one message per cycle to every channel. Delivery never throws and never holds up an
 * update: callers fire `notify()` without awaiting it; `flush()` waits for what is in flight (tests,
 * shutdown). Messages to one channel are sent in order; channels do not wait for each other.
 * Transient failures (network errors, timeouts, 408/429/5xx, SMTP 4xx) are retried a bounded number
 * of times with exponential backoff, honouring Retry-After; permanent ones (other 4xx, redirects,
 * SMTP 5xx or authentication) are logged at once. Logs name a channel by its label, never its URL.
 */
import { scrubSecrets } from '../util/logger.js';
import { buildMessage, type MessageView } from './format.js';
import { renderEmail, renderRequests } from './render/index.js';
import type { Channel, ChannelKind, EmailChannel, HttpRequestSpec, LoggerLike, NotifyEvent } from './types.js';

export interface Notifier {
  /** Sends the events of one cycle as one message per channel; no events, no message. Never rejects. */
  notify(events: NotifyEvent[]): Promise<void>;
  /** Resolves when every delivery started so far has succeeded or given up. */
  flush(): Promise<void>;
}

export interface DeliveryResult {
  channel: string;
  kind: ChannelKind;
  ok: boolean;
  attempts: number;
  /** Why the last attempt failed (no secrets). */
  error?: string;
}

export interface NotifierOptions {
  logger?: LoggerLike;
  /** Per attempt: HTTP request or SMTP connection/greeting/socket timeout. Default 10 s. */
  fetchTimeoutMs?: number;
  /** Further attempts after the first for transient failures. Default 3. */
  retries?: number;
  /** First backoff step, doubled per retry (with jitter). Default 2 s. */
  retryBaseMs?: number;
  /** A Retry-After longer than this is capped to it. Default 60 s. */
  maxRetryAfterMs?: number;
  /**
   * For tests only: replaces the scheme, host and port of the requests a kind of channel sends (the
   * path and query stay), so Slack, Discord or Telegram requests can be received by a local server.
   */
  endpointOverride?: Partial<Record<ChannelKind, string>>;
  /** Called after each delivery with its outcome (metrics, tests). */
  onDelivery?: (result: DeliveryResult) => void;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

type Attempt = { ok: true } | { ok: false; retryable: boolean; error: string; retryAfterMs?: number };

export function createNotifier(channels: Channel[], opts: NotifierOptions = {}): Notifier {
  const settings = {
    timeoutMs: opts.fetchTimeoutMs ?? 10_000,
    retries: opts.retries ?? 3,
    baseMs: opts.retryBaseMs ?? 2_000,
    maxRetryAfterMs: opts.maxRetryAfterMs ?? 60_000,
    sleep: opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms))),
    random: opts.random ?? Math.random,
  };
  // One chain per channel keeps its messages in order.
  const tails: Array<Promise<void>> = channels.map(() => Promise.resolve());

  async function deliver(ch: Channel, m: MessageView, events: NotifyEvent[]): Promise<void> {
    let result: DeliveryResult;
    try {
      result = await deliverWithRetries(ch, m, events);
    } catch (err) {
      // A bug in a renderer must not escape into the update path either.
      result = { channel: ch.label, kind: ch.kind, ok: false, attempts: 0, error: scrubSecrets(err instanceof Error ? err.message : String(err)) };
    }
    if (result.ok) opts.logger?.debug({ channel: result.channel, attempts: result.attempts }, 'notification delivered');
    else opts.logger?.error({ channel: result.channel, attempts: result.attempts, error: result.error }, 'notification could not be delivered');
    try {
      opts.onDelivery?.(result);
    } catch {
      // The observer is not allowed to break delivery.
    }
  }

  async function deliverWithRetries(ch: Channel, m: MessageView, events: NotifyEvent[]): Promise<DeliveryResult> {
    const send = ch.kind === 'email' ? () => sendMail(ch, m, settings.timeoutMs) : sendRequests(ch, m, events);
    let last: Attempt = { ok: false, retryable: false, error: 'not attempted' };
    for (let attempt = 1; attempt <= settings.retries + 1; attempt++) {
      last = await send();
      if (last.ok) return { channel: ch.label, kind: ch.kind, ok: true, attempts: attempt };
      if (!last.retryable || attempt > settings.retries) return { channel: ch.label, kind: ch.kind, ok: false, attempts: attempt, error: last.error };
      const delay = Math.min(last.retryAfterMs ?? backoff(attempt), settings.maxRetryAfterMs);
      opts.logger?.warn({ channel: ch.label, attempt, delayMs: delay, error: last.error }, 'notification failed, retrying');
      await settings.sleep(delay);
    }
    return { channel: ch.label, kind: ch.kind, ok: false, attempts: settings.retries + 1, error: last.ok ? undefined : last.error };
  }

  function backoff(attempt: number): number {
    const ceiling = settings.baseMs * 2 ** (attempt - 1);
    return Math.round(ceiling / 2 + (settings.random() * ceiling) / 2);
  }

  /** Telegram sends one request per chat; a retry resends only those that have not succeeded. */
  function sendRequests(ch: Exclude<Channel, { kind: 'email' }>, m: MessageView, events: NotifyEvent[]): () => Promise<Attempt> {
    const override = opts.endpointOverride?.[ch.kind];
    let pending = renderRequests(ch, m, events).map((spec) => (override ? withOrigin(spec, override) : spec));
    return async () => {
      const results = await Promise.all(pending.map((spec) => sendHttp(spec, settings.timeoutMs)));
      const failed = results.map((r, i) => ({ r, spec: pending[i] })).filter((x) => !x.r.ok);
      pending = failed.map((x) => x.spec);
      if (failed.length === 0) return { ok: true };
      const first = failed[0].r as Exclude<Attempt, { ok: true }>;
      const retryable = failed.every((x) => !x.r.ok && x.r.retryable);
      const retryAfterMs = Math.max(0, ...failed.map((x) => (x.r.ok ? 0 : (x.r.retryAfterMs ?? 0)))) || undefined;
      return { ok: false, retryable, error: failed.length > 1 ? `${first.error} (and ${failed.length - 1} more)` : first.error, retryAfterMs };
    };
  }

  return {
    notify(events) {
      const message = buildMessage(events);
      if (!message || channels.length === 0) return Promise.resolve();
      const runs = channels.map((ch, i) => {
        const next = tails[i].then(() => deliver(ch, message, events));
        tails[i] = next;
        return next;
      });
      return Promise.all(runs).then(() => undefined);
    },
    async flush() {
      // Deliveries queued while waiting extend the tails; wait until they stand still.
      for (;;) {
        const snapshot = [...tails];
        await Promise.all(snapshot);
        if (snapshot.every((p, i) => p === tails[i])) return;
      }
    },
  };
}

function withOrigin(spec: HttpRequestSpec, origin: string): HttpRequestSpec {
  const target = new URL(spec.url);
  const base = new URL(origin);
  target.protocol = base.protocol;
  target.host = base.host;
  return { ...spec, url: target.toString() };
}

const MAX_ERROR_BODY = 200;

async function sendHttp(spec: HttpRequestSpec, timeoutMs: number): Promise<Attempt> {
  let res: Response;
  try {
    res = await fetch(spec.url, { method: spec.method, headers: spec.headers, body: spec.body, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    return { ok: false, retryable: true, error: fetchError(err, timeoutMs) };
  }
  const body = await readSome(res);
  if (res.status >= 200 && res.status < 300) return { ok: true };
  if (res.status >= 300 && res.status < 400) {
    return { ok: false, retryable: false, error: `HTTP ${res.status}: the endpoint redirects; configure the final URL (redirects are not followed so credentials are not sent elsewhere)` };
  }
  const detail = errorDetail(body);
  const error = `HTTP ${res.status}${detail ? `: ${detail}` : ''}`;
  const retryable = res.status === 408 || res.status === 429 || res.status >= 500;
  return { ok: false, retryable, error, retryAfterMs: retryable ? retryAfter(res, body) : undefined };
}

async function readSome(res: Response): Promise<string> {
  try {
    const text = await res.text();
    return text.slice(0, 4096);
  } catch {
    return '';
  }
}

/** Telegram and Discord explain failures in JSON (`description`, `message`); others in text. */
function errorDetail(body: string): string {
  let detail = body;
  try {
    const json = JSON.parse(body) as Record<string, unknown>;
    detail = String(json.description ?? json.message ?? json.error ?? body);
  } catch {
    // not JSON
  }
  const flat = scrubSecrets(detail.replace(/\s+/g, ' ').trim());
  return flat.length > MAX_ERROR_BODY ? `${flat.slice(0, MAX_ERROR_BODY)}…` : flat;
}

/** Retry-After (seconds or date), or Telegram's `parameters.retry_after`, or Discord's JSON `retry_after` (seconds). */
function retryAfter(res: Response, body: string): number | undefined {
  const header = res.headers.get('retry-after');
  if (header) {
    if (/^\s*\d+(\.\d+)?\s*$/.test(header)) return Math.ceil(Number(header) * 1000);
    const date = Date.parse(header);
    if (!Number.isNaN(date)) return Math.max(0, date - Date.now());
  }
  try {
    const json = JSON.parse(body) as { retry_after?: unknown; parameters?: { retry_after?: unknown } };
    const s = json.parameters?.retry_after ?? json.retry_after;
    if (typeof s === 'number' && s >= 0) return Math.ceil(s * 1000);
  } catch {
    // not JSON
  }
  return undefined;
}

function fetchError(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) return `no answer within ${timeoutMs} ms`;
  // undici: TypeError("fetch failed") with the system error (ECONNREFUSED ...) as the cause.
  let e: unknown = err;
  for (let depth = 0; e && depth < 4; depth++, e = (e as { cause?: unknown }).cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return `connection failed (${code})`;
  }
  return scrubSecrets(err instanceof Error ? err.message : String(err));
}

/** SMTP reply codes 4xx are transient by definition (RFC 5321 §4.2.1); 5xx and authentication are not. */
async function sendMail(ch: EmailChannel, m: MessageView, timeoutMs: number): Promise<Attempt> {
  // Loaded on the first mail: nodemailer is ~60 files (~30 ms) that a daemon without email never needs.
  const nodemailer = (await import('nodemailer')).default;
  const transport = nodemailer.createTransport({
    host: ch.host,
    port: ch.port,
    secure: ch.implicitTls,
    requireTLS: ch.starttls === 'required',
    ignoreTLS: ch.starttls === 'never',
    auth: ch.username ? { user: ch.username, pass: ch.password ?? '' } : undefined,
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
  });
  try {
    await transport.sendMail(renderEmail(ch, m));
    return { ok: true };
  } catch (err) {
    const e = err as { code?: string; responseCode?: number; message?: string };
    const permanent = (e.responseCode !== undefined && e.responseCode >= 500) || e.code === 'EAUTH' || e.code === 'EENVELOPE' || e.code === 'ETLS' || e.code === 'EMESSAGE';
    const what = e.responseCode !== undefined ? `SMTP ${e.responseCode}` : (e.code ?? 'SMTP error');
    return { ok: false, retryable: !permanent, error: `${what}: ${scrubSecrets(String(e.message ?? err)).slice(0, MAX_ERROR_BODY)}` };
  } finally {
    transport.close();
  }
}
