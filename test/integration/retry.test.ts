/**
 * dosync retry against the real Docker engine and the registry on 127.0.0.1:5000: a tag that fails its health
 * gate is recorded as failed and skipped by the next cycles until `dosync retry` clears it.
 */
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ComposeProject, pushImage, unique, dosync, logLines, REGISTRY, sh } from '../helpers/docker.js';

before(async () => {
  await sh('docker', ['info']);
});

const FAST = ['--health-stable', '2s', '--health-timeout', '30s'];

interface StateFile {
  services: Record<string, { failed: Array<{ tag: string; at: string; reason: string }>; history: Array<{ from: string; to: string; outcome: string; at: string; detail?: string }> }>;
}

describe('dosync retry on a real stack', () => {
  test('a failed tag is skipped until `dosync retry` clears it; the next sync tries it again and records it again', async () => {
    const repo = unique('it/retry');
    await pushImage(repo, '1.0.0', { version: '1.0.0', healthcheck: true });
    await pushImage(repo, '1.1.0', { version: '1.1.0', unhealthy: true });
    const original = `services:\n  web:\n    image: ${REGISTRY}/${repo}:1.0.0\n`;
    const p = await ComposeProject.create(original);
    // The state dir comes from dosync.yaml (via DOSYNC_CONFIG) for every command: retry finds it as sync does.
    const stateDir = join(p.dir, 'state');
    const config = join(p.dir, 'dosync.yaml');
    await writeFile(config, `state_dir: ${stateDir}\n`);
    const env = { DOSYNC_CONFIG: config };
    const run = (args: string[]) => dosync([...args, '-f', p.file], { env });
    const readState = async (): Promise<StateFile> => JSON.parse(await readFile(join(stateDir, 'state.json'), 'utf8'));
    const key = `${p.name}/web`;
    const tried = (stdout: string) => logLines(stdout).some((l) => String(l.msg).startsWith('updating'));
    try {
      await p.up();

      const first = await run(['sync', '--once', ...FAST]);
      assert.equal(first.code, 1, 'a rollback is a failure for --once');
      assert.ok(tried(first.stdout), first.stdout);
      assert.deepEqual(await p.versions('web'), ['1.0.0']);
      const failed = (await readState()).services[key].failed;
      assert.deepEqual(failed.map((f) => f.tag), ['1.1.0']);
      assert.match(failed[0].reason, /unhealthy|not healthy/);

      // Listing: the failed tag with when and why; nothing changes.
      const list = await run(['retry']);
      assert.equal(list.code, 0, list.stderr);
      const rows = list.stdout.trim().split('\n');
      assert.match(rows[0], /^SERVICE\s+FAILED TAG\s+WHEN \(UTC\)\s+WHY$/);
      assert.equal(rows[1], `web      1.1.0       ${failed[0].at.slice(0, 19).replace('T', ' ')}  ${failed[0].reason}`);
      assert.deepEqual((await readState()).services[key].failed, failed);

      const skipped = await run(['sync', '--once', ...FAST]);
      assert.equal(skipped.code, 0, skipped.stdout + skipped.stderr);
      assert.equal(tried(skipped.stdout), false, 'the failed tag is not tried again');
      assert.equal(await readFile(p.file, 'utf8'), original);

      // Mistakes a user can make: one line with the fix, nothing changed.
      const before = await readFile(join(stateDir, 'state.json'), 'utf8');
      const unknown = await run(['retry', 'wbe']);
      assert.equal(unknown.code, 2);
      assert.equal(unknown.stderr, `dosync: no service wbe in ${p.file} (services: web); check the name and -f\n`);
      const wrongTag = await run(['retry', 'web', '--tag', '1.2.0']);
      assert.equal(wrongTag.code, 2);
      assert.equal(wrongTag.stderr, 'dosync: web: tag 1.2.0 is not recorded as failed (its failed tags: 1.1.0); pass one of those to --tag, or leave --tag out to clear them all\n');
      // A dosync holding the project's lock (this live process, as a daemon would): refused in one line.
      const lock = join(stateDir, `${p.name}.lock`);
      await writeFile(lock, JSON.stringify({ pid: process.pid, hostname: hostname(), startedAt: new Date().toISOString(), nonce: 'test' }));
      const locked = await run(['retry', 'web']);
      await sh('rm', ['-f', lock]);
      assert.equal(locked.code, 1);
      assert.equal(locked.stderr, `dosync: another dosync (PID ${process.pid}) is managing project ${p.name} and keeps its failed tags in memory; stop it, run \`dosync retry\` again, then start it\n`);
      assert.equal(await readFile(join(stateDir, 'state.json'), 'utf8'), before);

      const retry = await run(['retry', 'web']);
      assert.equal(retry.code, 0, retry.stderr);
      assert.equal(retry.stdout, `web: cleared failed tag 1.1.0 (failed ${failed[0].at.slice(0, 19).replace('T', ' ')} UTC: ${failed[0].reason})\nthe next \`dosync sync\` cycle may update to it again\n`);
      const cleared = (await readState()).services[key];
      assert.deepEqual(cleared.failed, []);
      const last = cleared.history[cleared.history.length - 1];
      assert.deepEqual([last.from, last.to, last.outcome], [`${REGISTRY}/${repo}:1.0.0`, `${REGISTRY}/${repo}:1.1.0`, 'retry']);
      const empty = await run(['retry']);
      assert.equal(empty.stdout, `no failed tags recorded for project ${p.name} (${join(stateDir, 'state.json')})\n`);

      const again = await run(['sync', '--once', ...FAST]);
      assert.equal(again.code, 1, 'the cleared tag is tried again and fails again');
      assert.ok(tried(again.stdout), again.stdout);
      assert.deepEqual(await p.versions('web'), ['1.0.0']);
      assert.equal(await readFile(p.file, 'utf8'), original);
      const refailed = (await readState()).services[key].failed;
      assert.deepEqual(refailed.map((f) => f.tag), ['1.1.0'], 'recorded as failed again');
      assert.ok(Date.parse(refailed[0].at) > Date.parse(last.at), 'a new failure, after the retry');

      const afterThat = await run(['sync', '--once', ...FAST]);
      assert.equal(afterThat.code, 0, afterThat.stdout + afterThat.stderr);
      assert.equal(tried(afterThat.stdout), false, 'and skipped again');

      // --all clears every service (here with --tag); a second --all has nothing left to do.
      const all = await run(['retry', '--all', '--tag', '1.1.0']);
      assert.equal(all.code, 0, all.stderr);
      assert.match(all.stdout, /^web: cleared failed tag 1\.1\.0 \(failed /);
      assert.deepEqual((await readState()).services[key].failed, []);
      const none = await run(['retry', '--all']);
      assert.equal(none.code, 0, none.stderr);
      assert.equal(none.stdout, `no failed tags recorded for project ${p.name}; nothing to retry\n`);
    } finally {
      await p.destroy();
    }
  });
});
