/**
 * The HTTP endpoint over real sockets: real requests against a running server, the Prometheus text
 * parsed back, authentication refused and accepted, callbacks receiving the parsed image references.
 * The daemon's callbacks are recorded here; the daemon wiring is tested by its owners.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { startApiServer, type ApiServer, type StatusDoc, type TriggerKind } from '../../src/api/index.js';
import { createMetrics } from '../../src/metrics/index.js';
import { parsePromText, sampleValue } from '../helpers/prom-text.js';

const TOKEN = 'api-token-3f9c2d7e';
const AUTH = { Authorization: `Bearer ${TOKEN}` };

interface Recorder {
  triggers: Array<[TriggerKind, string | undefined]>;
  pushes: string[][];
  accept: boolean;
  healthy: { ok: boolean; reason?: string };
  statusFails: boolean;
}

const STATUS: StatusDoc = {
  project: 'shop',
  paused: false,
  services: [
    { name: 'web', image: 'nginx:1.27.0', currentTag: '1.27.0', availableTag: '1.27.1', lastCheck: '2025-03-01T10:00:00.000Z', lastCheckResult: 'update-available', held: 'maintenance window 02:00-04:00', project: 'shop', history: [], failed: [], skipped: [] },
    { name: 'db', image: 'postgres:16.2', currentTag: '16.2', lastCheck: '2025-03-01T10:00:00.000Z', lastCheckResult: 'up-to-date', project: 'shop', history: [], failed: [], skipped: [] },
  ],
};

async function start(token: string | undefined, listen = '127.0.0.1:0'): Promise<{ server: ApiServer; rec: Recorder; metrics: ReturnType<typeof createMetrics> }> {
  const rec: Recorder = { triggers: [], pushes: [], accept: true, healthy: { ok: true }, statusFails: false };
  const metrics = createMetrics();
  const server = await startApiServer({
    listen,
    token,
    metrics,
    status: () => {
      if (rec.statusFails) throw new Error('state file /var/lib/dosync/state.json: EACCES (secret detail)');
      return STATUS;
    },
    trigger: async (what, service) => {
      rec.triggers.push([what, service]);
      return rec.accept ? { accepted: true } : { accepted: false, reason: 'a cycle is already running' };
    },
    onRegistryPush: async (images) => {
      rec.pushes.push(images);
    },
    healthy: () => rec.healthy,
  });
  return { server, rec, metrics };
}

async function json(res: Response): Promise<Record<string, unknown>> {
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  return (await res.json()) as Record<string, unknown>;
}

describe('API server with a token', () => {
  let server: ApiServer;
  let rec: Recorder;
  let metrics: ReturnType<typeof createMetrics>;
  before(async () => ({ server, rec, metrics } = await start(TOKEN)));
  after(() => server.close());

  test('GET /healthz needs no token and reports unhealthy with 503', async () => {
    const ok = await fetch(`${server.url}/healthz`);
    assert.equal(ok.status, 200);
    assert.deepEqual(await json(ok), { status: 'ok' });
    rec.healthy = { ok: false, reason: 'last cycle ended 25 minutes ago (interval 5m)' };
    const bad = await fetch(`${server.url}/healthz`);
    assert.equal(bad.status, 503);
    assert.deepEqual(await json(bad), { status: 'unhealthy', reason: 'last cycle ended 25 minutes ago (interval 5m)' });
    rec.healthy = { ok: true };
    const head = await fetch(`${server.url}/healthz`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), '');
  });

  test('GET /metrics is refused without the token, and scraped and parsed with it', async () => {
    const none = await fetch(`${server.url}/metrics`);
    assert.equal(none.status, 401);
    assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="dosync"');
    const wrong = await fetch(`${server.url}/metrics`, { headers: { Authorization: 'Bearer nope' } });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.headers.get('www-authenticate'), 'Bearer realm="dosync", error="invalid_token"');
    assert.deepEqual(await json(wrong), { error: 'invalid token' });

    metrics.checked('web');
    metrics.updated('web', 'success');
    metrics.setUpdateAvailable('db', true);
    metrics.onRequest({ registry: '127.0.0.1:5000', kind: 'tags', status: 200, durationMs: 12 });
    metrics.cycleFinished({ durationMs: 2000, ok: true, at: new Date('2025-03-01T10:00:00Z') });
    const res = await fetch(`${server.url}/metrics`, { headers: AUTH });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const families = parsePromText(await res.text());
    assert.equal(sampleValue(families, 'dosync_checks_total', { service: 'web' }), 1);
    assert.equal(sampleValue(families, 'dosync_updates_total', { service: 'web', result: 'success' }), 1);
    assert.equal(sampleValue(families, 'dosync_update_available', { service: 'db' }), 1);
    assert.equal(sampleValue(families, 'dosync_registry_requests_total', { registry: '127.0.0.1:5000', kind: 'tags', status: '200' }), 1);
    assert.equal(sampleValue(families, 'dosync_last_successful_cycle_timestamp_seconds'), 1740823200);
    assert.ok(families.has('dosync_process_resident_memory_bytes'));
  });

  test('GET /v1/status: 401 without or with a wrong token, the document with it', async () => {
    assert.equal((await fetch(`${server.url}/v1/status`)).status, 401);
    assert.equal((await fetch(`${server.url}/v1/status`, { headers: { Authorization: `Bearer ${TOKEN}x` } })).status, 401);
    assert.equal((await fetch(`${server.url}/v1/status`, { headers: { Authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` } })).status, 401);
    assert.equal((await fetch(`${server.url}/v1/status?token=${TOKEN}`)).status, 401, 'the query token is only for webhooks');
    const res = await fetch(`${server.url}/v1/status`, { headers: AUTH });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.deepEqual(await json(res), STATUS);
  });

  test('POST /v1/check and /v1/update trigger cycles; refusals are 409 with the reason', async () => {
    rec.triggers.length = 0;
    assert.equal((await fetch(`${server.url}/v1/check`, { method: 'POST' })).status, 401);
    assert.deepEqual(rec.triggers, [], 'nothing triggered without the token');

    const check = await fetch(`${server.url}/v1/check`, { method: 'POST', headers: AUTH });
    assert.equal(check.status, 202);
    assert.deepEqual(await json(check), { accepted: true });
    const all = await fetch(`${server.url}/v1/update`, { method: 'POST', headers: AUTH });
    assert.equal(all.status, 202);
    const one = await fetch(`${server.url}/v1/update?service=web`, { method: 'POST', headers: AUTH });
    assert.deepEqual(await json(one), { accepted: true, service: 'web' });
    assert.deepEqual(rec.triggers, [['check', undefined], ['update', undefined], ['update', 'web']]);

    rec.accept = false;
    const busy = await fetch(`${server.url}/v1/check`, { method: 'POST', headers: AUTH });
    assert.equal(busy.status, 409);
    assert.deepEqual(await json(busy), { accepted: false, reason: 'a cycle is already running' });
    rec.accept = true;

    const bad = await fetch(`${server.url}/v1/update?service=${encodeURIComponent('../etc')}`, { method: 'POST', headers: AUTH });
    assert.equal(bad.status, 400);
    assert.deepEqual(await json(bad), { error: '"service" must be a compose service name' });
  });

  test('POST /v1/hooks/registry: Docker Hub with ?token=, images passed on', async () => {
    rec.pushes.length = 0;
    const body = JSON.stringify({ push_data: { tag: '1.4.0', pusher: 'ci' }, repository: { repo_name: 'acme/web' } });
    const refused = await fetch(`${server.url}/v1/hooks/registry`, { method: 'POST', body });
    assert.equal(refused.status, 401);
    const res = await fetch(`${server.url}/v1/hooks/registry?token=${TOKEN}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
    assert.equal(res.status, 202);
    assert.deepEqual(await json(res), { accepted: true, source: 'dockerhub', images: ['docker.io/acme/web:1.4.0'] });
    assert.deepEqual(rec.pushes, [['docker.io/acme/web:1.4.0']]);
  });

  test('POST /v1/hooks/registry: GitHub signs with the token as secret; a bad signature is refused', async () => {
    rec.pushes.length = 0;
    const body = JSON.stringify({
      action: 'published',
      package: { package_type: 'CONTAINER', package_version: { package_url: 'ghcr.io/Acme/web:2.0.0', container_metadata: { tag: { name: '2.0.0', digest: `sha256:${'1'.repeat(64)}` } } } },
    });
    const sig = `sha256=${createHmac('sha256', TOKEN).update(body).digest('hex')}`;
    const res = await fetch(`${server.url}/v1/hooks/registry`, { method: 'POST', headers: { 'X-GitHub-Event': 'package', 'X-Hub-Signature-256': sig }, body });
    assert.equal(res.status, 202);
    assert.deepEqual(rec.pushes, [['ghcr.io/acme/web:2.0.0']]);
    const forged = await fetch(`${server.url}/v1/hooks/registry`, { method: 'POST', headers: { 'X-GitHub-Event': 'package', 'X-Hub-Signature-256': sig }, body: body.replace('2.0.0', '6.6.6') });
    assert.equal(forged.status, 401);
    assert.equal(rec.pushes.length, 1);
    const ping = await fetch(`${server.url}/v1/hooks/registry`, {
      method: 'POST',
      headers: { 'X-GitHub-Event': 'ping', 'X-Hub-Signature-256': `sha256=${createHmac('sha256', TOKEN).update('{"zen":"z"}').digest('hex')}` },
      body: '{"zen":"z"}',
    });
    assert.equal(ping.status, 200);
    assert.deepEqual(await json(ping), { ok: true, message: 'pong' });
    assert.equal(rec.pushes.length, 1);
  });

  test('POST /v1/hooks/registry: Harbor with the bearer token; ignored events do not trigger', async () => {
    rec.pushes.length = 0;
    const push = { type: 'PUSH_ARTIFACT', event_data: { resources: [{ tag: 'v1', resource_url: 'harbor.example.com/library/app:v1' }] } };
    const res = await fetch(`${server.url}/v1/hooks/registry`, { method: 'POST', headers: AUTH, body: JSON.stringify(push) });
    assert.equal(res.status, 202);
    const pull = await fetch(`${server.url}/v1/hooks/registry`, { method: 'POST', headers: AUTH, body: JSON.stringify({ ...push, type: 'PULL_ARTIFACT' }) });
    assert.equal(pull.status, 200);
    assert.deepEqual(await json(pull), { accepted: false, ignored: 'Harbor event "PULL_ARTIFACT" is not a push', images: [] });
    assert.deepEqual(rec.pushes, [['harbor.example.com/library/app:v1']]);
  });

  test('POST /v1/hooks/registry: bad JSON, unknown payloads and oversized bodies are JSON errors', async () => {
    const notJson = await fetch(`${server.url}/v1/hooks/registry`, { method: 'POST', headers: AUTH, body: '{"image": ' });
    assert.equal(notJson.status, 400);
    assert.deepEqual(await json(notJson), { error: 'the body is not valid JSON' });
    const unknown = await fetch(`${server.url}/v1/hooks/registry`, { method: 'POST', headers: AUTH, body: '{"hello":"world"}' });
    assert.equal(unknown.status, 400);
    assert.match(String((await json(unknown)).error), /^unrecognised payload/);
    const huge = await fetch(`${server.url}/v1/hooks/registry`, { method: 'POST', headers: AUTH, body: JSON.stringify({ image: 'nginx', pad: 'x'.repeat(2 * 1024 * 1024) }) });
    assert.equal(huge.status, 413);
    assert.deepEqual(await json(huge), { error: 'the body is larger than 1048576 bytes' });
    const bigTrigger = await fetch(`${server.url}/v1/check`, { method: 'POST', headers: AUTH, body: 'x'.repeat(20 * 1024) });
    assert.equal(bigTrigger.status, 413);
  });

  test('unknown paths are 404, wrong methods 405 with Allow', async () => {
    const nf = await fetch(`${server.url}/v2/anything`, { headers: AUTH });
    assert.equal(nf.status, 404);
    assert.deepEqual(await json(nf), { error: 'no such endpoint: /v2/anything' });
    const get = await fetch(`${server.url}/v1/check`, { headers: AUTH });
    assert.equal(get.status, 405);
    assert.equal(get.headers.get('allow'), 'POST');
    const post = await fetch(`${server.url}/metrics`, { method: 'POST', headers: AUTH });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
  });

  test('an exception in a callback is a 500 without its message or stack', async () => {
    rec.statusFails = true;
    const res = await fetch(`${server.url}/v1/status`, { headers: AUTH });
    rec.statusFails = false;
    assert.equal(res.status, 500);
    const text = await res.text();
    assert.deepEqual(JSON.parse(text), { error: 'internal error; see the dosync log' });
    assert.ok(!text.includes('EACCES') && !text.includes('at '), text);
  });
});

describe('API server without a token', () => {
  let server: ApiServer;
  let rec: Recorder;
  before(async () => ({ server, rec } = await start(undefined)));
  after(() => server.close());

  test('/v1 endpoints answer 403 and say how to set a token, even on loopback', async () => {
    for (const [method, path] of [['GET', '/v1/status'], ['POST', '/v1/check'], ['POST', '/v1/update?service=web'], ['POST', '/v1/hooks/registry']] as const) {
      const res = await fetch(`${server.url}${path}`, { method, headers: AUTH, body: method === 'POST' ? '{"image":"nginx"}' : undefined });
      assert.equal(res.status, 403, path);
      assert.deepEqual(await json(res), { error: 'the API is disabled until a token is configured: pass --api-token or set DOSYNC_API_TOKEN' });
    }
    assert.deepEqual(rec.triggers, []);
    assert.deepEqual(rec.pushes, []);
  });

  test('/healthz and /metrics stay open', async () => {
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    const res = await fetch(`${server.url}/metrics`);
    assert.equal(res.status, 200);
    assert.ok(parsePromText(await res.text()).has('dosync_checks_total'));
  });
});

describe('listening on every interface', () => {
  test('":0" binds all interfaces, reachable over loopback; close() stops it', async () => {
    const { server } = await start(TOKEN, ':0');
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    await server.close();
    await assert.rejects(fetch(`${server.url}/healthz`), (err: Error) => /fetch failed/.test(err.message));
  });

  test('a port in use is reported by the listen promise', async () => {
    const { server } = await start(TOKEN);
    const port = new URL(server.url).port;
    try {
      // One line that says what to do (exit 2 in the CLI), not the raw EADDRINUSE.
      await assert.rejects(start(TOKEN, `127.0.0.1:${port}`), (err: Error) => err.name === 'ConfigError' && new RegExp(`--listen 127\\.0\\.0\\.1:${port}: the port is already in use; stop what listens there or pick another port`).test(err.message));
    } finally {
      await server.close(); // an open server would keep the test file from ending
    }
  });
});
