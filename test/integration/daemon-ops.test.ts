/**
 * Running for months (issue 6), on the real engine: the daemon's HTTP endpoint, notifications from a real
 * update, a triggered cycle, and updates held by a maintenance window or min_age with an injected clock.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { ComposeProject, pushImage, unique, logLines, ROOT, REGISTRY } from '../helpers/docker.js';
import { startHttpReceiver } from '../helpers/http-receiver.js';
import { parsePromText, sampleValue } from '../helpers/prom-text.js';
import { runCycle, type CycleSettings } from '../../src/sync/cycle.js';
import { createRegistryRuntime } from '../../src/cli/registry-runtime.js';
import { createDocker } from '../../src/engine/docker.js';
import { createLogger } from '../../src/util/logger.js';
import { Writable } from 'node:stream';

async function until<T>(what: string, fn: () => T | undefined, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('daemon: a real update is notified (generic webhook), /metrics and /v1 need the token, /healthz does not, POST /v1/check runs a cycle now', async () => {
  const repo = unique('it/ops');
  for (const v of ['1.0.0', '1.0.1']) await pushImage(repo, v, { version: v, healthcheck: true });
  const p = await ComposeProject.create(`services:\n  app:\n    image: ${REGISTRY}/${repo}:1.0.0\n`);
  await p.up();
  const hook = await startHttpReceiver();
  const token = 'test-api-token-1234';
  const child = spawn(process.execPath, [join(ROOT, 'bin/dosync.js'), 'sync', '-f', p.file, '-i', '1h', '--health-stable', '1s',
    '--listen', '127.0.0.1:0', '--api-token', token, '--notify', `generic+${hook.url}/hook`], { env: { ...process.env, DOSYNC_LOG_FORMAT: 'json' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.on('exit', r));
  try {
    const url = await until('the endpoint', () => logLines(out).find((l) => l.msg === 'HTTP endpoint listening')?.url as string | undefined);
    await until('the first cycle', () => logLines(out).some((l) => l.msg === 'cycle done'));
    assert.deepEqual(await p.versions('app'), ['1.0.1']);

    const delivered = await until('the webhook', () => hook.requests.find((r) => r.path === '/hook'));
    const payload = JSON.parse(delivered.body) as { events: Array<{ kind: string; service: string; fromImage: string; toImage: string }> };
    assert.deepEqual(payload.events.map((e) => [e.kind, e.service, e.toImage]), [['updated', 'app', `${REGISTRY}/${repo}:1.0.1`]]);

    assert.equal((await request(`${url}/healthz`)).statusCode, 200);
    const noToken = await request(`${url}/metrics`);
    await noToken.body.dump();
    assert.equal(noToken.statusCode, 401);
    const auth = { authorization: `Bearer ${token}` };
    const metrics = parsePromText(await (await request(`${url}/metrics`, { headers: auth })).body.text());
    assert.equal(sampleValue(metrics, 'dosync_updates_total', { service: 'app', result: 'success' }), 1);
    assert.ok((sampleValue(metrics, 'dosync_last_successful_cycle_timestamp_seconds') ?? 0) > 0);

    await pushImage(repo, '1.0.2', { version: '1.0.2', healthcheck: true });
    const wrong = await request(`${url}/v1/check`, { method: 'POST', headers: { authorization: 'Bearer nope' } });
    await wrong.body.dump();
    assert.equal(wrong.statusCode, 401);
    // /v1/check only checks: the update is reported, not applied.
    const check = await request(`${url}/v1/check`, { method: 'POST', headers: auth });
    await check.body.dump();
    assert.ok(check.statusCode < 300, `check accepted (${check.statusCode})`);
    await until('the check', () => logLines(out).some((l) => l.msg === 'dry run done'));
    assert.ok(logLines(out).some((l) => l.service === 'app' && /would update: 1\.0\.1 -> 1\.0\.2/.test(String(l.msg))));
    assert.deepEqual(await p.versions('app'), ['1.0.1']);
    const unknown = await request(`${url}/v1/update?service=nope`, { method: 'POST', headers: auth });
    await unknown.body.dump();
    assert.ok(unknown.statusCode >= 400, `an unknown service is refused (${unknown.statusCode})`);
    // A registry push webhook updates the services running that repository at once.
    const pushed = await request(`${url}/v1/hooks/registry`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ image: `${REGISTRY}/${repo}:1.0.2` }) });
    await pushed.body.dump();
    assert.ok(pushed.statusCode < 300, `webhook accepted (${pushed.statusCode})`);
    await until('the webhook cycle', () => logLines(out).filter((l) => l.msg === 'cycle done').length >= 2);
    assert.deepEqual(await p.versions('app'), ['1.0.2']);
    const status = (await (await request(`${url}/v1/status`, { headers: auth })).body.json()) as { services: Array<{ name: string; currentTag: string }> };
    assert.equal(status.services.find((s) => s.name === 'app')?.currentTag, '1.0.2');
    assert.ok(!out.includes(token), 'the API token is never logged');
  } finally {
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    await hook.close();
    await p.destroy();
  }
});

test('maintenance window and min_age hold an update until the (injected) clock allows it', async () => {
  const repo = unique('it/hold');
  for (const v of ['1.0.0', '1.0.1']) await pushImage(repo, v, { version: v });
  const p = await ComposeProject.create(`services:\n  app:\n    image: ${REGISTRY}/${repo}:1.0.0\n`);
  const sink = new Writable({ write(_c, _e, cb) { cb(); } });
  const logger = createLogger({ destination: sink });
  const runtime = await createRegistryRuntime({}, process.env, logger);
  const deps = { docker: createDocker(), logger, ...runtime };
  const stateDir = await mkdtemp(join(tmpdir(), 'dosync-hold-'));
  const settings = (config: CycleSettings['config'], now: string): CycleSettings => ({
    files: [p.file], config, dryRun: false, keepBackups: 10, health: { timeoutMs: 30_000, stableMs: 1000 }, rolling: false, prune: true, stateDir, now: () => new Date(now),
  });
  try {
    await p.up();
    const windowed = { maintenance_window: '02:00-04:00', timezone: 'Europe/Berlin' };
    const outside = await runCycle(settings(windowed, '2026-06-01T12:00:00Z'), deps);
    assert.equal(outside.plans[0].decision.kind, 'held');
    assert.match(outside.plans[0].decision.reason, /outside the maintenance window 02:00-04:00 \(Europe\/Berlin\); next opens 2026-06-02T00:00:00\.000Z/);
    assert.deepEqual(await p.versions('app'), ['1.0.0']);

    const young = await runCycle(settings({ min_age: 86_400_000 }, new Date().toISOString()), deps);
    assert.equal(young.plans[0].decision.kind, 'held');
    assert.match(young.plans[0].decision.reason, /min|age|young/i);

    const inside = await runCycle(settings({ ...windowed, min_age: 86_400_000 }, new Date(Date.now() + 3 * 86_400_000).toISOString().slice(0, 11) + '01:30:00Z'), deps);
    assert.equal(inside.outcomes[0]?.outcome.status, 'updated', JSON.stringify(inside.plans[0].decision));
    assert.deepEqual(await p.versions('app'), ['1.0.1']);
  } finally {
    await p.destroy();
  }
});
