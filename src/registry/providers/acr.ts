/**
 * Azure Container Registry (`<name>.azurecr.io`). With a service principal (DOSync's `acr.tenant_id`/
 * `client_id`/`client_secret`, or AZURE_TENANT_ID/AZURE_CLIENT_ID/AZURE_CLIENT_SECRET) or, failing
 * all else, DefaultAzureCredential (managed identity, workload identity, az login): an Entra token
 * for the ACR audience is exchanged at `POST /oauth2/exchange` for an ACR refresh token. That is
 * returned as an identity token (username 00000000-0000-0000-0000-000000000000, as `az acr login`
 * stores it); the OCI client trades it at the realm `/oauth2/token` (grant_type=refresh_token) for
 * per-repository access tokens. An admin user (`acr.username`/`password`) is plain Basic.
 * @azure/identity is loaded only when an ACR registry is used.
 */
import { rootCertificates } from 'node:tls';
import type { TokenCredentialOptions } from '@azure/identity';
import { RegistryError } from '../../util/errors.js';
import type { Credential } from '../types.js';
import { ExpiringCache, basic, credentialError, fetchJson, hostOf, jwtExpiry, nonEmpty, recorder, registryOrigin, type Provider, type ProviderContext } from './common.js';

const ACR_SCOPE = 'https://containerregistry.azure.net/.default';
/** The null GUID marks the password as an ACR refresh token (docker login / az acr login). */
export const ACR_REFRESH_TOKEN_USER = '00000000-0000-0000-0000-000000000000';
/** Clouds whose authority MSAL knows; any other authority host (Azure Stack, tests) skips instance discovery. */
const KNOWN_AUTHORITIES = ['login.microsoftonline.com', 'login.chinacloudapi.cn', 'login.microsoftonline.us', 'login.microsoftonline.de'];
const NO_CREDENTIALS_TTL_MS = 10 * 60_000;
/** ACR refresh tokens live 3 h; used if one does not carry `exp`. */
const REFRESH_TOKEN_LIFETIME_MS = 3 * 3600_000;

type PipelinePolicy = NonNullable<TokenCredentialOptions['additionalPolicies']>[number]['policy'];

interface ServicePrincipal {
  tenantId: string;
  clientId: string;
  clientSecret: string;
}

interface AzureToken {
  token: string;
  expiresOnTimestamp: number;
}
interface TokenSource {
  getToken(scope: string): Promise<AzureToken | null>;
}

export function isAcrHost(host: string): boolean {
  return /\.azurecr\.(io|cn|us)$/.test(host.toLowerCase());
}

export class AcrProvider implements Provider {
  readonly name = 'acr' as const;
  private readonly tokens: ExpiringCache<Credential | undefined>;

  constructor(private readonly ctx: ProviderContext) {
    this.tokens = new ExpiringCache(ctx.now ?? Date.now);
  }

  matches(host: string): boolean {
    return isAcrHost(host) || this.configuredHost() === host.toLowerCase();
  }

  async credential(host: string): Promise<Credential | undefined> {
    const c = this.configApplies(host) ? this.ctx.config.acr : undefined;
    const admin = basic(c?.username, c?.password);
    if (admin) return admin;
    const sp = this.servicePrincipal(c);
    if (!sp) return undefined;
    return this.tokens.get(`sp|${sp.tenantId}|${sp.clientId}`, async () => {
      const { ClientSecretCredential } = await import('@azure/identity');
      const aad = new ClientSecretCredential(sp.tenantId, sp.clientId, sp.clientSecret, this.identityOptions(host));
      return this.exchange(host, aad, sp.tenantId, [sp.clientSecret]);
    });
  }

  async ambientCredential(host: string): Promise<Credential | undefined> {
    const now = this.ctx.now ?? Date.now;
    return this.tokens.get('default-chain', async () => {
      const { DefaultAzureCredential } = await import('@azure/identity');
      const aad = new DefaultAzureCredential(this.identityOptions(host));
      try {
        return await this.exchange(host, aad, nonEmpty(this.ctx.env.AZURE_TENANT_ID), []);
      } catch (err) {
        const name = (err as { cause?: { name?: string } }).cause?.name;
        if (name === 'CredentialUnavailableError' || name === 'AggregateAuthenticationError') {
          this.ctx.logger?.debug({ registry: host }, 'DefaultAzureCredential found no Azure identity');
          return { value: undefined, expiresAt: now() + NO_CREDENTIALS_TTL_MS };
        }
        throw err;
      }
    });
  }

  private configuredHost(): string | undefined {
    const r = nonEmpty(this.ctx.config.acr?.registry);
    try {
      return r ? hostOf(r) : undefined;
    } catch {
      return undefined;
    }
  }

  /** DOSync's `acr.registry` pins the section to one registry; without it, it serves every ACR host. */
  configApplies(host: string): boolean {
    const pinned = this.configuredHost();
    return pinned === undefined || pinned === host.toLowerCase();
  }

  private servicePrincipal(c: ProviderContext['config']['acr']): ServicePrincipal | undefined {
    const env = this.ctx.env;
    const clientId = nonEmpty(c?.client_id);
    const clientSecret = nonEmpty(c?.client_secret);
    if (clientId && clientSecret) {
      const tenantId = nonEmpty(c?.tenant_id) ?? nonEmpty(env.AZURE_TENANT_ID);
      if (!tenantId) throw new RegistryError('registry.acr: client_id and client_secret are set but tenant_id is not (nor AZURE_TENANT_ID)');
      return { tenantId, clientId, clientSecret };
    }
    const envId = nonEmpty(env.AZURE_CLIENT_ID);
    const envSecret = nonEmpty(env.AZURE_CLIENT_SECRET);
    const envTenant = nonEmpty(env.AZURE_TENANT_ID);
    return envId && envSecret && envTenant ? { tenantId: envTenant, clientId: envId, clientSecret: envSecret } : undefined;
  }

  private identityOptions(host: string) {
    const authorityHost = nonEmpty(this.ctx.env.AZURE_AUTHORITY_HOST);
    const known = !authorityHost || KNOWN_AUTHORITIES.includes(new URL(authorityHost).hostname);
    const record = recorder(this.ctx);
    return {
      // Every HTTP attempt of the identity pipeline (MSAL's discovery and token calls) counts as a token request for `host`.
      additionalPolicies: [{
        position: 'perRetry' as const,
        policy: {
          name: 'dosyncRequestCount',
          async sendRequest(request, next) {
            const done = record(host, 'token', request.method);
            try {
              const res = await next(request);
              done(res.status);
              return res;
            } catch (err) {
              done((err as { statusCode?: number }).statusCode ?? 'error');
              throw err;
            }
          },
        } satisfies PipelinePolicy,
      }],
      ...(authorityHost ? { authorityHost } : {}),
      // Instance discovery asks login.microsoftonline.com about the authority: not for private clouds.
      ...(known ? {} : { disableInstanceDiscovery: true }),
      ...(this.ctx.extraCa?.length ? { tlsOptions: { ca: [...rootCertificates, ...this.ctx.extraCa] } } : {}),
    };
  }

  /** Entra token -> `POST /oauth2/exchange` -> ACR refresh token. */
  private async exchange(host: string, aad: TokenSource, tenant: string | undefined, secrets: string[]): Promise<{ value: Credential; expiresAt: number }> {
    let entra: AzureToken | null;
    try {
      entra = await aad.getToken(ACR_SCOPE);
    } catch (err) {
      const e = credentialError('Azure Entra ID', host, err, secrets);
      throw Object.assign(e, { cause: { name: (err as Error)?.name } });
    }
    if (!entra?.token) throw new RegistryError(`${host}: Azure Entra ID returned no token`);
    const form = new URLSearchParams({ grant_type: 'access_token', service: host, access_token: entra.token });
    if (tenant) form.set('tenant', tenant);
    const body = (await fetchJson(this.ctx, `${registryOrigin(this.ctx, host)}/oauth2/exchange`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: form.toString(),
      countAs: { registry: host, kind: 'token' },
    }, `${host}: ACR token exchange`, [...secrets, entra.token])) as { refresh_token?: unknown };
    if (typeof body.refresh_token !== 'string' || body.refresh_token === '') throw new RegistryError(`${host}: ACR token exchange answered without a refresh_token`);
    const started = (this.ctx.now ?? Date.now)();
    return {
      value: { username: ACR_REFRESH_TOKEN_USER, identityToken: body.refresh_token },
      expiresAt: jwtExpiry(body.refresh_token) ?? started + REFRESH_TOKEN_LIFETIME_MS,
    };
  }
}
