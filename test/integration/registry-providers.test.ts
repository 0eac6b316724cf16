/**
 * Protocol fixtures for the cloud registries this machine cannot reach: local HTTP(S) servers that
 * speak each vendor's documented protocol, driven by the real SDKs and the real OCI client.
 *  - ECR: the awsJson1_1 API (GetAuthorizationToken, DescribeImages with nextToken pages) reached
 *    through the SDK's endpoint setting; the fixture verifies the SigV4 signature.
 *  - Google: the OAuth token endpoint named by a service-account key's token_uri; the fixture
 *    verifies the RS256 JWT assertion with the key's public half; then GCR's tag list.
 *  - Azure: Entra ID (OpenID configuration + client-credentials token, over HTTPS as MSAL demands),
 *    ACR's /oauth2/exchange, and the registry realm's refresh-token grant done by the OCI client.
 *  - Docker Hub tags API, Quay tag API and Harbor artifact API push times.
 * Every test asserts the exact requests the fixture received and the Credential produced.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegistryClient } from '../../src/registry/client.js';
import { createCredentialResolver } from '../../src/registry/credentials.js';
import { parseRegistryConfig } from '../../src/registry/config.js';
import { providerFor, type ProviderContext } from '../../src/registry/providers/index.js';
import { RegistryError } from '../../src/util/errors.js';
import {
  acrRefreshToken, b64, closeFixtures, entraOpenIdConfiguration, fixture, form, json, serviceAccountKey, sigV4Valid, verifyJwtAssertion, type Fixture,
} from '../helpers/protocol-fixtures.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'dosync-providers-'));
});
after(async () => {
  await closeFixtures();
  rmSync(dir, { recursive: true, force: true });
});

const noDockerConfig = () => join(dir, 'no-docker-config');

// ---------------------------------------------------------------------------------------------
// ECR

describe('ECR protocol fixture (awsJson1_1 through the SDK endpoint)', () => {
  const ACCOUNT = '123456789012';
  const HOST = `${ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com`;
  const KEY_ID = 'AKIAFIXTUREKEY000001';
  const SECRET = 'fixtureSecretKey/With+Special=Chars0001';
  const ECR_PASSWORD = 'eyJwYXlsb2FkIjoiZWNyLWZpeHR1cmUtcGFzc3dvcmQifQ==';

  async function ecrFixture(expiresAtS: () => number) {
    let tokens = 0;
    const fx = await fixture((req, res) => {
      const sig = sigV4Valid(req, SECRET);
      if (!sig.ok) return json(res, 403, { __type: 'InvalidSignatureException', message: 'signature mismatch' });
      const target = String(req.headers['x-amz-target']);
      const input = JSON.parse(req.body || '{}') as Record<string, unknown>;
      if (target === 'AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken') {
        tokens++;
        return json(res, 200, { authorizationData: [{ authorizationToken: b64(`AWS:${ECR_PASSWORD}-${tokens}`), expiresAt: expiresAtS(), proxyEndpoint: `https://${HOST}` }] }, { 'content-type': 'application/x-amz-json-1.1' });
      }
      if (target === 'AmazonEC2ContainerRegistry_V20150921.DescribeImages') {
        const pages: Record<string, { details: object[]; next?: string }> = {
          first: { details: [{ imageDigest: 'sha256:a1', imageTags: ['1.0.0', 'stable'], imagePushedAt: 1700000000 }], next: 'page-2' },
          'page-2': { details: [{ imageDigest: 'sha256:b2', imageTags: ['1.1.0'], imagePushedAt: 1710000000.5 }], next: 'page-3' },
          'page-3': { details: [{ imageDigest: 'sha256:c3', imageTags: ['1.2.0'], imagePushedAt: 1720000000 }] },
        };
        const page = pages[(input.nextToken as string | undefined) ?? 'first']!;
        return json(res, 200, { imageDetails: page.details.map((d) => ({ registryId: ACCOUNT, repositoryName: 'team/app', ...d })), ...(page.next ? { nextToken: page.next } : {}) }, { 'content-type': 'application/x-amz-json-1.1' });
      }
      json(res, 400, { __type: 'UnknownOperationException' });
    });
    return { fx, tokens: () => tokens };
  }

  test('protocol fixture: GetAuthorizationToken signed with the configured keys -> Basic AWS:<password>, cached until shortly before expiresAt', async () => {
    let now = Date.parse('2026-03-01T00:00:00Z');
    const { fx, tokens } = await ecrFixture(() => now / 1000 + 12 * 3600);
    const { config } = parseRegistryConfig({ ecr: { aws_access_key_id: '${AWS_KEY}', aws_secret_access_key: '${AWS_SECRET}', region: 'eu-west-1', registry: HOST } }, { env: { AWS_KEY: KEY_ID, AWS_SECRET: SECRET } });
    const resolve = createCredentialResolver({ env: { DOCKER_CONFIG: noDockerConfig(), AWS_ENDPOINT_URL_ECR: fx.origin }, config, now: () => now });

    assert.deepEqual(await resolve(HOST), { username: 'AWS', password: `${ECR_PASSWORD}-1` });
    const [call] = fx.seen;
    assert.equal(call!.method, 'POST');
    assert.equal(call!.path, '/');
    assert.equal(call!.headers['content-type'], 'application/x-amz-json-1.1');
    assert.equal(call!.headers['x-amz-target'], 'AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken');
    assert.deepEqual(JSON.parse(call!.body), {}, 'registryIds is deprecated and not sent');
    assert.deepEqual(sigV4Valid(call!, SECRET), { ok: true, region: 'eu-west-1', service: 'ecr', accessKeyId: KEY_ID });

    now += 11 * 3600_000; // still more than 5 min before expiry, past the resolver's answer cache
    assert.deepEqual(await resolve(HOST), { username: 'AWS', password: `${ECR_PASSWORD}-1` });
    assert.equal(tokens(), 1);
    now += 56 * 60_000; // 4 min before expiry
    assert.deepEqual(await resolve(HOST), { username: 'AWS', password: `${ECR_PASSWORD}-2` });
    assert.equal(tokens(), 2);
  });

  test('protocol fixture: DescribeImages pages (nextToken, maxResults 1000, TAGGED) -> imagePushedAt per tag', async () => {
    const { fx } = await ecrFixture(() => Date.now() / 1000 + 3600);
    const ctx: ProviderContext = { env: { AWS_ACCESS_KEY_ID: KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET, AWS_ENDPOINT_URL_ECR: fx.origin }, config: {} };
    const provider = providerFor(HOST, ctx);
    assert.equal(provider.name, 'ecr');
    const times = await provider.pushTimes!({ registry: HOST, repository: 'team/app' });
    assert.deepEqual(Object.fromEntries([...times].map(([t, d]) => [t, d.toISOString()])), {
      '1.0.0': '2023-11-14T22:13:20.000Z',
      stable: '2023-11-14T22:13:20.000Z',
      '1.1.0': '2024-03-09T16:00:00.500Z',
      '1.2.0': '2024-07-03T09:46:40.000Z',
    });
    const bodies = fx.seen.map((s) => JSON.parse(s.body) as Record<string, unknown>);
    assert.deepEqual(bodies, [
      { repositoryName: 'team/app', registryId: ACCOUNT, filter: { tagStatus: 'TAGGED' }, maxResults: 1000 },
      { repositoryName: 'team/app', registryId: ACCOUNT, filter: { tagStatus: 'TAGGED' }, maxResults: 1000, nextToken: 'page-2' },
      { repositoryName: 'team/app', registryId: ACCOUNT, filter: { tagStatus: 'TAGGED' }, maxResults: 1000, nextToken: 'page-3' },
    ]);
    for (const s of fx.seen) {
      assert.equal(s.headers['x-amz-target'], 'AmazonEC2ContainerRegistry_V20150921.DescribeImages');
      assert.equal(sigV4Valid(s, SECRET).ok, true);
    }
  });

  test('protocol fixture: rejected keys -> one-line RegistryError without the secret', async () => {
    const { fx } = await ecrFixture(() => 0);
    const resolve = createCredentialResolver({ env: { DOCKER_CONFIG: noDockerConfig(), AWS_ENDPOINT_URL_ECR: fx.origin, AWS_ACCESS_KEY_ID: KEY_ID, AWS_SECRET_ACCESS_KEY: 'wrong-secret-value-123456' }, config: {} });
    await assert.rejects(resolve(HOST), (err: Error) => {
      assert.ok(err instanceof RegistryError);
      assert.equal(err.message, `${HOST}: cannot get ECR (configured AWS keys) credentials: signature mismatch`);
      assert.ok(!err.message.includes('wrong-secret-value'));
      return true;
    });
  });

  test('ECR Public is read anonymously (no SDK call)', async () => {
    const resolve = createCredentialResolver({ env: { DOCKER_CONFIG: noDockerConfig(), AWS_ACCESS_KEY_ID: KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET, AWS_ENDPOINT_URL_ECR: 'http://127.0.0.1:9' }, config: {} });
    assert.equal(await resolve('public.ecr.aws'), undefined);
  });
});

// ---------------------------------------------------------------------------------------------
// Google

describe('Google protocol fixture (service-account JWT -> token_uri; GCR tag list)', () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const EMAIL = 'dosync-reader@fixture-project.iam.gserviceaccount.com';
  const KEY_ID = 'fixturekeyid0001';
  const ACCESS_TOKEN = 'ya29.fixture-access-token';

  async function googleFixtures() {
    const oauth = await fixture((req, res) => {
      if (req.method !== 'POST' || req.path !== '/token') return json(res, 404, { error: 'not_found' });
      if (!verifyJwtAssertion(form(req.body).assertion ?? '', publicKey)) return json(res, 400, { error: 'invalid_grant', error_description: 'Invalid JWT Signature.' });
      json(res, 200, { access_token: ACCESS_TOKEN, expires_in: 3599, token_type: 'Bearer' });
    });
    const keyFile = join(dir, `sa-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(keyFile, JSON.stringify(serviceAccountKey({ privateKey, email: EMAIL, keyId: KEY_ID, projectId: 'fixture-project', tokenUri: `${oauth.origin}/token` })));
    return { oauth, keyFile };
  }

  test('protocol fixture: RS256 assertion verified with the public key -> Basic oauth2accesstoken:<access token>, cached', async () => {
    const { oauth, keyFile } = await googleFixtures();
    let now = Date.now();
    const resolve = createCredentialResolver({ env: { DOCKER_CONFIG: noDockerConfig() }, config: parseRegistryConfig({ gcr: { credentials_file: keyFile } }).config, now: () => now });
    assert.deepEqual(await resolve('europe-west1-docker.pkg.dev'), { username: 'oauth2accesstoken', password: ACCESS_TOKEN });
    assert.equal(oauth.seen.length, 1);
    const [call] = oauth.seen;
    assert.match(String(call!.headers['content-type']), /^application\/x-www-form-urlencoded(;charset=UTF-8)?$/);
    const f = form(call!.body);
    assert.equal(f.grant_type, 'urn:ietf:params:oauth:grant-type:jwt-bearer');
    const claims = JSON.parse(Buffer.from(f.assertion!.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
    assert.equal(claims.iss, EMAIL);
    assert.equal(claims.scope, 'https://www.googleapis.com/auth/cloud-platform');
    assert.equal(claims.aud, 'https://oauth2.googleapis.com/token');
    assert.equal((claims.exp as number) - (claims.iat as number), 3600);

    now += 60_000;
    assert.deepEqual(await resolve('gcr.io'), { username: 'oauth2accesstoken', password: ACCESS_TOKEN });
    assert.equal(oauth.seen.length, 1, 'one token for every Google host until it nears expiry');
  });

  test('protocol fixture: GOOGLE_APPLICATION_CREDENTIALS; a key the endpoint refuses is a clean error', async () => {
    const { keyFile } = await googleFixtures();
    const bad = JSON.parse(readFileSync(keyFile, 'utf8')) as Record<string, unknown>;
    bad.private_key = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' });
    const badFile = join(dir, 'sa-wrong-key.json');
    writeFileSync(badFile, JSON.stringify(bad));
    const resolve = createCredentialResolver({ env: { DOCKER_CONFIG: noDockerConfig(), GOOGLE_APPLICATION_CREDENTIALS: badFile }, config: {} });
    await assert.rejects(resolve('gcr.io'), (err: Error) => {
      assert.ok(err instanceof RegistryError);
      assert.match(err.message, /^gcr\.io: cannot get Google \(.*sa-wrong-key\.json\) credentials: invalid_grant: Invalid JWT Signature\.$/);
      assert.ok(!err.message.includes('PRIVATE KEY'));
      return true;
    });
  });

  test('protocol fixture: GCR tag list through the OCI client (challenge, Basic to the realm) -> timeUploadedMs', async () => {
    const { keyFile } = await googleFixtures();
    const gcr = await fixture((req, res, fx) => {
      const url = new URL(req.path, fx.origin);
      if (url.pathname === '/v2/') return json(res, 401, {}, { 'www-authenticate': `Bearer realm="${fx.origin}/v2/token",service=gcr.io` });
      if (url.pathname === '/v2/token') {
        if (req.headers.authorization !== `Basic ${b64(`oauth2accesstoken:${ACCESS_TOKEN}`)}`) return json(res, 401, { errors: [{ code: 'UNAUTHORIZED' }] });
        return json(res, 200, { token: 'gcr-registry-bearer', expires_in: 3600 });
      }
      if (url.pathname === '/v2/fixture-project/app/tags/list') {
        if (req.headers.authorization !== 'Bearer gcr-registry-bearer') return json(res, 401, {}, { 'www-authenticate': `Bearer realm="${fx.origin}/v2/token",service=gcr.io` });
        return json(res, 200, {
          child: [],
          manifest: {
            'sha256:1111': { imageSizeBytes: '2048', layerId: '', mediaType: 'application/vnd.oci.image.index.v1+json', tag: ['v1', 'latest'], timeCreatedMs: '0', timeUploadedMs: '1717171717171' },
            'sha256:2222': { imageSizeBytes: '2048', layerId: '', mediaType: 'application/vnd.docker.distribution.manifest.v2+json', tag: ['v0'], timeCreatedMs: '0', timeUploadedMs: '1616161616161' },
          },
          name: 'fixture-project/app',
          tags: ['latest', 'v0', 'v1'],
        });
      }
      json(res, 404, { errors: [{ code: 'NAME_UNKNOWN' }] });
    });
    const resolve = createCredentialResolver({ env: { DOCKER_CONFIG: noDockerConfig(), GOOGLE_APPLICATION_CREDENTIALS: keyFile }, config: {} });
    // The fixture stands in for gcr.io: the client talks to it, with gcr.io's credentials.
    const client = new RegistryClient({ credentials: (host) => resolve(host === gcr.host ? 'gcr.io' : host) });
    const ctx: ProviderContext = { env: { GOOGLE_APPLICATION_CREDENTIALS: keyFile }, config: {}, registry: { request: (_registry, path, init) => client.request(gcr.host, path, init) } };
    const times = await providerFor('gcr.io', ctx).pushTimes!({ registry: 'gcr.io', repository: 'fixture-project/app' });
    assert.deepEqual(Object.fromEntries([...times].map(([t, d]) => [t, d.toISOString()])), {
      v1: '2024-05-31T16:08:37.171Z',
      latest: '2024-05-31T16:08:37.171Z',
      v0: '2021-03-19T13:46:56.161Z',
    });
    assert.deepEqual(gcr.seen.map((s) => `${s.method} ${s.path}`), [
      'GET /v2/',
      'GET /v2/token?service=gcr.io&scope=repository%3Afixture-project%2Fapp%3Apull&account=oauth2accesstoken',
      'GET /v2/fixture-project/app/tags/list?n=10000',
    ]);
  });
});

// ---------------------------------------------------------------------------------------------
// Azure

describe('Azure protocol fixture (Entra ID client credentials -> ACR /oauth2/exchange -> realm refresh-token grant)', () => {
  const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
  const CLIENT_ID = '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
  const CLIENT_SECRET = 'fixture~client.secret_value-0001';
  const ACR = 'fixturereg.azurecr.io';
  let tls: { key: string; cert: string };

  before(() => {
    const key = join(dir, 'aad-key.pem');
    const cert = join(dir, 'aad-cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    tls = { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8') };
  });

  const refreshToken = (expS: number) => acrRefreshToken(TENANT, expS);

  async function azureFixtures(refreshExpS: number) {
    const aad = await fixture((req, res, fx) => {
      const path = req.path.split('?')[0];
      if (req.method === 'GET' && path === `/${TENANT}/v2.0/.well-known/openid-configuration`) {
        return json(res, 200, entraOpenIdConfiguration(fx.origin, TENANT));
      }
      if (req.method === 'POST' && path === `/${TENANT}/oauth2/v2.0/token`) {
        const f = form(req.body);
        if (f.client_secret !== CLIENT_SECRET) return json(res, 401, { error: 'invalid_client', error_description: 'AADSTS7000215: Invalid client secret provided.' });
        return json(res, 200, { token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: 'entra-access-token-for-acr' });
      }
      json(res, 404, { error: 'not_found' });
    }, tls);
    const acr = await fixture((req, res, fx) => {
      const url = new URL(req.path, fx.origin);
      const challenge = { 'www-authenticate': `Bearer realm="${fx.origin}/oauth2/token",service="${ACR}"` };
      if (req.method === 'POST' && url.pathname === '/oauth2/exchange') {
        const f = form(req.body);
        if (f.access_token !== 'entra-access-token-for-acr') return json(res, 401, { errors: [{ code: 'UNAUTHORIZED' }] });
        return json(res, 200, { refresh_token: refreshToken(refreshExpS) });
      }
      if (url.pathname === '/v2/') return json(res, 401, { errors: [{ code: 'UNAUTHORIZED' }] }, challenge);
      if (req.method === 'POST' && url.pathname === '/oauth2/token') {
        const f = form(req.body);
        if (f.grant_type !== 'refresh_token' || f.refresh_token !== refreshToken(refreshExpS)) return json(res, 401, { errors: [{ code: 'UNAUTHORIZED' }] });
        return json(res, 200, { access_token: 'acr-access-token' });
      }
      if (url.pathname === '/v2/team/api/tags/list') {
        if (req.headers.authorization !== 'Bearer acr-access-token') return json(res, 401, {}, challenge);
        return json(res, 200, { name: 'team/api', tags: ['1.0.0', '1.1.0'] });
      }
      json(res, 404, { errors: [{ code: 'NAME_UNKNOWN' }] });
    });
    return { aad, acr };
  }

  const ctxFor = (aad: Fixture, acr: Fixture, raw: unknown, env: Record<string, string> = {}, now?: () => number): ProviderContext => ({
    env: { DOCKER_CONFIG: noDockerConfig(), AZURE_AUTHORITY_HOST: aad.origin, ...env },
    config: parseRegistryConfig(raw, { env: { ACR_SECRET: CLIENT_SECRET } }).config,
    extraCa: [tls.cert],
    endpoints: { registryBase: (host) => (host === ACR ? acr.origin : undefined) },
    now,
  });

  test('protocol fixture: DOSync acr section -> client_credentials at the authority, exchange, identity token; the OCI client lists tags with it', async () => {
    let now = Date.now();
    const { aad, acr } = await azureFixtures(Math.floor(now / 1000) + 3 * 3600);
    const ctx = ctxFor(aad, acr, { acr: { tenant_id: TENANT, client_id: CLIENT_ID, client_secret: '${ACR_SECRET}', registry: ACR } }, {}, () => now);
    const resolve = createCredentialResolver(ctx);
    const cred = await resolve(ACR);
    assert.deepEqual(cred, { username: '00000000-0000-0000-0000-000000000000', identityToken: refreshToken(Math.floor(now / 1000) + 3 * 3600) });

    // Entra ID: OpenID configuration, then the client-credentials grant for the ACR audience.
    assert.deepEqual(aad.seen.map((s) => `${s.method} ${s.path.split('?')[0]}`), [
      `GET /${TENANT}/v2.0/.well-known/openid-configuration`,
      `POST /${TENANT}/oauth2/v2.0/token`,
    ]);
    const grant = form(aad.seen[1]!.body);
    assert.equal(grant.grant_type, 'client_credentials');
    assert.equal(grant.client_id, CLIENT_ID);
    assert.equal(grant.client_secret, CLIENT_SECRET);
    assert.equal(grant.scope, 'https://containerregistry.azure.net/.default');

    // ACR exchange: form-encoded access_token grant naming the registry as service.
    assert.equal(acr.seen.length, 1);
    assert.equal(acr.seen[0]!.path, '/oauth2/exchange');
    assert.equal(acr.seen[0]!.headers['content-type'], 'application/x-www-form-urlencoded');
    assert.deepEqual(form(acr.seen[0]!.body), { grant_type: 'access_token', service: ACR, access_token: 'entra-access-token-for-acr', tenant: TENANT });

    // The OCI client trades the refresh token at the realm for a repository token.
    const client = new RegistryClient({ credentials: (host) => resolve(host === acr.host ? ACR : host) });
    assert.deepEqual(await client.listTags({ registry: acr.host, repository: 'team/api' }), ['1.0.0', '1.1.0']);
    const tokenCall = acr.seen.find((s) => s.path === '/oauth2/token')!;
    const tf = form(tokenCall.body);
    assert.equal(tf.grant_type, 'refresh_token');
    assert.equal(tf.service, ACR);
    assert.equal(tf.scope, 'repository:team/api:pull');
    assert.equal(tf.refresh_token, cred!.identityToken);

    // Cached until shortly before the refresh token's exp.
    now += 2 * 3600_000;
    await resolve(ACR);
    assert.equal(acr.seen.filter((s) => s.path === '/oauth2/exchange').length, 1);
    now += 56 * 60_000;
    await resolve(ACR);
    assert.equal(acr.seen.filter((s) => s.path === '/oauth2/exchange').length, 2);
  });

  test('protocol fixture: AZURE_* environment service principal; a wrong secret is an error without the secret', async () => {
    const { aad, acr } = await azureFixtures(Math.floor(Date.now() / 1000) + 3600);
    const good = createCredentialResolver(ctxFor(aad, acr, {}, { AZURE_TENANT_ID: TENANT, AZURE_CLIENT_ID: CLIENT_ID, AZURE_CLIENT_SECRET: CLIENT_SECRET }));
    assert.equal((await good(ACR))?.username, '00000000-0000-0000-0000-000000000000');

    const bad = createCredentialResolver(ctxFor(aad, acr, {}, { AZURE_TENANT_ID: TENANT, AZURE_CLIENT_ID: CLIENT_ID, AZURE_CLIENT_SECRET: 'not-the-right-secret-0001' }));
    await assert.rejects(bad(ACR), (err: Error) => {
      assert.ok(err instanceof RegistryError);
      assert.match(err.message, /^fixturereg\.azurecr\.io: cannot get Azure Entra ID credentials: .*AADSTS7000215/);
      assert.ok(!err.message.includes('not-the-right-secret'), err.message);
      assert.equal(err.message.includes('\n'), false);
      return true;
    });
  });

  test('admin user is plain Basic; no Entra call', async () => {
    const { aad, acr } = await azureFixtures(0);
    const resolve = createCredentialResolver(ctxFor(aad, acr, { acr: { username: 'fixturereg', password: 'admin-pw', registry: ACR } }));
    assert.deepEqual(await resolve(ACR), { username: 'fixturereg', password: 'admin-pw' });
    assert.equal(aad.seen.length + acr.seen.length, 0);
  });
});

// ---------------------------------------------------------------------------------------------
// Push-time APIs

describe('push-time API protocol fixtures', () => {
  test('protocol fixture: Docker Hub tags API, PAT login and next pages', async () => {
    const hub = await fixture((req, res, fx) => {
      const url = new URL(req.path, fx.origin);
      if (req.method === 'POST' && url.pathname === '/v2/auth/token') {
        const body = JSON.parse(req.body) as { identifier?: string; secret?: string };
        if (body.identifier !== 'hubuser' || body.secret !== 'dckr_pat_fixture') return json(res, 401, { message: 'incorrect username or password' });
        return json(res, 200, { access_token: 'hub-api-jwt' });
      }
      if (url.pathname === '/v2/namespaces/acme/repositories/web/tags') {
        if (req.headers.authorization !== 'Bearer hub-api-jwt') return json(res, 401, { message: 'authentication required' });
        const page = url.searchParams.get('page') ?? '1';
        if (page === '1') {
          return json(res, 200, {
            count: 3,
            next: `${fx.origin}/v2/namespaces/acme/repositories/web/tags?page=2&page_size=100`,
            previous: null,
            results: [
              { name: '2.0.0', last_updated: '2025-02-02T10:00:00.000000Z', tag_last_pushed: '2025-02-01T09:00:00.123456Z', tag_status: 'active' },
              { name: '1.9.0', last_updated: '2025-01-05T00:00:00Z' },
            ],
          });
        }
        return json(res, 200, { count: 3, next: null, previous: 'x', results: [{ name: '1.0.0', last_updated: '2024-06-01T12:00:00Z', tag_last_pushed: '2024-06-01T11:00:00Z' }] });
      }
      json(res, 404, { message: 'not found' });
    });
    const ctx: ProviderContext = { env: { DOCKERHUB_USERNAME: 'hubuser', DOCKERHUB_PASSWORD: 'dckr_pat_fixture' }, config: {}, endpoints: { dockerHubApi: hub.origin } };
    const times = await providerFor('docker.io', ctx).pushTimes!({ registry: 'docker.io', repository: 'acme/web' });
    assert.deepEqual(Object.fromEntries([...times].map(([t, d]) => [t, d.toISOString()])), {
      '2.0.0': '2025-02-01T09:00:00.123Z',
      '1.9.0': '2025-01-05T00:00:00.000Z',
      '1.0.0': '2024-06-01T11:00:00.000Z',
    });
    assert.deepEqual(hub.seen.map((s) => `${s.method} ${s.path}`), [
      'POST /v2/auth/token',
      'GET /v2/namespaces/acme/repositories/web/tags?page_size=100',
      'GET /v2/namespaces/acme/repositories/web/tags?page=2&page_size=100',
    ]);
    assert.deepEqual(JSON.parse(hub.seen[0]!.body), { identifier: 'hubuser', secret: 'dckr_pat_fixture' });
    assert.equal(hub.seen[0]!.headers['content-type'], 'application/json');

    // Official images live in the `library` namespace; anonymous reads send no Authorization.
    const anon = await fixture((req, res) => {
      assert.equal(req.headers.authorization, undefined);
      if (req.path.startsWith('/v2/namespaces/library/repositories/nginx/tags')) return json(res, 200, { next: 'https://evil.example/steal', results: [{ name: 'x', last_updated: '2020-01-01T00:00:00Z' }] });
      json(res, 404, {});
    });
    await assert.rejects(providerFor('docker.io', { env: {}, config: {}, endpoints: { dockerHubApi: anon.origin } }).pushTimes!({ registry: 'docker.io', repository: 'library/nginx' }),
      /refused a next-page link to https:\/\/evil\.example\/steal, which is not the Docker Hub API/);
  });

  test('protocol fixture: Quay tag API pages (has_additional) with an OAuth token', async () => {
    const quay = await fixture((req, res, fx) => {
      const url = new URL(req.path, fx.origin);
      if (url.pathname !== '/api/v1/repository/acme/worker/tag/') return json(res, 404, {});
      if (req.headers.authorization !== 'Bearer quay-oauth-token') return json(res, 403, { error_message: 'Unauthorized' });
      const page = Number(url.searchParams.get('page'));
      if (page === 1) return json(res, 200, { tags: [{ name: 'v2', start_ts: 1700000000, manifest_digest: 'sha256:2' }, { name: 'v1', start_ts: 1600000000 }], page: 1, has_additional: true });
      return json(res, 200, { tags: [{ name: 'v1', start_ts: 1500000000 }, { name: 'v0', last_modified: 'Tue, 01 Jan 2019 00:00:00 -0000' }], page: 2, has_additional: false });
    });
    const ctx: ProviderContext = { env: {}, config: parseRegistryConfig({ quay: { token: 'quay-oauth-token' } }).config, endpoints: { registryBase: (h) => (h === 'quay.io' ? quay.origin : undefined) } };
    const times = await providerFor('quay.io', ctx).pushTimes!({ registry: 'quay.io', repository: 'acme/worker' });
    assert.deepEqual(Object.fromEntries([...times].map(([t, d]) => [t, d.toISOString()])), {
      v2: '2023-11-14T22:13:20.000Z',
      v1: '2020-09-13T12:26:40.000Z',
      v0: '2019-01-01T00:00:00.000Z',
    });
    assert.deepEqual(quay.seen.map((s) => s.path), [
      '/api/v1/repository/acme/worker/tag/?onlyActiveTags=true&limit=100&page=1',
      '/api/v1/repository/acme/worker/tag/?onlyActiveTags=true&limit=100&page=2',
    ]);
  });

  test('protocol fixture: Harbor artifact API with a robot account (double-encoded repository path)', async () => {
    const harbor = await fixture((req, res, fx) => {
      const url = new URL(req.path, fx.origin);
      if (req.headers.authorization !== `Basic ${b64('robot$ci+reader:harbor-robot-secret')}`) return json(res, 401, { errors: [{ code: 'UNAUTHORIZED', message: 'unauthorized' }] });
      if (url.pathname !== '/api/v2.0/projects/platform/repositories/tools%252Fbuilder/artifacts') return json(res, 404, {});
      return json(res, 200, [
        { digest: 'sha256:1', push_time: '2025-01-01T00:00:00.000Z', tags: [{ name: '3.1', push_time: '2025-01-01T00:00:00.000Z' }, { name: 'latest', push_time: '2025-01-02T00:00:00.000Z' }] },
        { digest: 'sha256:0', push_time: '2024-01-01T00:00:00.000Z', tags: null },
      ]);
    });
    const { config } = parseRegistryConfig({ harbor: { url: `http://${harbor.host}`, insecure: true, username: 'robot$ci+reader', password: '${HARBOR_PASSWORD}' } }, { env: { HARBOR_PASSWORD: 'harbor-robot-secret' } });
    const ctx: ProviderContext = { env: {}, config };
    const provider = providerFor(harbor.host, ctx);
    assert.equal(provider.name, 'harbor');
    const times = await provider.pushTimes!({ registry: harbor.host, repository: 'platform/tools/builder' });
    assert.deepEqual(Object.fromEntries([...times].map(([t, d]) => [t, d.toISOString()])), { '3.1': '2025-01-01T00:00:00.000Z', latest: '2025-01-02T00:00:00.000Z' });
    assert.deepEqual(harbor.seen.map((s) => s.path), ['/api/v2.0/projects/platform/repositories/tools%252Fbuilder/artifacts?with_tag=true&page=1&page_size=100']);
  });
});

// Make sure a custom CA given to the vendor-API fetch is really used (and the public roots kept).
test('vendor API calls trust extraCa (HTTPS fixture with a self-signed certificate)', async () => {
  const key = join(dir, 'hub-key.pem');
  const cert = join(dir, 'hub-cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  const tlsFx = await fixture((_req, res) => json(res, 200, { next: null, results: [{ name: 'a', last_updated: '2024-01-01T00:00:00Z' }] }), { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8') });
  const repo = { registry: 'docker.io', repository: 'acme/tls' };
  await assert.rejects(providerFor('docker.io', { env: {}, config: {}, endpoints: { dockerHubApi: tlsFx.origin } }).pushTimes!(repo), /cannot reach https:\/\/127\.0\.0\.1:\d+\/v2\/namespaces\/acme\/repositories\/tls\/tags/);
  const times = await providerFor('docker.io', { env: {}, config: {}, endpoints: { dockerHubApi: tlsFx.origin }, extraCa: [readFileSync(cert, 'utf8')] }).pushTimes!(repo);
  assert.deepEqual([...times.keys()], ['a']);
});
