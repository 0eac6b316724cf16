/**
 * Protocol fixtures for the cloud registries this machine cannot reach: local HTTP(S) servers that
 * record every request and answer from a handler, plus the pieces several fixtures share (SigV4
 * verification for the ECR API, Google service-account keys and their RS256 assertions, the Entra
 * ID OpenID configuration, ACR refresh tokens), a test CA, and an undici Agent that routes real
 * registry host names to the fixtures the way an /etc/hosts entry would.
 */
import { createHash, createHmac, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { Agent, buildConnector } from 'undici';

export interface Seen {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface Fixture {
  /** `http(s)://127.0.0.1:<port>` */
  origin: string;
  /** `127.0.0.1:<port>` */
  host: string;
  port: number;
  seen: Seen[];
}

export type Handler = (req: Seen, res: ServerResponse, fx: Fixture) => void;

export interface TlsFiles {
  key: string;
  cert: string;
}

const servers: Server[] = [];

/** A recording HTTP server (HTTPS with `tls`) on a free loopback port; a handler that throws answers 500. */
export async function fixture(handler: Handler, tls?: TlsFiles): Promise<Fixture> {
  const fx: Fixture = { origin: '', host: '', port: 0, seen: [] };
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const seen: Seen = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      fx.seen.push(seen);
      try {
        handler(seen, res, fx);
      } catch (err) {
        json(res, 500, { error: String(err) });
      }
    });
  };
  const server = tls ? createHttpsServer(tls, onRequest) : createServer(onRequest);
  // Node closes an idle keep-alive socket after 5 s, the client keeps it ~4 s by its own coarse timers: on a busy
  // machine a request can take a socket the server has just closed, and the client's (correct) retry would make
  // the exact request counts of the tests one higher. Registries keep idle connections far longer (nginx 75 s,
  // Go's net/http without limit), so the fixtures do too. (The 10-listings failure of CI under load was another
  // cause: see src/registry/shared-listings.ts.)
  server.keepAliveTimeout = 120_000;
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fx.port = (server.address() as { port: number }).port;
  fx.host = `127.0.0.1:${fx.port}`;
  fx.origin = `${tls ? 'https' : 'http'}://${fx.host}`;
  return fx;
}

/** Closes every fixture this process started (call from `after`). */
export async function closeFixtures(): Promise<void> {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
}

export function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

export const form = (body: string): Record<string, string> => Object.fromEntries(new URLSearchParams(body));
export const b64 = (s: string): string => Buffer.from(s).toString('base64');

// ---------------------------------------------------------------------------------------------
// AWS

/** SigV4 as AWS documents it, to check what the SDK signed (the fixture, not the product, needs this). */
export function sigV4Valid(req: Seen, secret: string): { ok: boolean; region?: string; service?: string; accessKeyId?: string } {
  const auth = String(req.headers.authorization ?? '');
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(auth);
  if (!m) return { ok: false };
  const [, accessKeyId, date, region, service, signedHeaders, signature] = m as unknown as string[];
  const amzDate = String(req.headers['x-amz-date']);
  const canonicalHeaders = signedHeaders!.split(';').map((h) => `${h}:${String(req.headers[h]).trim().replace(/\s+/g, ' ')}\n`).join('');
  const [path, query = ''] = req.path.split('?');
  const canonicalQuery = query.split('&').filter(Boolean).sort().join('&');
  const canonicalRequest = [req.method, path, canonicalQuery, canonicalHeaders, signedHeaders, createHash('sha256').update(req.body).digest('hex')].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, createHash('sha256').update(canonicalRequest).digest('hex')].join('\n');
  let key: Buffer = createHmac('sha256', `AWS4${secret}`).update(date!).digest();
  for (const part of [region!, service!, 'aws4_request']) key = createHmac('sha256', key).update(part).digest();
  const expected = createHmac('sha256', key).update(toSign).digest('hex');
  return { ok: expected === signature, region, service, accessKeyId };
}

// ---------------------------------------------------------------------------------------------
// Google

/** A service-account key file's JSON, as the Cloud console downloads it (with our token_uri). */
export function serviceAccountKey(opts: { privateKey: KeyObject; email: string; keyId: string; projectId: string; tokenUri: string }): Record<string, unknown> {
  return {
    type: 'service_account',
    project_id: opts.projectId,
    private_key_id: opts.keyId,
    private_key: opts.privateKey.export({ type: 'pkcs8', format: 'pem' }),
    client_email: opts.email,
    client_id: '100000000000000000001',
    auth_uri: 'https://accounts.google.com/o/oauth2/auth',
    token_uri: opts.tokenUri,
  };
}

/** The `assertion` of a jwt-bearer grant: RS256, signed by the key's private half. Returns its header and claims when valid. */
export function verifyJwtAssertion(assertion: string, publicKey: KeyObject): { header: Record<string, unknown>; claims: Record<string, unknown> } | undefined {
  const [h, p, s] = assertion.split('.');
  if (!h || !p || !s) return undefined;
  const header = JSON.parse(Buffer.from(h, 'base64url').toString()) as Record<string, unknown>;
  const ok = verify('RSA-SHA256', Buffer.from(`${h}.${p}`), createPublicKey(publicKey.export({ type: 'spki', format: 'pem' })), Buffer.from(s, 'base64url'));
  if (!ok || header.alg !== 'RS256') return undefined;
  return { header, claims: JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown> };
}

// ---------------------------------------------------------------------------------------------
// Azure

/** Entra ID's `/{tenant}/v2.0/.well-known/openid-configuration` document for an authority at `origin`. */
export function entraOpenIdConfiguration(origin: string, tenant: string): Record<string, unknown> {
  return {
    token_endpoint: `${origin}/${tenant}/oauth2/v2.0/token`,
    authorization_endpoint: `${origin}/${tenant}/oauth2/v2.0/authorize`,
    end_session_endpoint: `${origin}/${tenant}/oauth2/v2.0/logout`,
    jwks_uri: `${origin}/${tenant}/discovery/v2.0/keys`,
    issuer: `${origin}/${tenant}/v2.0`,
    token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
    response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
  };
}

/** An unsigned JWT-shaped refresh token with an exp claim, as ACR's /oauth2/exchange issues. */
export function acrRefreshToken(tenant: string, expS: number): string {
  return `${Buffer.from('{"alg":"RS256","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify({ exp: expS, grant_type: 'refresh_token', tenant })).toString('base64url')}.c2ln`;
}

// ---------------------------------------------------------------------------------------------
// TLS and host routing

export interface TestCa {
  /** PEM of the CA certificate (what a client must trust). */
  caCert: string;
  /** Key and certificate of a server certificate signed by the CA, valid for `names` and 127.0.0.1. */
  server: TlsFiles;
}

/** A throw-away CA and one server certificate (SANs: every name given, and IP 127.0.0.1), made with openssl in `dir`. */
export function makeTestCa(dir: string, names: string[]): TestCa {
  const p = (f: string) => join(dir, f);
  const quiet = { stdio: 'ignore' as const };
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', p('ca.key'), '-out', p('ca.pem'), '-days', '1', '-subj', '/CN=dosync test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], quiet);
  execFileSync('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', p('server.key'), '-out', p('server.csr'), '-subj', `/CN=${names[0] ?? '127.0.0.1'}`], quiet);
  writeFileSync(p('server.ext'), [
    'basicConstraints=CA:FALSE',
    'keyUsage=digitalSignature,keyEncipherment',
    'extendedKeyUsage=serverAuth',
    `subjectAltName=${[...names.map((n) => `DNS:${n}`), 'IP:127.0.0.1'].join(',')}`,
    '',
  ].join('\n'));
  execFileSync('openssl', ['x509', '-req', '-in', p('server.csr'), '-CA', p('ca.pem'), '-CAkey', p('ca.key'), '-CAcreateserial', '-out', p('server.pem'), '-days', '1', '-extfile', p('server.ext')], quiet);
  return { caCert: readFileSync(p('ca.pem'), 'utf8'), server: { key: readFileSync(p('server.key'), 'utf8'), cert: readFileSync(p('server.pem'), 'utf8') } };
}

/**
 * An undici Agent that connects `host name -> 127.0.0.1:<port>` for the names in `routes` (as an
 * /etc/hosts entry plus a port mapping would), keeping the name for SNI and certificate checks,
 * and trusts `ca` besides the public roots. Other hosts are connected normally.
 */
export function hostRoutingAgent(routes: Map<string, number>, ca: string): Agent {
  const connect = buildConnector({ ca: [...rootCertificates, ca] });
  return new Agent({
    connect: (opts, callback) => {
      const port = routes.get(opts.hostname.toLowerCase());
      if (port === undefined) return connect(opts, callback);
      connect({ ...opts, hostname: '127.0.0.1', host: `127.0.0.1:${port}`, port: String(port), servername: opts.hostname }, callback);
    },
  });
}
