/**
 * The HTTP endpoint (off unless `--listen` is given), on node:http: six routes need no framework.
 *
 *   GET  /healthz                 open to all: 200 {"status":"ok"} or 503 {"status":"unhealthy","reason"}
 *   GET  /metrics                 Prometheus text; needs the token when one is configured
 *   GET  /v1/status               services, current/available tags, last results
 *   POST /v1/check                trigger a check cycle now                       -> 202, or 409 + reason
 *   POST /v1/update[?project=][&service=]  an update cycle (of one project / service) -> 202, or 409 + reason
 *   POST /v1/hooks/registry       registry push webhook -> check affected services -> 202 {"images":[...]}
 *
 * Authentication. /v1/* always needs the API token (`Authorization: Bearer <token>`); without a
 * configured token they answer 403 and say how to set one, also on loopback, because a browser on
 * the same machine can be made to POST to 127.0.0.1 by any web page (CSRF), and a missing token is
 * better caught on the first try than in production. /metrics is read-only and harmless, so it is
 * open until a token is configured, then needs it too (Prometheus sends `authorization:`).
 * /v1/hooks/registry also accepts the token as `?token=` (Docker Hub cannot send headers) or as
 * GitHub's `X-Hub-Signature-256` made with the token as the webhook secret.
 * Tokens are compared in constant time; failures get 401 with `WWW-Authenticate: Bearer`.
 *
 * Bodies are bounded (1 MiB for webhooks, 16 KiB elsewhere), every error is JSON `{"error": "..."}`,
 * and no stack trace or exception text ever reaches a response (they go to the log).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LoggerLike } from '../notify/types.js';
import { bearerToken, safeEqual, validHubSignature } from './auth.js';
import { HookPayloadError, parseRegistryHook } from './hooks.js';
import { isLoopback, parseListen } from './listen.js';
import { ConfigError } from '../util/errors.js';

/** A socket that cannot be bound is the user's setting, said in one line (the daemon does not start without its API). */
function listenError(err: NodeJS.ErrnoException, listen: string): Error {
  if (err.code === 'EADDRINUSE') return new ConfigError(`--listen ${listen}: the port is already in use; stop what listens there or pick another port`);
  if (err.code === 'EACCES') return new ConfigError(`--listen ${listen}: not allowed to listen on this port (ports below 1024 need privileges); pick another port`);
  if (err.code === 'EADDRNOTAVAIL') return new ConfigError(`--listen ${listen}: this machine has no such address; use 127.0.0.1, :PORT or one of its addresses`);
  return err;
}

export interface ServiceStatus {
  name: string;
  image?: string;
  currentTag?: string;
  availableTag?: string;
  digest?: string;
  lastCheck?: string;
  lastCheckResult?: string;
  lastUpdate?: string;
  lastUpdateResult?: string;
  paused?: boolean;
  /** Why an available update is not applied (maintenance window, min age, monitor mode ...). */
  held?: string;
  /** Why the running image does not verify under `verify:` (it is not redeployed). */
  signatureUnverified?: string;
  [key: string]: unknown;
}

export interface StatusDoc {
  services: ServiceStatus[];
  [key: string]: unknown;
}

export type TriggerKind = 'check' | 'update';

export interface ApiServerOptions {
  /** "127.0.0.1:9180", "[::1]:9180", ":9180" (every interface); port 0 picks a free one. */
  listen: string;
  token?: string;
  metrics: { contentType: string; render(): Promise<string> };
  status: () => StatusDoc | Promise<StatusDoc>;
  /** Starts (or queues) a cycle; resolves once it is accepted or refused, not when it ends. */
  trigger: (what: TriggerKind, service?: string, project?: string) => Promise<{ accepted: boolean; reason?: string }>;
  /** Schedules an immediate check of the services using these images; resolves once scheduled. */
  onRegistryPush: (images: string[]) => Promise<void>;
  healthy: () => { ok: boolean; reason?: string };
  logger?: LoggerLike;
}

export interface ApiServer {
  /** Base URL to reach the server (loopback when it listens on every interface). */
  url: string;
  close(): Promise<void>;
}

const HOOK_BODY_LIMIT = 1024 * 1024;
const BODY_LIMIT = 16 * 1024;
const NO_TOKEN = 'the API is disabled until a token is configured: pass --api-token or set DOSYNC_API_TOKEN';

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

interface Route {
  method: 'GET' | 'POST';
  /** Who may call: anyone, metrics rules, or the API token. */
  access: 'open' | 'metrics' | 'token' | 'hook';
  handle(req: IncomingMessage, url: URL, body: Buffer): Promise<Reply>;
}

interface Reply {
  status: number;
  json?: unknown;
  text?: string;
  contentType?: string;
}

export async function startApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  const address = parseListen(opts.listen);
  const token = opts.token && opts.token.length > 0 ? opts.token : undefined;

  const routes: Record<string, Route> = {
    '/healthz': {
      method: 'GET',
      access: 'open',
      async handle() {
        const h = opts.healthy();
        return h.ok ? { status: 200, json: { status: 'ok' } } : { status: 503, json: { status: 'unhealthy', reason: h.reason ?? 'unhealthy' } };
      },
    },
    '/metrics': {
      method: 'GET',
      access: 'metrics',
      async handle() {
        return { status: 200, text: await opts.metrics.render(), contentType: opts.metrics.contentType };
      },
    },
    '/v1/status': {
      method: 'GET',
      access: 'token',
      async handle() {
        return { status: 200, json: await opts.status() };
      },
    },
    '/v1/check': {
      method: 'POST',
      access: 'token',
      handle: () => trigger('check'),
    },
    '/v1/update': {
      method: 'POST',
      access: 'token',
      handle(_req, url) {
        const service = url.searchParams.get('service') ?? undefined;
        if (service !== undefined && !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(service)) throw new HttpError(400, '"service" must be a compose service name');
        // Whole-host daemon: ?project= names the compose project (with or without ?service=).
        const project = url.searchParams.get('project') ?? undefined;
        if (project !== undefined && !/^[a-z0-9][a-z0-9_-]*$/.test(project)) throw new HttpError(400, '"project" must be a compose project name');
        return trigger('update', service, project);
      },
    },
    '/v1/hooks/registry': {
      method: 'POST',
      access: 'hook',
      async handle(req, _url, body) {
        let payload: unknown;
        try {
          payload = JSON.parse(body.toString('utf8'));
        } catch {
          throw new HttpError(400, 'the body is not valid JSON');
        }
        const githubEvent = header(req, 'x-github-event');
        let parsed;
        try {
          parsed = parseRegistryHook(payload, githubEvent);
        } catch (err) {
          if (err instanceof HookPayloadError) throw new HttpError(400, err.message);
          throw err;
        }
        if (parsed.ping) return { status: 200, json: { ok: true, message: 'pong' } };
        if (parsed.ignored) return { status: 200, json: { accepted: false, ignored: parsed.ignored, images: [] } };
        await opts.onRegistryPush(parsed.images);
        opts.logger?.info({ source: parsed.source, images: parsed.images }, 'registry push received, checking affected services');
        return { status: 202, json: { accepted: true, source: parsed.source, images: parsed.images } };
      },
    },
  };

  async function trigger(what: TriggerKind, service?: string, project?: string): Promise<Reply> {
    const r = await opts.trigger(what, service, project);
    return r.accepted
      ? { status: 202, json: { accepted: true, ...(project ? { project } : {}), ...(service ? { service } : {}) } }
      : { status: 409, json: { accepted: false, reason: r.reason ?? 'not accepted' } };
  }

  function authorize(route: Route, req: IncomingMessage, url: URL, body: Buffer): void {
    if (route.access === 'open') return;
    if (route.access === 'metrics' && token === undefined) return;
    if (token === undefined) throw new HttpError(403, NO_TOKEN);
    const given = bearerToken(header(req, 'authorization'));
    if (given !== undefined && safeEqual(given, token)) return;
    if (route.access === 'hook') {
      const queryToken = url.searchParams.get('token');
      if (queryToken !== null && safeEqual(queryToken, token)) return;
      if (validHubSignature(header(req, 'x-hub-signature-256'), body, token)) return;
    }
    const challenge = given === undefined ? 'Bearer realm="dosync"' : 'Bearer realm="dosync", error="invalid_token"';
    throw new HttpError(401, given === undefined ? 'missing bearer token (Authorization: Bearer <token>)' : 'invalid token', { 'WWW-Authenticate': challenge });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now();
    let status = 500;
    const url = new URL(req.url ?? '/', 'http://dosync.invalid');
    try {
      const route = routes[url.pathname];
      if (!route) throw new HttpError(404, `no such endpoint: ${url.pathname.slice(0, 100)}`);
      const method = req.method === 'HEAD' && route.method === 'GET' ? 'GET' : req.method;
      if (method !== route.method) throw new HttpError(405, `use ${route.method} for ${url.pathname}`, { Allow: route.method === 'GET' ? 'GET, HEAD' : 'POST' });
      // Without a token the protected routes are refused before reading a byte of body.
      if ((route.access === 'token' || route.access === 'hook') && token === undefined) throw new HttpError(403, NO_TOKEN);
      const body = route.method === 'POST' ? await readBody(req, route.access === 'hook' ? HOOK_BODY_LIMIT : BODY_LIMIT) : Buffer.alloc(0);
      authorize(route, req, url, body);
      const reply = await route.handle(req, url, body);
      status = reply.status;
      send(res, reply);
    } catch (err) {
      if (err instanceof HttpError) {
        status = err.status;
        send(res, { status: err.status, json: { error: err.message } }, err.headers);
      } else {
        status = 500;
        opts.logger?.error({ err, path: url.pathname }, 'API request failed');
        send(res, { status: 500, json: { error: 'internal error; see the dosync log' } });
      }
    } finally {
      // The path only: a webhook's query carries the token.
      opts.logger?.debug({ method: req.method, path: url.pathname, status, ms: Date.now() - started }, 'API request');
    }
  }

  const server = createServer((req, res) => void handle(req, res));
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(listenError(err, opts.listen)));
    server.listen(address.port, address.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  const host = address.host === undefined ? '127.0.0.1' : bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  opts.logger?.info({ address: `${address.host ?? '*'}:${bound.port}`, auth: token ? 'token' : 'none (only /healthz and /metrics answer)' }, 'API listening');
  if (!token && !isLoopback(address.host)) {
    opts.logger?.warn({ address: `${address.host ?? '*'}:${bound.port}` }, 'API listens beyond this machine without a token: /metrics is readable by anyone who can reach it; set --api-token');
  }

  return {
    url: `http://${host}:${bound.port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function send(res: ServerResponse, reply: Reply, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  const body = reply.text ?? `${JSON.stringify(reply.json)}\n`;
  res.writeHead(reply.status, {
    'Content-Type': reply.contentType ?? 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    ...headers,
  });
  res.end(body);
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return Promise.reject(new HttpError(413, `the body is larger than ${limit} bytes`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limit) {
        done = true;
        reject(new HttpError(413, `the body is larger than ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!done) resolve(Buffer.concat(chunks));
    });
    req.on('error', (err) => {
      if (!done) reject(err);
      done = true;
    });
  });
}
