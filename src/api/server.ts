/**
 * The HTTP endpoint (off unless `--listen` is given), on node:http: six routes need no framework.
 *
 *   GET  /healthz                 open to all: 200 {"status":"ok"} or 503 {"status":"unhealthy","reason"}
 *   GET  /metrics                 Prometheus text; needs the token when one is configured
 *   GET  /v1/status               services, current/available tags, last results
 *   POST /v1/check[?project=][&service=]   trigger a check cycle now              -> 202, or 409 + reason
 *   POST /v1/update[?project=][&service=]  an update cycle (of one project / service) -> 202, or 409 + reason
 *   POST /v1/hooks/registry       registry push webhook -> check affected services -> 202 {"images":[...]}
 *   POST /v1/approve|skip|rollback|retry|pause|resume   a person's action (src/sync/control.ts) -> 200/202, 4xx + reason
 *                                 (whole host: `project` names the project; the daemon routes it)
 *   GET  /v1/events               server-sent events: `status` (the /v1/status document) on each change
 *   GET  /                        the dashboard (src/dashboard/), sign-in page until signed in
 *   GET  /service?service=NAME    the dashboard's view of one service (history, tags, every action)
 *   POST /login, /logout          the API token for an HttpOnly SameSite=Strict session cookie (src/api/sessions.ts)
 *
 * Roles: the API token may do everything; `api_token_readonly` may read (status, events, dashboard) only.
 * A session cookie stands for the token it was signed in with; with a cookie every POST needs the session's
 * CSRF token (header `X-CSRF-Token` or form field `csrf`), bearer tokens need none (no browser sends them).
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
import { Sessions, sessionCookie, type Role, type Session } from './sessions.js';
import { buildStatusDoc, type ServiceStatus as DocServiceStatus, type StatusDoc as DocStatusDoc } from './status-doc.js';
import { parseAction, type Action, type ActionResult } from '../sync/control.js';
import { dashboardPage, findService, loginPage, noServicePage, serviceFragment, servicePage, servicesFragment, type DashboardBackup, type PageNotice } from '../dashboard/page.js';
import { ASSET_CACHE, DASHBOARD_CSS, DASHBOARD_JS } from '../dashboard/assets.js';

/** A socket that cannot be bound is the user's setting, said in one line (the daemon does not start without its API). */
function listenError(err: NodeJS.ErrnoException, listen: string): Error {
  if (err.code === 'EADDRINUSE') return new ConfigError(`--listen ${listen}: the port is already in use; stop what listens there or pick another port`);
  if (err.code === 'EACCES') return new ConfigError(`--listen ${listen}: not allowed to listen on this port (ports below 1024 need privileges); pick another port`);
  if (err.code === 'EADDRNOTAVAIL') return new ConfigError(`--listen ${listen}: this machine has no such address; use 127.0.0.1, :PORT or one of its addresses`);
  return err;
}

export type ServiceStatus = DocServiceStatus;
export type StatusDoc = DocStatusDoc;
export { buildStatusDoc };

export type TriggerKind = 'check' | 'update';

export interface ApiServerOptions {
  /** "127.0.0.1:9180", "[::1]:9180", ":9180" (every interface); port 0 picks a free one. */
  listen: string;
  token?: string;
  /** May read (status, events, dashboard), never change. */
  readonlyToken?: string;
  /** The dashboard's public address; an https one makes the session cookie Secure. */
  publicUrl?: string;
  /** A person's action (dashboard, API); absent: those routes answer 404. */
  act?: (action: Action) => Promise<ActionResult>;
  /** Subscribes to state changes (the events stream); returns the unsubscribe. */
  onChange?: (listener: () => void) => () => void;
  /** Where dashboard sessions are kept across restarts (hashed, 0600); absent: in memory only. */
  sessionsFile?: string;
  /** Backups to list on the dashboard, newest first (a whole-host daemon's name their project). */
  backups?: () => Promise<DashboardBackup[]>;
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
  /** Who may call: anyone, metrics rules, a reader (either token), a writer (the API token), a webhook, a page. */
  access: 'open' | 'metrics' | 'token' | 'write' | 'hook' | 'page';
  handle(req: IncomingMessage, url: URL, body: Buffer, who: Who): Promise<Reply>;
}

interface Who { role: Role; session?: Session }

interface Reply {
  status: number;
  json?: unknown;
  text?: string;
  contentType?: string;
  headers?: Record<string, string>;
  /** Server-sent events: the handler keeps the response. */
  stream?: (res: ServerResponse) => void;
}

const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
const HTML = 'text/html; charset=utf-8';
const MAX_EVENT_CLIENTS = 32;

export async function startApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  const address = parseListen(opts.listen);
  const token = opts.token && opts.token.length > 0 ? opts.token : undefined;
  const readonlyToken = token && opts.readonlyToken && opts.readonlyToken.length > 0 && opts.readonlyToken !== token ? opts.readonlyToken : undefined;
  const sessions = await Sessions.open(opts.sessionsFile, { onSaveError: (err) => opts.logger?.warn({ err }, 'dashboard sessions could not be saved; a restart signs the dashboard out') });
  const secureCookie = opts.publicUrl?.startsWith('https:') ?? false;
  const eventClients = new Set<ServerResponse>();
  const statusDoc = async (): Promise<StatusDoc> => opts.status();
  const pageModel = async (who: Who, message?: string) => ({
    doc: pageDoc(await statusDoc()), role: who.role, csrf: who.session?.csrf ?? '', message, backups: await opts.backups?.().catch(() => undefined),
  });
  const act = async (action: Action, req: IncomingMessage, back?: string): Promise<Reply> => {
    if (!opts.act) throw new HttpError(404, `no such endpoint: /v1/${action.kind}`);
    const r = await opts.act(action);
    const json = r.ok ? { ok: true, message: r.message, ...(r.queued ? { queued: true } : {}) } : { ok: false, error: r.message };
    // A plain form post (no script) is answered with the page again, saying what happened.
    if (!wantsJson(req)) return { status: 303, text: '', headers: { Location: backTo(back, r.message) } };
    return { status: r.ok ? (r.queued ? 202 : 200) : r.status, json };
  };
  const actionRoute = (kind: Action['kind']): Route => ({
    method: 'POST',
    access: 'write',
    async handle(req, url, body) {
      const fields = { ...Object.fromEntries(url.searchParams), ...bodyFields(req, body) };
      const { csrf: _csrf, back, ...rest } = fields;
      projectField(rest);
      const parsed = parseAction({ ...rest, kind });
      if (!parsed.ok) throw new HttpError(400, parsed.reason);
      return act(parsed.action, req, back);
    },
  });

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
      access: 'write',
      async handle(req, url, body) {
        const fields = { ...Object.fromEntries(url.searchParams), ...bodyFields(req, body) };
        const service = fields.service;
        if (service !== undefined && !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(service)) throw new HttpError(400, '"service" must be a compose service name');
        return formAware(req, await trigger('check', service, projectField(fields)), fields.back);
      },
    },
    '/v1/update': {
      method: 'POST',
      access: 'write',
      async handle(req, url, body) {
        const fields = { ...Object.fromEntries(url.searchParams), ...bodyFields(req, body) };
        const service = fields.service;
        if (service !== undefined && !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(service)) throw new HttpError(400, '"service" must be a compose service name');
        // Whole-host daemon: ?project= names the compose project (with or without ?service=).
        const project = projectField(fields);
        // With a tag: that service to that tag, past its policy (health gate and rollback kept).
        if (fields.tag !== undefined && service !== undefined && opts.act) {
          const parsed = parseAction({ kind: 'update', service, tag: fields.tag, ...(project ? { project } : {}) });
          if (!parsed.ok) throw new HttpError(400, parsed.reason);
          return act(parsed.action, req, fields.back);
        }
        return formAware(req, await trigger('update', service, project), fields.back);
      },
    },
    '/v1/approve': actionRoute('approve'),
    '/v1/skip': actionRoute('skip'),
    '/v1/rollback': actionRoute('rollback'),
    '/v1/retry': actionRoute('retry'),
    '/v1/pause': actionRoute('pause'),
    '/v1/resume': actionRoute('resume'),
    '/v1/events': {
      method: 'GET',
      access: 'token',
      async handle() {
        if (eventClients.size >= MAX_EVENT_CLIENTS) throw new HttpError(503, `too many event streams open (${MAX_EVENT_CLIENTS}); close a dashboard tab`);
        return { status: 200, stream: (res) => openEvents(res) };
      },
    },
    '/': {
      method: 'GET',
      access: 'page',
      async handle(_req, url, _body, who) {
        const message = url.searchParams.get('message')?.slice(0, 300) ?? undefined;
        return { status: 200, text: dashboardPage(await pageModel(who, message)), contentType: HTML, headers: { 'Content-Security-Policy': CSP } };
      },
    },
    // ---- dashboard views of one service (src/dashboard/page.ts)
    '/service': {
      method: 'GET',
      access: 'page',
      async handle(_req, url, _body, who) {
        const model = await pageModel(who, url.searchParams.get('message')?.slice(0, 300) ?? undefined);
        const name = url.searchParams.get('service') ?? '';
        const s = findService(model.doc, name, url.searchParams.get('project') ?? undefined);
        return { status: s ? 200 : 404, text: s ? servicePage(model, s) : noServicePage(model, name.slice(0, 100)), contentType: HTML, headers: { 'Content-Security-Policy': CSP } };
      },
    },
    '/fragment/service': {
      method: 'GET',
      access: 'token',
      async handle(_req, url, _body, who) {
        const model = await pageModel(who);
        const s = findService(model.doc, url.searchParams.get('service') ?? '', url.searchParams.get('project') ?? undefined);
        if (!s) throw new HttpError(404, 'no such service');
        return { status: 200, text: serviceFragment(model, s), contentType: HTML };
      },
    },
    // ---- end of the views of one service
    '/fragment/services': {
      method: 'GET',
      access: 'token',
      async handle(_req, _url, _body, who) {
        return { status: 200, text: servicesFragment(await pageModel(who)), contentType: HTML };
      },
    },
    '/login': {
      method: 'POST',
      access: 'open',
      async handle(req, _url, body): Promise<Reply> {
        if (token === undefined) return { status: 403, text: loginPage({ disabled: true }), contentType: HTML, headers: { 'Content-Security-Policy': CSP } };
        const given = bodyFields(req, body).token ?? '';
        const role: Role | undefined = safeEqual(given, token) ? 'admin' : readonlyToken && safeEqual(given, readonlyToken) ? 'readonly' : undefined;
        if (!role) {
          opts.logger?.warn({ path: '/login' }, 'dashboard sign-in with a wrong token');
          return { status: 401, text: loginPage({ error: 'That token is not valid.' }), contentType: HTML, headers: { 'Content-Security-Policy': CSP } };
        }
        const { id } = sessions.create(role);
        return { status: 303, text: '', headers: { Location: '/', 'Set-Cookie': sessionCookie(id, secureCookie) } };
      },
    },
    '/logout': {
      method: 'POST',
      access: 'token',
      async handle(_req, _url, _body, who) {
        if (who.session) sessions.end(who.session.key);
        return { status: 303, text: '', headers: { Location: '/', 'Set-Cookie': sessionCookie(undefined, secureCookie) } };
      },
    },
    '/assets/dashboard.js': {
      method: 'GET',
      access: 'open',
      async handle() {
        return { status: 200, text: DASHBOARD_JS, contentType: 'text/javascript; charset=utf-8', headers: { 'Cache-Control': ASSET_CACHE } };
      },
    },
    '/assets/dashboard.css': {
      method: 'GET',
      access: 'open',
      async handle() {
        return { status: 200, text: DASHBOARD_CSS, contentType: 'text/css; charset=utf-8', headers: { 'Cache-Control': ASSET_CACHE } };
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

  function formAware(req: IncomingMessage, reply: Reply, back?: string): Reply {
    if (wantsJson(req)) return reply;
    const j = reply.json as { accepted?: boolean; reason?: string };
    return { status: 303, text: '', headers: { Location: backTo(back, j.accepted ? 'A cycle runs now.' : j.reason ?? 'refused') } };
  }

  function openEvents(res: ServerResponse): void {
    res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff', Connection: 'keep-alive' });
    eventClients.add(res);
    let timer: NodeJS.Timeout | undefined;
    let closed = false;
    const push = () => {
      // Changes come in bursts (a journal step saves twice): one event per 150 ms is plenty for a person.
      if (timer || closed) return;
      timer = setTimeout(() => {
        timer = undefined;
        void statusDoc().then((doc) => { if (!closed) res.write(`event: status\ndata: ${JSON.stringify(doc)}\n\n`); }, () => undefined);
      }, 150);
    };
    const unsubscribe = opts.onChange?.(push) ?? (() => undefined);
    const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
    keepAlive.unref();
    push();
    res.on('close', () => {
      closed = true;
      if (timer) clearTimeout(timer);
      clearInterval(keepAlive);
      unsubscribe();
      eventClients.delete(res);
    });
  }

  async function trigger(what: TriggerKind, service?: string, project?: string): Promise<Reply> {
    const r = await opts.trigger(what, service, project);
    return r.accepted
      ? { status: 202, json: { accepted: true, ...(project ? { project } : {}), ...(service ? { service } : {}) } }
      : { status: 409, json: { accepted: false, reason: r.reason ?? 'not accepted' } };
  }

  function authorize(route: Route, req: IncomingMessage, url: URL, body: Buffer): Who {
    const admin: Who = { role: 'admin' };
    if (route.access === 'open') return admin;
    if (route.access === 'metrics' && token === undefined) return admin;
    if (token === undefined) throw new HttpError(403, NO_TOKEN);
    const given = bearerToken(header(req, 'authorization'));
    if (given !== undefined && safeEqual(given, token)) return admin;
    const writes = route.access === 'write' || route.access === 'hook';
    if (given !== undefined && readonlyToken && safeEqual(given, readonlyToken)) {
      if (writes) throw new HttpError(403, 'the read-only token cannot change anything; use the API token');
      return { role: 'readonly' };
    }
    const session = given === undefined && route.access !== 'hook' ? sessions.fromCookie(header(req, 'cookie')) : undefined;
    if (session) {
      if (writes && session.role !== 'admin') throw new HttpError(403, 'signed in with the read-only token: this cannot change anything');
      if (req.method === 'POST' && !Sessions.csrfValid(session, header(req, 'x-csrf-token') ?? bodyFields(req, body).csrf)) {
        throw new HttpError(403, 'missing or wrong CSRF token; reload the page');
      }
      return { role: session.role, session };
    }
    if (route.access === 'hook') {
      const queryToken = url.searchParams.get('token');
      if (queryToken !== null && safeEqual(queryToken, token)) return admin;
      if (validHubSignature(header(req, 'x-hub-signature-256'), body, token)) return admin;
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
      if ((route.access === 'token' || route.access === 'write' || route.access === 'hook') && token === undefined) throw new HttpError(403, NO_TOKEN);
      const body = route.method === 'POST' ? await readBody(req, route.access === 'hook' ? HOOK_BODY_LIMIT : BODY_LIMIT) : Buffer.alloc(0);
      let who: Who;
      if (route.access === 'page') {
        // The page: the sign-in form until signed in (a browser cannot send a bearer token by itself).
        const session = token === undefined ? undefined : sessions.fromCookie(header(req, 'cookie'));
        const bearer = bearerToken(header(req, 'authorization'));
        const role: Role | undefined = session?.role ?? (bearer && token && safeEqual(bearer, token) ? 'admin' : bearer && readonlyToken && safeEqual(bearer, readonlyToken) ? 'readonly' : undefined);
        if (!role) {
          status = token === undefined ? 403 : 200;
          send(res, { status, text: loginPage({ disabled: token === undefined }), contentType: HTML }, { 'Content-Security-Policy': CSP });
          return;
        }
        who = { role, session };
      } else {
        who = authorize(route, req, url, body);
      }
      const reply = await route.handle(req, url, body, who);
      status = reply.status;
      if (reply.stream) { reply.stream(res); return; }
      send(res, reply, reply.headers);
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
        for (const c of eventClients) c.end();
        server.close((err) => (err ? reject(err) : void sessions.flush().then(resolve)));
        server.closeAllConnections();
      }),
  };
}

/**
 * The document the dashboard renders. A whole-host one is flattened: every project's services in one list
 * (each names its project), and what needs attention (a project that did not run, a stack with no file).
 */
export function pageDoc(doc: StatusDoc): StatusDoc {
  if (!Array.isArray(doc.projects)) return doc;
  const projects = doc.projects as StatusDoc[];
  const pausedProjects = projects.filter((p) => p.paused).map((p) => p.project);
  // What the host cannot look after: a project that did not run (its error) and a stack with no file known.
  const stacks = Array.isArray(doc.unconfiguredStacks) ? (doc.unconfiguredStacks as Array<{ stack: string; hint: string }>) : [];
  const notices: PageNotice[] = [
    ...projects.flatMap((p) => (typeof p.error === 'string' ? [{ what: `Project ${p.project}`, text: p.error }] : [])),
    ...stacks.map((s) => ({ what: `Stack ${s.stack}`, text: `not looked after: ${s.hint}` })),
  ];
  return { ...doc, services: projects.flatMap((p) => p.services), projectNames: projects.map((p) => p.project), pausedProjects, paused: projects.length > 0 && pausedProjects.length === projects.length, notices };
}

/** Whole-host daemon: the `project` field (query or body) names a compose project; checked here, routed by the daemon. */
function projectField(fields: Record<string, string>): string | undefined {
  const project = fields.project;
  if (project === '') { delete fields.project; return undefined; }
  if (project !== undefined && !/^[a-z0-9][a-z0-9_-]*$/.test(project)) throw new HttpError(400, '"project" must be a compose project name');
  return project;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The fields of a form-encoded or JSON object body (strings only); empty for anything else. */
function bodyFields(req: IncomingMessage, body: Buffer): Record<string, string> {
  if (body.length === 0) return {};
  const type = (header(req, 'content-type') ?? '').toLowerCase();
  if (type.startsWith('application/x-www-form-urlencoded')) return Object.fromEntries(new URLSearchParams(body.toString('utf8')));
  if (type.startsWith('application/json') || type === '') {
    try {
      const parsed = JSON.parse(body.toString('utf8')) as unknown;
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
        return Object.fromEntries(Object.entries(parsed).filter((e): e is [string, string] => typeof e[1] === 'string'));
      }
    } catch {
      throw new HttpError(400, 'the body is not valid JSON');
    }
  }
  return {};
}

/**
 * Where a plain form post goes back to, with what happened: the dashboard view it came from (the form's
 * `back` field), only ever a path of this server's own views, else the list.
 */
export function backTo(back: string | undefined, message: string): string {
  const path = back !== undefined && /^\/(service\?[A-Za-z0-9_.=&%-]*)?$/.test(back) ? back : '/';
  return `${path}${path.includes('?') ? '&' : '?'}message=${encodeURIComponent(message)}`;
}

/** A script's fetch asks for JSON; a plain form post (no script) gets a redirect to the page. */
function wantsJson(req: IncomingMessage): boolean {
  const type = (header(req, 'content-type') ?? '').toLowerCase();
  if (!type.startsWith('application/x-www-form-urlencoded')) return true;
  return (header(req, 'accept') ?? '').includes('application/json');
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
