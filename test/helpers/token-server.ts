/**
 * A token server for the CNCF registry's `auth: token` mode, issuing real signed JWTs the way
 * distribution verifies them (registry/auth/token/token.go): header `alg` RS256 or ES256 with
 * either `x5c` (the signing certificate, verified against `rootcertbundle`) or `kid` (the libtrust
 * fingerprint of a key in `rootcertbundle`), claims iss/sub/aud/exp/nbf/iat/jti and `access`.
 * `startTokenAuthRegistry` then runs `docker-registry serve` on a free port pointing at it.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createHash, createPrivateKey, randomUUID, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createNetServer } from 'node:net';

export type SigningMode = 'x5c' | 'kid';
export type Algorithm = 'RS256' | 'ES256';

export interface TokenServerOptions {
  /** username -> password accepted with Basic auth (and by docker login). */
  users: Record<string, string>;
  /** OAuth2 refresh tokens (docker config `identitytoken`) -> username, for POST grant_type=refresh_token. */
  refreshTokens?: Record<string, string>;
  /** Repositories anonymous clients may pull. Authenticated users may pull and push everything. */
  publicRepositories?: string[];
  signing: SigningMode;
  alg: Algorithm;
  /** `expires_in` announced and `exp` claim, seconds (default 300). */
  lifetimeS?: number;
  /** Which field(s) carry the token in the answer (default both, as Docker Hub does). */
  field?: 'token' | 'access_token' | 'both';
  service?: string;
  issuer?: string;
}

export interface TokenRequestRecord {
  method: string;
  user?: string;
  scopes: string[];
  /** The `access` granted, as `name:actions` strings. */
  granted: string[];
  status: number;
}

export interface TokenServer {
  realm: string;
  service: string;
  issuer: string;
  /** PEM file for the registry's `rootcertbundle`. */
  certPath: string;
  requests: TokenRequestRecord[];
  /** The next N tokens are issued already expired (exp two minutes ago, beyond distribution's 60 s leeway) while announcing a normal expires_in. */
  expireNext(n: number): void;
  close(): Promise<void>;
}

/** Starts the token server on 127.0.0.1 with a fresh key and self-signed certificate made by openssl. */
export async function startTokenServer(opts: TokenServerOptions): Promise<TokenServer> {
  const dir = mkdtempSync(join(tmpdir(), 'dosync-token-'));
  const keyPath = join(dir, 'key.pem');
  const certPath = join(dir, 'cert.pem');
  const keyArgs = opts.alg === 'ES256' ? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'] : ['-newkey', 'rsa:2048'];
  execFileSync('openssl', ['req', '-x509', ...keyArgs, '-nodes', '-keyout', keyPath, '-out', certPath, '-days', '2', '-subj', '/CN=dosync test token issuer'], { stdio: 'ignore' });
  const privateKey = createPrivateKey(readFileSync(keyPath));
  const cert = new X509Certificate(readFileSync(certPath));
  const service = opts.service ?? 'dosync-token-registry';
  const issuer = opts.issuer ?? 'dosync-test-issuer';
  const lifetimeS = opts.lifetimeS ?? 300;
  const requests: TokenRequestRecord[] = [];
  let expiredToIssue = 0;

  const header: Record<string, unknown> = { typ: 'JWT', alg: opts.alg };
  if (opts.signing === 'x5c') header.x5c = [cert.raw.toString('base64')];
  else header.kid = libtrustKeyId(cert.publicKey);

  const issue = (user: string | undefined, access: Array<{ type: string; name: string; actions: string[] }>): string => {
    const now = Math.floor(Date.now() / 1000);
    const expired = expiredToIssue > 0;
    if (expired) expiredToIssue--;
    const claims = {
      iss: issuer,
      sub: user ?? '',
      aud: service,
      exp: expired ? now - 120 : now + lifetimeS,
      nbf: now - 5,
      iat: now,
      jti: randomUUID(),
      access,
    };
    const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    return `${signingInput}.${b64url(signJose(opts.alg, privateKey, signingInput))}`;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://token.invalid');
    if (url.pathname !== '/token') return reply(res, 404, { details: 'not found' });
    let user: string | undefined;
    let scopes: string[];
    const record = (status: number, granted: string[] = []) => requests.push({ method: req.method ?? '', user, scopes, granted, status });
    if (req.method === 'POST') {
      const form = new URLSearchParams(await readBody(req));
      scopes = (form.get('scope') ?? '').split(' ').filter(Boolean);
      if (form.get('grant_type') === 'refresh_token') user = opts.refreshTokens?.[form.get('refresh_token') ?? ''];
      else if (form.get('grant_type') === 'password' && opts.users[form.get('username') ?? ''] === form.get('password')) user = form.get('username') ?? undefined;
      if (!user) {
        record(401);
        return reply(res, 401, { details: 'invalid grant' });
      }
    } else {
      scopes = url.searchParams.getAll('scope');
      const auth = req.headers.authorization;
      if (auth !== undefined) {
        const m = /^Basic (.+)$/i.exec(auth);
        const decoded = m ? Buffer.from(m[1]!, 'base64').toString('utf8') : '';
        const sep = decoded.indexOf(':');
        const name = decoded.slice(0, sep);
        if (sep < 0 || opts.users[name] === undefined || opts.users[name] !== decoded.slice(sep + 1)) {
          record(401);
          return reply(res, 401, { details: 'invalid username or password' });
        }
        user = name;
      }
    }
    const access = scopes.flatMap((s) => grant(s, user, opts.publicRepositories ?? []));
    const token = issue(user, access);
    record(200, access.map((a) => `${a.name}:${a.actions.join(',')}`));
    const body: Record<string, unknown> = { expires_in: lifetimeS, issued_at: new Date().toISOString() };
    if (opts.field !== 'access_token') body.token = token;
    if (opts.field !== 'token') body.access_token = token;
    reply(res, 200, body);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err) => reply(res, 500, { details: String(err) }));
  });
  server.keepAliveTimeout = 120_000; // as protocol-fixtures.ts: no idle close racing the client's reuse under load
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    certPath,
    requests,
    expireNext: (n) => {
      expiredToIssue = n;
    },
    close: async () => {
      await closeServer(server);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface TokenAuthRegistry {
  /** `127.0.0.1:<port>`, usable in image references. */
  host: string;
  stop(): Promise<void>;
}

/** Runs `docker-registry serve` with `auth.token` pointing at the token server, on a free loopback port. */
export function startTokenAuthRegistry(tokens: TokenServer): Promise<TokenAuthRegistry> {
  return onFreePort((port) => startTokenAuthRegistryOn(tokens, port), 'docker-registry with token auth');
}

async function startTokenAuthRegistryOn(tokens: TokenServer, port: number): Promise<TokenAuthRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'dosync-token-registry-'));
  mkdirSync(join(dir, 'data'));
  const config = [
    'version: 0.1',
    'log: { level: warn }',
    'storage:',
    `  filesystem: { rootdirectory: ${join(dir, 'data')} }`,
    'http:',
    `  addr: 127.0.0.1:${port}`,
    'auth:',
    '  token:',
    `    realm: ${tokens.realm}`,
    `    service: ${tokens.service}`,
    `    issuer: ${tokens.issuer}`,
    `    rootcertbundle: ${tokens.certPath}`,
    '',
  ].join('\n');
  writeFileSync(join(dir, 'config.yml'), config);
  const child: ChildProcess = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  // Its last words (a port already in use) may still be on their way when it has exited.
  const closed = new Promise((r) => child.once('close', r));
  const host = `127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  // A hang guard, not a speed limit: on a loaded machine docker-registry can take many seconds to listen.
  for (const giveUp = Date.now() + 60_000; Date.now() < giveUp;) {
    if (child.exitCode !== null) {
      await Promise.race([closed, new Promise((r) => setTimeout(r, 5000))]);
      break;
    }
    try {
      const res = await fetch(`http://${host}/v2/`);
      await res.arrayBuffer();
      // Still running: the answer is its own, not another server's that took the port.
      if (res.status === 401 && child.exitCode === null) return { host, stop };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error(`docker-registry with token auth did not start on ${host}: ${stderr}`);
}

/** The access a token grants for one requested scope (`repository:name:actions`). */
function grant(scope: string, user: string | undefined, publicRepositories: string[]): Array<{ type: string; name: string; actions: string[] }> {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first < 0 || last <= first) return [];
  const type = scope.slice(0, first);
  const name = scope.slice(first + 1, last);
  const wanted = scope.slice(last + 1).split(',');
  if (type !== 'repository') return [];
  const allowed = user !== undefined ? ['pull', 'push'] : publicRepositories.includes(name) ? ['pull'] : [];
  const actions = wanted.filter((a) => allowed.includes(a));
  return actions.length > 0 ? [{ type, name, actions }] : [];
}

function signJose(alg: Algorithm, key: KeyObject, input: string): Buffer {
  // JOSE ECDSA signatures are R||S (IEEE P1363), not DER; libtrust verifies exactly that.
  return alg === 'ES256' ? sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }) : sign('sha256', Buffer.from(input), key);
}

/**
 * libtrust's key ID, which distribution 2.x uses as `kid`: SHA-256 of the DER SubjectPublicKeyInfo,
 * first 240 bits, base32 without padding, in colon-separated groups of four.
 */
export function libtrustKeyId(publicKey: KeyObject): string {
  const der = publicKey.export({ type: 'spki', format: 'der' });
  const digest = createHash('sha256').update(der).digest().subarray(0, 30);
  return base32(digest).match(/.{1,4}/g)!.join(':');
}

function base32(buf: Buffer): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of buf) {
    value = ((value << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
  return out;
}

function b64url(data: string | Buffer): string {
  return Buffer.from(data).toString('base64url');
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/**
 * Starts a server that binds a port itself (docker-registry) on a port that was free a moment ago, and again
 * on another when it lost the port in between: with test files running side by side, the port can be taken as
 * the source port of any connection or by another bind to port 0 before the server binds it.
 */
export async function onFreePort<T>(start: (port: number) => Promise<T>, what: string): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      return await start(port);
    } catch (err) {
      if (attempt >= 5 || !/address already in use/i.test(String(err))) throw err;
      console.error(`# ${what}: port ${port} was taken before it could bind it; trying another`);
    }
  }
}

/** A port that was free a moment ago (the registry binds it itself: see onFreePort). */
export async function freePort(): Promise<number> {
  const srv = createNetServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as { port: number }).port;
  await new Promise((resolve) => srv.close(resolve));
  return port;
}
