/**
 * Fault fixtures: misbehaving registries for the bounds of issue 15. Each is a plain node:http server on
 * loopback that speaks just enough of the distribution API (`/v2/`, `/v2/<name>/tags/list`) to get a
 * client into trouble the way broken or hostile registries do: it drips its answer a byte at a time,
 * loops or grows its Link pages forever, floods one endless page, sends a huge WWW-Authenticate header,
 * or lists tags that are not valid tags. `healthy` serves a plain list (of any size, for the bench).
 * No real registry behaves like this on purpose, so none can stand in for these.
 */
import { createServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import type { Socket } from 'node:net';

export type Fault = 'healthy' | 'drip' | 'stall' | 'loop' | 'grow' | 'slow-pages' | 'flood' | 'huge-header' | 'bad-tags';

export interface FaultOptions {
  /** Port on 127.0.0.1 (0: any free one). */
  port?: number;
  /** `healthy`: the tags listed (default 1.0.0 and 1.1.0). */
  tags?: string[];
  /** `drip`: milliseconds between two bytes (default 1000, the issue's 1 byte/s). */
  dripMs?: number;
  /** `grow` and `slow-pages`: tags per page (default 20,000 and 1000: the registry ignores `n`). */
  pageTags?: number;
  /** `slow-pages`: milliseconds before each page after the first (default 500). */
  pageDelayMs?: number;
}

export interface FaultRegistry {
  host: string;
  fault: Fault;
  /** Tag-list requests received. */
  tagRequests: number;
  /** Tag-list answers the client stopped reading before the fixture had sent all of it (drip, flood). */
  abandoned: number;
  /** Connections open right now. */
  openConnections(): number;
  /** Resolves once a tag-list request is being answered (the client is waiting on it). */
  listing(): Promise<void>;
  stop(): Promise<void>;
}

const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
};

/** Writes `chunk` again and again as fast as the client reads, until it goes away. */
function floodForever(res: ServerResponse, chunk: Buffer, onAbandoned: () => void): void {
  const pump = () => {
    while (!res.destroyed && res.write(chunk));
  };
  res.on('drain', pump);
  res.on('close', () => { if (!res.writableEnded) onAbandoned(); });
  pump();
}

export async function startFaultRegistry(fault: Fault, opts: FaultOptions = {}): Promise<FaultRegistry> {
  const sockets = new Set<Socket>();
  let listingSeen!: () => void;
  const listingStarted = new Promise<void>((resolve) => { listingSeen = resolve; });
  const timers = new Set<NodeJS.Timeout>();
  const fx: FaultRegistry = {
    host: '', fault, tagRequests: 0, abandoned: 0,
    openConnections: () => sockets.size,
    listing: () => listingStarted,
    stop: async () => undefined,
  };
  const abandoned = () => { fx.abandoned++; };

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://fixture');
    if (url.pathname === '/v2/' || url.pathname === '/v2') {
      if (fault === 'huge-header') {
        // 200 KiB of challenge: more than any HTTP client reads as headers.
        res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${fx.host}/token",service="fixture",scope="${'a'.repeat(200 * 1024)}"` });
        res.end();
        return;
      }
      send(res, 200, {});
      return;
    }
    const m = /^\/v2\/(.+)\/tags\/list$/.exec(url.pathname);
    if (!m) { send(res, 404, { errors: [{ code: 'NOT_FOUND' }] }); return; }
    fx.tagRequests++;
    listingSeen();
    const name = m[1];
    switch (fault) {
      case 'healthy':
      case 'huge-header': {
        const tags = opts.tags ?? ['1.0.0', '1.1.0'];
        // Built as one string: a million-tag list is answered without an array of a million JSON strings.
        const body = `{"name":${JSON.stringify(name)},"tags":[${tags.map((t) => `"${t}"`).join(',')}]}`;
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) });
        res.end(body);
        return;
      }
      case 'bad-tags':
        send(res, 200, { name, tags: ['1.0.0', '1.0.1', '9'.repeat(5000), '2.0.0\u001b[2J\u001b[31mowned', '1.5.0\nwith-newline', '-1.9.0', ''] });
        return;
      case 'stall':
        // Headers never come; the connection stays open.
        return;
      case 'drip': {
        const body = Buffer.from(`{"name":${JSON.stringify(name)},"tags":[${Array.from({ length: 1000 }, (_, i) => `"1.0.${i}"`).join(',')}]}`);
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(body.length) });
        let at = 0;
        const timer = setInterval(() => {
          if (res.destroyed) return;
          res.write(body.subarray(at, at + 1));
          if (++at >= body.length) { clearInterval(timer); res.end(); }
        }, opts.dripMs ?? 1000);
        timers.add(timer);
        res.on('close', () => { clearInterval(timer); if (at < body.length) abandoned(); });
        return;
      }
      case 'flood': {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write(`{"name":${JSON.stringify(name)},"tags":[`);
        let n = 0;
        const chunk = Buffer.from(Array.from({ length: 4096 }, () => `"9.9.${n++}",`).join(''));
        floodForever(res, chunk, abandoned);
        return;
      }
      case 'loop':
        send(res, 200, { name, tags: ['1.0.0'] }, { link: `</v2/${name}/tags/list?n=1000&last=x>; rel="next"` });
        return;
      case 'grow':
      case 'slow-pages': {
        const page = Number(url.searchParams.get('page') ?? '0');
        const count = opts.pageTags ?? (fault === 'grow' ? 20_000 : 1000);
        const body = { name, tags: Array.from({ length: count }, (_, i) => `${page}.${i}.0`) };
        const next = { link: `</v2/${name}/tags/list?n=1000&page=${page + 1}>; rel="next"` };
        if (fault === 'grow' || page === 0) { send(res, 200, body, next); return; }
        const timer = setTimeout(() => { timers.delete(timer); if (!res.destroyed) send(res, 200, body, next); }, opts.pageDelayMs ?? 500);
        timers.add(timer);
        return;
      }
    }
  };

  const server: Server = createServer(handler);
  server.on('connection', (s: Socket) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  fx.host = `127.0.0.1:${(server.address() as { port: number }).port}`;
  fx.stop = async () => {
    for (const t of timers) { clearInterval(t); clearTimeout(t); }
    server.closeAllConnections();
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  };
  return fx;
}
