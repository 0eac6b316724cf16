/** Shell completion offers the stack's service names for rollback, retry and update (bash, run for real). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile, chmod, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ROOT, dosync } from '../helpers/docker.js';

const exec = promisify(execFile);

test('bash completion: service names of the -f file (or the current directory) after rollback, retry and update', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'i19-complete-'));
  try {
    const bin = join(dir, 'bin');
    await exec('mkdir', ['-p', bin]);
    await writeFile(join(bin, 'dosync'), `#!/bin/sh\nexec ${process.execPath} ${join(ROOT, 'bin/dosync.js')} "$@"\n`);
    await chmod(join(bin, 'dosync'), 0o755);
    await writeFile(join(dir, 'stack.yml'), 'services:\n  web:\n    image: nginx:1\n  worker:\n    image: busybox:1\n  db:\n    image: postgres:16\n');
    await writeFile(join(dir, 'compose.yaml'), 'services:\n  here:\n    image: nginx:1\n');
    const script = join(dir, 'dosync.bash');
    await writeFile(script, (await dosync(['completion', 'bash'])).stdout);
    const complete = async (line: string) => {
      const words = line.split(' ');
      const program = `source ${script}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _dosync_complete; printf '%s\\n' "\${COMPREPLY[@]}"`;
      const { stdout } = await exec('bash', ['-c', program], { cwd: dir, env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, DOSYNC_FILE: '' } });
      return stdout.split('\n').filter(Boolean).sort();
    };
    assert.deepEqual(await complete('dosync rollback -f stack.yml '), ['db', 'web', 'worker']);
    assert.deepEqual(await complete('dosync retry --file stack.yml w'), ['web', 'worker']);
    assert.deepEqual(await complete('dosync update -f stack.yml d'), ['db']);
    // No -f (and no DOSYNC_FILE): the compose file of the current directory, as `docker compose` finds it.
    assert.deepEqual(await complete('dosync rollback '), ['here']);
    // Other commands are not offered service names.
    assert.ok(!(await complete('dosync check -f stack.yml ')).includes('web'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
