import { test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic, isAtomicTempName } from '../../../src/util/atomic-write.js';

let dir: string;
beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'dosync-atomic-')); });
afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

test('creates the file (and its directory) with mode 0600 by default', async () => {
  const p = join(dir, 'sub', 'x.json');
  await writeFileAtomic(p, '{"a":1}\n');
  assert.equal(await readFile(p, 'utf8'), '{"a":1}\n');
  assert.equal((await stat(p)).mode & 0o777, 0o600);
  assert.deepEqual(await readdir(join(dir, 'sub')), ['x.json']);
});

test('replaces existing content and honours the mode option', async () => {
  const p = join(dir, 'x');
  await writeFile(p, 'old content that is longer');
  await writeFileAtomic(p, Buffer.from('new'), { mode: 0o644 });
  assert.equal(await readFile(p, 'utf8'), 'new');
  assert.deepEqual(await readdir(dir), ['x']);
});

test('a failed rename leaves no temp file behind', async () => {
  const p = join(dir, 'x');
  await mkdir(p);
  await writeFile(join(p, 'keep'), '');
  await assert.rejects(writeFileAtomic(p, 'data'));
  assert.deepEqual(await readdir(dir), ['x']);
});

test('mkdir: false fails on a missing directory without creating it', async () => {
  await assert.rejects(writeFileAtomic(join(dir, 'missing', 'x'), 'data', { mkdir: false }), /ENOENT/);
  assert.deepEqual(await readdir(dir), []);
});

test('temp names are recognisable', () => {
  assert.equal(isAtomicTempName('.state.json.123-abcd1234.tmp', 'state.json'), true);
  assert.equal(isAtomicTempName('state.json', 'state.json'), false);
  assert.equal(isAtomicTempName('.other.json.1-a.tmp', 'state.json'), false);
});
