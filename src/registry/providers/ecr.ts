/**
 * Amazon ECR (`<account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn]`): GetAuthorizationToken gives
 * base64("AWS:<password>") valid 12 h, used as Basic (ECR challenges with Basic). Explicit AWS keys
 * come from DOSync's `ecr.aws_access_key_id`/`aws_secret_access_key` or AWS_ACCESS_KEY_ID/
 * AWS_SECRET_ACCESS_KEY(/AWS_SESSION_TOKEN); otherwise the SDK's default chain (profiles, SSO,
 * IRSA, ECS/EC2 roles). Push times from DescribeImages; mirror targets created by CreateRepository. ECR Public (public.ecr.aws) is read
 * anonymously. The SDK is loaded only when an ECR registry is used.
 */
import { RegistryError } from '../../util/errors.js';
import type { Credential, RepositoryRef } from '../types.js';
import { ExpiringCache, credentialError, nonEmpty, recorder, splitUserSecret, type Provider, type ProviderContext } from './common.js';

/** amazon-ecr-credential-helper's host pattern: account, fips, region, partition domain. */
const ECR_HOST = /^(\d{12})\.dkr\.ecr(-fips)?\.([a-zA-Z0-9][a-zA-Z0-9-_]*)\.(amazonaws\.com(?:\.cn)?|sc2s\.sgov\.gov|c2s\.ic\.gov|cloud\.adc-e\.uk|csp\.hci\.ic\.gov)$/;
const ECR_PUBLIC = 'public.ecr.aws';
/** DescribeImages (and the registry's tag list) refuse more than 1000 per page. */
const MAX_RESULTS = 1000;
/** When the chain finds no credentials at all, believe it this long before asking again. */
const NO_CREDENTIALS_TTL_MS = 10 * 60_000;

export interface EcrHost {
  account: string;
  region: string;
  fips: boolean;
}

export function parseEcrHost(host: string): EcrHost | undefined {
  const m = ECR_HOST.exec(host.toLowerCase());
  return m ? { account: m[1]!, fips: m[2] !== undefined, region: m[3]! } : undefined;
}

interface StaticKeys {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export class EcrProvider implements Provider {
  readonly name = 'ecr' as const;
  private readonly tokens: ExpiringCache<Credential | undefined>;

  constructor(private readonly ctx: ProviderContext) {
    this.tokens = new ExpiringCache(ctx.now ?? Date.now);
  }

  matches(host: string): boolean {
    return parseEcrHost(host) !== undefined || host.toLowerCase() === ECR_PUBLIC;
  }

  async credential(host: string): Promise<Credential | undefined> {
    const ecr = parseEcrHost(host);
    const keys = this.explicitKeys();
    if (!ecr || !keys) return undefined;
    return this.tokens.get(`${ecr.region}|${ecr.fips}|${keys.accessKeyId}`, () => this.authorizationToken(host, ecr, keys));
  }

  async ambientCredential(host: string): Promise<Credential | undefined> {
    const ecr = parseEcrHost(host);
    if (!ecr) return undefined;
    const now = this.ctx.now ?? Date.now;
    return this.tokens.get(`${ecr.region}|${ecr.fips}|default-chain`, async () => {
      try {
        return await this.authorizationToken(host, ecr, undefined);
      } catch (err) {
        if ((err as { cause?: { name?: string } }).cause?.name === 'CredentialsProviderError') {
          this.ctx.logger?.debug({ registry: host }, 'the AWS default credential chain found no credentials');
          return { value: undefined, expiresAt: now() + NO_CREDENTIALS_TTL_MS };
        }
        throw err;
      }
    });
  }

  /** DescribeImages (TAGGED, 1000 a page, every page) -> tag -> imagePushedAt. */
  async pushTimes(repo: RepositoryRef): Promise<Map<string, Date>> {
    const ecr = parseEcrHost(repo.registry);
    if (!ecr) throw new RegistryError(`${repo.registry}: push times are only available for private ECR registries`);
    const keys = this.explicitKeys();
    const { paginateDescribeImages } = await import('@aws-sdk/client-ecr');
    const client = await this.client(repo.registry, ecr, keys, 'other');
    const times = new Map<string, Date>();
    try {
      const pages = paginateDescribeImages({ client, pageSize: MAX_RESULTS }, { repositoryName: repo.repository, registryId: ecr.account, filter: { tagStatus: 'TAGGED' } });
      for await (const page of pages) {
        for (const image of page.imageDetails ?? []) {
          if (!image.imagePushedAt) continue;
          for (const tag of image.imageTags ?? []) times.set(tag, image.imagePushedAt);
        }
      }
    } catch (err) {
      throw credentialError('ECR DescribeImages', `${repo.registry}/${repo.repository}`, err, [keys?.secretAccessKey, keys?.sessionToken]);
    } finally {
      client.destroy();
    }
    return times;
  }

  /**
   * CreateRepository (ECR refuses a push into a repository that does not exist, unlike most
   * registries); RepositoryAlreadyExistsException means there was one. Settings are ECR's defaults.
   */
  async createRepository(repo: RepositoryRef): Promise<'created' | 'exists'> {
    const ecr = parseEcrHost(repo.registry);
    if (!ecr) throw new RegistryError(`${repo.registry}: repositories are created only on private ECR registries`);
    const keys = this.explicitKeys();
    const { CreateRepositoryCommand } = await import('@aws-sdk/client-ecr');
    const client = await this.client(repo.registry, ecr, keys, 'other');
    try {
      await client.send(new CreateRepositoryCommand({ repositoryName: repo.repository, registryId: ecr.account }));
      return 'created';
    } catch (err) {
      if ((err as { name?: string }).name === 'RepositoryAlreadyExistsException') return 'exists';
      throw credentialError('ECR CreateRepository', `${repo.registry}/${repo.repository}`, err, [keys?.secretAccessKey, keys?.sessionToken]);
    } finally {
      client.destroy();
    }
  }

  private explicitKeys(): StaticKeys | undefined {
    const c = this.ctx.config.ecr;
    const env = this.ctx.env;
    const id = nonEmpty(c?.aws_access_key_id);
    const secret = nonEmpty(c?.aws_secret_access_key);
    if (id && secret) return { accessKeyId: id, secretAccessKey: secret, sessionToken: nonEmpty(c?.aws_session_token) };
    const envId = nonEmpty(env.AWS_ACCESS_KEY_ID);
    const envSecret = nonEmpty(env.AWS_SECRET_ACCESS_KEY);
    if (envId && envSecret) return { accessKeyId: envId, secretAccessKey: envSecret, sessionToken: nonEmpty(env.AWS_SESSION_TOKEN) };
    return undefined;
  }

  /** An ECR API client whose every HTTP attempt is counted for `host` as `kind` (`token` for GetAuthorizationToken). */
  private async client(host: string, ecr: EcrHost, keys: StaticKeys | undefined, kind: 'token' | 'other') {
    const { ECRClient } = await import('@aws-sdk/client-ecr');
    // The endpoint override is the SDK's own convention (service-specific first), read from our env
    // so a `-e` env file works too.
    const endpoint = nonEmpty(this.ctx.env.AWS_ENDPOINT_URL_ECR) ?? nonEmpty(this.ctx.env.AWS_ENDPOINT_URL);
    const client = new ECRClient({ region: ecr.region, useFipsEndpoint: ecr.fips, ...(endpoint ? { endpoint } : {}), ...(keys ? { credentials: keys } : {}) });
    const record = recorder(this.ctx);
    // finalizeRequest at low priority runs inside the SDK's retry loop and after signing: once per HTTP attempt.
    client.middlewareStack.add((next) => async (args) => {
      const done = record(host, kind, 'POST');
      try {
        const out = await next(args);
        done((out.response as { statusCode?: number }).statusCode ?? 200);
        return out;
      } catch (err) {
        done((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode ?? 'error');
        throw err;
      }
    }, { step: 'finalizeRequest', priority: 'low', name: 'dosyncRequestCount' });
    return client;
  }

  private async authorizationToken(host: string, ecr: EcrHost, keys: StaticKeys | undefined): Promise<{ value: Credential; expiresAt: number }> {
    const { GetAuthorizationTokenCommand } = await import('@aws-sdk/client-ecr');
    const client = await this.client(host, ecr, keys, 'token');
    const secrets = [keys?.secretAccessKey, keys?.sessionToken];
    try {
      const out = await client.send(new GetAuthorizationTokenCommand({}));
      const data = out.authorizationData?.[0];
      const decoded = data?.authorizationToken ? splitUserSecret(Buffer.from(data.authorizationToken, 'base64').toString('utf8')) : undefined;
      if (!decoded) throw new RegistryError('GetAuthorizationToken returned no usable authorizationToken');
      secrets.push(decoded.password);
      // The token is valid 12 h; expiresAt says exactly when.
      const expiresAt = data?.expiresAt?.getTime() ?? (this.ctx.now ?? Date.now)() + 12 * 3600_000;
      return { value: { username: decoded.username, password: decoded.password }, expiresAt };
    } catch (err) {
      const e = credentialError(keys ? 'ECR (configured AWS keys)' : 'ECR (AWS default credential chain)', host, err, secrets);
      // Keep only the error's kind: the SDK's error objects are not known to be free of request details.
      throw Object.assign(e, { cause: { name: (err as Error)?.name } });
    } finally {
      client.destroy();
    }
  }
}
