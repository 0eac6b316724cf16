/**
 * Google Container Registry and Artifact Registry (`gcr.io`, `*.gcr.io`, `<location>-docker.pkg.dev`):
 * an OAuth2 access token from google-auth-library, sent as Basic `oauth2accesstoken:<token>`.
 * Explicit: DOSync's `gcr.credentials_file` or GOOGLE_APPLICATION_CREDENTIALS; ambient: application
 * default credentials (gcloud login, metadata server). Push times: Google's tag list carries
 * `manifest.{digest}.timeUploadedMs`.
 */
import { readFile } from 'node:fs/promises';
import { RegistryError, errorMessage } from '../../util/errors.js';
import type { Credential, RepositoryRef } from '../types.js';
import { ExpiringCache, credentialError, nonEmpty, recorder, type ExternalRequestRecorder, type Provider, type ProviderContext } from './common.js';

const SCOPE = 'https://www.googleapis.com/auth/cloud-platform';
const USERNAME = 'oauth2accesstoken';
/** google-auth-library 10 posts every service-account assertion here, whatever the key file says. */
const LIBRARY_TOKEN_URL = 'https://oauth2.googleapis.com/token';
/** Google access tokens live about an hour; used when the library reports no expiry. */
const DEFAULT_LIFETIME_MS = 55 * 60_000;
/** How long "no application default credentials here" is believed before probing again. */
const NO_ADC_TTL_MS = 10 * 60_000;

export function isGoogleRegistry(host: string): boolean {
  const h = host.toLowerCase();
  return h === 'gcr.io' || h.endsWith('.gcr.io') || h.endsWith('-docker.pkg.dev');
}

export class GcrProvider implements Provider {
  readonly name = 'gcr' as const;
  private readonly tokens: ExpiringCache<string | undefined>;
  readonly pushTimes?: (repo: RepositoryRef) => Promise<Map<string, Date>>;

  constructor(private readonly ctx: ProviderContext) {
    this.tokens = new ExpiringCache(ctx.now ?? Date.now);
    const registry = ctx.registry;
    if (registry) this.pushTimes = (repo) => googlePushTimes(registry, repo);
  }

  matches(host: string): boolean {
    return isGoogleRegistry(host);
  }

  async credential(host: string): Promise<Credential | undefined> {
    const keyFile = nonEmpty(this.ctx.config.gcr?.credentials_file) ?? nonEmpty(this.ctx.env.GOOGLE_APPLICATION_CREDENTIALS);
    if (!keyFile) return undefined;
    const token = await this.tokens.get(`file:${keyFile}`, () => this.tokenFromKeyFile(keyFile, host));
    return token ? { username: USERNAME, password: token } : undefined;
  }

  async ambientCredential(host: string): Promise<Credential | undefined> {
    const now = this.ctx.now ?? Date.now;
    const token = await this.tokens.get('adc', async () => {
      const { GoogleAuth } = await import('google-auth-library');
      try {
        const client = await new GoogleAuth({ scopes: SCOPE }).getClient();
        countRequests(client.transporter, host, recorder(this.ctx));
        const { token } = await client.getAccessToken();
        if (!token) throw new Error('no access token was returned');
        return { value: token, expiresAt: client.credentials?.expiry_date ?? now() + DEFAULT_LIFETIME_MS };
      } catch (err) {
        if (/could not load the default credentials/i.test(errorMessage(err))) {
          this.ctx.logger?.debug({ registry: host }, 'no Google application default credentials; Google registries are read anonymously');
          return { value: undefined, expiresAt: now() + NO_ADC_TTL_MS };
        }
        throw credentialError('Google application-default', host, err, []);
      }
    });
    return token ? { username: USERNAME, password: token } : undefined;
  }

  private async tokenFromKeyFile(keyFile: string, host: string): Promise<{ value: string; expiresAt: number }> {
    let text: string;
    try {
      text = await readFile(keyFile, 'utf8');
    } catch (err) {
      throw new RegistryError(`${host}: the Google credentials file ${keyFile} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}); check registry.gcr.credentials_file or GOOGLE_APPLICATION_CREDENTIALS`);
    }
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new RegistryError(`${host}: the Google credentials file ${keyFile} is not JSON`);
    }
    const secrets = [json.private_key, json.client_secret, json.refresh_token].filter((v): v is string => typeof v === 'string');
    try {
      const { GoogleAuth } = await import('google-auth-library');
      const client = await new GoogleAuth({ scopes: SCOPE, credentials: json as never }).getClient();
      countRequests(client.transporter, host, recorder(this.ctx));
      const tokenUri = typeof json.token_uri === 'string' ? json.token_uri : undefined;
      if (tokenUri && tokenUri !== LIBRARY_TOKEN_URL && json.type === 'service_account') {
        // google-auth-library ignores the key's token_uri; Google's Go and Python libraries and gcloud
        // honour it, so do the same (private or sovereign token endpoints).
        client.transporter.interceptors.request.add({
          resolved: async (opts) => {
            if (opts.url.href === LIBRARY_TOKEN_URL) opts.url = new URL(tokenUri);
            return opts;
          },
        });
      }
      const { token } = await client.getAccessToken();
      if (!token) throw new Error('no access token was returned');
      const started = (this.ctx.now ?? Date.now)();
      return { value: token, expiresAt: client.credentials?.expiry_date ?? started + DEFAULT_LIFETIME_MS };
    } catch (err) {
      throw credentialError(`Google (${keyFile})`, host, err, secrets);
    }
  }
}

/**
 * The token calls google-auth-library sends through its transporter, counted for `host` (gaxios
 * retries inside one call count once). Answers are paired with requests in order: a GaxiosError
 * carries a copy of the request options, not the object the request interceptor saw, and one
 * auth client's token calls do not overlap (the token cache shares one fetch).
 */
function countRequests(transporter: GoogleTransporter, host: string, record: ExternalRequestRecorder): void {
  const pending: Array<(status: number | 'error') => void> = [];
  transporter.interceptors.request.add({
    resolved: async (opts) => {
      pending.push(record(host, 'token', opts.method ?? 'GET'));
      return opts;
    },
  });
  transporter.interceptors.response.add({
    resolved: async (res) => {
      pending.shift()?.(res.status);
      return res;
    },
    rejected: async (err) => {
      const e = err as { status?: number; response?: { status?: number } } | undefined;
      pending.shift()?.(e?.status ?? e?.response?.status ?? 'error');
      throw err;
    },
  });
}

type GoogleTransporter = Awaited<ReturnType<InstanceType<typeof import('google-auth-library').GoogleAuth>['getClient']>>['transporter'];

/**
 * Google's tag list is one answer for the whole repository (n=10000 as go-containerregistry asks)
 * with a `manifest` map: digest -> {tag: [...], timeUploadedMs: "<ms>"}.
 */
async function googlePushTimes(registry: Pick<NonNullable<ProviderContext['registry']>, 'request'>, repo: RepositoryRef): Promise<Map<string, Date>> {
  const res = await registry.request(repo.registry, `/v2/${repo.repository}/tags/list?n=10000`, { headers: { accept: 'application/json' } });
  let body: unknown;
  try {
    body = JSON.parse(res.body.toString('utf8'));
  } catch {
    throw new RegistryError(`${repo.registry}/${repo.repository}: the tag list is not JSON`);
  }
  return parseGoogleTagList(body);
}

/** digest entries of a Google tag list -> tag -> upload time. Entries without a parsable time are skipped. */
export function parseGoogleTagList(body: unknown): Map<string, Date> {
  const times = new Map<string, Date>();
  const manifests = (body as { manifest?: unknown } | null)?.manifest;
  if (!manifests || typeof manifests !== 'object') return times;
  for (const m of Object.values(manifests as Record<string, { tag?: unknown; timeUploadedMs?: unknown }>)) {
    const ms = typeof m?.timeUploadedMs === 'string' || typeof m?.timeUploadedMs === 'number' ? Number(m.timeUploadedMs) : NaN;
    if (!Number.isFinite(ms) || !Array.isArray(m.tag)) continue;
    for (const tag of m.tag) if (typeof tag === 'string') times.set(tag, new Date(ms));
  }
  return times;
}
