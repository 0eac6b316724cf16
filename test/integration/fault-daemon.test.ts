/**
 * Issue 15, finding 1, end to end: one slow or hostile registry cannot hold back the services of the others,
 * and SIGTERM ends a cycle stuck in registry I/O. The misbehaving registries are fault fixtures
 * (test/helpers/fault-registry.ts: local HTTP servers that drip, page slowly and flood on purpose); the
 * healthy service is on the real test registry and is updated on the real engine.
 */
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ComposeProject, REGISTRY, ROOT, dosync, logLines, pushImage, sh, unique } from '../helpers/docker.js';
import { startFaultRegistry, type FaultRegistry } from '../helpers/fault-registry.js';

const fixtures: FaultRegistry[] = [];
const projects: ComposeProject[] = [];
after(async () => {
  for (const f of fixtures) await f.stop();
  // The fault fixtures' images exist nowhere by design (the registries never finish listing them); the running
  // containers are checked against the file in each test (assertInvariant).
  for (const p of projects) await p.destroy({ skipInvariant: 'images on fault fixtures do not exist by design' });
});

/** Every running container of the project runs the image `docker compose config` names for its service. */
async function assertInvariant(p: ComposeProject): Promise<void> {
  const config = JSON.parse(await p.compose(['config', '--format', 'json'])) as { services: Record<string, { image?: string }> };
  const ids = (await sh('docker', ['ps', '-q', '--no-trunc', '--filter', `label=com.docker.compose.project=${p.name}`])).split('\n').filter(Boolean);
  for (const id of ids) {
    const [service, image] = (await sh('docker', ['inspect', '-f', '{{index .Config.Labels "com.docker.compose.service"}} {{.Config.Image}}', id])).split(' ');
    assert.equal(image, config.services[service]?.image, `${service} runs what the file says`);
  }
}

describe('a daemon among misbehaving registries (issue 15)', () => {
  test('sync --once: a dripping, a slowly paging and a flooding registry each cost their service one line; the healthy service is updated', async () => {
    const drip = await startFaultRegistry('drip');
    const slow = await startFaultRegistry('slow-pages', { pageDelayMs: 500 });
    const flood = await startFaultRegistry('flood');
    fixtures.push(drip, slow, flood);
    const repo = unique('i15-faults/web');
    for (const v of ['1.0.0', '1.1.0']) await pushImage(repo, v, { version: v, healthcheck: true });
    const p = await ComposeProject.create([
      'services:',
      '  web:',
      `    image: ${REGISTRY}/${repo}:1.0.0`,
      '  drip:',
      `    image: ${drip.host}/i15/drip:1.0.0`,
      '  slow:',
      `    image: ${slow.host}/i15/slow:0.0.0`,
      '  flood:',
      `    image: ${flood.host}/i15/flood:1.0.0`,
      '',
    ].join('\n'), 'i15-faults');
    projects.push(p);
    const config = join(p.dir, 'dosync.yaml');
    // Each page of the slow registry comes in time (request and listing deadlines are far off): the cycle's deadline ends it.
    // The flood's budget is 4 MiB, not the default 16: tags are read as they arrive, and 16 MiB of them on a loaded
    // machine may take longer than the 3 s request deadline the drip needs (the deadline would end it instead).
    await writeFile(config, 'limits:\n  request_timeout: 3s\n  tag_list_timeout: 10m\n  cycle_timeout: 8s\n  tag_list_max_mib: 4\n');
    await p.compose(['up', '-d', '--wait', 'web']);

    const r = await dosync(['sync', '-f', p.file, '-c', config, '--once', '--health-stable', '1s', '--health-timeout', '120s']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const lines = logLines(r.stdout);
    const errorOf = (service: string) => lines.filter((l) => l.service === service && l.level === 50).map((l) => String(l.msg));
    assert.deepEqual(errorOf('drip'), [`${drip.host}/i15/drip: ${drip.host} did not finish its answer within 3000 ms`]);
    assert.equal(errorOf('slow').length, 1);
    assert.match(errorOf('slow')[0], /the cycle's registry deadline of 8 s passed \(limits\.cycle_timeout in dosync\.yaml\); tried again next cycle/);
    assert.equal(errorOf('flood').length, 1);
    assert.match(errorOf('flood')[0], /the tag list is larger than 4 MiB \(limits\.tag_list_max_mib in dosync\.yaml\)/);
    assert.ok(lines.some((l) => l.service === 'web' && l.msg === 'updated'), 'web was updated');
    assert.deepEqual(await p.versions('web'), ['1.1.0']);
    assert.ok(slow.tagRequests < 100, `the slow listing stopped (${slow.tagRequests} pages)`);
    await assertInvariant(p);
  });

  test('SIGTERM during a tag listing that drips: the daemon stops at once, the listing is cut, the lock is released', async () => {
    const drip = await startFaultRegistry('drip');
    fixtures.push(drip);
    const p = await ComposeProject.create(['services:', '  app:', `    image: ${drip.host}/i15/app:1.0.0`, ''].join('\n'), 'i15-sigterm');
    projects.push(p);
    const child = spawn(process.execPath, [join(ROOT, 'bin/dosync.js'), 'sync', '-f', p.file, '--interval', '1h'], { env: { ...process.env, DOSYNC_LOG_FORMAT: 'json' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    // Default limits: the request deadline (60 s) and the listing deadline (120 s) are far off when the signal comes.
    await drip.listing();
    const signalled = Date.now();
    child.kill('SIGTERM');
    const hang = setTimeout(() => child.kill('SIGKILL'), 60_000); // a hang guard, not a speed limit
    const code = await exited;
    clearTimeout(hang);
    const stoppedMs = Date.now() - signalled;
    assert.equal(code, 0, out);
    const lines = logLines(out);
    assert.ok(lines.some((l) => l.service === 'app' && /stopped: dosync is shutting down/.test(String(l.msg))), out);
    assert.ok(lines.some((l) => l.msg === 'dosync daemon stopped'), out);
    assert.equal(drip.abandoned, 1, 'the dripping answer was cut off, not waited for');
    assert.equal(await sh('ls', ['-A', join(p.dir, 'backups')]).then((s) => s.split('\n').filter((n) => n.endsWith('.lock')).length), 0, 'the lock is released');
    console.log(`# SIGTERM during a dripping tag listing: the daemon exited ${stoppedMs} ms after the signal`);
  });
});
