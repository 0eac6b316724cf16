/**
 * install.sh for more than one stack, and for the whole host, into throwaway roots: every stack stays
 * writable, the second one runs as an instance of dosync@.service, and the units pass systemd-analyze verify.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, readFile, readlink, rm, writeFile, access } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../helpers/docker.js';

const exec = promisify(execFile);
async function run(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(cmd, args, { maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

const install = (root: string, ...args: string[]) => run('bash', [join(ROOT, 'install.sh'), '--prefix', root, ...args]);
const unitDir = (root: string) => join(root, 'etc/systemd/system');

/** The unit as the target system would load it (drop-ins appended), ExecStart pointed at the binary in the root. */
async function verify(root: string, file: string, name: string, dropIns: string[]): Promise<{ code: number; stderr: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'i16-verify-'));
  try {
    let text = await readFile(join(unitDir(root), file), 'utf8');
    for (const d of dropIns) text += `\n${await readFile(join(unitDir(root), d), 'utf8')}`;
    text = text.replace(/^ExecStart=\/usr\/local\/bin\/dosync/gm, `ExecStart=${join(root, 'usr/local/bin/dosync')}`);
    await writeFile(join(dir, name), text);
    return await run('systemd-analyze', ['verify', join(dir, name)]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('install.sh: several stacks, the whole host', () => {
  let root: string;
  let hostRoot: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'i16-root-'));
    hostRoot = await mkdtemp(join(tmpdir(), 'i16-hostroot-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
    await rm(hostRoot, { recursive: true, force: true });
  });

  test('a second stack runs as dosync@NAME and both stay writable; the template passes systemd-analyze verify', async () => {
    const first = await install(root, '--compose-file', '/srv/shop/docker-compose.yml');
    assert.equal(first.code, 0, first.stderr);
    const second = await install(root, '--compose-file', '/srv/blog/compose.yml');
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /dosync\.service keeps managing \/srv\/shop\/docker-compose\.yml \(unchanged\); \/srv\/blog\/compose\.yml is installed as dosync@blog\.service/);
    // The first stack: its file and its write access are what they were.
    assert.match(await readFile(join(root, 'etc/dosync/dosync.env'), 'utf8'), /^DOSYNC_FILE=\/srv\/shop\/docker-compose\.yml$/m);
    assert.match(await readFile(join(unitDir(root), 'dosync.service.d/compose.conf'), 'utf8'), /^ReadWritePaths=\/srv\/shop$/m);
    // The second: its own env file, drop-in and enablement.
    assert.match(await readFile(join(root, 'etc/dosync/blog.env'), 'utf8'), /^DOSYNC_FILE=\/srv\/blog\/compose\.yml$/m);
    assert.match(await readFile(join(unitDir(root), 'dosync@blog.service.d/compose.conf'), 'utf8'), /^ReadWritePaths=\/srv\/blog$/m);
    assert.equal(await readlink(join(unitDir(root), 'multi-user.target.wants/dosync@blog.service')), '/etc/systemd/system/dosync@.service');
    const template = await readFile(join(unitDir(root), 'dosync@.service'), 'utf8');
    for (const line of ['EnvironmentFile=/etc/dosync/%i.env', 'Environment=DOSYNC_STATE_DIR=/var/lib/dosync/%i', 'StateDirectory=dosync/%i', 'ExecReload=/bin/kill -HUP $MAINPID']) {
      assert.ok(template.split('\n').includes(line), `${line} in the template`);
    }
    // Running the installer for the first stack again changes nothing of the second.
    const again = await install(root, '--compose-file', '/srv/shop/docker-compose.yml');
    assert.equal(again.code, 0, again.stderr);
    assert.match(await readFile(join(unitDir(root), 'dosync@blog.service.d/compose.conf'), 'utf8'), /^ReadWritePaths=\/srv\/blog$/m);
    assert.match(await readFile(join(unitDir(root), 'dosync.service.d/compose.conf'), 'utf8'), /^ReadWritePaths=\/srv\/shop$/m);

    const main = await verify(root, 'dosync.service', 'dosync.service', ['dosync.service.d/compose.conf']);
    assert.equal(main.code, 0, main.stderr);
    assert.match(await readFile(join(unitDir(root), 'dosync.service'), 'utf8'), /^ExecReload=\/bin\/kill -HUP \$MAINPID$/m);
    const instance = await verify(root, 'dosync@.service', 'dosync@blog.service', ['dosync@blog.service.d/compose.conf']);
    assert.equal(instance.code, 0, instance.stderr);
    assert.equal(instance.stderr.trim(), '', 'no warnings');
    // The check can fail: a template pointing at a missing binary is refused.
    await writeFile(join(unitDir(root), 'broken@.service'), template.replace(/^ExecStart=.*$/m, 'ExecStart=/nonexistent/dosync sync'));
    assert.notEqual((await verify(root, 'broken@.service', 'broken@blog.service', [])).code, 0);
  });

  test('--all gives the host-wide unit: sync --all, the projects root writable, verify passes', async () => {
    const r = await install(hostRoot, '--all', '--projects-root', '/srv');
    assert.equal(r.code, 0, r.stderr);
    const all = await readFile(join(unitDir(hostRoot), 'dosync.service.d/all.conf'), 'utf8');
    assert.match(all, /^ExecStart=\/usr\/local\/bin\/dosync sync --all$/m);
    assert.match(all, /^Environment=DOSYNC_PROJECTS_ROOT=\/srv$/m);
    assert.match(await readFile(join(unitDir(hostRoot), 'dosync.service.d/projects.conf'), 'utf8'), /^ReadWritePaths=\/srv$/m);
    const v = await verify(hostRoot, 'dosync.service', 'dosync.service', ['dosync.service.d/all.conf', 'dosync.service.d/projects.conf']);
    assert.equal(v.code, 0, v.stderr);
    assert.equal(v.stderr.trim(), '', 'no warnings');
    const un = await install(hostRoot, '--uninstall');
    assert.equal(un.code, 0, un.stderr);
    await assert.rejects(access(join(unitDir(hostRoot), 'dosync.service.d')));
  });
});
