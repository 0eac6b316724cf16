/**
 * The OCI client against real CNCF registries on loopback: :5000 (anonymous), :5001 (htpasswd
 * Basic) and registries started here in `auth: token` mode behind test/helpers/token-server.ts.
 * Request counts are asserted exactly: they are the client's cost model (one ping per registry,
 * one token per scope, one listing per repository).
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { RegistryClient } from '../../src/registry/client.js';
import { RegistryError } from '../../src/util/errors.js';
import type { Credential } from '../../src/registry/types.js';
import { buildImage, pushAs, repoDigest, removeImages } from '../helpers/registry-images.js';
import { startTokenServer, startTokenAuthRegistry, freePort, type TokenServer, type TokenAuthRegistry } from '../helpers/token-server.js';
import { rejection } from '../helpers/rejection.js';

const ANON = '127.0.0.1:5000';
const BASIC = '127.0.0.1:5001';
const USER = 'dosync';
const PASSWORD = 's3cret-pass';
const TOKEN_PASSWORD = 't0ken-user-pass';
const IDENTITY_TOKEN = 'refresh-0123456789abcdef';

const id = `rc${process.pid}x${Date.now().toString(36)}`;
const v1 = `dosync-test/${id}:v1`;
const v2 = `dosync-test/${id}:v2`;
const localTags: string[] = [v1, v2];

/** Collects every log call so tests can check that no secret reaches the log. */
function recordingLogger() {
  const lines: string[] = [];
  return {
    lines,
    logger: {
      debug: (obj: object, msg?: string) => void lines.push(`${JSON.stringify(obj)} ${msg ?? ''}`),
      warn: (obj: object, msg?: string) => void lines.push(`${JSON.stringify(obj)} ${msg ?? ''}`),
    },
  };
}


function staticCredentials(map: Record<string, Credential>) {
  const asked: string[] = [];
  return {
    asked,
    resolver: async (registry: string) => {
      asked.push(registry);
      return map[registry];
    },
  };
}

before(async () => {
  await buildImage(v1, '1.0.0');
  await buildImage(v2, '1.1.0');
});

after(async () => {
  await removeImages(localTags);
});

describe('anonymous registry (127.0.0.1:5000)', () => {
  const repo = { registry: ANON, repository: `${id}/anon` };
  before(async () => {
    const targets1 = [`${ANON}/${repo.repository}:1.0.0`, `${ANON}/${repo.repository}:latest`];
    const targets2 = [`${ANON}/${repo.repository}:1.1.0`];
    localTags.push(...targets1, ...targets2);
    await pushAs(v1, targets1);
    await pushAs(v2, targets2);
  });

  test('lists every tag and resolves digests equal to what docker recorded, by HEAD only', async (t) => {
    const client = new RegistryClient();
    assert.deepEqual([...(await client.listTags(repo))].sort(), ['1.0.0', '1.1.0', 'latest']);
    const d1 = await client.getDigest(repo, '1.0.0');
    const d2 = await client.getDigest(repo, '1.1.0');
    const latest = await client.getDigest(repo, 'latest');
    assert.equal(d1.digest, await repoDigest(v1, `${ANON}/${repo.repository}`));
    assert.equal(d2.digest, await repoDigest(v2, `${ANON}/${repo.repository}`));
    assert.equal(latest.digest, d1.digest);
    assert.notEqual(d1.digest, d2.digest);
    assert.equal(d1.mediaType, 'application/vnd.docker.distribution.manifest.v2+json');
    // A digest reference resolves to itself.
    assert.equal((await client.getDigest(repo, d2.digest)).digest, d2.digest);
    // 1 ping + 1 listing + 4 HEADs: no GET fallback, no auth round trips.
    assert.deepEqual(client.stats.byKind, { ping: 1, token: 0, tags: 1, manifest: 4, other: 0 });
    assert.equal(client.stats.byRegistry[ANON], 6);
    t.diagnostic(`anonymous: ${JSON.stringify(client.stats.byKind)}`);
  });

  test('ten concurrent listings of one repository make one request', async () => {
    const client = new RegistryClient();
    const results = await Promise.all(Array.from({ length: 10 }, () => client.listTags(repo)));
    for (const r of results) assert.deepEqual([...r].sort(), ['1.0.0', '1.1.0', 'latest']);
    assert.equal(client.stats.byKind.tags, 1);
    assert.equal(client.stats.byKind.ping, 1);
    // Once finished, a later call lists again (sharing is for calls in flight, not a cache).
    await client.listTags(repo);
    assert.equal(client.stats.byKind.tags, 2);
  });

  test('a repository that does not exist is a 404 "repository not found" naming it', async () => {
    const err = await rejection(new RegistryClient().listTags({ registry: ANON, repository: `${id}/missing` }));
    assert.equal(err.status, 404);
    assert.equal(err.message, `${ANON}/${id}/missing: repository not found (HTTP 404, NAME_UNKNOWN)`);
  });

  test('a tag that does not exist is a 404 naming the reference', async () => {
    const err = await rejection(new RegistryClient().getDigest(repo, '9.9.9'));
    assert.equal(err.status, 404);
    assert.match(err.message, new RegExp(`^${ANON}/${id}/anon:9\\.9\\.9: tag or digest not found \\(HTTP 404\\)$`));
  });

  test('raw request() returns a manifest with its content type', async () => {
    const client = new RegistryClient();
    const res = await client.request(ANON, `/v2/${repo.repository}/manifests/1.0.0`, {
      headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json' },
    });
    assert.equal(res.status, 200);
    const manifest = JSON.parse(res.body.toString('utf8')) as { schemaVersion: number; layers: unknown[] };
    assert.equal(manifest.schemaVersion, 2);
    assert.ok(manifest.layers.length >= 1);
    assert.equal(client.stats.byKind.other, 1);
  });
});

describe('htpasswd registry (127.0.0.1:5001, Basic)', () => {
  const repo = { registry: BASIC, repository: `${id}/basic` };
  before(async () => {
    const targets = [`${BASIC}/${repo.repository}:1.0.0`, `${BASIC}/${repo.repository}:2.0.0`];
    localTags.push(...targets);
    await pushAs(v1, targets, { host: BASIC, username: USER, password: PASSWORD });
  });

  test('lists and resolves with credentials, asking the resolver once', async (t) => {
    const creds = staticCredentials({ [BASIC]: { username: USER, password: PASSWORD } });
    const client = new RegistryClient({ credentials: creds.resolver });
    assert.deepEqual([...(await client.listTags(repo))].sort(), ['1.0.0', '2.0.0']);
    const digest = await client.getDigest(repo, '2.0.0');
    assert.equal(digest.digest, await repoDigest(v1, `${BASIC}/${repo.repository}`));
    assert.deepEqual(creds.asked, [BASIC]);
    // Basic needs no token: 1 ping + 1 listing + 1 HEAD.
    assert.deepEqual(client.stats.byKind, { ping: 1, token: 0, tags: 1, manifest: 1, other: 0 });
    t.diagnostic(`basic: ${JSON.stringify(client.stats.byKind)}`);
  });

  test('a wrong password is "credentials rejected", with no secret in the message or the log', async () => {
    const log = recordingLogger();
    const client = new RegistryClient({ credentials: async () => ({ username: USER, password: 'wrong-pass-XYZ' }), logger: log.logger });
    const err = await rejection(client.listTags(repo));
    assert.equal(err.status, 401);
    assert.match(err.message, new RegExp(`^${BASIC}/${id}/basic: credentials rejected for ${BASIC}`));
    assert.ok(log.lines.length > 0);
    for (const text of [err.message, ...log.lines]) {
      assert.ok(!text.includes('wrong-pass-XYZ'), text);
      assert.ok(!text.includes(Buffer.from(`${USER}:wrong-pass-XYZ`).toString('base64')), text);
    }
  });

  test('no credentials: says the registry needs them', async () => {
    const err = await rejection(new RegistryClient().listTags(repo));
    assert.equal(err.status, 401);
    assert.match(err.message, /requires authentication .*no credentials are configured for 127\.0\.0\.1:5001/);
  });
});

for (const setup of [
  { signing: 'x5c', alg: 'RS256' },
  { signing: 'kid', alg: 'ES256' },
] as const) {
  describe(`token-auth registry (${setup.signing}, ${setup.alg})`, () => {
    let tokens: TokenServer;
    let registry: TokenAuthRegistry;
    let priv: { registry: string; repository: string };
    let pub: { registry: string; repository: string };
    let credentials: Credential;

    before(async () => {
      tokens = await startTokenServer({
        users: { [USER]: TOKEN_PASSWORD },
        refreshTokens: { [IDENTITY_TOKEN]: USER },
        publicRepositories: [`${id}/public`],
        signing: setup.signing,
        alg: setup.alg,
      });
      registry = await startTokenAuthRegistry(tokens);
      priv = { registry: registry.host, repository: `${id}/private` };
      pub = { registry: registry.host, repository: `${id}/public` };
      credentials = { username: USER, password: TOKEN_PASSWORD };
      const privTargets = [`${registry.host}/${priv.repository}:1.0.0`];
      const privTargets2 = [`${registry.host}/${priv.repository}:1.1.0`];
      const pubTargets = [`${registry.host}/${pub.repository}:3.0.0`, `${registry.host}/${id}/other:0.1.0`];
      localTags.push(...privTargets, ...privTargets2, ...pubTargets);
      const login = { host: registry.host, username: USER, password: TOKEN_PASSWORD };
      await pushAs(v1, [...privTargets, ...pubTargets], login);
      await pushAs(v2, privTargets2, login);
      tokens.requests.length = 0;
    });

    after(async () => {
      await registry?.stop();
      await tokens?.close();
    });

    test('lists a private repository with credentials; one token serves the listing and the digests', async (t) => {
      const creds = staticCredentials({ [registry.host]: credentials });
      const client = new RegistryClient({ credentials: creds.resolver });
      assert.deepEqual([...(await client.listTags(priv))].sort(), ['1.0.0', '1.1.0']);
      const digest = await client.getDigest(priv, '1.1.0');
      assert.equal(digest.digest, await repoDigest(v2, `${registry.host}/${priv.repository}`));
      await client.getDigest(priv, '1.0.0');
      await client.listTags(priv);
      // 1 ping + 1 token + 2 listings + 2 HEADs: the token was fetched once and reused.
      assert.deepEqual(client.stats.byKind, { ping: 1, token: 1, tags: 2, manifest: 2, other: 0 });
      assert.deepEqual(creds.asked, [registry.host]);
      const issued = tokens.requests.slice(-1)[0]!;
      assert.deepEqual(issued, { method: 'GET', user: USER, scopes: [`repository:${priv.repository}:pull`], granted: [`${priv.repository}:pull`], status: 200 });
      t.diagnostic(`token (${setup.signing}/${setup.alg}): ${JSON.stringify(client.stats.byKind)}`);
    });

    test('ten services over three repositories cost one ping, three tokens and three listings', async (t) => {
      const client = new RegistryClient({ credentials: async () => credentials });
      const other = { registry: registry.host, repository: `${id}/other` };
      const services = [priv, priv, priv, priv, pub, pub, pub, other, other, other];
      const results = await Promise.all(services.map((repo) => client.listTags(repo)));
      assert.deepEqual(results.map((r) => r.length), [2, 2, 2, 2, 1, 1, 1, 1, 1, 1]);
      assert.deepEqual(client.stats.byKind, { ping: 1, token: 3, tags: 3, manifest: 0, other: 0 });
      assert.equal(client.stats.requests, 7);
      t.diagnostic(`10 services / 3 repositories (token auth): ${client.stats.requests} requests ${JSON.stringify(client.stats.byKind)}`);
    });

    test('anonymous: a public repository lists with an anonymous token', async () => {
      const client = new RegistryClient();
      assert.deepEqual(await client.listTags(pub), ['3.0.0']);
      assert.deepEqual(client.stats.byKind, { ping: 1, token: 1, tags: 1, manifest: 0, other: 0 });
    });

    test('anonymous: a private repository says authentication is required', async () => {
      const client = new RegistryClient();
      const err = await rejection(client.listTags(priv));
      assert.equal(err.status, 401);
      assert.match(err.message, /requires authentication .*no credentials are configured/);
    });

    test('a wrong password is rejected by the token service, naming the registry, never the password', async () => {
      const log = recordingLogger();
      const client = new RegistryClient({ credentials: async () => ({ username: USER, password: 'nope-WRONG-123' }), logger: log.logger });
      const err = await rejection(client.listTags(priv));
      assert.equal(err.status, 401);
      assert.match(err.message, new RegExp(`credentials rejected for ${registry.host} by its token service 127\\.0\\.0\\.1:\\d+ \\(HTTP 401\\)`));
      for (const text of [err.message, ...log.lines]) assert.ok(!text.includes('nope-WRONG-123'), text);
    });

    test('an identity token is exchanged by the OAuth2 refresh-token POST', async () => {
      const client = new RegistryClient({ credentials: async () => ({ identityToken: IDENTITY_TOKEN }) });
      assert.deepEqual([...(await client.listTags(priv))].sort(), ['1.0.0', '1.1.0']);
      const issued = tokens.requests.slice(-1)[0]!;
      assert.equal(issued.method, 'POST');
      assert.equal(issued.user, USER);
    });

    test('a token the registry rejects (401) is replaced once and the request succeeds', async () => {
      const client = new RegistryClient({ credentials: async () => credentials });
      tokens.expireNext(1);
      assert.deepEqual([...(await client.listTags(priv))].sort(), ['1.0.0', '1.1.0']);
      // First listing got 401 with the expired token, a fresh token was fetched, the listing repeated.
      assert.deepEqual(client.stats.byKind, { ping: 1, token: 2, tags: 2, manifest: 0, other: 0 });
    });

    test('a cached token is refreshed shortly before it expires', async () => {
      let now = Date.now();
      const client = new RegistryClient({ credentials: async () => credentials, now: () => now });
      await client.listTags(priv);
      now += 200_000; // expires_in is 300 s: still cached
      await client.listTags(priv);
      assert.equal(client.stats.byKind.token, 1);
      now += 80_000; // 280 s: inside the 30 s refresh margin
      await client.listTags(priv);
      assert.equal(client.stats.byKind.token, 2);
    });
  });
}

describe('unreachable registry', () => {
  test('five repositories on a registry that is down cost one connection attempt, then fail fast', async (t) => {
    const host = `127.0.0.1:${await freePort()}`;
    const client = new RegistryClient();
    const errors = await Promise.all(
      ['a', 'b', 'c', 'd', 'e'].map((name) => rejection(client.listTags({ registry: host, repository: `${id}/${name}` }))),
    );
    for (const [i, err] of errors.entries()) {
      assert.equal(err.message, `${host}/${id}/${'abcde'[i]}: cannot reach ${host}: ECONNREFUSED`);
    }
    assert.equal(client.stats.requests, 1);
    const again = await rejection(client.getDigest({ registry: host, repository: `${id}/a` }, 'latest'));
    assert.match(again.message, /cannot reach .*ECONNREFUSED/);
    assert.equal(client.stats.requests, 1);
    t.diagnostic(`down registry: ${client.stats.requests} request for 6 calls`);
  });
});
