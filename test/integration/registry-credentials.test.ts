/**
 * Credentials from every source, against the real CNCF registries on loopback: the htpasswd (Basic)
 * registry on 127.0.0.1:5001 and a token-auth registry with a test token server. Each source
 * (dosync.yaml, DOCKER_AUTH_CONFIG, config.json auths, credsStore and credHelpers scripts on PATH,
 * identity tokens) must let the real OCI client list a private repository; the same credential,
 * as dockerode authconfig, must let the real engine pull.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { RegistryClient } from '../../src/registry/client.js';
import { parseRegistryConfig } from '../../src/registry/config.js';
import { createCredentialResolver, dockerAuthConfig, DOCKER_HUB_AUTH_KEY } from '../../src/registry/credentials.js';
import { RegistryError } from '../../src/util/errors.js';
import { buildImage, pushAs, run } from '../helpers/registry-images.js';
import { startTokenServer, startTokenAuthRegistry, type TokenServer, type TokenAuthRegistry } from '../helpers/token-server.js';

const BASIC = '127.0.0.1:5001';
const USER = 'dosync';
const PASSWORD = 's3cret-pass';
const TOKEN_PASSWORD = 'tok3n-user-pass';
const IDENTITY_TOKEN = 'refresh-credtest-0123456789';
const id = `cred${process.pid}x${Date.now().toString(36)}`;
const image = `dosync-test/${id}:v1`;
const b64 = (s: string) => Buffer.from(s).toString('base64');

let dir: string;
let bin: string;
const localTags: string[] = [image];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dosync-credint-'));
  bin = join(dir, 'bin');
  mkdirSync(bin);
  // A credential helper speaking the docker-credential-helpers protocol, answering from env.
  writeFileSync(join(bin, 'docker-credential-dosynctest'), `#!/bin/sh
input=$(cat)
[ "$1" = get ] || exit 2
if [ "$input" = "$HELPER_HOST" ]; then
  printf '{"ServerURL":"%s","Username":"%s","Secret":"%s"}\\n' "$input" "$HELPER_USER" "$HELPER_SECRET"
else
  echo 'credentials not found in native keychain'; exit 1
fi
`);
  chmodSync(join(bin, 'docker-credential-dosynctest'), 0o755);
  await run('bash', ['test/env/up.sh']);
  await buildImage(image, 'v1');
});

after(async () => {
  for (const t of localTags) await run('docker', ['rmi', '-f', t]).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

function dockerConfigDir(config: object | undefined): string {
  const d = mkdtempSync(join(dir, 'cfg-'));
  if (config) writeFileSync(join(d, 'config.json'), JSON.stringify(config));
  return d;
}

describe('htpasswd registry 127.0.0.1:5001', () => {
  const repo = { registry: BASIC, repository: `${id}/private` };
  before(async () => {
    const targets = [`${BASIC}/${repo.repository}:1.0.0`, `${BASIC}/${repo.repository}:1.1.0`];
    localTags.push(...targets);
    await pushAs(image, targets, { host: BASIC, username: USER, password: PASSWORD });
  });

  const sources: Array<[string, () => { env: Record<string, string>; raw?: unknown }]> = [
    ['dosync.yaml custom entry with ${VAR}', () => ({ env: { DOCKER_CONFIG: dockerConfigDir(undefined), REG_PW: PASSWORD }, raw: { custom: { url: `http://${BASIC}`, insecure: true, username: USER, password: '${REG_PW}' } } })],
    ['DOCKER_AUTH_CONFIG', () => ({ env: { DOCKER_CONFIG: dockerConfigDir(undefined), DOCKER_AUTH_CONFIG: JSON.stringify({ auths: { [BASIC]: { auth: b64(`${USER}:${PASSWORD}`) } } }) } })],
    ['config.json auths', () => ({ env: { DOCKER_CONFIG: dockerConfigDir({ auths: { [`http://${BASIC}/v2/`]: { auth: b64(`${USER}:${PASSWORD}`) } } }) } })],
    ['config.json credsStore helper on PATH', () => ({ env: { DOCKER_CONFIG: dockerConfigDir({ credsStore: 'dosynctest', auths: { [BASIC]: {} } }), PATH: `${bin}:${process.env.PATH}`, HELPER_HOST: BASIC, HELPER_USER: USER, HELPER_SECRET: PASSWORD } })],
    ['config.json credHelpers helper on PATH', () => ({ env: { DOCKER_CONFIG: dockerConfigDir({ credHelpers: { [BASIC]: 'dosynctest' } }), PATH: `${bin}:${process.env.PATH}`, HELPER_HOST: BASIC, HELPER_USER: USER, HELPER_SECRET: PASSWORD } })],
  ];
  for (const [name, setup] of sources) {
    test(`lists the private repository with credentials from ${name}`, async () => {
      const { env, raw } = setup();
      const resolve = createCredentialResolver({ env, config: parseRegistryConfig(raw ?? {}, { env }).config });
      const client = new RegistryClient({ credentials: resolve });
      assert.deepEqual([...(await client.listTags(repo))].sort(), ['1.0.0', '1.1.0']);
    });
  }

  test('no source has credentials: the client says so', async () => {
    const resolve = createCredentialResolver({ env: { DOCKER_CONFIG: dockerConfigDir({ credsStore: 'not-installed-helper' }) }, config: {} });
    await assert.rejects(new RegistryClient({ credentials: resolve }).listTags(repo), (err: Error) => err instanceof RegistryError && /requires authentication/.test(err.message));
  });

  test('the same credential, as dockerode authconfig, lets the engine pull', async () => {
    const env = { DOCKER_CONFIG: dockerConfigDir({ credHelpers: { [BASIC]: 'dosynctest' } }), PATH: `${bin}:${process.env.PATH}`, HELPER_HOST: BASIC, HELPER_USER: USER, HELPER_SECRET: PASSWORD };
    const resolve = createCredentialResolver({ env, config: {} });
    const ref = `${BASIC}/${repo.repository}:1.1.0`;
    await run('docker', ['rmi', '-f', ref]).catch(() => undefined);
    const docker = new Docker();
    const authconfig = dockerAuthConfig(BASIC, await resolve(BASIC));
    assert.deepEqual(authconfig, { username: USER, password: PASSWORD, serveraddress: BASIC });
    const stream = await docker.pull(ref, { authconfig });
    await new Promise<void>((resolveDone, reject) => docker.modem.followProgress(stream, (err) => (err ? reject(err) : resolveDone())));
    const inspected = await docker.getImage(ref).inspect();
    assert.ok(inspected.RepoDigests.some((d) => d.startsWith(`${BASIC}/${repo.repository}@sha256:`)));

    // And without it the engine is refused.
    await run('docker', ['rmi', '-f', ref]);
    const refused = docker.pull(ref, {}).then((s) => new Promise<void>((ok, bad) => docker.modem.followProgress(s, (err) => (err ? bad(err) : ok()))));
    await assert.rejects(refused, /no basic auth credentials|unauthorized|authentication required/i);
  });
});

describe('token-auth registry: identity tokens from config.json and from a helper', () => {
  let tokens: TokenServer;
  let registry: TokenAuthRegistry;
  let repo: { registry: string; repository: string };

  before(async () => {
    tokens = await startTokenServer({ users: { [USER]: TOKEN_PASSWORD }, refreshTokens: { [IDENTITY_TOKEN]: USER }, signing: 'x5c', alg: 'RS256' });
    registry = await startTokenAuthRegistry(tokens);
    repo = { registry: registry.host, repository: `${id}/tokenpriv` };
    const target = `${registry.host}/${repo.repository}:2.0.0`;
    localTags.push(target);
    await pushAs(image, [target], { host: registry.host, username: USER, password: TOKEN_PASSWORD });
  });
  after(async () => {
    await registry?.stop();
    await tokens?.close();
  });

  test('config.json identitytoken -> OAuth2 refresh grant at the realm', async () => {
    tokens.requests.length = 0;
    const env = { DOCKER_CONFIG: dockerConfigDir({ auths: { [registry.host]: { auth: b64(`${USER}:`), identitytoken: IDENTITY_TOKEN } } }) };
    const client = new RegistryClient({ credentials: createCredentialResolver({ env, config: {} }) });
    assert.deepEqual(await client.listTags(repo), ['2.0.0']);
    assert.deepEqual(tokens.requests.map((r) => [r.method, r.user, r.status]), [['POST', USER, 200]]);
  });

  test('helper answering Username "<token>" -> identity token', async () => {
    tokens.requests.length = 0;
    const env = { DOCKER_CONFIG: dockerConfigDir({ credsStore: 'dosynctest' }), PATH: `${bin}:${process.env.PATH}`, HELPER_HOST: registry.host, HELPER_USER: '<token>', HELPER_SECRET: IDENTITY_TOKEN };
    const client = new RegistryClient({ credentials: createCredentialResolver({ env, config: {} }) });
    assert.deepEqual(await client.listTags(repo), ['2.0.0']);
    assert.deepEqual(tokens.requests.map((r) => [r.method, r.user, r.status]), [['POST', USER, 200]]);
  });

  test('Docker Hub keys are not offered to other registries', async () => {
    const env = { DOCKER_CONFIG: dockerConfigDir({ auths: { [DOCKER_HUB_AUTH_KEY]: { auth: b64(`${USER}:${TOKEN_PASSWORD}`) } } }) };
    const resolve = createCredentialResolver({ env, config: {} });
    assert.equal(await resolve(registry.host), undefined);
    await assert.rejects(new RegistryClient({ credentials: resolve }).listTags(repo), RegistryError);
  });
});
