/**
 * Issue 4 acceptance: `dosync check` over one compose stack whose images come from eight
 * registries in seven families — Docker Hub, GHCR, ECR, ACR, Artifact Registry and Quay, served by
 * local HTTPS protocol fixtures, plus the real CNCF registries on 127.0.0.1:5000 (anonymous) and
 * :5001 (htpasswd Basic). Each cloud host name is routed to its fixture as an /etc/hosts entry
 * would (an undici Agent mapping the name to 127.0.0.1:<port>, trusting a test CA), and every
 * credential comes from where users keep it: dosync.yaml (ECR keys, Google key file, Azure service
 * principal), the environment (DOCKERHUB_*, GITHUB_PAT), ~/.docker/config.json `auths` (Quay robot)
 * and a credential helper on PATH (:5001).
 *
 * The code path is `dosync check`'s, in-process (the CLI cannot take a dispatcher):
 * createRegistryRuntime -> prepare() -> planService per service -> checkRow. The test asserts every
 * service's current/newest tag and status and the exact HTTP requests per kind (the cloud credential
 * sources' own token calls included), and shows that a second cycle on the same runtime costs one
 * tag listing per repository and no token request.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { Agent } from 'undici';
import { createRegistryRuntime, type RegistryRuntime } from '../../src/cli/registry-runtime.js';
import { checkRow, type CheckRow } from '../../src/cli/check.js';
import { loadConfigFile, type ConfigFile } from '../../src/config/file.js';
import { createDocker } from '../../src/engine/docker.js';
import { parseImageReference } from '../../src/reference/index.js';
import type { RequestKind } from '../../src/registry/transport.js';
import { prepare } from '../../src/sync/cycle.js';
import { planService } from '../../src/sync/plan.js';
import { StateStore, defaultStatePath } from '../../src/sync/state.js';
import { createLogger } from '../../src/util/logger.js';
import { BASIC_REGISTRY, REGISTRY, unique } from '../helpers/docker.js';
import { buildImage, pushAs, removeImages } from '../helpers/registry-images.js';
import {
  acrRefreshToken, b64, closeFixtures, entraOpenIdConfiguration, fixture, form, hostRoutingAgent, json, makeTestCa, serviceAccountKey, sigV4Valid,
  verifyJwtAssertion, type Fixture, type Seen,
} from '../helpers/protocol-fixtures.js';

// ---------------------------------------------------------------------------------------------
// The registries' contents and the credentials that open them

const HUB_USER = 'acmebot';
const HUB_PASSWORD = 'dckr_pat_families-hub-0001';
const GHCR_PAT = 'ghp_familiesFixturePat00000000000001';
const QUAY_ROBOT = { user: 'acme+reader', token: 'QUAYROBOTFAMILIES0000000000000001' };
const AWS_KEY_ID = 'AKIAFAMILIESKEY00001';
const AWS_SECRET = 'familiesSecretKey/With+Special=Chars01';
const ECR_PASSWORD = 'ecr-families-password-0001';
const ECR_HOST = '123456789012.dkr.ecr.us-east-1.amazonaws.com';
const ACR_HOST = 'fixturereg.azurecr.io';
const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const AZ_CLIENT_ID = '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
const AZ_CLIENT_SECRET = 'families~client.secret_value-0001';
const ENTRA_TOKEN = 'entra-access-token-families';
const GAR_HOST = 'us-docker.pkg.dev';
const GOOGLE_ACCESS_TOKEN = 'ya29.families-access-token';
const SECRETS = [HUB_PASSWORD, GHCR_PAT, QUAY_ROBOT.token, AWS_SECRET, ECR_PASSWORD, AZ_CLIENT_SECRET, ENTRA_TOKEN, GOOGLE_ACCESS_TOKEN, BASIC_REGISTRY.password];

const HUB_REPOS = {
  'library/nginx': ['1.24', '1.24.0', '1.25', '1.25.3', '1.25.4', '1.26', '1.26.2', '1.27', '1.27.3', '1.27-alpine', 'alpine', 'latest', 'mainline', 'stable'],
  'acme/api': ['2.0.0', '2.1.0', '2.1.1', '2.2.0', '3.0.0'],
};
const HUB_PUBLIC = new Set(['library/nginx']);
const GHCR_REPOS = { 'acme/worker': ['v1.3.0', 'v1.4.0', 'v1.4.2', 'v1.5.0', 'v1.6.0-rc.1', 'v2.0.0', 'main'] };
const ECR_REPOS = { 'team/billing': ['3.1.0', '3.2.0', '3.2.1', '3.3.0', '4.0.0', 'latest'] };
const ACR_REPOS = { 'team/frontend': ['1.0.0', '1.0.1', '1.0.2', '1.1.0'] };
const GAR_REPOS = { 'fixture-project/images/reports': ['0.8.5', '0.9.0', '0.9.3', '0.10.0', '1.0.0'] };
const QUAY_REPOS = { 'acme/metrics': ['v1.9.0', 'v2.0.0', 'v2.0.1', 'v2.1.0', 'latest'] };

// ---------------------------------------------------------------------------------------------
// The distribution API, as the fixtures speak it

/** Bearer tokens a fixture issued, each with the repositories it may pull. */
class TokenBook {
  private readonly grants = new Map<string, Set<string>>();
  constructor(private readonly prefix: string) {}

  issue(repositories: string[]): string {
    const token = `${this.prefix}.${randomBytes(16).toString('base64url')}`;
    this.grants.set(token, new Set(repositories));
    return token;
  }

  canPull(authorization: string | string[] | undefined, repository: string): boolean {
    const m = /^Bearer (\S+)$/.exec(String(authorization ?? ''));
    return m !== null && (this.grants.get(m[1]!)?.has(repository) ?? false);
  }
}

/** `repository:<name>:<actions>` scopes (one per parameter, or space-separated) -> names granted pull. */
function pullScopes(url: URL): string[] {
  const names: string[] = [];
  for (const s of url.searchParams.getAll('scope').flatMap((v) => v.split(' '))) {
    const parts = s.split(':');
    if (parts[0] === 'repository' && parts.length >= 3 && parts.at(-1)!.split(',').includes('pull')) names.push(parts.slice(1, -1).join(':'));
  }
  return names;
}

/** The bytes of the manifest a tag names (distinct per repository and tag, so each has its own digest). */
function manifestBytes(repository: string, tag: string): Buffer {
  return Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [], annotations: { 'org.opencontainers.image.ref.name': `${repository}:${tag}` } }));
}
const digestOf = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

interface Distribution {
  repos: Record<string, string[]>;
  /** WWW-Authenticate of `/v2/` and of a 401. */
  challenge: string;
  canPull: (req: Seen, repository: string) => boolean;
  /** The tag list's body (Google adds its `manifest` map). */
  tagListBody?: (repository: string, tags: string[]) => unknown;
  /** Headers on manifest answers (Docker Hub's pull-limit headers). */
  manifestHeaders?: Record<string, string>;
  /** Largest `n` the registry accepts (ECR: 1000). */
  maxPageSize?: number;
}

/** `/v2/`, tag lists (`n`/`last` pagination with a relative Link) and manifest HEAD/GET, behind the family's auth. */
function serveDistribution(d: Distribution, req: Seen, res: ServerResponse, url: URL): void {
  const bearer = d.challenge.startsWith('Bearer ');
  const unauthorized = (repository?: string) => json(res, 401, { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }, {
    'www-authenticate': bearer && repository ? `${d.challenge},scope="repository:${repository}:pull",error="insufficient_scope"` : d.challenge,
  });
  if (url.pathname === '/v2/') return unauthorized();
  const tagList = /^\/v2\/(.+)\/tags\/list$/.exec(url.pathname);
  const manifest = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(url.pathname);
  const repository = (tagList ?? manifest)?.[1];
  if (!repository) return json(res, 404, { errors: [{ code: 'NOT_FOUND' }] });
  if (!d.canPull(req, repository)) return unauthorized(repository);
  const tags = d.repos[repository];
  if (!tags) return json(res, 404, { errors: [{ code: 'NAME_UNKNOWN', message: 'repository name not known to registry' }] });
  if (tagList) {
    const n = Number(url.searchParams.get('n') ?? tags.length);
    if (d.maxPageSize !== undefined && n > d.maxPageSize) return json(res, 400, { errors: [{ code: 'PAGINATION_NUMBER_INVALID', message: `n must not exceed ${d.maxPageSize}` }] });
    const sorted = [...tags].sort();
    const last = url.searchParams.get('last');
    const rest = last === null ? sorted : sorted.filter((t) => t > last);
    const page = rest.slice(0, n);
    const headers: Record<string, string> = {};
    if (rest.length > n) headers.link = `</v2/${repository}/tags/list?n=${n}&last=${encodeURIComponent(page.at(-1)!)}>; rel="next"`;
    return json(res, 200, d.tagListBody?.(repository, page) ?? { name: repository, tags: page }, headers);
  }
  const reference = decodeURIComponent(manifest![2]!);
  if (!tags.includes(reference)) return json(res, 404, { errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }] });
  const bytes = manifestBytes(repository, reference);
  res.writeHead(200, {
    'content-type': 'application/vnd.oci.image.index.v1+json', 'content-length': String(bytes.length), 'docker-content-digest': digestOf(bytes), ...d.manifestHeaders,
  });
  res.end(req.method === 'HEAD' ? undefined : bytes);
}

/** A token endpoint answering GET `?service=&scope=` (Basic credentials optional), per distribution's token spec. */
function serveGetToken(opts: {
  req: Seen; res: ServerResponse; url: URL; service: string; book: TokenBook; repos: Record<string, string[]>;
  /** Whether the Basic credentials (if any) are right. */
  login: (username: string, password: string) => boolean;
  isPublic: (repository: string) => boolean;
  answer: (token: string) => unknown;
}): void {
  const { req, res, url } = opts;
  if (req.method !== 'GET' || url.searchParams.get('service') !== opts.service) return json(res, 400, { errors: [{ code: 'DENIED', message: 'wrong service' }] });
  const basic = /^Basic (\S+)$/.exec(String(req.headers.authorization ?? ''));
  let authenticated = false;
  if (basic) {
    const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    if (!opts.login(decoded.slice(0, i), decoded.slice(i + 1))) return json(res, 401, { errors: [{ code: 'UNAUTHORIZED', message: 'incorrect username or password' }] });
    authenticated = true;
  }
  const granted = pullScopes(url).filter((r) => r in opts.repos && (authenticated || opts.isPublic(r)));
  json(res, 200, opts.answer(opts.book.issue(granted)));
}

// ---------------------------------------------------------------------------------------------
// The fixtures

interface Families {
  hub: Fixture; ghcr: Fixture; quay: Fixture; gar: Fixture; ecr: Fixture; acr: Fixture;
  ecrApi: Fixture; googleOauth: Fixture; entra: Fixture;
  routes: Map<string, number>;
  keyFile: string;
}

async function startFamilies(dir: string, tls: { key: string; cert: string }): Promise<Families> {
  // Docker Hub: registry-1.docker.io with tokens from auth.docker.io (one server, told apart by Host).
  const hubBook = new TokenBook('hub');
  const hub = await fixture((req, res) => {
    const host = String(req.headers.host);
    const url = new URL(req.path, `https://${host}`);
    if (host === 'auth.docker.io' && url.pathname === '/token') {
      return serveGetToken({
        req, res, url, service: 'registry.docker.io', book: hubBook, repos: HUB_REPOS, isPublic: (r) => HUB_PUBLIC.has(r),
        login: (u, p) => u === HUB_USER && p === HUB_PASSWORD,
        answer: (token) => ({ token, access_token: token, expires_in: 300, issued_at: new Date().toISOString() }),
      });
    }
    if (host !== 'registry-1.docker.io') return json(res, 421, { message: `misdirected: ${host}` });
    serveDistribution({
      repos: HUB_REPOS, challenge: 'Bearer realm="https://auth.docker.io/token",service="registry.docker.io"',
      canPull: (r, repo) => hubBook.canPull(r.headers.authorization, repo),
      manifestHeaders: { 'ratelimit-limit': '100;w=21600', 'ratelimit-remaining': '97;w=21600', 'docker-ratelimit-source': '203.0.113.7' },
    }, req, res, url);
  }, tls);

  // GHCR: https://ghcr.io/token; private packages take any username with a PAT as password.
  const ghcrBook = new TokenBook('ghcr');
  const ghcr = await fixture((req, res) => {
    const url = new URL(req.path, 'https://ghcr.io');
    if (url.pathname === '/token') {
      return serveGetToken({ req, res, url, service: 'ghcr.io', book: ghcrBook, repos: GHCR_REPOS, isPublic: () => false, login: (_u, p) => p === GHCR_PAT, answer: (token) => ({ token }) });
    }
    serveDistribution({ repos: GHCR_REPOS, challenge: 'Bearer realm="https://ghcr.io/token",service="ghcr.io"', canPull: (r, repo) => ghcrBook.canPull(r.headers.authorization, repo) }, req, res, url);
  }, tls);

  // Quay: https://quay.io/v2/auth, robot accounts `<org>+<robot>`.
  const quayBook = new TokenBook('quay');
  const quay = await fixture((req, res) => {
    const url = new URL(req.path, 'https://quay.io');
    if (url.pathname === '/v2/auth') {
      return serveGetToken({
        req, res, url, service: 'quay.io', book: quayBook, repos: QUAY_REPOS, isPublic: () => false,
        login: (u, p) => u === QUAY_ROBOT.user && p === QUAY_ROBOT.token, answer: (token) => ({ token }),
      });
    }
    serveDistribution({ repos: QUAY_REPOS, challenge: 'Bearer realm="https://quay.io/v2/auth",service="quay.io"', canPull: (r, repo) => quayBook.canPull(r.headers.authorization, repo) }, req, res, url);
  }, tls);

  // Artifact Registry: /v2/token with Basic oauth2accesstoken:<Google access token>; Google's tag list format.
  const garBook = new TokenBook('gar');
  const gar = await fixture((req, res) => {
    const url = new URL(req.path, `https://${GAR_HOST}`);
    if (url.pathname === '/v2/token') {
      return serveGetToken({
        req, res, url, service: GAR_HOST, book: garBook, repos: GAR_REPOS, isPublic: () => false,
        login: (u, p) => u === 'oauth2accesstoken' && p === GOOGLE_ACCESS_TOKEN,
        answer: (token) => ({ token, expires_in: 3600, issued_at: new Date().toISOString() }),
      });
    }
    serveDistribution({
      repos: GAR_REPOS, challenge: `Bearer realm="https://${GAR_HOST}/v2/token",service="${GAR_HOST}"`,
      canPull: (r, repo) => garBook.canPull(r.headers.authorization, repo),
      tagListBody: (repository, tags) => ({
        child: [],
        manifest: Object.fromEntries(tags.map((t, i) => [digestOf(manifestBytes(repository, t)), { imageSizeBytes: '2048', layerId: '', mediaType: 'application/vnd.oci.image.index.v1+json', tag: [t], timeCreatedMs: '0', timeUploadedMs: String(1_700_000_000_000 + i * 86_400_000) }])),
        name: repository,
        tags,
      }),
    }, req, res, url);
  }, tls);

  // ECR: Basic AWS:<GetAuthorizationToken password>; the tag list refuses n above 1000.
  const ecr = await fixture((req, res) => {
    const url = new URL(req.path, `https://${ECR_HOST}`);
    serveDistribution({
      repos: ECR_REPOS, challenge: `Basic realm="https://${ECR_HOST}/",service="ecr.amazonaws.com"`, maxPageSize: 1000,
      canPull: (r) => r.headers.authorization === `Basic ${b64(`AWS:${ECR_PASSWORD}`)}`,
    }, req, res, url);
  }, tls);
  // The ECR API (awsJson1_1), reached through the SDK's endpoint setting; the signature is verified.
  const ecrApi = await fixture((req, res) => {
    if (!sigV4Valid(req, AWS_SECRET).ok) return json(res, 403, { __type: 'InvalidSignatureException', message: 'signature mismatch' });
    if (req.headers['x-amz-target'] !== 'AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken') return json(res, 400, { __type: 'UnknownOperationException' });
    json(res, 200, { authorizationData: [{ authorizationToken: b64(`AWS:${ECR_PASSWORD}`), expiresAt: Date.now() / 1000 + 12 * 3600, proxyEndpoint: `https://${ECR_HOST}` }] }, { 'content-type': 'application/x-amz-json-1.1' });
  });

  // Google OAuth token endpoint named by the key file's token_uri; the RS256 assertion is verified.
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const googleOauth = await fixture((req, res) => {
    if (req.method !== 'POST' || req.path !== '/token') return json(res, 404, { error: 'not_found' });
    const f = form(req.body);
    if (f.grant_type !== 'urn:ietf:params:oauth:grant-type:jwt-bearer' || !verifyJwtAssertion(f.assertion ?? '', publicKey)) return json(res, 400, { error: 'invalid_grant', error_description: 'Invalid JWT Signature.' });
    json(res, 200, { access_token: GOOGLE_ACCESS_TOKEN, expires_in: 3599, token_type: 'Bearer' });
  });
  const keyFile = join(dir, 'reports-reader.json');
  writeFileSync(keyFile, JSON.stringify(serviceAccountKey({ privateKey, email: 'reports-reader@fixture-project.iam.gserviceaccount.com', keyId: 'familieskeyid01', projectId: 'fixture-project', tokenUri: `${googleOauth.origin}/token` })));

  // Entra ID (HTTPS, as MSAL demands): OpenID configuration + client-credentials grant for the ACR audience.
  const entra = await fixture((req, res, fx) => {
    const path = req.path.split('?')[0];
    if (req.method === 'GET' && path === `/${TENANT}/v2.0/.well-known/openid-configuration`) return json(res, 200, entraOpenIdConfiguration(fx.origin, TENANT));
    if (req.method === 'POST' && path === `/${TENANT}/oauth2/v2.0/token`) {
      const f = form(req.body);
      if (f.client_id !== AZ_CLIENT_ID || f.client_secret !== AZ_CLIENT_SECRET || f.scope !== 'https://containerregistry.azure.net/.default') {
        return json(res, 401, { error: 'invalid_client', error_description: 'AADSTS7000215: Invalid client secret provided.' });
      }
      return json(res, 200, { token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: ENTRA_TOKEN });
    }
    json(res, 404, { error: 'not_found' });
  }, tls);

  // ACR: /oauth2/exchange (Entra token -> refresh token), the realm's refresh-token grant, then the registry.
  const acrBook = new TokenBook('acr');
  const refreshToken = acrRefreshToken(TENANT, Math.floor(Date.now() / 1000) + 3 * 3600);
  const acr = await fixture((req, res) => {
    const url = new URL(req.path, `https://${ACR_HOST}`);
    if (req.method === 'POST' && url.pathname === '/oauth2/exchange') {
      const f = form(req.body);
      if (f.grant_type !== 'access_token' || f.service !== ACR_HOST || f.access_token !== ENTRA_TOKEN) return json(res, 401, { errors: [{ code: 'UNAUTHORIZED' }] });
      return json(res, 200, { refresh_token: refreshToken });
    }
    if (req.method === 'POST' && url.pathname === '/oauth2/token') {
      const f = form(req.body);
      if (f.grant_type !== 'refresh_token' || f.service !== ACR_HOST || f.refresh_token !== refreshToken) return json(res, 401, { errors: [{ code: 'UNAUTHORIZED' }] });
      const scopes = new URL(`https://x/?${new URLSearchParams({ scope: f.scope ?? '' })}`);
      return json(res, 200, { access_token: acrBook.issue(pullScopes(scopes).filter((r) => r in ACR_REPOS)) });
    }
    serveDistribution({ repos: ACR_REPOS, challenge: `Bearer realm="https://${ACR_HOST}/oauth2/token",service="${ACR_HOST}"`, canPull: (r, repo) => acrBook.canPull(r.headers.authorization, repo) }, req, res, url);
  }, tls);

  const routes = new Map<string, number>([
    ['registry-1.docker.io', hub.port], ['auth.docker.io', hub.port],
    ['ghcr.io', ghcr.port], ['quay.io', quay.port], [GAR_HOST, gar.port], [ECR_HOST, ecr.port], [ACR_HOST, acr.port],
  ]);
  return { hub, ghcr, quay, gar, ecr, acr, ecrApi, googleOauth, entra, routes, keyFile };
}

// ---------------------------------------------------------------------------------------------

interface Cycle {
  rows: CheckRow[];
  byKind: Record<RequestKind, number>;
  byRegistry: Record<string, number>;
}

describe('registry families: dosync check over 12 services from 8 registries (protocol fixtures + the real local registries)', () => {
  let dir: string;
  let fx: Families;
  let agent: Agent;
  let runtime: RegistryRuntime;
  let config: ConfigFile;
  let configPath: string | undefined;
  let composeFile: string;
  let helperLog: string;
  let state: StateStore;
  const logs: string[] = [];
  /** What the runtime's observer (the daemon's metrics) was told. */
  const observed: Array<{ registry: string; kind: RequestKind; status: number | 'error' }> = [];
  const projectName = unique('dsfam');
  const anonRepo = unique('it/families-cache');
  const basicRepo = unique('it/families-session');
  const localTags: string[] = [];
  let cycle1: Cycle;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dosync-families-'));
    const ca = makeTestCa(dir, ['registry-1.docker.io', 'auth.docker.io', 'ghcr.io', 'quay.io', GAR_HOST, ECR_HOST, ACR_HOST]);
    fx = await startFamilies(dir, ca.server);
    agent = hostRoutingAgent(fx.routes, ca.caCert);

    // The real local registries: one image pushed under several tags.
    const source = `dosync-families-src:${projectName}`;
    await buildImage(source, '1');
    const anonTargets = ['1.0.0', '1.1.0', '2.0.0'].map((t) => `${REGISTRY}/${anonRepo}:${t}`);
    const basicTargets = ['3.0.0', '3.0.1'].map((t) => `${BASIC_REGISTRY.host}/${basicRepo}:${t}`);
    await pushAs(source, anonTargets);
    await pushAs(source, basicTargets, BASIC_REGISTRY);
    localTags.push(source, ...anonTargets, ...basicTargets);
    await removeImages(localTags);

    // ~/.docker/config.json: a Quay robot in `auths`, a credential helper for :5001 (on PATH only through dosync's env).
    const helperName = `dosyncfam${randomBytes(3).toString('hex')}`;
    const bin = join(dir, 'bin');
    const dockerConfig = join(dir, 'docker');
    helperLog = join(dir, 'helper.log');
    mkdirSync(bin);
    mkdirSync(dockerConfig);
    writeFileSync(join(bin, `docker-credential-${helperName}`), [
      '#!/bin/sh',
      'read -r server',
      `echo "$1 $server" >> '${helperLog}'`,
      `if [ "$1" = get ] && [ "$server" = '${BASIC_REGISTRY.host}' ]; then`,
      `  printf '{"ServerURL":"%s","Username":"${BASIC_REGISTRY.username}","Secret":"${BASIC_REGISTRY.password}"}\\n' "$server"`,
      'else echo "credentials not found in native keychain"; exit 1; fi',
      '',
    ].join('\n'));
    chmodSync(join(bin, `docker-credential-${helperName}`), 0o755);
    writeFileSync(join(dockerConfig, 'config.json'), JSON.stringify({
      auths: { 'quay.io': { auth: b64(`${QUAY_ROBOT.user}:${QUAY_ROBOT.token}`) } },
      credHelpers: { [BASIC_REGISTRY.host]: helperName },
    }));

    // dosync.yaml: DOSync's registry section with ${VAR}s, and one per-service policy.
    writeFileSync(join(dir, 'dosync.yaml'), [
      'registry:',
      '  ecr:',
      '    aws_access_key_id: ${FAMILIES_AWS_KEY}',
      '    aws_secret_access_key: ${FAMILIES_AWS_SECRET}',
      '    region: us-east-1',
      `    registry: ${ECR_HOST}`,
      '  gcr:',
      `    credentials_file: ${fx.keyFile}`,
      '  acr:',
      `    tenant_id: ${TENANT}`,
      `    client_id: ${AZ_CLIENT_ID}`,
      '    client_secret: ${FAMILIES_ACR_SECRET}',
      `    registry: ${ACR_HOST}`,
      'services:',
      '  proxy: { update: patch }',
      '',
    ].join('\n'));
    composeFile = join(dir, 'docker-compose.yml');
    writeFileSync(composeFile, [
      'services:',
      '  web: { image: "nginx:1.25" }',
      '  proxy: { image: "docker.io/library/nginx:1.25.3" }',
      '  edge: { image: "nginx:mainline" }',
      '  api: { image: "acme/api:2.1.0" }',
      '  worker: { image: "ghcr.io/acme/worker:v1.4.0" }',
      '  scheduler: { image: "ghcr.io/acme/worker:v1.5.0" }',
      `  billing: { image: "${ECR_HOST}/team/billing:3.2.1" }`,
      `  frontend: { image: "${ACR_HOST}/team/frontend:1.0.0", labels: ["dosync.update=patch"] }`,
      `  reports: { image: "${GAR_HOST}/fixture-project/images/reports:0.9.0" }`,
      '  metrics: { image: "quay.io/acme/metrics:v2.0.0", labels: ["dosync.policy=semver:~2.0"] }',
      `  cache: { image: "${REGISTRY}/${anonRepo}:1.0.0" }`,
      `  session: { image: "${BASIC_REGISTRY.host}/${basicRepo}:3.0.1" }`,
      '',
    ].join('\n'));

    // What `dosync check` builds from the flags and the environment, with this test's environment.
    const env: Record<string, string | undefined> = {
      HOME: dir,
      PATH: `${bin}:${process.env.PATH ?? ''}`,
      DOCKER_CONFIG: dockerConfig,
      DOCKERHUB_USERNAME: HUB_USER,
      DOCKERHUB_PASSWORD: HUB_PASSWORD,
      GITHUB_PAT: GHCR_PAT,
      FAMILIES_AWS_KEY: AWS_KEY_ID,
      FAMILIES_AWS_SECRET: AWS_SECRET,
      FAMILIES_ACR_SECRET: AZ_CLIENT_SECRET,
      AWS_ENDPOINT_URL_ECR: fx.ecrApi.origin,
      AZURE_AUTHORITY_HOST: fx.entra.origin,
    };
    ({ path: configPath, config } = await loadConfigFile(join(dir, 'dosync.yaml'), env));
    const sink = new Writable({ write(chunk: Buffer, _enc, done) { logs.push(chunk.toString('utf8')); done(); } });
    const logger = createLogger({ verbose: true, json: true, destination: sink });
    // The one additive hook: the dispatcher (host routing + test CA) and the CA for the Entra fixture.
    runtime = await createRegistryRuntime(config, env, logger, configPath, { dispatcher: agent, extraCa: [ca.caCert], observer: { onRequest: (e) => void observed.push(e) } });
    state = await StateStore.open(defaultStatePath(join(dir, 'state')));
  });

  after(async () => {
    await agent?.close();
    await closeFixtures();
    await removeImages(localTags);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** One `dosync check`: prepare() + planService for every service, as src/cli/check.ts runs them. */
  async function checkCycle(): Promise<Cycle> {
    const before = { ...runtime.registry.stats.byKind };
    const beforeRegistry = { ...runtime.registry.stats.byRegistry };
    const logger = createLogger({ json: true, destination: new Writable({ write(chunk: Buffer, _enc, done) { logs.push(chunk.toString('utf8')); done(); } }) });
    const prepared = await prepare({ files: [composeFile], config, configPath, projectName }, { docker: createDocker(), logger, state, ...runtime });
    const plans = await Promise.all(prepared.stack.services.map((s) => planService(s, prepared.planContext)));
    const after = runtime.registry.stats;
    const byKind = Object.fromEntries(Object.entries(after.byKind).map(([k, v]) => [k, v - before[k as RequestKind]])) as Record<RequestKind, number>;
    const byRegistry = Object.fromEntries(Object.entries(after.byRegistry).map(([k, v]) => [k, v - (beforeRegistry[k] ?? 0)]).filter(([, v]) => v !== 0));
    return { rows: plans.map((p) => checkRow(p)), byKind, byRegistry };
  }

  /** SERVICE -> [current, newest, status] (reason appended for errors, so a failure explains itself). */
  const table = (rows: CheckRow[]) => Object.fromEntries(rows.map((r) => [r.service, [r.current, r.newest, r.status === 'error' ? `error: ${r.reason}` : r.status]]));

  const EXPECTED = {
    web: ['1.25', '1.27', 'update available'],
    proxy: ['1.25.3', '1.25.4', 'update available'],
    edge: ['mainline', 'mainline', 'new digest'],
    api: ['2.1.0', '2.2.0', 'update available'],
    worker: ['v1.4.0', 'v1.5.0', 'update available'],
    scheduler: ['v1.5.0', 'v1.5.0', 'up to date'],
    billing: ['3.2.1', '3.3.0', 'update available'],
    frontend: ['1.0.0', '1.0.2', 'update available'],
    reports: ['0.9.0', '0.9.3', 'update available'],
    metrics: ['v2.0.0', 'v2.0.1', 'update available'],
    cache: ['1.0.0', '1.1.0', 'update available'],
    session: ['3.0.1', '3.0.1', 'up to date'],
  };

  /** Requests the cloud credential sources received (outside the OCI client: SDKs and vendor APIs). */
  const vendorCalls = () => ({
    ecrGetAuthorizationToken: fx.ecrApi.seen.length,
    googleToken: fx.googleOauth.seen.length,
    entra: fx.entra.seen.length,
    acrExchange: fx.acr.seen.filter((s) => s.path === '/oauth2/exchange').length,
    credentialHelper: existsSync(helperLog) ? readFileSync(helperLog, 'utf8').trim().split('\n').length : 0,
  });

  test('protocol fixture: cycle 1 lists the right tags for every service; one ping per registry, one tag listing per repository, one registry token per bearer repository plus the credential sources\' token calls', async () => {
    cycle1 = await checkCycle();
    assert.deepEqual(table(cycle1.rows), EXPECTED);
    for (const r of cycle1.rows) assert.ok(r.registry, `${r.service} has a registry`);

    const composeText = readFileSync(composeFile, 'utf8');
    const images = [...composeText.matchAll(/image: "([^"]+)"/g)].map((m) => parseImageReference(m[1]!));
    const registries = new Set(images.map((i) => i.registry));
    const repositories = new Set(images.map((i) => `${i.registry}/${i.repository}`));
    assert.equal(images.length, 12, 'N services');
    assert.equal(repositories.size, 9, 'M repositories');
    assert.equal(registries.size, 8);
    assert.deepEqual(new Set(cycle1.rows.map((r) => r.registry)), registries);

    // Bearer registries (Hub, GHCR, ACR, Artifact Registry, Quay) need one token per repository;
    // ECR and :5001 take Basic on every request, :5000 is anonymous.
    const bearerRepositories = [...repositories].filter((r) => !r.startsWith(`${ECR_HOST}/`) && !r.startsWith('127.0.0.1:')).length;
    assert.equal(bearerRepositories, 6);
    // The cloud credential sources' own HTTP requests count as token requests too: ECR
    // GetAuthorizationToken (1), Google's token endpoint (1), Entra ID (OpenID configuration + token: 2)
    // and the ACR exchange (1).
    const credentialSourceRequests = 1 + 1 + 2 + 1;
    assert.deepEqual(cycle1.byKind, {
      ping: registries.size, // 8
      token: bearerRepositories + credentialSourceRequests, // 6 + 5
      tags: repositories.size, // 9: three services share library/nginx, two share acme/worker
      manifest: 1, // edge (nginx:mainline) tracks a digest: one HEAD
      other: 0,
    });
    assert.deepEqual(cycle1.byRegistry, {
      'docker.io': 6, // ping, 2 tokens, 2 listings, 1 manifest HEAD
      'ghcr.io': 3, 'quay.io': 3, // ping, token, listing
      [GAR_HOST]: 4, // Google token, ping, registry token, listing
      [ACR_HOST]: 6, // Entra ID (2), exchange, ping, registry token, listing
      [ECR_HOST]: 3, // GetAuthorizationToken, ping, listing
      [REGISTRY]: 2, [BASIC_REGISTRY.host]: 2, // ping, listing (the credential helper of :5001 is a process, not a request)
    });

    // Every request the fixtures served was one the client counted, the credential sources' included.
    const served = (f: Fixture) => f.seen.map((s) => `${s.method} ${String(s.headers.host)}${s.path.split('?')[0]}`);
    assert.deepEqual(served(fx.hub).sort(), [
      'GET auth.docker.io/token', 'GET auth.docker.io/token',
      'GET registry-1.docker.io/v2/',
      'GET registry-1.docker.io/v2/acme/api/tags/list', 'GET registry-1.docker.io/v2/library/nginx/tags/list',
      'HEAD registry-1.docker.io/v2/library/nginx/manifests/mainline',
    ]);
    const cloud = [fx.hub, fx.ghcr, fx.quay, fx.gar, fx.acr, fx.ecr, fx.ecrApi, fx.googleOauth, fx.entra].flatMap(served).length;
    assert.equal(cloud, ['docker.io', 'ghcr.io', 'quay.io', GAR_HOST, ACR_HOST, ECR_HOST].reduce((n, r) => n + cycle1.byRegistry[r]!, 0));
    assert.deepEqual(served(fx.acr), [`GET ${ACR_HOST}/v2/`, `POST ${ACR_HOST}/oauth2/exchange`, `POST ${ACR_HOST}/oauth2/token`, `GET ${ACR_HOST}/v2/team/frontend/tags/list`]);
    assert.deepEqual(served(fx.ecr), [`GET ${ECR_HOST}/v2/`, `GET ${ECR_HOST}/v2/team/billing/tags/list`]);
    assert.equal(new URL(fx.ecr.seen[1]!.path, 'https://x').searchParams.get('n'), '1000');

    // The observer heard of every counted request, the credential sources' with their answers' status.
    assert.equal(observed.length, Object.values(cycle1.byKind).reduce((a, b) => a + b, 0));
    const tokenCalls = observed.filter((e) => e.kind === 'token');
    assert.deepEqual(tokenCalls.map((e) => e.status), tokenCalls.map(() => 200));
    assert.deepEqual(Object.fromEntries(['docker.io', 'ghcr.io', 'quay.io', GAR_HOST, ACR_HOST, ECR_HOST].map((r) => [r, tokenCalls.filter((e) => e.registry === r).length])), {
      'docker.io': 2, 'ghcr.io': 1, 'quay.io': 1, [GAR_HOST]: 2, [ACR_HOST]: 4, [ECR_HOST]: 1,
    });

    // Each credential came from its source, once.
    assert.deepEqual(vendorCalls(), { ecrGetAuthorizationToken: 1, googleToken: 1, entra: 2, acrExchange: 1, credentialHelper: 1 });
    assert.deepEqual(sigV4Valid(fx.ecrApi.seen[0]!, AWS_SECRET), { ok: true, region: 'us-east-1', service: 'ecr', accessKeyId: AWS_KEY_ID });
    const hubTokens = fx.hub.seen.filter((s) => s.path.startsWith('/token'));
    for (const t of hubTokens) assert.equal(t.headers.authorization, `Basic ${b64(`${HUB_USER}:${HUB_PASSWORD}`)}`, 'DOCKERHUB_USERNAME/PASSWORD sent to auth.docker.io');
    assert.equal(fx.ghcr.seen.find((s) => s.path.startsWith('/token'))!.headers.authorization, `Basic ${b64(`dosync:${GHCR_PAT}`)}`);
    assert.equal(fx.quay.seen.find((s) => s.path.startsWith('/v2/auth'))!.headers.authorization, `Basic ${b64(`${QUAY_ROBOT.user}:${QUAY_ROBOT.token}`)}`);
    assert.equal(fx.gar.seen.find((s) => s.path.startsWith('/v2/token'))!.headers.authorization, `Basic ${b64(`oauth2accesstoken:${GOOGLE_ACCESS_TOKEN}`)}`);
    assert.equal(readFileSync(helperLog, 'utf8'), `get ${BASIC_REGISTRY.host}\n`);
  });

  test('protocol fixture: cycle 2 on the same runtime sends no ping and no token request: one listing per repository (+ the digest HEAD)', async () => {
    assert.ok(cycle1, 'cycle 1 ran');
    const vendorBefore = vendorCalls();
    const cycle2 = await checkCycle();
    assert.deepEqual(table(cycle2.rows), EXPECTED);
    assert.deepEqual(cycle2.byKind, { ping: 0, token: 0, tags: 9, manifest: 1, other: 0 });
    assert.deepEqual(cycle2.byRegistry, {
      'docker.io': 3, 'ghcr.io': 1, 'quay.io': 1, [GAR_HOST]: 1, [ACR_HOST]: 1, [ECR_HOST]: 1, [REGISTRY]: 1, [BASIC_REGISTRY.host]: 1,
    });
    assert.deepEqual(vendorCalls(), vendorBefore, 'no credential source asked again');
    const tokenPaths = [fx.hub, fx.ghcr, fx.quay, fx.gar, fx.acr].flatMap((f) => f.seen.filter((s) => /^\/(token|v2\/auth|v2\/token|oauth2\/token)\b/.test(s.path)));
    assert.equal(tokenPaths.length, 6, 'the six tokens of cycle 1, none after');

    const total = (c: Cycle) => Object.values(c.byKind).reduce((a, b) => a + b, 0);
    const line = (c: Cycle) => `${total(c)} requests = ${c.byKind.tags} tag listings + ${c.byKind.token} token requests + ${c.byKind.ping} pings + ${c.byKind.manifest} manifest HEAD + ${c.byKind.other} other`;
    process.stdout.write(`# registry-families: N=12 services, M=9 repositories, 8 registries, 7 families; cycle 1 ${line(cycle1)}; cycle 2 ${line(cycle2)}\n`);
  });

  test('no credential appears in the debug log of both cycles', () => {
    const text = logs.join('');
    const requestLines = text.split('\n').filter((l) => l.startsWith('{') && (JSON.parse(l) as { msg?: string }).msg === 'registry request');
    assert.equal(requestLines.length, 24 + 10, 'one debug line per request of both cycles');
    for (const secret of SECRETS) assert.ok(!text.includes(secret), `a secret (${secret.slice(0, 4)}...) is in the log`);
  });
});
