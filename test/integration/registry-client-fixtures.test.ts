/**
 * Protocol fixtures for what the real local registries never do: Link pagination over several
 * pages, registries that ignore `n`, links to another host, 5xx/429/garbage answers, redirects to
 * another host, missing Docker-Content-Digest, slow hosts. Each fixture is a real HTTP server on
 * loopback (127.0.0.1 and, as "another host", 127.0.0.2), so the client's real transport runs.
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import { RegistryClient, registryBaseUrl, scopeForPath, type RegistryClientOptions } from '../../src/registry/client.js';
import { RegistryError } from '../../src/util/errors.js';
import { rejection } from '../helpers/rejection.js';

interface Seen {
  method: string;
  url: string;
  authorization?: string;
}

interface Fixture {
  host: string;
  seen: Seen[];
  close(): Promise<void>;
}

const servers: Server[] = [];
after(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

async function fixture(handler: (req: IncomingMessage, res: ServerResponse, fx: Fixture) => void, address = '127.0.0.1'): Promise<Fixture> {
  const seen: Seen[] = [];
  const fx: Fixture = { host: '', seen, close: async () => undefined };
  const server = createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization });
    handler(req, res, fx);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, address, resolve));
  fx.host = `${address}:${(server.address() as { port: number }).port}`;
  return fx;
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/** A client whose backoff sleeps are recorded, not waited. */
function client(extra: RegistryClientOptions = {}) {
  const sleeps: number[] = [];
  const c = new RegistryClient({ sleep: async (ms) => void sleeps.push(ms), ...extra });
  return { c, sleeps };
}


const tagRequests = (fx: Fixture) => fx.seen.filter((s) => s.url.includes('/tags/list'));

describe('tag pagination (protocol fixture)', () => {
  test('follows relative Link headers across four pages, keeping order', async () => {
    const pages: Record<string, { tags: string[]; next?: string }> = {
      '': { tags: ['1.0.0', '1.1.0'], next: '/v2/team/app/tags/list?last=1.1.0&n=2' },
      '1.1.0': { tags: ['1.2.0', '2.0.0'], next: '/v2/team/app/tags/list?last=2.0.0&n=2' },
      '2.0.0': { tags: ['2.1.0'], next: 'list?last=2.1.0&n=2' }, // a short page with a Link: not the end
      '2.1.0': { tags: ['3.0.0', 'latest'] },
    };
    const fx = await fixture((req, res) => {
      const url = new URL(req.url!, 'http://x');
      if (url.pathname === '/v2/') return json(res, 200, {});
      const page = pages[url.searchParams.get('last') ?? '']!;
      json(res, 200, { name: 'team/app', tags: page.tags }, page.next ? { link: `<${page.next}>; rel="next"` } : {});
    });
    const { c } = client({ pageSize: 2 });
    assert.deepEqual(await c.listTags({ registry: fx.host, repository: 'team/app' }), ['1.0.0', '1.1.0', '1.2.0', '2.0.0', '2.1.0', '3.0.0', 'latest']);
    assert.deepEqual(tagRequests(fx).map((s) => s.url), [
      '/v2/team/app/tags/list?n=2',
      '/v2/team/app/tags/list?last=1.1.0&n=2',
      '/v2/team/app/tags/list?last=2.0.0&n=2',
      '/v2/team/app/tags/list?last=2.1.0&n=2',
    ]);
  });

  test('follows an absolute Link on the same host, with opaque parameters', async () => {
    const fx = await fixture((req, res, self) => {
      const url = new URL(req.url!, 'http://x');
      if (url.pathname === '/v2/') return json(res, 200, {});
      if (url.searchParams.get('next_page') === 'opaque-token') return json(res, 200, { tags: ['b'] });
      json(res, 200, { tags: ['a'] }, { link: `<http://${self.host}/v2/x/tags/list?next_page=opaque-token&n=50>; rel="next"` });
    });
    const { c } = client();
    assert.deepEqual(await c.listTags({ registry: fx.host, repository: 'x' }), ['a', 'b']);
  });

  test('a registry that ignores n returns everything in one answer', async () => {
    const all = Array.from({ length: 2500 }, (_, i) => `t${String(i).padStart(4, '0')}`);
    const fx = await fixture((req, res) => (req.url === '/v2/' ? json(res, 200, {}) : json(res, 200, { name: 'big', tags: all })));
    const { c } = client({ pageSize: 1000 });
    assert.deepEqual(await c.listTags({ registry: fx.host, repository: 'big' }), all);
    assert.equal(tagRequests(fx).length, 1);
    assert.equal(tagRequests(fx)[0]!.url, '/v2/big/tags/list?n=1000');
  });

  test('a Link to another host is refused, and that host never hears from us', async () => {
    const other = await fixture((_req, res) => json(res, 200, { tags: ['evil'] }), '127.0.0.2');
    const fx = await fixture((req, res) => {
      if (req.url === '/v2/') return json(res, 200, {});
      json(res, 200, { tags: ['a'] }, { link: `<http://${other.host}/v2/x/tags/list?last=a>; rel="next"` });
    });
    const { c } = client();
    const err = await rejection(c.listTags({ registry: fx.host, repository: 'x' }));
    assert.equal(err.message, `${fx.host}/x: refused the tag list's next-page link to http://${other.host}, which is not the registry http://${fx.host}`);
    assert.equal(other.seen.length, 0);
  });

  test('the page cap stops an endless listing', async () => {
    let n = 0;
    const fx = await fixture((req, res) => {
      if (req.url === '/v2/') return json(res, 200, {});
      n++;
      json(res, 200, { tags: [`t${n}`] }, { link: `</v2/x/tags/list?last=t${n}>; rel="next"` });
    });
    const { c } = client({ maxPages: 3 });
    const err = await rejection(c.listTags({ registry: fx.host, repository: 'x' }));
    assert.match(err.message, /more than 3 pages/);
    assert.equal(tagRequests(fx).length, 3);
  });

  test('a Link back to a page already read is an error, not a loop', async () => {
    const fx = await fixture((req, res) => {
      if (req.url === '/v2/') return json(res, 200, {});
      json(res, 200, { tags: ['a'] }, { link: '</v2/x/tags/list?n=1000>; rel="next"' });
    });
    const err = await rejection(client().c.listTags({ registry: fx.host, repository: 'x' }));
    assert.match(err.message, /loops back/);
    assert.equal(tagRequests(fx).length, 1);
  });

  test('an empty repository ("tags": null) has no tags', async () => {
    const fx = await fixture((req, res) => json(res, 200, req.url === '/v2/' ? {} : { name: 'x', tags: null }));
    assert.deepEqual(await client().c.listTags({ registry: fx.host, repository: 'x' }), []);
  });
});

describe('error answers (protocol fixture)', () => {
  test('garbage instead of JSON', async () => {
    const fx = await fixture((req, res) => {
      if (req.url === '/v2/') return json(res, 200, {});
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>proxy error page</html>');
    });
    const err = await rejection(client().c.listTags({ registry: fx.host, repository: 'x' }));
    assert.equal(err.message, `${fx.host}/x: the registry answered the tag list with something that is not JSON`);
  });

  test('JSON of the wrong shape', async () => {
    const fx = await fixture((req, res) => json(res, 200, req.url === '/v2/' ? {} : { tags: 'latest' }));
    const err = await rejection(client().c.listTags({ registry: fx.host, repository: 'x' }));
    assert.match(err.message, /no "tags" array/);
  });

  test('a persistent 500 is retried a bounded number of times with growing backoff, then named', async () => {
    const fx = await fixture((req, res) => (req.url === '/v2/' ? json(res, 200, {}) : json(res, 500, { errors: [{ code: 'UNKNOWN', message: 'boom' }] })));
    const { c, sleeps } = client({ retries: 3, backoffBaseMs: 100 });
    const err = await rejection(c.listTags({ registry: fx.host, repository: 'x' }));
    assert.equal(err.status, 500);
    assert.equal(err.message, `${fx.host}/x: ${fx.host} failed with a server error (HTTP 500, UNKNOWN)`);
    assert.equal(tagRequests(fx).length, 4);
    assert.equal(sleeps.length, 3);
    // Exponential with jitter: attempt k waits within [base*2^k/2, base*2^k].
    sleeps.forEach((ms, k) => assert.ok(ms >= (100 * 2 ** k) / 2 && ms <= 100 * 2 ** k, `sleep ${k} = ${ms}`));
  });

  test('a 503 that recovers is retried transparently', async () => {
    let failures = 2;
    const fx = await fixture((req, res) => {
      if (req.url === '/v2/') return json(res, 200, {});
      if (failures-- > 0) return json(res, 503, {});
      json(res, 200, { tags: ['ok'] });
    });
    const { c, sleeps } = client();
    assert.deepEqual(await c.listTags({ registry: fx.host, repository: 'x' }), ['ok']);
    assert.equal(tagRequests(fx).length, 3);
    assert.equal(sleeps.length, 2);
  });

  test('429 waits what Retry-After says', async () => {
    let limited = true;
    const fx = await fixture((req, res) => {
      if (req.url === '/v2/') return json(res, 200, {});
      if (limited) {
        limited = false;
        return json(res, 429, { errors: [{ code: 'TOOMANYREQUESTS' }] }, { 'retry-after': '7' });
      }
      json(res, 200, { tags: ['ok'] });
    });
    const { c, sleeps } = client();
    assert.deepEqual(await c.listTags({ registry: fx.host, repository: 'x' }), ['ok']);
    assert.deepEqual(sleeps, [7000]);
  });

  test('429 with a Retry-After beyond the limit fails at once, saying so', async () => {
    const fx = await fixture((req, res) => (req.url === '/v2/' ? json(res, 200, {}) : json(res, 429, { errors: [{ code: 'TOOMANYREQUESTS' }] }, { 'retry-after': '3600' })));
    const { c, sleeps } = client();
    const err = await rejection(c.listTags({ registry: fx.host, repository: 'x' }));
    assert.equal(err.status, 429);
    assert.equal(err.message, `${fx.host}/x: rate limited by ${fx.host}; it asks to retry after 3600 (HTTP 429, TOOMANYREQUESTS)`);
    assert.deepEqual(sleeps, []);
    assert.equal(tagRequests(fx).length, 1);
  });

  test('a host that never answers times out, is retried, then failed fast', async () => {
    const fx = await fixture(() => {
      /* never answers */
    });
    const { c } = client({ timeoutMs: 150, retries: 1, backoffBaseMs: 1 });
    const err = await rejection(c.listTags({ registry: fx.host, repository: 'x' }));
    assert.equal(err.message, `${fx.host}/x: cannot reach ${fx.host}: no answer within 150 ms (UND_ERR_HEADERS_TIMEOUT)`);
    assert.equal(fx.seen.length, 2);
    const again = await rejection(c.listTags({ registry: fx.host, repository: 'y' }));
    assert.match(again.message, /^.*\/y: cannot reach .*no answer within 150 ms/);
    assert.equal(fx.seen.length, 2);
  });

  test('an unsupported authentication scheme is named', async () => {
    const fx = await fixture((_req, res) => json(res, 401, {}, { 'www-authenticate': 'Negotiate' }));
    const err = await rejection(client().c.listTags({ registry: fx.host, repository: 'x' }));
    assert.match(err.message, /asks for negotiate authentication, which dosync does not support/);
  });
});

describe('manifests (protocol fixture)', () => {
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] }));
  const sha = `sha256:${createHash('sha256').update(manifest).digest('hex')}`;

  test('HEAD sends the full Accept list and uses Docker-Content-Digest', async () => {
    const accepts: string[] = [];
    const fx = await fixture((req, res) => {
      if (req.url === '/v2/') return json(res, 200, {});
      accepts.push(String(req.headers.accept));
      res.writeHead(200, { 'docker-content-digest': sha, 'content-type': 'application/vnd.oci.image.index.v1+json', 'content-length': String(manifest.length) });
      res.end(req.method === 'HEAD' ? undefined : manifest);
    });
    const { c } = client();
    assert.deepEqual(await c.getDigest({ registry: fx.host, repository: 'x' }, '1.0'), { digest: sha, mediaType: 'application/vnd.oci.image.index.v1+json' });
    assert.deepEqual(accepts, [
      'application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json',
    ]);
    assert.deepEqual(fx.seen.map((s) => s.method), ['GET', 'HEAD']);
  });

  for (const headStatus of [200, 405]) {
    test(`HEAD answering ${headStatus} without a digest falls back to GET and hashes the exact body`, async () => {
      const fx = await fixture((req, res) => {
        if (req.url === '/v2/') return json(res, 200, {});
        if (req.method === 'HEAD') {
          res.writeHead(headStatus, { 'content-type': 'application/vnd.oci.image.index.v1+json' });
          return res.end();
        }
        res.writeHead(200, { 'content-type': 'application/vnd.oci.image.index.v1+json; charset=utf-8' });
        res.end(manifest);
      });
      const { c } = client();
      assert.deepEqual(await c.getDigest({ registry: fx.host, repository: 'x' }, '1.0'), { digest: sha, mediaType: 'application/vnd.oci.image.index.v1+json' });
      assert.deepEqual(fx.seen.map((s) => s.method), ['GET', 'HEAD', 'GET']);
    });
  }

  test('a redirect to another host does not carry the Authorization header; one on the same host does', async () => {
    const cdn = await fixture((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/vnd.oci.image.index.v1+json' });
      res.end(manifest);
    }, '127.0.0.2');
    const fx = await fixture((req, res) => {
      if (req.headers.authorization !== `Basic ${Buffer.from('u:p').toString('base64')}`) return json(res, 401, {}, { 'www-authenticate': 'Basic realm="fixture"' });
      if (req.method === 'HEAD') {
        res.writeHead(200);
        return res.end();
      }
      if (req.url === '/v2/x/manifests/1.0') {
        res.writeHead(307, { location: '/v2/x/manifests/moved' });
        return res.end();
      }
      res.writeHead(302, { location: `http://${cdn.host}/blobs/abc?sig=1` });
      res.end();
    });
    const { c } = client({ credentials: async () => ({ username: 'u', password: 'p' }) });
    assert.equal((await c.getDigest({ registry: fx.host, repository: 'x' }, '1.0')).digest, sha);
    assert.deepEqual(fx.seen.map((s) => `${s.method} ${s.url} ${s.authorization ? 'auth' : 'no-auth'}`), [
      'GET /v2/ no-auth',
      'HEAD /v2/x/manifests/1.0 auth',
      'GET /v2/x/manifests/1.0 auth',
      'GET /v2/x/manifests/moved auth',
    ]);
    assert.deepEqual(cdn.seen, [{ method: 'GET', url: '/blobs/abc?sig=1', authorization: undefined }]);
  });
});

describe('tokens (protocol fixture)', () => {
  async function tokenRegistry(tokenBody: (n: number) => unknown, challenge?: (realm: string) => string) {
    const issued: string[] = [];
    const tokenServer = await fixture((req, res) => {
      issued.push(req.url!);
      const body = tokenBody(issued.length);
      if (typeof body === 'string') {
        res.writeHead(200);
        return res.end(body);
      }
      json(res, 200, body);
    });
    const realm = `http://${tokenServer.host}/token`;
    const valid = new Set<string>();
    const fx = await fixture((req, res) => {
      const auth = req.headers.authorization ?? '';
      if (!auth.startsWith('Bearer ') || req.url === '/v2/') {
        return json(res, 401, { errors: [{ code: 'UNAUTHORIZED' }] }, { 'www-authenticate': challenge ? challenge(realm) : `Bearer realm="${realm}",service="fixture"` });
      }
      valid.add(auth);
      json(res, 200, { tags: ['1'] });
    });
    return { fx, tokenServer, issued };
  }

  test('access_token is preferred over token, and a short expires_in counts as 60 s', async () => {
    const { fx, tokenServer, issued } = await tokenRegistry((n) => ({ token: `old-${n}`, access_token: `new-${n}`, expires_in: 10 }));
    let now = 1_000_000;
    const { c } = client({ now: () => now });
    const repo = { registry: fx.host, repository: 'team/app' };
    await c.listTags(repo);
    assert.equal(fx.seen.at(-1)!.authorization, 'Bearer new-1');
    now += 40_000; // 60 s lifetime minus a 15 s margin: still valid at 40 s
    await c.listTags(repo);
    assert.equal(issued.length, 1);
    now += 10_000; // 50 s: refreshed
    await c.listTags(repo);
    assert.equal(issued.length, 2);
    assert.equal(fx.seen.at(-1)!.authorization, 'Bearer new-2');
    // GET realm?service&scope, scope built from the repository since the ping carried none.
    assert.equal(issued[0], '/token?service=fixture&scope=repository%3Ateam%2Fapp%3Apull');
    assert.equal(tokenServer.seen[0]!.authorization, undefined);
  });

  test('Basic credentials go to the realm with account=, and a challenge listing Basic and Bearer is answered with Bearer', async () => {
    const { fx, tokenServer } = await tokenRegistry(
      () => ({ token: 'tok' }),
      (realm) => `Basic realm="fixture", Bearer realm="${realm}",service="fixture",scope="repository:team/app:pull"`,
    );
    const { c } = client({ credentials: async () => ({ username: 'robot$ci', password: 'pw' }) });
    assert.deepEqual(await c.listTags({ registry: fx.host, repository: 'team/app' }), ['1']);
    assert.equal(tokenServer.seen[0]!.authorization, `Basic ${Buffer.from('robot$ci:pw').toString('base64')}`);
    assert.match(tokenServer.seen[0]!.url, /[?&]account=robot%24ci(&|$)/);
    assert.equal(fx.seen.at(-1)!.authorization, 'Bearer tok');
  });

  test('a registry token credential is sent as-is without asking the realm', async () => {
    const { fx, tokenServer } = await tokenRegistry(() => ({ token: 'never' }));
    const { c } = client({ credentials: async () => ({ registryToken: 'ready-made' }) });
    await c.listTags({ registry: fx.host, repository: 'x' });
    assert.equal(fx.seen.at(-1)!.authorization, 'Bearer ready-made');
    assert.equal(tokenServer.seen.length, 0);
  });

  test('a token service answering garbage is named', async () => {
    const { fx, tokenServer } = await tokenRegistry(() => '<html>login</html>');
    const err = await rejection(client().c.listTags({ registry: fx.host, repository: 'x' }));
    assert.equal(err.message, `${fx.host}/x: the token service ${tokenServer.host} of ${fx.host} answered something that is not JSON`);
  });

  test('concurrent requests for one scope share one token fetch', async () => {
    const { fx, issued } = await tokenRegistry(() => ({ token: 't', expires_in: 300 }));
    const { c } = client();
    await Promise.all(['1', '2', '3', '4', '5'].map((tag) => c.request(fx.host, `/v2/x/tags/list?x=${tag}`)));
    assert.equal(issued.length, 1);
  });
});

describe('limits (protocol fixture)', () => {
  test('requests to one registry never exceed the concurrency limit', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const fx = await fixture((req, res) => {
      if (req.url === '/v2/') return json(res, 200, {});
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      setTimeout(() => {
        inFlight--;
        res.writeHead(200, { 'docker-content-digest': `sha256:${'a'.repeat(64)}` });
        res.end();
      }, 25);
    });
    const { c } = client({ concurrencyPerRegistry: 3 });
    await Promise.all(Array.from({ length: 12 }, (_, i) => c.getDigest({ registry: fx.host, repository: 'x' }, `t${i}`)));
    assert.equal(maxInFlight, 3);
    assert.equal(c.stats.byKind.manifest, 12);
  });

  test('retries and errors never log credentials or tokens', async () => {
    const lines: string[] = [];
    const logger = { debug: (o: object, m?: string) => void lines.push(JSON.stringify(o) + (m ?? '')), warn: (o: object, m?: string) => void lines.push(JSON.stringify(o) + (m ?? '')) };
    let first = true;
    const tokenServer = await fixture((_req, res) => json(res, 200, { token: 'SECRET-TOKEN-VALUE' }));
    const fx = await fixture((req, res) => {
      if (req.headers.authorization !== 'Bearer SECRET-TOKEN-VALUE') return json(res, 401, {}, { 'www-authenticate': `Bearer realm="http://${tokenServer.host}/token",service="s"` });
      if (first) {
        first = false;
        return json(res, 502, {});
      }
      json(res, 404, { errors: [{ code: 'NAME_UNKNOWN' }] });
    });
    const c = new RegistryClient({ logger, sleep: async () => undefined, credentials: async () => ({ username: 'user', password: 'SECRET-PASSWORD' }) });
    const err = await rejection(c.listTags({ registry: fx.host, repository: 'x' }));
    assert.equal(err.message, `${fx.host}/x: repository not found (HTTP 404, NAME_UNKNOWN)`);
    assert.ok(lines.some((l) => l.includes('retrying')));
    for (const l of [...lines, err.message]) {
      assert.ok(!l.includes('SECRET-PASSWORD') && !l.includes('SECRET-TOKEN-VALUE') && !l.includes(Buffer.from('user:SECRET-PASSWORD').toString('base64')), l);
    }
  });
});

describe('registryBaseUrl and scopes', () => {
  const cases: Array<[string, string[], string]> = [
    ['docker.io', [], 'https://registry-1.docker.io'],
    ['index.docker.io', [], 'https://registry-1.docker.io'],
    ['ghcr.io', [], 'https://ghcr.io'],
    ['localhost:5000', [], 'http://localhost:5000'],
    ['localhost', [], 'http://localhost'],
    ['127.0.0.1:5000', [], 'http://127.0.0.1:5000'],
    ['127.1.2.3', [], 'http://127.1.2.3'],
    ['[::1]:5000', [], 'http://[::1]:5000'],
    ['192.168.1.1:5000', [], 'https://192.168.1.1:5000'],
    ['192.168.1.1:5000', ['192.168.1.1:5000'], 'http://192.168.1.1:5000'],
    ['registry.lan:5000', ['registry.lan'], 'http://registry.lan:5000'],
    ['registry.lan:5000', ['registry.lan:6000'], 'https://registry.lan:5000'],
    ['128.0.0.1', [], 'https://128.0.0.1'],
    ['localhost.example.com', [], 'https://localhost.example.com'],
  ];
  for (const [registry, insecure, want] of cases) {
    test(`${registry} ${insecure.length ? `(insecure ${insecure.join(',')}) ` : ''}-> ${want}`, () => {
      assert.equal(registryBaseUrl(registry, insecure), want);
    });
  }

  test('scopes derived from raw request paths', () => {
    assert.equal(scopeForPath('/v2/team/app/manifests/1.0'), 'repository:team/app:pull');
    assert.equal(scopeForPath('/v2/a/b/c/blobs/sha256:abc'), 'repository:a/b/c:pull');
    assert.equal(scopeForPath('/v2/x/tags/list?n=10'), 'repository:x:pull');
    assert.equal(scopeForPath('/v2/_catalog'), 'registry:catalog:*');
    assert.equal(scopeForPath('/v2/'), undefined);
  });
});

describe('https registries (undici MockAgent fixture)', () => {
  test('an https registry pointing at a plain-http realm does not get our credentials', async () => {
    const { MockAgent } = await import('undici');
    const agent = new MockAgent();
    agent.disableNetConnect();
    agent
      .get('https://registry.example.test')
      .intercept({ path: '/v2/', method: 'GET' })
      .reply(401, '', { headers: { 'www-authenticate': 'Bearer realm="http://auth.example.test/token",service="s"' } });
    const c = new RegistryClient({ dispatcher: agent, credentials: async () => ({ username: 'u', password: 'p' }) });
    const err = await rejection(c.listTags({ registry: 'registry.example.test', repository: 'x' }));
    assert.equal(err.message, 'registry.example.test/x: registry.example.test sent a plain-http token realm (auth.example.test); refusing to send credentials there');
    assert.equal(c.stats.requests, 1);
    await agent.close();
  });

  test('Docker Hub is reached at registry-1.docker.io with the scope its token service expects', async () => {
    const { MockAgent } = await import('undici');
    const agent = new MockAgent();
    agent.disableNetConnect();
    const hub = agent.get('https://registry-1.docker.io');
    hub.intercept({ path: '/v2/', method: 'GET' }).reply(401, '', { headers: { 'www-authenticate': 'Bearer realm="https://auth.docker.io/token",service="registry.docker.io"' } });
    agent
      .get('https://auth.docker.io')
      .intercept({ path: '/token?service=registry.docker.io&scope=repository%3Alibrary%2Fnginx%3Apull', method: 'GET' })
      .reply(200, { token: 'hub-token', expires_in: 300 });
    hub
      .intercept({ path: '/v2/library/nginx/tags/list?n=1000', method: 'GET', headers: { authorization: 'Bearer hub-token' } })
      .reply(200, { name: 'library/nginx', tags: ['1.27', 'latest'] });
    const c = new RegistryClient({ dispatcher: agent });
    assert.deepEqual(await c.listTags({ registry: 'docker.io', repository: 'library/nginx' }), ['1.27', 'latest']);
    assert.deepEqual(c.stats.byRegistry, { 'docker.io': 3 });
    await agent.close();
  });
});
