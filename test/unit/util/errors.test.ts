/** Local errors as one line with a code (issue 15, findings 3 and 7); the one predicate for "mark the tag failed". */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { LocalError, RegistryError, asLocalError, isLocalError, localError } from '../../../src/util/errors.js';
import { marksTagFailed, type ApplyOutcome } from '../../../src/sync/apply.js';

const errno = (code: string, extra: Record<string, string> = {}) => Object.assign(new Error(`${code}: raw text, open '/x'`), { code, ...extra });

describe('localError', () => {
  const rows: Array<[string, string, string]> = [
    ['ENOSPC', 'disk-full', 'disk full writing /s/compose.yml: free space; nothing was changed'],
    ['EDQUOT', 'disk-full', 'disk full writing /s/compose.yml: free space; nothing was changed'],
    ['EROFS', 'read-only', 'read-only file system writing /s/compose.yml: the file system of /s/compose.yml is mounted read-only; remount it read-write; nothing was changed'],
    ['EACCES', 'permission', 'permission denied writing /s/compose.yml: dosync may not write there; check the owner and mode of /s/compose.yml and its directory; nothing was changed'],
    ['ENOENT', 'missing', 'no such file or directory writing /s/compose.yml: /s/compose.yml (or its directory) does not exist; check the path; nothing was changed'],
  ];
  for (const [code, kind, line] of rows) {
    test(`${code} -> ${kind}, one line without the raw errno text`, () => {
      const e = localError(errno(code), 'writing', '/s/compose.yml');
      assert.ok(e instanceof LocalError);
      assert.equal(e.code, kind);
      assert.equal(e.message, line);
      assert.equal(e.path, '/s/compose.yml');
    });
  }

  test('errors without a file system errno pass through unchanged (programming errors keep their stack)', () => {
    const bug = new TypeError('x is undefined');
    assert.equal(localError(bug, 'writing', '/x'), bug);
    assert.equal(localError(errno('ECONNRESET'), 'writing', '/x') instanceof LocalError, false);
  });

  test('asLocalError turns a raw system error (syscall + path) into one line; user errors stay as they are', () => {
    const e = asLocalError(errno('ENOENT', { syscall: 'mkdir', path: '/nope/state' }));
    assert.ok(isLocalError(e));
    assert.equal(e.message, 'no such file or directory creating the directory /nope/state: /nope/state (or its directory) does not exist; check the path');
    const user = new RegistryError('r: repository not found', { status: 404 });
    assert.equal(asLocalError(user), user);
    assert.equal(user.code, 'not-found');
  });
});

describe('marksTagFailed', () => {
  const base = { from: 'a:1', to: 'a:2', reason: 'x', failedTag: '2' };
  const rows: Array<[string, ApplyOutcome, boolean]> = [
    ['a deployed image that failed its health gate', { status: 'rolled-back', ...base }, true],
    ['an update that failed before anything changed (pull)', { status: 'failed', from: 'a:1', to: 'a:2', reason: 'pull failed' }, false],
    ['an update that went through', { status: 'updated', from: 'a:1', to: 'a:2', pruned: [], recreated: true }, false],
  ];
  for (const [what, outcome, marks] of rows) test(`${what}: ${marks ? 'marks' : 'does not mark'} the tag`, () => assert.equal(marksTagFailed(outcome), marks));
});
