import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from 'commander';
import { registerPolicyCommand, type PolicyCommandDeps } from '../../../src/cli/policy.js';
import { ConfigError, UserError } from '../../../src/util/errors.js';
import type { TagInfo } from '../../../src/registry/types.js';

/** Runs `dosync policy <args>` in-process with `stdin` text; returns stdout and the thrown error (if any). */
async function run(args: string[], stdin = '', extra: Partial<PolicyCommandDeps> = {}): Promise<{ out: string; err?: unknown }> {
  let out = '';
  const program = new Command('dosync').exitOverride();
  registerPolicyCommand(program, { readStdin: async () => stdin, write: (t) => (out += t), ...extra });
  try {
    await program.parseAsync(['policy', ...args], { from: 'user' });
    return { out };
  } catch (err) {
    return { out, err };
  }
}

const exitCode = (err: unknown) => (err instanceof UserError ? err.exitCode : err === undefined ? 0 : -1);

describe('dosync policy', () => {
  test('prints the selected tag (exit 0) for a YAML imagePolicy', async () => {
    const policy = `filterTags:\n  pattern: '^main-[a-zA-F0-9]+-(?P<ts>\\d+)$'\n  extract: '$ts'\npolicy:\n  numerical:\n    order: desc`;
    const r = await run(['--policy', policy], 'main-abc123-100\nmain-def456-200\nmain-ghi789-150\n');
    assert.equal(exitCode(r.err), 0);
    assert.equal(r.out, 'main-def456-200\n');
  });

  test('accepts JSON, an imagePolicy wrapper and shorthands', async () => {
    const tags = 'v1.2.3\nv1.2.4\nv2.0.0\nv2.0.0-rc1\n';
    for (const policy of [
      '{"policy": {"semver": {"range": ">=1.0.0 <2.0.0"}}}',
      'imagePolicy:\n  policy:\n    semver:\n      range: ">=1.0.0 <2.0.0"',
      'semver:>=1.0.0 <2.0.0',
      'semver: ">=1.0.0 <2.0.0"',
      '{semver: {range: ">=1.0.0 <2.0.0"}}',
    ]) {
      const r = await run(['--policy', policy], tags);
      assert.equal(r.out, 'v1.2.4\n', policy);
      assert.equal(exitCode(r.err), 0, policy);
    }
  });

  test('says that none qualifies with exit 1', async () => {
    const r = await run(['--policy', 'semver:>=3'], 'v1.0.0\nlatest\n');
    assert.equal(r.out, '');
    assert.equal(exitCode(r.err), 1);
    assert.match((r.err as Error).message, /^no tag qualifies \(semver >=3; dropped 1 not a version, 1 outside the range\)$/);
  });

  test('--json prints selected, candidates and dropped', async () => {
    const r = await run(['--policy', 'semver:>=1.0.0 <2.0.0', '--json'], 'v1.2.3\nv1.2.4\nv2.0.0\n');
    assert.equal(exitCode(r.err), 0);
    const doc = JSON.parse(r.out);
    assert.equal(doc.selected, 'v1.2.4');
    assert.deepEqual(doc.candidates, [{ tag: 'v1.2.4', value: 'v1.2.4' }, { tag: 'v1.2.3', value: 'v1.2.3' }]);
    assert.deepEqual(doc.dropped, [{ tag: 'v2.0.0', value: 'v2.0.0', why: 'v2.0.0 is outside >=1.0.0 <2.0.0' }]);
  });

  test('--json with nothing selected prints null and exits 1', async () => {
    const r = await run(['--policy', 'numerical', '--json'], 'abc\n');
    assert.equal(JSON.parse(r.out).selected, null);
    assert.equal(exitCode(r.err), 1);
  });

  test('--explain lists every tag with its value and verdict', async () => {
    const policy = '{filterTags: {pattern: "^RELEASE\\\\.(?P<timestamp>.*)Z$", extract: "$timestamp"}, policy: {alphabetical: {order: desc}}}';
    const r = await run(['--policy', policy, '--explain'], 'RELEASE.2024-06-01T12-00-00Z\nRELEASE.2024-06-02T12-00-00Z\nlatest\n');
    assert.equal(exitCode(r.err), 0);
    const lines = r.out.split('\n');
    assert.match(lines[0], /^policy: +alphabetical desc \(last in byte order wins\) \(--policy\); include \/\^RELEASE\\\.\(\?P<timestamp>\.\*\)Z\$\/ extract "\$timestamp" \(--policy\)$/);
    assert.match(r.out, /^result: +RELEASE\.2024-06-02T12-00-00Z$/m);
    assert.match(r.out, /^RELEASE\.2024-06-02T12-00-00Z +2024-06-02T12-00-00 +selected$/m);
    assert.match(r.out, /^RELEASE\.2024-06-01T12-00-00Z +2024-06-01T12-00-00 +kept, outranked by RELEASE\.2024-06-02T12-00-00Z$/m);
    assert.match(r.out, /^latest +- +dropped: does not match \//m);
  });

  test('the default policy needs the running tag', async () => {
    const r = await run([], '1.0.0\n1.1.0\n');
    assert.ok(r.err instanceof ConfigError);
    assert.match(r.err.message, /--current/);
    const ok = await run(['--current', '1.0.0'], '1.0.0\n1.1.0\n2.0.0\n');
    assert.equal(ok.out, '1.1.0\n');
    const major = await run(['--current', '1.0.0', '--update', 'major'], '1.0.0\n1.1.0\n2.0.0\n');
    assert.equal(major.out, '2.0.0\n');
  });

  test('newest reads push times from a second column', async () => {
    const r = await run(['--policy', 'newest'], 'a 2024-01-01T00:00:00Z\nb 2024-03-01T00:00:00Z\n# comment\n\nc\n');
    assert.equal(r.out, 'b\n');
    const bad = await run(['--policy', 'newest'], 'a yesterday\n');
    assert.equal(exitCode(bad.err), 2);
  });

  test('--image lists tags through the registry and takes the current tag from the reference', async () => {
    const asked: string[] = [];
    const listTags = async (image: string): Promise<TagInfo[]> => {
      asked.push(image);
      return [{ tag: '1.2.3' }, { tag: '1.3.0' }, { tag: '2.0.0' }];
    };
    const r = await run(['--image', 'ghcr.io/org/app:1.2.3'], '', { listTags });
    assert.deepEqual(asked, ['ghcr.io/org/app:1.2.3']);
    assert.equal(r.out, '1.3.0\n');
  });

  test('a bad policy is a ConfigError naming the flag and the key', async () => {
    const r = await run(['--policy', '{policy: {semver: {range: ">=1 <<2"}}}'], 'v1\n');
    assert.ok(r.err instanceof ConfigError);
    assert.match(r.err.message, /^--policy: policy\.semver\.range: invalid semver range ">=1 <<2"/);
    const yaml = await run(['--policy', '{policy: ['], 'v1\n');
    assert.ok(yaml.err instanceof ConfigError);
    assert.match(yaml.err.message, /^--policy: not valid YAML or JSON/);
    const kind = await run(['--policy', 'regex:^v'], 'v1\n');
    assert.ok(kind.err instanceof ConfigError);
    assert.match(kind.err.message, /^--policy: unknown policy "regex:\^v"/);
  });

  test('update: digest and none', async () => {
    const digest = await run(['--current', 'latest'], '1.0.0\n');
    assert.equal(digest.out, 'latest\n');
    assert.equal(exitCode(digest.err), 0);
    const none = await run(['--current', '1.0.0', '--update', 'none'], '1.1.0\n');
    assert.equal(none.out, '');
    assert.equal(exitCode(none.err), 1);
  });
});
