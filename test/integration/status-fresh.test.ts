/**
 * The status is the state after the last step (issue 18): `sync --once` leaves "up to date" on the new tag in
 * the state, not "update available"; in --check-only mode lastCheck moves on with each check, and
 * POST /v1/update answers 409 with the reason instead of 202 doing nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ComposeProject, pushImage, unique, logLines, ROOT, REGISTRY, dosync } from '../helpers/docker.js';
import { until } from '../helpers/wait.js';


test('status after sync --once is up to date on the new tag; --check-only refreshes lastCheck and refuses /v1/update honestly', async () => {
  const repo = unique('i18/fresh');
  for (const v of ['1.0.0', '1.0.1']) await pushImage(repo, v, { version: v, healthcheck: true });
  const p = await ComposeProject.create(`services:\n  app:\n    image: ${REGISTRY}/${repo}:1.0.0\n`, 'i18');
  const stateDir = await mkdtemp(join(tmpdir(), 'i18-fresh-state-'));
  await p.up();
  let child: ReturnType<typeof spawn> | undefined;
  try {
    const once = await dosync(['sync', '-f', p.file, '--once', '--health-stable', '1s', '--state-dir', stateDir]);
    assert.equal(once.code, 0, once.stderr);
    const state = JSON.parse(await readFile(join(stateDir, 'state.json'), 'utf8')) as { services: Record<string, { status: { kind: string; current: string }; lastCheck: { outcome: string } }> };
    const app = Object.entries(state.services).find(([k]) => k.endsWith('/app'))![1];
    assert.deepEqual([app.status.kind, app.status.current, app.lastCheck.outcome], ['up-to-date', '1.0.1', 'up-to-date']);

    await pushImage(repo, '1.0.2', { version: '1.0.2', healthcheck: true });
    const token = 'i18-fresh-token-0123';
    child = spawn(process.execPath, [join(ROOT, 'bin/dosync.js'), 'sync', '-f', p.file, '-i', '1h', '--check-only', '--state-dir', stateDir,
      '--listen', '127.0.0.1:0', '--api-token', token], { env: { ...process.env, DOSYNC_LOG_FORMAT: 'json' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    const url = await until('the endpoint', () => logLines(out).find((l) => l.msg === 'HTTP endpoint listening')?.url as string | undefined);
    const auth = { authorization: `Bearer ${token}` };
    const status = async () => (await (await fetch(`${url}/v1/status`, { headers: auth })).json()) as { services: Array<{ name: string; lastCheck?: string; status?: { kind: string; tag?: string } }> };
    const first = await until('a check', async () => (await status()).services.find((s) => s.name === 'app' && s.lastCheck));
    assert.deepEqual([first.status?.kind, first.status?.tag], ['update-available', '1.0.2']);
    const check = await fetch(`${url}/v1/check`, { method: 'POST', headers: auth });
    assert.equal(check.status, 202);
    await until('lastCheck to move on', async () => ((await status()).services.find((s) => s.name === 'app')!.lastCheck! > first.lastCheck! ? true : undefined));
    const update = await fetch(`${url}/v1/update`, { method: 'POST', headers: auth });
    assert.equal(update.status, 409);
    assert.match(String(((await update.json()) as { reason: string }).reason), /--check-only/);
    assert.deepEqual(await p.versions('app'), ['1.0.1']);
  } finally {
    child?.kill('SIGTERM');
    if (child && child.exitCode === null) await new Promise((r) => child!.on('exit', r));
    await p.destroy();
    await rm(stateDir, { recursive: true, force: true });
  }
});
