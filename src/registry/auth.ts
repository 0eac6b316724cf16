/**
 * How to authorise requests to one registry: the `/v2/` challenge decides between anonymous,
 * Basic and Bearer; Bearer tokens come from the realm (GET with Basic credentials, or the OAuth2
 * POST with a refresh token) and are cached per realm/service/scope/credential until shortly
 * before they expire.
 */
import { createHash } from 'node:crypto';
import { RegistryError, UserError, errorMessage } from '../util/errors.js';
import { parseChallenges, preferredChallenge, type Challenge } from './challenge.js';
import type { Credential, CredentialResolver } from './types.js';
import type { HttpResponse, Logger, Transport } from './transport.js';

/** What the registry asked for. */
export type AuthMode =
  | { kind: 'anonymous' }
  | { kind: 'basic' }
  | { kind: 'bearer'; realm: string; service?: string };

/** What was sent, so a 401 can be explained and answered. */
export interface Authorization {
  header?: string;
  /** Whether credentials (not just an anonymous token) stand behind the header. */
  withCredentials: boolean;
  /** Cache key of the bearer token used, to drop it on a 401. */
  tokenKey?: string;
}

interface CachedToken {
  token: string;
  expiresAt: number;
}

/** Docker's client raises shorter lifetimes to this, and a missing `expires_in` means it too. */
const MIN_TOKEN_LIFETIME_S = 60;
const CLIENT_ID = 'dosync';

export interface AuthenticatorOptions {
  transport: Transport;
  credentials?: CredentialResolver;
  baseUrl: (registry: string) => URL;
  now: () => number;
  logger?: Logger;
}

export class Authenticator {
  private readonly modes = new Map<string, Promise<AuthMode>>();
  /** Resolved once per registry (a credential helper is a process spawn), forgotten after a 401. */
  private readonly credentials = new Map<string, Promise<Credential | undefined>>();
  private readonly tokens = new Map<string, CachedToken>();
  private readonly tokenFetches = new Map<string, Promise<CachedToken>>();

  constructor(private readonly opts: AuthenticatorOptions) {}

  /** The Authorization to send for `scope` (e.g. `repository:team/app:pull`) on `registry`. */
  async authorize(registry: string, scope: string | undefined): Promise<Authorization> {
    const mode = await this.mode(registry);
    return this.authorizeFor(registry, mode, scope);
  }

  /**
   * Called after a 401: learns the (possibly new) challenge, forgets the rejected token or Basic
   * credential, and returns a fresh Authorization to retry once with — or undefined when there is
   * nothing new to try.
   */
  async reauthorize(registry: string, scope: string | undefined, res: HttpResponse, sent: Authorization): Promise<Authorization | undefined> {
    const challenge = preferredChallenge(parseChallenges(res.headers['www-authenticate']));
    const mode = challenge ? modeFromChallenge(challenge, registry) : await this.mode(registry);
    if (challenge) this.modes.set(registry, Promise.resolve(mode));
    if (sent.tokenKey) this.tokens.delete(sent.tokenKey);
    this.credentials.delete(registry);
    // A scope in the challenge is what the registry wants for this very request (Docker Hub sends it).
    const wanted = challenge?.params.scope ?? scope;
    const next = await this.authorizeFor(registry, mode, wanted);
    if (next.header === undefined || next.header === sent.header) return undefined;
    return next;
  }

  /** The challenge of `GET /v2/`, asked once per registry (concurrent callers share the answer). */
  mode(registry: string): Promise<AuthMode> {
    let mode = this.modes.get(registry);
    if (!mode) {
      mode = this.ping(registry);
      this.modes.set(registry, mode);
      // A failed ping is not remembered here (the transport remembers unreachable hosts).
      mode.catch(() => this.modes.delete(registry));
    }
    return mode;
  }

  private async ping(registry: string): Promise<AuthMode> {
    const url = new URL('/v2/', this.opts.baseUrl(registry));
    const res = await this.opts.transport.send({ method: 'GET', url, registry, kind: 'ping' });
    if (res.status === 401) {
      const challenge = preferredChallenge(parseChallenges(res.headers['www-authenticate']));
      if (!challenge) throw new RegistryError(`${registry} answered 401 to /v2/ without a WWW-Authenticate challenge`, { status: 401 });
      return modeFromChallenge(challenge, registry);
    }
    if (res.status >= 500) throw new RegistryError(`${registry} answered HTTP ${res.status} to /v2/`, { status: res.status });
    // 200, or a registry that does not implement the ping (404): try without auth and follow later challenges.
    return { kind: 'anonymous' };
  }

  private async authorizeFor(registry: string, mode: AuthMode, scope: string | undefined): Promise<Authorization> {
    if (mode.kind === 'anonymous') return { withCredentials: false };
    if (mode.kind === 'basic') {
      const cred = await this.credential(registry);
      if (cred?.registryToken) return { header: `Bearer ${cred.registryToken}`, withCredentials: true };
      if (cred?.username !== undefined && cred.password !== undefined) {
        return { header: basicHeader(cred.username, cred.password), withCredentials: true };
      }
      return { withCredentials: false };
    }
    const cred = await this.credential(registry);
    if (cred?.registryToken) return { header: `Bearer ${cred.registryToken}`, withCredentials: true };
    const key = tokenKey(mode, scope, cred);
    const token = await this.token(key, registry, mode, scope, cred);
    return { header: `Bearer ${token.token}`, withCredentials: hasCredentials(cred), tokenKey: key };
  }

  private credential(registry: string): Promise<Credential | undefined> {
    let cred = this.credentials.get(registry);
    if (!cred) {
      cred = this.resolve(registry);
      this.credentials.set(registry, cred);
      cred.catch(() => this.credentials.delete(registry));
    }
    return cred;
  }

  private async resolve(registry: string): Promise<Credential | undefined> {
    if (!this.opts.credentials) return undefined;
    try {
      return await this.opts.credentials(registry);
    } catch (err) {
      if (err instanceof UserError) throw err;
      throw new RegistryError(`cannot get credentials for ${registry}: ${errorMessage(err)}`, { cause: err });
    }
  }

  private async token(key: string, registry: string, mode: Extract<AuthMode, { kind: 'bearer' }>, scope: string | undefined, cred: Credential | undefined): Promise<CachedToken> {
    const cached = this.tokens.get(key);
    if (cached && cached.expiresAt > this.opts.now()) return cached;
    let pending = this.tokenFetches.get(key);
    if (!pending) {
      pending = this.fetchToken(registry, mode, scope, cred).then((t) => {
        this.tokens.set(key, t);
        return t;
      });
      this.tokenFetches.set(key, pending);
      const forget = () => this.tokenFetches.delete(key);
      pending.then(forget, forget);
    }
    return pending;
  }

  private async fetchToken(registry: string, mode: Extract<AuthMode, { kind: 'bearer' }>, scope: string | undefined, cred: Credential | undefined): Promise<CachedToken> {
    let realm: URL;
    try {
      realm = new URL(mode.realm);
    } catch {
      throw new RegistryError(`${registry} sent an invalid token realm in its challenge`);
    }
    if (realm.protocol !== 'https:' && realm.protocol !== 'http:') throw new RegistryError(`${registry} sent a token realm that is not http(s)`);
    if (realm.protocol === 'http:' && this.opts.baseUrl(registry).protocol === 'https:' && hasCredentials(cred)) {
      // Never downgrade silently: an https registry must not make us send its credentials in clear text.
      throw new RegistryError(`${registry} sent a plain-http token realm (${realm.host}); refusing to send credentials there`);
    }
    const started = this.opts.now();
    let res: HttpResponse;
    if (cred?.identityToken) {
      // OAuth2 refresh-token grant (docker config `identitytoken`, ACR); distribution's oauth.md.
      res = await this.opts.transport.send({ method: 'POST', url: realm, registry, kind: 'token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: oauthForm(mode, scope, cred.identityToken) });
      if (res.status === 404) res = await this.getToken(realm, registry, mode, scope, cred);
    } else {
      res = await this.getToken(realm, registry, mode, scope, cred);
    }
    if (res.status === 401 || res.status === 403) {
      throw new RegistryError(
        hasCredentials(cred)
          ? `credentials rejected for ${registry} by its token service ${realm.host} (HTTP ${res.status}); check the username and password or token configured for ${registry}`
          : `the token service ${realm.host} of ${registry} refused an anonymous token (HTTP ${res.status}); the repository is private or does not exist: configure credentials for ${registry}`,
        { status: res.status },
      );
    }
    if (res.status !== 200) throw new RegistryError(`the token service ${realm.host} of ${registry} answered HTTP ${res.status}`, { status: res.status });
    return parseTokenResponse(res.body, registry, realm.host, started);
  }

  private getToken(realm: URL, registry: string, mode: Extract<AuthMode, { kind: 'bearer' }>, scope: string | undefined, cred: Credential | undefined): Promise<HttpResponse> {
    const url = new URL(realm);
    if (mode.service !== undefined) url.searchParams.set('service', mode.service);
    for (const s of splitScopes(scope)) url.searchParams.append('scope', s);
    const headers: Record<string, string> = {};
    if (cred?.username !== undefined && cred.password !== undefined) {
      headers.authorization = basicHeader(cred.username, cred.password);
      url.searchParams.set('account', cred.username);
    }
    return this.opts.transport.send({ method: 'GET', url, registry, kind: 'token', headers });
  }
}

function modeFromChallenge(challenge: Challenge, registry: string): AuthMode {
  if (challenge.scheme === 'basic') return { kind: 'basic' };
  if (challenge.scheme === 'bearer') {
    const realm = challenge.params.realm;
    if (!realm) throw new RegistryError(`${registry} sent a Bearer challenge without a realm`, { status: 401 });
    return { kind: 'bearer', realm, service: challenge.params.service };
  }
  throw new RegistryError(`${registry} asks for ${challenge.scheme} authentication, which dosync does not support (only Basic and Bearer)`, { status: 401 });
}

/** Parses `{token | access_token, expires_in?, issued_at?}`; Docker prefers access_token when both are present. */
export function parseTokenResponse(body: Buffer, registry: string, realmHost: string, requestedAt: number): CachedToken {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    throw new RegistryError(`the token service ${realmHost} of ${registry} answered something that is not JSON`);
  }
  const obj = (json ?? {}) as Record<string, unknown>;
  const token = typeof obj.access_token === 'string' && obj.access_token !== '' ? obj.access_token : obj.token;
  if (typeof token !== 'string' || token === '') throw new RegistryError(`the token service ${realmHost} of ${registry} answered without a token`);
  const expiresIn = typeof obj.expires_in === 'number' && obj.expires_in > MIN_TOKEN_LIFETIME_S ? obj.expires_in : MIN_TOKEN_LIFETIME_S;
  const issuedAt = typeof obj.issued_at === 'string' ? Date.parse(obj.issued_at) : NaN;
  // issued_at is the server's clock; only trust it when it is not later than our own.
  const start = Number.isNaN(issuedAt) ? requestedAt : Math.min(issuedAt, requestedAt);
  const lifetimeMs = expiresIn * 1000;
  // Refresh shortly before expiry: a quarter of the lifetime, at most 30 s, early.
  const margin = Math.min(30_000, lifetimeMs / 4);
  return { token, expiresAt: start + lifetimeMs - margin };
}

function tokenKey(mode: Extract<AuthMode, { kind: 'bearer' }>, scope: string | undefined, cred: Credential | undefined): string {
  // The credential enters the key only as a hash: the key never holds a secret.
  const who = hasCredentials(cred)
    ? createHash('sha256').update(JSON.stringify([cred?.username ?? '', cred?.password ?? '', cred?.identityToken ?? ''])).digest('hex').slice(0, 16)
    : 'anonymous';
  return JSON.stringify([mode.realm, mode.service ?? '', scope ?? '', who]);
}

function oauthForm(mode: Extract<AuthMode, { kind: 'bearer' }>, scope: string | undefined, refreshToken: string): string {
  const form = new URLSearchParams({ grant_type: 'refresh_token', client_id: CLIENT_ID, refresh_token: refreshToken, access_type: 'offline' });
  if (mode.service !== undefined) form.set('service', mode.service);
  const scopes = splitScopes(scope);
  if (scopes.length > 0) form.set('scope', scopes.join(' '));
  return form.toString();
}

/** A challenge may carry several scopes separated by spaces (distribution's token spec). */
function splitScopes(scope: string | undefined): string[] {
  return scope ? scope.split(' ').filter((s) => s !== '') : [];
}

function hasCredentials(cred: Credential | undefined): boolean {
  return !!cred && (cred.identityToken !== undefined || cred.registryToken !== undefined || (cred.username !== undefined && cred.password !== undefined));
}

function basicHeader(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}
