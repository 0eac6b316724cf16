import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { compileTagSelector, filterTags, namesOnly, needsTimes, rankTags, type TagSelectorInput } from '../../../src/mirror/tags.js';
import { ConfigError } from '../../../src/util/errors.js';

const TAGS = ['1.24.0', '1.25.0', '1.25.3', '1.26.0', '1.26.1-rc1', '1.27.0-alpine', '1.27.0', '1.27.1', '2.0.0', 'stable', 'latest', 'mainline-alpine'];
const DAY = 86_400_000;
const NOW = Date.UTC(2025, 5, 1);

function select(input: TagSelectorInput, tags = TAGS, times: Record<string, number> = {}): string[] {
  const sel = compileTagSelector(input, 'test');
  const { candidates } = filterTags(tags, sel);
  const infos = candidates.map((tag) => (times[tag] !== undefined ? { tag, pushedAt: new Date(times[tag]!) } : { tag }));
  return rankTags(infos, sel, NOW).selected;
}

describe('tag selection', () => {
  const cases: Array<[string, TagSelectorInput, string[]]> = [
    ['no rule: every tag', {}, TAGS],
    ['literal names (absent ones are not invented)', { names: ['1.25.0', 'stable', '9.9.9'] }, ['1.25.0', 'stable']],
    ['semver range, prereleases out', { semver: '>=1.25 <2' }, ['1.25.0', '1.25.3', '1.26.0', '1.27.0', '1.27.1']],
    // `1.27.0-alpine` is a prerelease of 1.27.0 to semver, so it sorts below 1.27 and is let in too.
    ['semver range naming a prerelease lets prereleases in', { semver: '>=1.26.1-0 <1.27' }, ['1.26.1-rc1', '1.27.0-alpine']],
    ['semver wildcard', { semver: '1.27.x' }, ['1.27.0', '1.27.1']],
    ['include regex (unanchored)', { include: ['alpine'] }, ['1.27.0-alpine', 'mainline-alpine']],
    ['glob include anchors the whole tag', { include: ['glob:1.27.*'] }, ['1.27.0-alpine', '1.27.0', '1.27.1']],
    ['union of semver and include', { semver: '>=1.27', include: ['^stable$'] }, ['1.27.0', '1.27.1', '2.0.0', 'stable']],
    ['exclude wins over include', { include: ['glob:1.27.*'], exclude: ['-alpine$'] }, ['1.27.0', '1.27.1']],
    ['exclude over every tag', { exclude: ['^\\d'] }, ['stable', 'latest', 'mainline-alpine']],
    ['latest N by version keeps named non-versions', { semver: '>=1.25 <2', include: ['^stable$'], exclude: ['-rc'], latest: 2 }, ['1.27.1', '1.27.0', 'stable']],
    ['latest 1 over all-version candidates', { include: ['^1\\.2[45]'], latest: 1 }, ['1.25.3']],
  ];
  for (const [name, input, want] of cases) {
    test(name, () => {
      assert.deepEqual(new Set(select(input)), new Set(want));
      assert.equal(select(input).length, want.length);
    });
  }

  test('the selection does not depend on the order of the tag list', () => {
    const input = { semver: '>=1.25 <2', include: ['^stable$'], latest: 3 };
    assert.deepEqual(select(input, [...TAGS].reverse()), select(input, TAGS));
  });

  test('latest N by time ranks by push time and drops tags without one', () => {
    const times = { stable: NOW - 1 * DAY, latest: NOW - 3 * DAY, 'mainline-alpine': NOW - 2 * DAY };
    assert.deepEqual(select({ include: ['^[a-z]'], latest: 2 }, TAGS, times), ['stable', 'mainline-alpine']);
    const sel = compileTagSelector({ include: ['^[a-z]'], latest: 2 }, 't');
    assert.equal(needsTimes(sel, ['stable', 'latest']), true);
    assert.equal(needsTimes(compileTagSelector({ semver: '>=1', latest: 2 }, 't'), ['1.0.0']), false);
    const r = rankTags([{ tag: 'a' }, { tag: 'b', pushedAt: new Date(NOW) }], compileTagSelector({ latest: 5, latestBy: 'time' }, 't'), NOW);
    assert.deepEqual(r.selected, ['b']);
    assert.match(r.dropped[0]!.why, /no push or build time/);
  });

  test('maxAge keeps tags pushed within the window, drops unknown times', () => {
    const times = { '1.25.0': NOW - 100 * DAY, '1.26.0': NOW - 10 * DAY, '1.27.0': NOW };
    assert.deepEqual(select({ names: ['1.25.0', '1.26.0', '1.27.0', '1.27.1'], maxAgeMs: 90 * DAY }, TAGS, times), ['1.26.0', '1.27.0']);
  });

  test('names-only selectors need no tag listing', () => {
    assert.equal(namesOnly(compileTagSelector({ names: ['7.2', '7.4'] }, 't')), true);
    assert.equal(namesOnly(compileTagSelector({ names: ['7.2'], latest: 1 }, 't')), false);
    assert.equal(namesOnly(compileTagSelector({}, 't')), false);
  });

  const bad: Array<[TagSelectorInput, RegExp]> = [
    [{ semver: '>=1.x.y.z' }, /^test\.semver/],
    [{ include: ['(unclosed'] }, /^test\.include\[0\]: "\(unclosed" is not a valid regular expression/],
    [{ exclude: ['a(?=b)'] }, /^test\.exclude\[0\]/],
    [{ latest: 0 }, /^test\.latest: must be a whole number/],
    [{ latestBy: 'time' }, /latestBy: only means something with latest/],
    [{ names: ['bad tag'] }, /"bad tag" is not a valid tag/],
  ];
  for (const [input, message] of bad) {
    test(`rejects ${JSON.stringify(input)} as a ConfigError`, () => {
      assert.throws(() => compileTagSelector(input, 'test'), (err: unknown) => err instanceof ConfigError && message.test(err.message));
    });
  }
});
