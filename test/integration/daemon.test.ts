/**
 * The daemon as it runs on a host: interval loop, clean exit on SIGTERM, private registry credentials
 * from dosync.yaml used for listing and for the pull, and never printed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ComposeProject, pushImage, unique, dosync, logLines, BASIC_REGISTRY, ROOT, sh } from '../helpers/docker.js';
import { run } from '../helpers/registry-images.js';

test('daemon: runs a cycle per interval and exits 0 on SIGTERM', async () => {
  const repo = unique('it/daemon');
  await pushImage(repo, '1.0.0', { version: '1.0.0' });
  const p = await ComposeProject.create(`services:\n  app:\n    image: 127.0.0.1:5000/${repo}:1.0.0\n`);
  try {
    const child = spawn(process.execPath, [join(ROOT, 'bin/dosync.js'), 'sync', '-f', p.file, '-i', '1s'], {
      env: { ...process.env, DOSYNC_LOG_FORMAT: 'json' }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const cycles = () => logLines(out).filter((l) => l.msg === 'cycle done').length;
    child.stdout.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    while (cycles() < 2) await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    const msgs = logLines(out).map((l) => String(l.msg));
    assert.ok(msgs.includes('SIGTERM received: finishing the current step, then exiting'));
    assert.equal(msgs.at(-1), 'dosync daemon stopped');
  } finally {
    await p.destroy();
  }
});

test('private registry: credentials from dosync.yaml list tags and pull; the password never appears in output', async () => {
  const repo = unique('it/private');
  const login = BASIC_REGISTRY;
  for (const v of ['1.0.0', '1.0.1']) await pushImage(repo, v, { version: v }, { registry: login.host, login });
  const p = await ComposeProject.create(`services:\n  app:\n    image: ${login.host}/${repo}:1.0.0\n`);
  try {
    // Start the stack on 1.0.0 with a throw-away docker login, so only dosync.yaml holds the credentials afterwards.
    const cfgDir = join(p.dir, 'docker-config');
    await run('docker', ['login', login.host, '-u', login.username, '--password-stdin'], { input: login.password, env: { ...process.env, DOCKER_CONFIG: cfgDir } });
    await sh('docker', ['compose', '-p', p.name, '-f', p.file, 'up', '-d'], { env: { ...process.env, DOCKER_CONFIG: cfgDir } });
    await sh('docker', ['rmi', `${login.host}/${repo}:1.0.0`]).catch(() => undefined);
    const config = join(p.dir, 'dosync.yaml');
    await writeFile(config, `registry:\n  custom:\n    url: http://${login.host}\n    insecure: true\n    username: ${login.username}\n    password: \${PRIVATE_PASS}\n`);
    const r = await dosync(['sync', '-f', p.file, '-c', config, '--once', '-v', '--health-stable', '1s'], {
      env: { PRIVATE_PASS: login.password, DOCKER_CONFIG: join(p.dir, 'empty-docker-config') },
    });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(await p.versions('app'), ['1.0.1']);
    assert.match(await readFile(p.file, 'utf8'), /:1\.0\.1/);
    assert.ok(!(r.stdout + r.stderr).includes(login.password), 'the password is not in the output');
    assert.ok(!(r.stdout + r.stderr).includes(Buffer.from(`${login.username}:${login.password}`).toString('base64')), 'nor its Basic encoding');
  } finally {
    await p.destroy();
  }
});

test('SIGHUP reloads dosync.yaml; an invalid new file is refused and the old configuration kept', async () => {
  const repo = unique('it/sighup');
  await pushImage(repo, '1.0.0', { version: '1.0.0' });
  const p = await ComposeProject.create(`services:\n  app:\n    image: 127.0.0.1:5000/${repo}:1.0.0\n`);
  const config = join(p.dir, 'dosync.yaml');
  await writeFile(config, 'keep_backups: 5\n');
  try {
    const child = spawn(process.execPath, [join(ROOT, 'bin/dosync.js'), 'sync', '-f', p.file, '-c', config, '-i', '1h'], {
      env: { ...process.env, DOSYNC_LOG_FORMAT: 'json' }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const waitFor = async (pred: () => boolean) => { while (!pred()) await new Promise((r) => setTimeout(r, 100)); };
    const msgs = () => logLines(out).map((l) => String(l.msg));
    await waitFor(() => msgs().includes('cycle done'));
    await writeFile(config, 'interval: whenever\n');
    child.kill('SIGHUP');
    await waitFor(() => msgs().some((m) => m.startsWith('SIGHUP: the new configuration is invalid, keeping the old one')));
    assert.match(msgs().find((m) => m.startsWith('SIGHUP'))!, /dosync\.yaml: interval: .*"whenever" is not a duration/);
    await writeFile(config, 'keep_backups: 3\n');
    child.kill('SIGHUP');
    await waitFor(() => msgs().includes('SIGHUP: configuration reloaded'));
    // The reload wakes the daemon for a cycle with the new configuration.
    await waitFor(() => msgs().filter((m) => m === 'cycle done').length >= 2);
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  } finally {
    await p.destroy();
  }
});
