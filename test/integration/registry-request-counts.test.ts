/**
 * The HTTP requests credential sources send for a registry — cloud SDK token calls (ECR
 * GetAuthorizationToken, Google's token endpoint, Entra ID), the ACR exchange, the Docker Hub API
 * login — count as `token` requests in the OCI client's stats, and vendor push-time APIs as
 * `other`, each accounted to its registry and reported to the observer with its status. Against
 * protocol fixtures speaking each vendor's protocol, driven by the real SDKs.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegistryClient } from '../../src/registry/client.js';
import { createCredentialResolver } from '../../src/registry/credentials.js';
import { parseRegistryConfig } from '../../src/registry/config.js';
import { providerFor, type ProviderContext } from '../../src/registry/providers/index.js';
import type { RequestKind } from '../../src/registry/transport.js';
import {
  acrRefreshToken, b64, closeFixtures, entraOpenIdConfiguration, fixture, form, json, makeTestCa, serviceAccountKey, sigV4Valid, verifyJwtAssertion, type TestCa,
} from '../helpers/protocol-fixtures.js';

interface Observed { registry: string; kind: RequestKind; status: number | 'error' }

/** A real client whose observer records every request; `ctx` hands the providers its recorder, as createRegistryRuntime does. */
function countingClient(ctx: Omit<ProviderContext, 'onRequest'>) {
  const observed: Observed[] = [];
  const client = new RegistryClient({ observer: { onRequest: ({ registry, kind, status }) => void observed.push({ registry, kind, status }) } });
  const full: ProviderContext = { ...ctx, registry: client, onRequest: (host, kind, method) => client.recordExternalRequest(host, kind, method) };
  return { client, observed, ctx: full };
}

let dir: string;
let ca: TestCa;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'dosync-request-counts-'));
  ca = makeTestCa(dir, ['localhost']);
});
after(async () => {
  await closeFixtures();
  rmSync(dir, { recursive: true, force: true });
});
const noDockerConfig = () => join(dir, 'no-docker-config');

describe('credential and vendor API requests in the client stats (protocol fixtures)', () => {
  test('protocol fixture: ECR — every GetAuthorizationToken attempt (the SDK retries a 503) is a token request for the host; DescribeImages pages are other', async () => {
    const HOST = '123456789012.dkr.ecr.eu-west-1.amazonaws.com';
    const SECRET = 'countsSecretKey/With+Special=Chars0001';
    let failFirst = true;
    const api = await fixture((req, res) => {
      if (!sigV4Valid(req, SECRET).ok) return json(res, 403, { __type: 'InvalidSignatureException', message: 'signature mismatch' });
      const target = String(req.headers['x-amz-target']);
      if (target.endsWith('.GetAuthorizationToken')) {
        if (failFirst) {
          failFirst = false;
          return json(res, 503, { __type: 'ServiceUnavailableException', message: 'try again' }, { 'content-type': 'application/x-amz-json-1.1' });
        }
        return json(res, 200, { authorizationData: [{ authorizationToken: b64('AWS:ecr-counts-password'), expiresAt: Date.now() / 1000 + 3600 }] }, { 'content-type': 'application/x-amz-json-1.1' });
      }
      const next = (JSON.parse(req.body) as { nextToken?: string }).nextToken;
      json(res, 200, { imageDetails: [{ imageTags: [next ?? 'first'], imagePushedAt: 1700000000 }], ...(next ? {} : { nextToken: 'second' }) }, { 'content-type': 'application/x-amz-json-1.1' });
    });
    const { client, observed, ctx } = countingClient({
      env: { DOCKER_CONFIG: noDockerConfig(), AWS_ACCESS_KEY_ID: 'AKIACOUNTSKEY0000001', AWS_SECRET_ACCESS_KEY: SECRET, AWS_ENDPOINT_URL_ECR: api.origin, AWS_MAX_ATTEMPTS: '3' },
      config: {},
    });
    assert.deepEqual(await createCredentialResolver(ctx)(HOST), { username: 'AWS', password: 'ecr-counts-password' });
    assert.equal(api.seen.length, 2);
    assert.deepEqual(observed, [{ registry: HOST, kind: 'token', status: 503 }, { registry: HOST, kind: 'token', status: 200 }]);
    await providerFor(HOST, ctx).pushTimes!({ registry: HOST, repository: 'team/app' });
    assert.equal(api.seen.length, 4);
    assert.deepEqual(observed.slice(2), [{ registry: HOST, kind: 'other', status: 200 }, { registry: HOST, kind: 'other', status: 200 }]);
    assert.deepEqual(client.stats.byKind, { ping: 0, token: 2, tags: 0, manifest: 0, other: 2 });
    assert.deepEqual(client.stats.byRegistry, { [HOST]: 4 });
    assert.equal(client.stats.requests, 4);
    assert.deepEqual(client.stats.byMethod, { POST: 4 });
  });

  test('protocol fixture: Google — the service-account token call is a token request with its status, refused or not', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const oauth = await fixture((req, res) => {
      if (!verifyJwtAssertion(form(req.body).assertion ?? '', publicKey)) return json(res, 400, { error: 'invalid_grant', error_description: 'Invalid JWT Signature.' });
      json(res, 200, { access_token: 'ya29.counts-token', expires_in: 3599, token_type: 'Bearer' });
    });
    const key = (pk: typeof privateKey) => serviceAccountKey({ privateKey: pk, email: 'counts@p.iam.gserviceaccount.com', keyId: 'k1', projectId: 'p', tokenUri: `${oauth.origin}/token` });
    const good = join(dir, 'sa-good.json');
    const bad = join(dir, 'sa-bad.json');
    writeFileSync(good, JSON.stringify(key(privateKey)));
    writeFileSync(bad, JSON.stringify(key(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey)));

    const ok = countingClient({ env: { DOCKER_CONFIG: noDockerConfig() }, config: parseRegistryConfig({ gcr: { credentials_file: good } }).config });
    assert.deepEqual(await createCredentialResolver(ok.ctx)('europe-docker.pkg.dev'), { username: 'oauth2accesstoken', password: 'ya29.counts-token' });
    assert.deepEqual(ok.observed, [{ registry: 'europe-docker.pkg.dev', kind: 'token', status: 200 }]);
    assert.equal(ok.client.stats.byKind.token, 1);

    const refused = countingClient({ env: { DOCKER_CONFIG: noDockerConfig(), GOOGLE_APPLICATION_CREDENTIALS: bad }, config: {} });
    await assert.rejects(createCredentialResolver(refused.ctx)('gcr.io'), /invalid_grant/);
    assert.deepEqual(refused.observed, [{ registry: 'gcr.io', kind: 'token', status: 400 }]);
    assert.equal(oauth.seen.length, 2);
  });

  test('protocol fixture: Azure — Entra ID (discovery + token) and the ACR exchange are token requests for the ACR host; the realm token is the client\'s own', async () => {
    const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
    const ACR = 'countsreg.azurecr.io';
    const refresh = acrRefreshToken(TENANT, Math.floor(Date.now() / 1000) + 3600);
    const aad = await fixture((req, res, fx) => {
      const path = req.path.split('?')[0];
      if (path === `/${TENANT}/v2.0/.well-known/openid-configuration`) return json(res, 200, entraOpenIdConfiguration(fx.origin, TENANT));
      if (path === `/${TENANT}/oauth2/v2.0/token`) return json(res, 200, { token_type: 'Bearer', expires_in: 3599, access_token: 'entra-counts-token' });
      json(res, 404, { error: 'not_found' });
    }, ca.server);
    const acr = await fixture((req, res, fx) => {
      const url = new URL(req.path, fx.origin);
      const challenge = { 'www-authenticate': `Bearer realm="${fx.origin}/oauth2/token",service="${ACR}"` };
      if (url.pathname === '/oauth2/exchange') return json(res, 200, { refresh_token: refresh });
      if (url.pathname === '/oauth2/token') return json(res, 200, { access_token: 'acr-counts-access' });
      if (url.pathname === '/v2/') return json(res, 401, {}, challenge);
      if (req.headers.authorization !== 'Bearer acr-counts-access') return json(res, 401, {}, challenge);
      json(res, 200, { name: 'team/api', tags: ['1.0.0'] });
    });
    const { client, observed, ctx } = countingClient({
      env: { DOCKER_CONFIG: noDockerConfig(), AZURE_AUTHORITY_HOST: aad.origin },
      config: parseRegistryConfig({ acr: { tenant_id: TENANT, client_id: 'c1', client_secret: 'counts-client-secret', registry: ACR } }).config,
      extraCa: [ca.caCert],
      endpoints: { registryBase: (host) => (host === ACR ? acr.origin : undefined) },
    });
    // The OCI client reaches the ACR fixture by its loopback address, with the provider's credential for the ACR name.
    const resolve = createCredentialResolver(ctx);
    const listing = new RegistryClient({ credentials: async () => resolve(ACR) });
    assert.deepEqual(await listing.listTags({ registry: acr.host, repository: 'team/api' }), ['1.0.0']);
    assert.equal(aad.seen.length, 2);
    assert.deepEqual(observed, [
      { registry: ACR, kind: 'token', status: 200 }, // OpenID configuration
      { registry: ACR, kind: 'token', status: 200 }, // client-credentials token
      { registry: ACR, kind: 'token', status: 200 }, // /oauth2/exchange
    ]);
    assert.deepEqual(client.stats.byKind, { ping: 0, token: 3, tags: 0, manifest: 0, other: 0 });
    assert.deepEqual(listing.stats.byKind, { ping: 1, token: 1, tags: 1, manifest: 0, other: 0 });
  });

  test('protocol fixture: Docker Hub API — the login is a token request, each tags page an other request, all for docker.io; no secret reaches the counts', async () => {
    const hub = await fixture((req, res, fx) => {
      const url = new URL(req.path, fx.origin);
      if (url.pathname === '/v2/auth/token') return json(res, 200, { access_token: 'hub-counts-jwt' });
      if (url.searchParams.get('page') === '2') return json(res, 200, { next: null, results: [{ name: '1.0.0', tag_last_pushed: '2024-06-01T11:00:00Z' }] });
      json(res, 200, { next: `${fx.origin}${url.pathname}?page=2&page_size=100`, results: [{ name: '2.0.0', tag_last_pushed: '2025-02-01T09:00:00Z' }] });
    });
    const { client, observed, ctx } = countingClient({ env: { DOCKERHUB_USERNAME: 'hubuser', DOCKERHUB_PASSWORD: 'dckr_pat_counts_secret' }, config: {}, endpoints: { dockerHubApi: hub.origin } });
    const times = await providerFor('docker.io', ctx).pushTimes!({ registry: 'docker.io', repository: 'acme/web' });
    assert.equal(times.size, 2);
    assert.deepEqual(observed, [
      { registry: 'docker.io', kind: 'token', status: 200 },
      { registry: 'docker.io', kind: 'other', status: 200 },
      { registry: 'docker.io', kind: 'other', status: 200 },
    ]);
    assert.deepEqual(client.stats.byMethod, { POST: 1, GET: 2 });
    assert.ok(!JSON.stringify({ stats: client.stats, observed }).includes('dckr_pat_counts_secret'));
  });
});
