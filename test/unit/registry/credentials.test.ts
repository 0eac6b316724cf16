import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile, chmod, readFile, rm, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../../src/util/errors.js';
import { parseRegistryConfig, expandEnv, type RegistryConfig } from '../../../src/registry/config.js';
import {
  createCredentialResolver,
  decodeAuthEntry,
  dockerAuthConfig,
  findAuthEntry,
  helperFor,
  DOCKER_HUB_AUTH_KEY,
} from '../../../src/registry/credentials.js';
import { configEntryFor, providerFor, type ProviderContext } from '../../../src/registry/providers/index.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

class CaptureLogger {
  warnings: Array<{ obj: object; msg?: string }> = [];
  debugs: Array<{ obj: object; msg?: string }> = [];
  warn(obj: object, msg?: string) {
    this.warnings.push({ obj, msg });
  }
  debug(obj: object, msg?: string) {
    this.debugs.push({ obj, msg });
  }
  text(): string {
    return this.warnings.map((w) => `${w.msg} ${JSON.stringify(w.obj)}`).join('\n');
  }
}

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dosync-cred-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

let n = 0;
/** A fresh DOCKER_CONFIG directory holding `config` as config.json. */
async function dockerConfig(config: object | undefined): Promise<string> {
  const d = join(dir, `docker-${++n}`);
  await mkdir(d, { recursive: true });
  if (config) await writeFile(join(d, 'config.json'), JSON.stringify(config));
  return d;
}

function parse(raw: unknown, env: Record<string, string | undefined> = {}): RegistryConfig {
  return parseRegistryConfig(raw, { env }).config;
}

describe('precedence: dosync.yaml registry section -> environment -> docker config.json', () => {
  const hubFile = { auths: { [DOCKER_HUB_AUTH_KEY]: { auth: b64('fileuser:filepass') } } };
  const cases: Array<[string, unknown, Record<string, string>, { username: string; password: string }]> = [
    ['config wins over env and file', { dockerhub: { username: 'cfguser', password: 'cfgpass' } }, { DOCKERHUB_USERNAME: 'envuser', DOCKERHUB_PASSWORD: 'envpass' }, { username: 'cfguser', password: 'cfgpass' }],
    ['env wins over file', {}, { DOCKERHUB_USERNAME: 'envuser', DOCKERHUB_PASSWORD: 'envpass' }, { username: 'envuser', password: 'envpass' }],
    ['file when nothing else', {}, {}, { username: 'fileuser', password: 'filepass' }],
    ['a half-set config section does not shadow env', { dockerhub: { username: 'cfguser' } }, { DOCKERHUB_USERNAME: 'envuser', DOCKERHUB_PASSWORD: 'envpass' }, { username: 'envuser', password: 'envpass' }],
  ];
  for (const [name, raw, env, want] of cases) {
    test(name, async () => {
      const DOCKER_CONFIG = await dockerConfig(hubFile);
      const resolve = createCredentialResolver({ env: { ...env, DOCKER_CONFIG }, config: parse(raw) });
      for (const host of ['docker.io', 'index.docker.io', 'registry-1.docker.io']) {
        assert.deepEqual(await resolve(host), want, host);
      }
    });
  }

  test('each family reads its own environment variables', async () => {
    const DOCKER_CONFIG = await dockerConfig(undefined);
    const env = {
      DOCKER_CONFIG,
      GITHUB_PAT: 'ghp_pat',
      GITHUB_ACTOR: 'octocat',
      DO_TOKEN: 'dop_v1_x',
      QUAY_TOKEN: 'quaytok',
      CI_REGISTRY: 'registry.gitlab.example.com',
      CI_REGISTRY_USER: 'gitlab-ci-token',
      CI_REGISTRY_PASSWORD: 'jobtoken',
    };
    const resolve = createCredentialResolver({ env, config: {} });
    assert.deepEqual(await resolve('ghcr.io'), { username: 'octocat', password: 'ghp_pat' });
    assert.deepEqual(await resolve('registry.digitalocean.com'), { username: 'dop_v1_x', password: 'dop_v1_x' });
    assert.deepEqual(await resolve('quay.io'), { username: '$oauthtoken', password: 'quaytok' });
    assert.deepEqual(await resolve('registry.gitlab.example.com'), { username: 'gitlab-ci-token', password: 'jobtoken' });
    assert.equal(await resolve('localhost:5000'), undefined);
  });

  test('DOSync config keys of every family', async () => {
    const DOCKER_CONFIG = await dockerConfig(undefined);
    const config = parse({
      ghcr: { token: 'ghp_cfg' },
      docr: { token: 'dop_cfg' },
      quay: { token: 'robot-token', username: 'myorg+deployer' },
      harbor: { url: 'https://harbor.example.com', username: 'robot$ci', password: 'harborpw' },
      custom: [
        { url: 'https://custom.example.com:8443', username: 'u', password: 'p' },
        { url: 'registry.tokens.example', token: 'ready-bearer' },
      ],
      acr: { username: 'adminuser', password: 'adminpw', registry: 'myreg.azurecr.io' },
    });
    const resolve = createCredentialResolver({ env: { DOCKER_CONFIG }, config });
    assert.deepEqual(await resolve('ghcr.io'), { username: 'dosync', password: 'ghp_cfg' });
    assert.deepEqual(await resolve('registry.digitalocean.com'), { username: 'dop_cfg', password: 'dop_cfg' });
    assert.deepEqual(await resolve('quay.io'), { username: 'myorg+deployer', password: 'robot-token' });
    assert.deepEqual(await resolve('harbor.example.com'), { username: 'robot$ci', password: 'harborpw' });
    assert.deepEqual(await resolve('custom.example.com:8443'), { username: 'u', password: 'p' });
    assert.equal(await resolve('custom.example.com'), undefined, 'the port is part of the host');
    assert.deepEqual(await resolve('registry.tokens.example'), { registryToken: 'ready-bearer' });
    assert.deepEqual(await resolve('myreg.azurecr.io'), { username: 'adminuser', password: 'adminpw' });
  });

  test('providerFor picks the family, with URL-configured registries first', () => {
    const ctx: ProviderContext = { env: {}, config: parse({ custom: { url: 'https://corp.azurecr.io' }, harbor: { url: 'harbor.local:8443' } }) };
    const table: Array<[string, string]> = [
      ['docker.io', 'dockerhub'], ['index.docker.io', 'dockerhub'], ['ghcr.io', 'ghcr'], ['gcr.io', 'gcr'], ['eu.gcr.io', 'gcr'],
      ['europe-west1-docker.pkg.dev', 'gcr'], ['123456789012.dkr.ecr.eu-west-1.amazonaws.com', 'ecr'],
      ['123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com', 'ecr'], ['123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn', 'ecr'],
      ['public.ecr.aws', 'ecr'], ['other.azurecr.io', 'acr'], ['corp.azurecr.io', 'custom'], ['quay.io', 'quay'],
      ['harbor.local:8443', 'harbor'], ['registry.digitalocean.com', 'docr'], ['registry.gitlab.com', 'gitlab'],
      ['localhost:5000', 'generic'], ['12345.dkr.ecr.eu-west-1.amazonaws.com', 'generic'],
    ];
    for (const [host, family] of table) assert.equal(providerFor(host, ctx).name, family, host);
  });

  test('configEntryFor: the entry whose policy applies to a host', () => {
    const ctx: ProviderContext = {
      env: {},
      config: parse({
        ghcr: { imagePolicy: { p: 'ghcr' } },
        custom: [{ url: 'https://a.example.com', imagePolicy: { p: 'a' } }, { url: 'https://b.example.com', image_policy: { p: 'b' } }],
        acr: { registry: 'pinned.azurecr.io', imagePolicy: { p: 'acr' } },
      }),
    };
    assert.deepEqual(configEntryFor('ghcr.io', ctx)?.imagePolicy, { p: 'ghcr' });
    assert.deepEqual(configEntryFor('a.example.com', ctx)?.imagePolicy, { p: 'a' });
    assert.deepEqual(configEntryFor('b.example.com', ctx)?.image_policy, { p: 'b' });
    assert.deepEqual(configEntryFor('pinned.azurecr.io', ctx)?.imagePolicy, { p: 'acr' });
    assert.equal(configEntryFor('other.azurecr.io', ctx), undefined);
    assert.equal(configEntryFor('quay.io', ctx), undefined);
    assert.equal(configEntryFor('localhost:5000', ctx), undefined);
  });
});

describe('${VAR} expansion and unknown keys', () => {
  test('expandEnv forms', () => {
    const env = { A: 'alpha', EMPTY: '' };
    const table: Array<[string, string, string[]]> = [
      ['${A}', 'alpha', []],
      ['x-${A}-y', 'x-alpha-y', []],
      ['${MISSING}', '', ['MISSING']],
      ['${MISSING:-dflt}', 'dflt', []],
      ['${EMPTY:-dflt}', 'dflt', []],
      ['${EMPTY-dflt}', '', []],
      ['${MISSING-dflt}', 'dflt', []],
      ['$${A}', '${A}', []],
      ['robot$ci', 'robot$ci', []],
      ['pa$$word', 'pa$$word', []],
      ['$A', '$A', []],
    ];
    for (const [input, want, missing] of table) {
      const got: string[] = [];
      assert.equal(expandEnv(input, env, got), want, input);
      assert.deepEqual(got, missing, input);
    }
  });

  test('secrets are expanded, image policies are not', () => {
    const { config, warnings } = parseRegistryConfig({
      dockerhub: { username: 'me', password: '${HUB_PW}' },
      ghcr: { token: '${NOT_SET}', imagePolicy: { filterTags: { pattern: '^v(?P<semver>.*)$', extract: '$semver' } } },
      harbor: { url: 'https://h.example.com', username: 'robot$ci', password: '${HARBOR_PW:-fallback}' },
    }, { env: { HUB_PW: 's3cr3t' }, file: 'stack/dosync.yaml' });
    assert.equal(config.dockerhub?.password, 's3cr3t');
    assert.equal(config.ghcr?.token, '');
    assert.deepEqual(config.ghcr?.imagePolicy, { filterTags: { pattern: '^v(?P<semver>.*)$', extract: '$semver' } });
    assert.equal(config.harbor?.[0]?.username, 'robot$ci');
    assert.equal(config.harbor?.[0]?.password, 'fallback');
    assert.deepEqual(warnings, ['stack/dosync.yaml: registry.ghcr.token: ${NOT_SET} is not set in the environment or the env file; using an empty value']);
  });

  test('unknown keys are reported, at any depth, with a suggestion; known ones are not', () => {
    const { warnings, config } = parseRegistryConfig({
      dockerhub: { username: 'u', pasword: 'p' },
      ghcr: { token: 't', image_policy: { anything: 1 } },
      custom: [{ url: 'https://a.example.com', user: 'x' }, { url: 'https://b.example.com', username: 'y', password: 'z' }],
      ecr: { region: 'us-east-1', registry: '123456789012.dkr.ecr.us-east-1.amazonaws.com', tag_pattern: 'main-' },
      dockerhubb: {},
      nexus: { url: 'x' },
    });
    assert.deepEqual(warnings, [
      'dosync.yaml: registry.dockerhub.pasword: unknown key, ignored (did you mean "password"?)',
      'dosync.yaml: registry.custom[0].user: unknown key, ignored',
      'dosync.yaml: registry.dockerhubb: unknown key, ignored (did you mean "dockerhub"?)',
      'dosync.yaml: registry.nexus: unknown key, ignored',
    ]);
    assert.equal(config.custom?.length, 2);
    assert.equal(config.ecr?.tag_pattern, 'main-');
  });

  test('both imagePolicy spellings at once is a warning', () => {
    const { warnings } = parseRegistryConfig({ quay: { imagePolicy: {}, image_policy: {} } });
    assert.deepEqual(warnings, ['dosync.yaml: registry.quay: both imagePolicy and image_policy are set; imagePolicy is used']);
  });

  test('invalid values: one line naming the field, never the value', () => {
    const table: Array<[unknown, RegExp]> = [
      [{ dockerhub: { password: 12345678 } }, /^dosync\.yaml: registry\.dockerhub\.password: must be a string, not a number$/],
      [{ custom: { url: 'not a url !!' } }, /^dosync\.yaml: registry\.custom\.url: must be a registry URL such as https:\/\/registry\.example\.com$/],
      [{ custom: [{ url: 'https://ok.example.com' }, { username: 'x' }] }, /^dosync\.yaml: registry\.custom\.1\.url: is required$/],
      [{ harbor: { url: 'http://harbor.lan' } }, /registry\.harbor\.url: uses plain http; add "insecure: true"/],
      [{ custom: { url: 'https://x.example.com', insecure: 'yes' } }, /registry\.custom\.insecure: must be true or false, not a string/],
      [['dockerhub'], /registry: must be a mapping/],
    ];
    for (const [raw, re] of table) {
      assert.throws(() => parseRegistryConfig(raw), (err: unknown) => {
        assert.ok(err instanceof ConfigError, String(err));
        assert.match(err.message, re);
        assert.ok(!err.message.includes('12345678'), 'value leaked');
        return true;
      });
    }
  });

  test('insecure registries are listed for the client; plain http only when asked', () => {
    const parsed = parseRegistryConfig({
      custom: [{ url: 'http://lan-registry:5000', insecure: true }, { url: 'https://secure.example.com' }],
      harbor: { url: 'harbor.lan', insecure: true },
    });
    assert.deepEqual(parsed.insecureRegistries, ['lan-registry:5000', 'harbor.lan']);
  });
});

describe('~/.docker/config.json', () => {
  test('auths entries decode like docker/cli', () => {
    const table: Array<[object, object | undefined]> = [
      [{ auth: b64('user:pa:ss:word') }, { username: 'user', password: 'pa:ss:word' }],
      [{ auth: b64('user:pw\0\0') }, { username: 'user', password: 'pw' }],
      [{ username: 'plain', password: 'text' }, { username: 'plain', password: 'text' }],
      [{ auth: b64('user:'), identitytoken: 'refresh-tok' }, { username: 'user', identityToken: 'refresh-tok' }],
      [{ registrytoken: 'bearer-tok' }, { registryToken: 'bearer-tok' }],
      [{}, undefined],
      [{ auth: b64('nocolon') }, undefined],
    ];
    for (const [entry, want] of table) assert.deepEqual(decodeAuthEntry(entry), want, JSON.stringify(entry));
  });

  test('keys: exact, Docker Hub aliases, legacy keys with scheme or path', () => {
    const auths = {
      'https://index.docker.io/v1/': { auth: b64('hub:1') },
      'https://legacy.example.com/v1/': { auth: b64('legacy:2') },
      'plain.example.com:5000': { auth: b64('plain:3') },
      'http://http.example.com': { auth: b64('http:4') },
    };
    const table: Array<[string, string | undefined]> = [
      ['docker.io', 'hub'], ['registry-1.docker.io', 'hub'], ['legacy.example.com', 'legacy'], ['plain.example.com:5000', 'plain'],
      ['plain.example.com', undefined], ['http.example.com', 'http'], ['other.example.com', undefined],
    ];
    for (const [host, user] of table) assert.equal(decodeAuthEntry(findAuthEntry(auths, host))?.username, user, host);
    assert.deepEqual(helperFor({ credHelpers: { 'gcr.io': 'gcloud' }, credsStore: 'desktop' }, 'gcr.io'), { name: 'gcloud', from: 'credHelpers' });
    assert.deepEqual(helperFor({ credHelpers: { 'gcr.io': 'gcloud' }, credsStore: 'desktop' }, 'ghcr.io'), { name: 'desktop', from: 'credsStore' });
    assert.equal(helperFor({ credHelpers: { 'gcr.io': 'gcloud' } }, 'ghcr.io'), undefined);
  });

  test('DOCKER_AUTH_CONFIG comes before the file; an unreadable file is a warning', async () => {
    const DOCKER_CONFIG = join(dir, `broken-${++n}`);
    await mkdir(DOCKER_CONFIG);
    await writeFile(join(DOCKER_CONFIG, 'config.json'), '{ not json');
    const logger = new CaptureLogger();
    const resolve = createCredentialResolver({
      env: { DOCKER_CONFIG, DOCKER_AUTH_CONFIG: JSON.stringify({ auths: { 'ci.example.com': { auth: b64('ci:envauth') } } }) },
      config: {},
      logger,
    });
    assert.deepEqual(await resolve('ci.example.com'), { username: 'ci', password: 'envauth' });
    assert.equal(await resolve('other.example.com'), undefined);
    assert.match(logger.text(), /cannot read .*config\.json \(not valid JSON\); its credentials are ignored/);
  });

  test('a login written while the daemon runs is picked up', async () => {
    let t = 0;
    const DOCKER_CONFIG = await dockerConfig({ auths: {} });
    const resolve = createCredentialResolver({ env: { DOCKER_CONFIG }, config: {}, now: () => t });
    assert.equal(await resolve('late.example.com'), undefined);
    await writeFile(join(DOCKER_CONFIG, 'config.json'), JSON.stringify({ auths: { 'late.example.com': { auth: b64('late:login') } } }));
    t += 60_000; // past the resolver's short answer cache
    assert.deepEqual(await resolve('late.example.com'), { username: 'late', password: 'login' });
  });
});

describe('credential helpers (real scripts on PATH)', () => {
  let bin: string;
  let log: string;
  before(async () => {
    bin = join(dir, 'bin');
    await mkdir(bin, { recursive: true });
    log = join(dir, 'helper-calls.log');
    // Speaks the docker-credential-helpers protocol: server URL on stdin, JSON on stdout.
    const script = `#!/bin/sh
input=$(cat)
printf '%s %s\\n' "$1" "$input" >> "$HELPER_LOG"
case "$input" in
  reg.example.com) echo '{"ServerURL":"reg.example.com","Username":"helperuser","Secret":"helper-secret"}' ;;
  tok.example.com) echo '{"ServerURL":"tok.example.com","Username":"<token>","Secret":"identity-refresh"}' ;;
  https://index.docker.io/v1/) echo '{"ServerURL":"https://index.docker.io/v1/","Username":"hubhelper","Secret":"hubsecret"}' ;;
  broken.example.com) echo 'LEAKED-SECRET-ON-STDOUT'; echo 'helper exploded' >&2; exit 3 ;;
  *) echo 'credentials not found in native keychain'; exit 1 ;;
esac
`;
    await writeFile(join(bin, 'docker-credential-fake'), script);
    await chmod(join(bin, 'docker-credential-fake'), 0o755);
  });

  const envFor = (DOCKER_CONFIG: string) => ({ DOCKER_CONFIG, PATH: `${bin}:${process.env.PATH}`, HELPER_LOG: log });

  test('credsStore: helper answers, <token> means identity token, not-found falls back to auths', async () => {
    await writeFile(log, '');
    const DOCKER_CONFIG = await dockerConfig({ credsStore: 'fake', auths: { 'fallback.example.com': { auth: b64('fileuser:filepw') } } });
    const resolve = createCredentialResolver({ env: envFor(DOCKER_CONFIG), config: {} });
    assert.deepEqual(await resolve('reg.example.com'), { username: 'helperuser', password: 'helper-secret' });
    assert.deepEqual(await resolve('tok.example.com'), { identityToken: 'identity-refresh' });
    assert.deepEqual(await resolve('docker.io'), { username: 'hubhelper', password: 'hubsecret' });
    assert.deepEqual(await resolve('fallback.example.com'), { username: 'fileuser', password: 'filepw' });
    assert.equal(await resolve('nothing.example.com'), undefined);
    const calls = (await readFile(log, 'utf8')).trim().split('\n');
    assert.deepEqual(calls, ['get reg.example.com', 'get tok.example.com', 'get https://index.docker.io/v1/', 'get fallback.example.com', 'get nothing.example.com']);
  });

  test('credHelpers per host; answers are reused, not re-run per request', async () => {
    await writeFile(log, '');
    const DOCKER_CONFIG = await dockerConfig({ credHelpers: { 'reg.example.com': 'fake' }, auths: { 'reg.example.com': { auth: b64('stale:file') } } });
    let t = 0;
    const resolve = createCredentialResolver({ env: envFor(DOCKER_CONFIG), config: {}, now: () => t });
    const answers = await Promise.all([resolve('reg.example.com'), resolve('reg.example.com'), resolve('REG.example.com')]);
    for (const a of answers) assert.deepEqual(a, { username: 'helperuser', password: 'helper-secret' });
    t += 60_000;
    assert.deepEqual(await resolve('reg.example.com'), { username: 'helperuser', password: 'helper-secret' });
    assert.equal((await readFile(log, 'utf8')).trim().split('\n').length, 1);
  });

  test('config and env still win over a helper', async () => {
    await writeFile(log, '');
    const DOCKER_CONFIG = await dockerConfig({ credsStore: 'fake' });
    const resolve = createCredentialResolver({ env: { ...envFor(DOCKER_CONFIG), DOCKERHUB_USERNAME: 'envuser', DOCKERHUB_PASSWORD: 'envpw' }, config: {} });
    assert.deepEqual(await resolve('docker.io'), { username: 'envuser', password: 'envpw' });
    assert.equal(await readFile(log, 'utf8'), '', 'helper not run');
  });

  test('a missing helper binary is one warning, and the file entry is used', async () => {
    const DOCKER_CONFIG = await dockerConfig({ credsStore: 'desktop-not-installed', auths: { 'reg.example.com': { auth: b64('fileuser:filepw') } } });
    const logger = new CaptureLogger();
    const resolve = createCredentialResolver({ env: envFor(DOCKER_CONFIG), config: {}, logger });
    assert.deepEqual(await resolve('reg.example.com'), { username: 'fileuser', password: 'filepw' });
    assert.equal(await resolve('other.example.com'), undefined);
    assert.equal(logger.warnings.length, 1, logger.text());
    assert.match(logger.warnings[0]!.msg!, /docker-credential-desktop-not-installed \(credsStore\) but it is not installed or not on PATH/);
  });

  test('a failing helper is a warning that does not repeat what it printed on stdout', async () => {
    const DOCKER_CONFIG = await dockerConfig({ credHelpers: { 'broken.example.com': 'fake' } });
    const logger = new CaptureLogger();
    const resolve = createCredentialResolver({ env: envFor(DOCKER_CONFIG), config: {}, logger });
    assert.equal(await resolve('broken.example.com'), undefined);
    assert.match(logger.text(), /docker-credential-fake failed for broken\.example\.com \(exit code 3: helper exploded\)/);
    assert.ok(!logger.text().includes('LEAKED-SECRET'), logger.text());
  });
});

describe('secrets never appear in errors', () => {
  test('a broken Google service-account key: the private key is not in the message', async () => {
    const keyFile = join(dir, 'bad-sa.json');
    const privateKey = '-----BEGIN PRIVATE KEY-----\nTHIS-IS-NOT-A-KEY-BUT-SECRET\n-----END PRIVATE KEY-----\n';
    await writeFile(keyFile, JSON.stringify({ type: 'service_account', client_email: 'x@p.iam.gserviceaccount.com', private_key: privateKey, token_uri: 'http://127.0.0.1:9/token' }));
    const resolve = createCredentialResolver({ env: { DOCKER_CONFIG: await dockerConfig(undefined) }, config: parse({ gcr: { credentials_file: keyFile } }) });
    await assert.rejects(resolve('gcr.io'), (err: Error) => {
      assert.match(err.message, /^gcr\.io: cannot get Google \(.*bad-sa\.json\) credentials: /);
      assert.ok(!err.message.includes('THIS-IS-NOT-A-KEY-BUT-SECRET'), err.message);
      return true;
    });
  });

  test('ECR with keys an unreachable endpoint rejects: neither key appears', async () => {
    const resolve = createCredentialResolver({
      env: { DOCKER_CONFIG: await dockerConfig(undefined), AWS_ENDPOINT_URL_ECR: 'http://127.0.0.1:9' },
      config: parse({ ecr: { aws_access_key_id: 'AKIAEXAMPLEKEYID0001', aws_secret_access_key: 'wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY' } }),
    });
    await assert.rejects(resolve('123456789012.dkr.ecr.eu-west-1.amazonaws.com'), (err: Error) => {
      assert.match(err.message, /^123456789012\.dkr\.ecr\.eu-west-1\.amazonaws\.com: cannot get ECR \(configured AWS keys\) credentials: /);
      assert.ok(!err.message.includes('wJalrXUtnFEMI'), err.message);
      return true;
    });
  });

  test('dockerode auth config for the engine carries the same credential', () => {
    assert.deepEqual(dockerAuthConfig('docker.io', { username: 'u', password: 'p' }), { username: 'u', password: 'p', serveraddress: 'https://index.docker.io/v1/' });
    assert.deepEqual(dockerAuthConfig('myreg.azurecr.io', { username: '00000000-0000-0000-0000-000000000000', identityToken: 'rt' }), {
      username: '00000000-0000-0000-0000-000000000000', identitytoken: 'rt', serveraddress: 'myreg.azurecr.io',
    });
    assert.deepEqual(dockerAuthConfig('r.example.com', { registryToken: 'bt' }), { registrytoken: 'bt', serveraddress: 'r.example.com' });
    assert.equal(dockerAuthConfig('r.example.com', undefined), undefined);
  });
});
