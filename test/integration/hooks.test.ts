/**
 * Lifecycle hooks on a real engine: dosync.hook.pre-update / post-update and Watchtower's lifecycle labels run
 * inside the service's container; a failing or hanging pre-update hook skips the update and changes nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { ComposeProject, pushImage, unique, dosync, sh, logLines, REGISTRY } from '../helpers/docker.js';

const HEALTHY = ['--health-timeout', '60s', '--health-stable', '1s'];

test('pre-update hook failing (exit code, timeout): update skipped with its output, stack untouched; hooks that pass run in the old and the new container', async () => {
  const repo = unique('i19/hooks');
  for (const v of ['1.0.0', '1.1.0']) await pushImage(repo, v, { version: v });
  const img = `${REGISTRY}/${repo}:1.0.0`;
  const text = [
    'services:',
    '  refuses:',
    `    image: ${img}`,
    '    labels:',
    '      dosync.hook.pre-update: "echo dumping the database; echo disk full >&2; exit 3"',
    '  hangs:',
    `    image: ${img}`,
    '    labels:',
    '      dosync.hook.pre-update: "sleep 600"',
    '      dosync.hook.pre-update-timeout: "2s"',
    '  watchtower:',
    `    image: ${img}`,
    '    labels:',
    '      com.centurylinklabs.watchtower.lifecycle.pre-update: "echo saved $$APP_VERSION"',
    '      com.centurylinklabs.watchtower.lifecycle.post-update: "echo $$APP_VERSION > /post-ran-on"',
    '',
  ].join('\n');
  const p = await ComposeProject.create(text, 'i19hook');
  try {
    await p.up();
    const oldWatchtower = (await p.containers('watchtower'))[0];
    const r = await dosync(['sync', '-f', p.file, '--once', ...HEALTHY]);
    // Two services failed to update: exit 1 (a service failed).
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const logs = logLines(r.stdout);
    const said = (service: string) => logs.filter((l) => l.service === service).map((l) => String(l.msg)).join('\n');
    assert.match(said('refuses'), /update skipped: pre-update hook \(label dosync\.hook\.pre-update\) exited 3: /);
    // stdout and stderr of the hook, both kept (their order is the engine's).
    assert.match(said('refuses'), /exited 3: (dumping the database \| disk full|disk full \| dumping the database)/);
    assert.match(said('hangs'), /update skipped: pre-update hook \(label dosync\.hook\.pre-update\) timed out after 2s/);
    assert.deepEqual(await p.versions('refuses'), ['1.0.0']);
    assert.deepEqual(await p.versions('hangs'), ['1.0.0']);
    const file = await readFile(p.file, 'utf8');
    assert.match(file, /refuses:\n {4}image: \S+:1\.0\.0/);
    assert.match(file, /hangs:\n {4}image: \S+:1\.0\.0/);

    // Watchtower's labels: pre-update ran in the old container (1.0.0), post-update in the new one (1.1.0).
    assert.deepEqual(await p.versions('watchtower'), ['1.1.0']);
    const [fresh] = await p.containers('watchtower');
    assert.notEqual(fresh, oldWatchtower);
    assert.equal(await sh('docker', ['exec', fresh, 'cat', '/post-ran-on']), '1.1.0');
    assert.match(said('watchtower'), /pre-update hook ran: saved 1\.0\.0/);
  } finally {
    await p.destroy();
  }
});
