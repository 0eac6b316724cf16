/**
 * Every command block marked runnable (```sh runnable) in README.md and docs/ is run, line by line, against the
 * test environment: a stack on the local registry, `dosync` on PATH as `npm link` puts it there. A line passes
 * with exit 0, or 10 (`check`: updates available).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, writeFile, chmod, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ComposeProject, pushImage, unique, ROOT, REGISTRY } from '../helpers/docker.js';

const exec = promisify(execFile);

/** The ```sh runnable blocks of a Markdown text, each as its command lines (comments and blank lines left out). */
export function runnableBlocks(md: string): string[][] {
  const blocks: string[][] = [];
  let current: string[] | undefined;
  for (const line of md.split('\n')) {
    if (current === undefined && /^```sh\s+runnable\s*$/.test(line)) current = [];
    else if (current !== undefined && /^```\s*$/.test(line)) {
      blocks.push(current);
      current = undefined;
    } else if (current !== undefined && line.trim() !== '' && !line.trim().startsWith('#')) current.push(line.replace(/\s+#\s.*$/, '').trim());
  }
  return blocks;
}

test('runnable blocks of README.md and docs/ work when pasted', async () => {
  const files = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
  const blocks = files.flatMap((f) => runnableBlocks(readFileSync(join(ROOT, f), 'utf8')).map((lines) => ({ file: f, lines })));
  assert.ok(blocks.filter((b) => b.file === 'README.md').length >= 2, 'the README quick start is marked runnable');

  const repo = unique('i19/quickstart');
  for (const v of ['1.0.0', '1.1.0']) await pushImage(repo, v, { version: v });
  const p = await ComposeProject.create(`services:\n  web:\n    image: ${REGISTRY}/${repo}:1.0.0\n`, 'i19qs');
  const bin = await mkdtemp(join(tmpdir(), 'i19-bin-'));
  try {
    await p.up();
    await writeFile(join(bin, 'dosync'), `#!/bin/sh\nexec ${process.execPath} ${join(ROOT, 'bin/dosync.js')} "$@"\n`);
    await chmod(join(bin, 'dosync'), 0o755);
    const env = { ...process.env, PATH: `${bin}:${process.env.PATH}` };
    for (const block of blocks) {
      for (const line of block.lines) {
        const r = await exec('bash', ['-c', line], { cwd: p.dir, env }).then(() => 0, (e: { code?: number; stdout?: string; stderr?: string }) => {
          if (e.code === 10) return 10;
          assert.fail(`${block.file}: \`${line}\` exited ${e.code}:\n${e.stdout}${e.stderr}`);
        });
        assert.ok(r === 0 || r === 10);
      }
    }
    // The quick start's `sync --once` really moved the stack.
    assert.deepEqual(await p.versions('web'), ['1.1.0']);
  } finally {
    await rm(bin, { recursive: true, force: true });
    await p.destroy();
  }
});
