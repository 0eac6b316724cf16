/**
 * Docker Hub's pull limit, against a protocol fixture: an HTTPS server answering for
 * registry-1.docker.io and auth.docker.io (routed there by an undici Agent, as an /etc/hosts entry
 * would, with a test CA) that speaks Hub's challenge, token service, `ratelimit-limit` /
 * `ratelimit-remaining` headers (`100;w=21600`) and 429s with Retry-After. The client's clock and
 * sleep are fakes, so hours-long windows cost nothing and every wait is measured exactly.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Agent } from 'undici';
import { RegistryClient, type RegistryClientOptions } from '../../src/registry/client.js';
import { RegistryError } from '../../src/util/errors.js';
import { HubPausedError } from '../../src/registry/hub-rate-limit.js';
import { planService, type PlanContext } from '../../src/sync/plan.js';
import { checkRow } from '../../src/cli/check.js';
import type { StackService } from '../../src/compose/stack.js';
import { closeFixtures, fixture, hostRoutingAgent, json, makeTestCa, type Fixture, type Seen } from '../helpers/protocol-fixtures.js';
import { rejection } from '../helpers/rejection.js';

const HUB_USER = 'limitbot';
const HUB_PASSWORD = 'dckr_pat_hub-limit-secret-0001';
const START = Date.parse('2026-03-01T12:00:00Z');

/** What the fixture answers; tests change it between requests. */
interface HubBehaviour {
  remaining: number;
  limit: number;
  /** Omit the rate-limit headers (an unlimited account). */
  unlimited?: boolean;
  /** Answer the next N registry requests (not /v2/, not tokens) with 429 and this Retry-After. */
  throttle?: { count: number; retryAfter?: () => string };
  /** HEAD answers without Docker-Content-Digest, or with this status. */
  headWithoutDigest?: boolean;
  headStatus?: number;
}

const TAGS: Record<string, string[]> = { 'library/nginx': ['1.25', '1.26', '1.27'], 'acme/api': ['1.0.0', '1.1.0'], 'library/redis': ['7.2', '7.4'] };
const manifest = (repo: string, tag: string) => Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [], annotations: { ref: `${repo}:${tag}` } }));

function serveHub(b: HubBehaviour, req: Seen, res: ServerResponse): void {
  const host = String(req.headers.host);
  const url = new URL(req.path, `https://${host}`);
  if (host === 'auth.docker.io') return json(res, 200, { token: `hub-token-${url.searchParams.get('scope')}`, expires_in: 300 });
  if (url.pathname === '/v2/') return json(res, 401, { errors: [{ code: 'UNAUTHORIZED' }] }, { 'www-authenticate': 'Bearer realm="https://auth.docker.io/token",service="registry.docker.io"' });
  if (!String(req.headers.authorization ?? '').startsWith('Bearer hub-token-')) return json(res, 401, {}, { 'www-authenticate': 'Bearer realm="https://auth.docker.io/token",service="registry.docker.io"' });
  const limitHeaders = (): Record<string, string> => (b.unlimited ? {} : { 'ratelimit-limit': `${b.limit};w=21600`, 'ratelimit-remaining': `${b.remaining};w=21600`, 'docker-ratelimit-source': '203.0.113.7' });
  if (b.throttle && b.throttle.count > 0) {
    b.throttle.count--;
    return json(res, 429, { errors: [{ code: 'TOOMANYREQUESTS', message: 'You have reached your pull rate limit.' }] }, { ...limitHeaders(), ...(b.throttle.retryAfter ? { 'retry-after': b.throttle.retryAfter() } : {}) });
  }
  const tagList = /^\/v2\/(.+)\/tags\/list$/.exec(url.pathname);
  if (tagList) return json(res, 200, { name: tagList[1], tags: TAGS[tagList[1]!] ?? [] });
  const m = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(url.pathname);
  if (!m) return json(res, 404, { errors: [{ code: 'NOT_FOUND' }] });
  if (req.method === 'HEAD' && b.headStatus) {
    res.writeHead(b.headStatus, limitHeaders());
    return void res.end();
  }
  const bytes = manifest(m[1]!, m[2]!);
  // Hub counts a GET of a manifest as a pull; a HEAD costs nothing.
  if (req.method === 'GET' && !b.unlimited) b.remaining = Math.max(0, b.remaining - 1);
  res.writeHead(200, {
    'content-type': 'application/vnd.oci.image.index.v1+json', 'content-length': String(bytes.length),
    ...(b.headWithoutDigest && req.method === 'HEAD' ? {} : { 'docker-content-digest': `sha256:${createHash('sha256').update(bytes).digest('hex')}` }),
    ...limitHeaders(),
  });
  res.end(req.method === 'HEAD' ? undefined : bytes);
}

interface LogEntry { level: string; obj: Record<string, unknown>; msg?: string }

describe('Docker Hub pull limit (protocol fixture)', () => {
  let dir: string;
  let hub: Fixture;
  let other: Fixture;
  let agent: Agent;
  let behaviour: HubBehaviour;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dosync-hub-limit-'));
    const ca = makeTestCa(dir, ['registry-1.docker.io', 'auth.docker.io']);
    hub = await fixture((req, res) => serveHub(behaviour, req, res), ca.server);
    // Another registry (plain http on loopback), to show a Hub pause costs it nothing.
    other = await fixture((req, res) => {
      if (req.path === '/v2/') return json(res, 200, {});
      json(res, 200, { name: 'team/app', tags: ['1.0.0', '1.1.0', '2.0.0'] });
    });
    agent = hostRoutingAgent(new Map([['registry-1.docker.io', hub.port], ['auth.docker.io', hub.port]]), ca.caCert);
  });

  after(async () => {
    await agent?.close();
    await closeFixtures();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** A client on the fixture with a fake clock: sleeping advances it, and every sleep is recorded. */
  function hubClient(opts: RegistryClientOptions = {}) {
    let now = START;
    const sleeps: number[] = [];
    const logs: LogEntry[] = [];
    const logger = {
      debug: (obj: object, msg?: string) => void logs.push({ level: 'debug', obj: obj as Record<string, unknown>, msg }),
      info: (obj: object, msg?: string) => void logs.push({ level: 'info', obj: obj as Record<string, unknown>, msg }),
      warn: (obj: object, msg?: string) => void logs.push({ level: 'warn', obj: obj as Record<string, unknown>, msg }),
    };
    const client = new RegistryClient({
      dispatcher: agent, logger, now: () => now,
      sleep: async (ms) => {
        sleeps.push(ms);
        now += ms;
      },
      credentials: async (registry) => (registry === 'docker.io' ? { username: HUB_USER, password: HUB_PASSWORD } : undefined),
      ...opts,
    });
    return { client, sleeps, logs, advance: (ms: number) => void (now += ms), now: () => now };
  }

  const nginx = { registry: 'docker.io', repository: 'library/nginx' };
  const api = { registry: 'docker.io', repository: 'acme/api' };
  const redis = { registry: 'docker.io', repository: 'library/redis' };
  const hubRequests = () => hub.seen.filter((s) => s.headers.host === 'registry-1.docker.io' && s.path !== '/v2/');
  const notLogged = (logs: LogEntry[], errors: Error[] = []) => {
    const text = JSON.stringify(logs) + errors.map((e) => e.message).join('\n');
    assert.ok(!text.includes(HUB_PASSWORD), 'the Hub password is in a log line or error');
    assert.ok(!text.includes('hub-token-'), 'a Hub token is in a log line or error');
  };


  test('protocol fixture: plenty left -> no delay; at the reserve Hub checks pause (logged once, with why and until when), other registries go on, and Hub is asked again after the window moved', async () => {
    behaviour = { remaining: 97, limit: 100 };
    const { client, sleeps, logs, advance } = hubClient();
    assert.deepEqual(await client.listTags(nginx), ['1.25', '1.26', '1.27']);
    await client.getDigest(nginx, '1.27');
    assert.deepEqual(sleeps, []);

    // Someone else (the engine's pulls) spent the budget: the next HEAD reports 8 of 100 left.
    behaviour.remaining = 8;
    await client.getDigest(nginx, '1.26');
    const seenBefore = hub.seen.length;
    const err = await rejection(client.listTags(api));
    // reserve = max(5, 10% of 100) = 10; (10 - 8 + 1) pulls must age out, one every 6 h / 100 = 216 s.
    const resumeAt = new Date(START + 3 * 216_000).toISOString();
    assert.equal(err.message, `docker.io/acme/api: skipped: Docker Hub pull limit: 8 of 100 pulls left in the 6 h window; pausing Docker Hub checks for 11 min to keep 10 for updates, until ${resumeAt}`);
    assert.equal(err.message.split('\n').length, 1);
    assert.ok(err.cause instanceof HubPausedError, 'the pause is recognisable (for a held status)');
    assert.equal(err.cause.until.toISOString(), resumeAt);
    assert.equal(hub.seen.length, seenBefore, 'Hub never heard of the skipped request (no token, no tag list)');
    const second = await rejection(client.getDigest(redis, '7.4'));
    assert.match(second.message, /^docker\.io\/library\/redis:7\.4: skipped: Docker Hub pull limit: 8 of 100/);
    assert.equal(hub.seen.length, seenBefore);
    assert.deepEqual(await client.listTags({ registry: other.host, repository: 'team/app' }), ['1.0.0', '1.1.0', '2.0.0'], 'another registry is not paused');

    const warnings = logs.filter((l) => l.level === 'warn');
    assert.equal(warnings.length, 1, 'the pause is logged once');
    assert.deepEqual(warnings[0]!.obj, { registry: 'docker.io', limit: 100, remaining: 8, windowSeconds: 21600, resumeAt });
    assert.match(warnings[0]!.msg ?? '', /8 of 100 pulls left in the 6 h window; pausing Docker Hub checks for 11 min/);
    assert.deepEqual(sleeps, [], 'a pause longer than the bounded wait is not slept through');

    // After the pause a HEAD (free) looks again; pulls have aged out.
    advance(3 * 216_000);
    behaviour.remaining = 40;
    assert.deepEqual(await client.listTags(api), ['1.0.0', '1.1.0']);
    await client.getDigest(api, '1.1.0');
    assert.equal(logs.filter((l) => l.level === 'warn').length, 1);
    notLogged(logs, [err, second]);
  });

  test('protocol fixture: between the reserve and twice it, manifest GETs are spaced window/limit apart; HEADs and tag lists are not delayed; logged once at info', async () => {
    behaviour = { remaining: 15, limit: 100 };
    const { client, sleeps, logs } = hubClient();
    await client.listTags(nginx);
    await client.getDigest(nginx, '1.27'); // reading: 15 of 100 -> slow
    await client.listTags(redis);
    await client.getDigest(nginx, '1.26');
    assert.deepEqual(sleeps, [], 'requests that are not pulls are not delayed');

    // Manifest GETs (a mirror copying from Hub) are pulls: one every 6 h / 100 = 216 s.
    const before = hubRequests().length;
    for (const tag of ['1.25', '1.26', '1.27']) await client.getManifest(nginx, tag);
    assert.deepEqual(sleeps, [216_000, 216_000]);
    assert.equal(hubRequests().length - before, 3);
    assert.equal(behaviour.remaining, 12, 'three pulls spent');
    const infos = logs.filter((l) => l.level === 'info');
    assert.equal(infos.length, 1);
    assert.deepEqual(infos[0]!.obj, { registry: 'docker.io', limit: 100, remaining: 15, windowSeconds: 21600, delayMs: 216_000 });
    assert.equal(infos[0]!.msg, 'Docker Hub pull limit: 15 of 100 pulls left in the 6 h window; spacing Docker Hub pulls (manifest GETs) 4 min apart');
    notLogged(logs);
  });

  test('protocol fixture: an unlimited account (no rate-limit headers) is never slowed or paused', async () => {
    behaviour = { remaining: 0, limit: 0, unlimited: true };
    const { client, sleeps, logs } = hubClient();
    for (const tag of ['1.25', '1.26', '1.27']) {
      await client.getDigest(nginx, tag);
      await client.getManifest(nginx, tag);
    }
    assert.deepEqual(sleeps, []);
    assert.equal(logs.filter((l) => l.level !== 'debug').length, 0);
  });

  test('protocol fixture: 429 with Retry-After in seconds beyond the bounded wait fails that request and pauses Hub checks until then', async () => {
    behaviour = { remaining: 0, limit: 100, throttle: { count: 1, retryAfter: () => '3600' } };
    const { client, sleeps, logs, advance } = hubClient();
    const err = await rejection(client.listTags(nginx));
    assert.equal(err.message, 'docker.io/library/nginx: rate limited by docker.io; it asks to retry after 3600 (HTTP 429, TOOMANYREQUESTS)');
    assert.equal(err.status, 429);
    assert.deepEqual(sleeps, []);
    const seen = hub.seen.length;
    const skipped = await rejection(client.listTags(api));
    assert.equal(skipped.message, `docker.io/acme/api: skipped: Docker Hub answered 429 (pull rate limit reached); pausing Docker Hub checks for 60 min, until ${new Date(START + 3600_000).toISOString()}`);
    assert.equal(hub.seen.length, seen, 'no request while paused');
    assert.equal(logs.filter((l) => l.level === 'warn' && /pausing Docker Hub checks/.test(l.msg ?? '')).length, 1);

    advance(3600_000);
    behaviour.remaining = 90;
    assert.deepEqual(await client.listTags(api), ['1.0.0', '1.1.0'], 'Hub is asked again once Retry-After has passed');
    notLogged(logs, [err, skipped]);
  });

  test('protocol fixture: 429 with Retry-After as an HTTP date within the bounded wait is waited out and retried, concurrent Hub requests wait with it', async () => {
    const { client, sleeps, logs, now } = hubClient();
    // Whole seconds: an HTTP date has no milliseconds.
    behaviour = { remaining: 90, limit: 100, throttle: { count: 1, retryAfter: () => new Date(now() + 20_000).toUTCString() } };
    const [tags, digest] = await Promise.all([client.listTags(nginx), client.getDigest(redis, '7.4')]);
    assert.deepEqual(tags, ['1.25', '1.26', '1.27']);
    assert.match(digest.digest, /^sha256:/);
    assert.ok(sleeps.includes(20_000), `waited the 20 s Retry-After: ${JSON.stringify(sleeps)}`);
    assert.ok(sleeps.every((ms) => ms <= 20_000), 'no wait beyond what Hub asked');
    assert.ok(!logs.some((l) => l.level === 'warn' && /skipped|pausing/.test(l.msg ?? '')), 'a short pause is waited, not reported as a skip');
  });

  test('protocol fixture: Docker Hub digests are HEAD only — a HEAD without Docker-Content-Digest, or a refused HEAD, is an error and never a GET', async () => {
    for (const b of [{ headWithoutDigest: true }, { headStatus: 405 }] as const) {
      behaviour = { remaining: 90, limit: 100, ...b };
      const { client } = hubClient();
      const before = hubRequests().length;
      const err = await rejection(client.getDigest(nginx, '1.27'));
      assert.match(err.message, /^docker\.io\/library\/nginx:1\.27: Docker Hub answered the manifest HEAD \(HTTP (200|405)\) without a usable Docker-Content-Digest; not asking by GET, which would count against the pull limit$/);
      const sent = hubRequests().slice(before).map((s) => `${s.method} ${s.path.split('?')[0]}`);
      assert.deepEqual(sent, ['HEAD /v2/library/nginx/manifests/1.27']);
      assert.equal(behaviour.remaining, 90, 'no pull spent');
      const viaHead = await rejection(client.headManifest(nginx, '1.26'));
      assert.match(viaHead.message, /^docker\.io\/library\/nginx:1\.26: Docker Hub answered the manifest HEAD \(HTTP (200|405)\) without a usable Docker-Content-Digest; not asking by GET/);
      assert.ok(!hubRequests().slice(before).some((s) => s.method === 'GET' && s.path.includes('/manifests/')));
    }
  });

  test('protocol fixture: in a check, a paused Hub makes its services skipped (not errors) with why and until when; the services of other registries are planned as usual', async () => {
    behaviour = { remaining: 6, limit: 100 };
    const { client } = hubClient();
    await client.getDigest(nginx, '1.27'); // 6 of 100 left: pause
    const service = (name: string, image: string): StackService => ({ name, image, labels: {}, replicas: 1, hasFixedHostPorts: false, profiles: [], dependsOn: [] });
    const ctx = { registry: client, projectName: 'hublimit', config: {}, registryPolicySource: () => undefined } as unknown as PlanContext;
    const rows = (await Promise.all([
      planService(service('web', 'nginx:1.25'), ctx),
      planService(service('api', 'acme/api:1.0.0'), ctx),
      planService(service('app', `${other.host}/team/app:1.0.0`), ctx),
    ])).map((p) => checkRow(p));
    const table = Object.fromEntries(rows.map((r) => [r.service, [r.status, r.newest, r.reason]]));
    const until = new Date(START + 5 * 216_000).toISOString();
    assert.deepEqual(table, {
      web: ['skipped', null, `Docker Hub pull limit: 6 of 100 pulls left in the 6 h window; pausing Docker Hub checks for 18 min to keep 10 for updates, until ${until}`],
      api: ['skipped', null, `Docker Hub pull limit: 6 of 100 pulls left in the 6 h window; pausing Docker Hub checks for 18 min to keep 10 for updates, until ${until}`],
      app: ['update available', '1.1.0', rows.find((r) => r.service === 'app')!.reason],
    });
  });
});
