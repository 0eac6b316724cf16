// Derived cases for every policy kind: ranges, prereleases, extraction, filters, ties, empty inputs.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { resolvePolicy, selectTag, type PolicySources } from '../../../src/policy/index.js';
import type { TagInfo } from '../../../src/registry/types.js';

const WHERE = { labels: 'docker-compose.yml: services.app.labels', service: 'dosync.yaml: services.app', registry: 'dosync.yaml: registry.custom' };

interface Case {
  name: string;
  /** An imagePolicy block (service level), or full sources. */
  policy?: unknown;
  sources?: PolicySources;
  tags: Array<string | TagInfo>;
  current?: string;
  selected: string | null;
}

const at = (iso: string) => new Date(iso);

const cases: Case[] = [
  // semver
  { name: 'tilde ~1.2', policy: { policy: { semver: { range: '~1.2' } } }, tags: ['1.2.0', '1.2.9', '1.3.0'], selected: '1.2.9' },
  { name: 'caret ^1.2.3', policy: { policy: { semver: { range: '^1.2.3' } } }, tags: ['1.2.2', '1.9.0', '2.0.0'], selected: '1.9.0' },
  { name: 'wildcard 1.x', policy: { policy: { semver: { range: '1.x' } } }, tags: ['1.0.0', '1.5.5', '2.0.0'], selected: '1.5.5' },
  { name: 'hyphen range 1.2 - 1.4 is inclusive of 1.4.x', policy: { policy: { semver: { range: '1.2 - 1.4' } } }, tags: ['1.1.0', '1.4.7', '1.5.0'], selected: '1.4.7' },
  { name: 'not equal', policy: { policy: { semver: { range: '>=1.0.0, !=1.0.1' } } }, tags: ['1.0.0', '1.0.1'], selected: '1.0.0' },
  { name: '=> operator', policy: { policy: { semver: { range: '=>1.0' } } }, tags: ['0.9', '1.0'], selected: '1.0' },
  { name: '~> operator', policy: { policy: { semver: { range: '~>1.2' } } }, tags: ['1.2.5', '1.3.0'], selected: '1.2.5' },
  { name: 'v prefix in the range', policy: { policy: { semver: { range: 'v1.x' } } }, tags: ['v1.0.0', 'v1.1.0', 'v2.0.0'], selected: 'v1.1.0' },
  { name: 'comma AND with spaces', policy: { policy: { semver: { range: '>= 1.2, < 1.4' } } }, tags: ['1.2.0', '1.3.5', '1.4.0'], selected: '1.3.5' },
  { name: 'OR of ranges', policy: { policy: { semver: { range: '<1.0.0 || >=2.0.0 <3.0.0' } } }, tags: ['0.9.0', '1.5.0', '2.5.0', '3.0.0'], selected: '2.5.0' },
  { name: 'prerelease admitted by -0', policy: { policy: { semver: { range: '>=1.0.0-0 <2.0.0' } } }, tags: ['1.0.0', '1.1.0-rc.1'], selected: '1.1.0-rc.1' },
  { name: 'prerelease not admitted without one in the range', policy: { policy: { semver: { range: '>=1.0.0 <2.0.0' } } }, tags: ['1.1.0-rc.1'], selected: null },
  { name: 'prerelease admitted by its own OR branch only', policy: { policy: { semver: { range: '>=1.0.0-0 <1.5.0 || >=2.0.0' } } }, tags: ['1.4.0-rc.1', '2.1.0-rc.1'], selected: '1.4.0-rc.1' },
  { name: 'empty range takes prereleases too', policy: { policy: { semver: { range: '' } } }, tags: ['1.0.0', '2.0.0-rc.1'], selected: '2.0.0-rc.1' },
  { name: 'semver with a null block = empty range', policy: { policy: { semver: null } }, tags: ['1.0.0', '1.0.1'], selected: '1.0.1' },
  { name: 'loose tags 16 and 16.1', policy: { policy: { semver: { range: '>=16' } } }, tags: ['15.9.9', '16', '16.1'], selected: '16.1' },
  { name: 'equal versions 1.2 and 1.2.0: first in byte order', policy: { policy: { semver: { range: '' } } }, tags: ['1.2.0', '1.2'], selected: '1.2' },
  { name: 'equal versions v1.2.3 and 1.2.3', policy: { policy: { semver: { range: '' } } }, tags: ['v1.2.3', '1.2.3'], selected: '1.2.3' },
  { name: 'build metadata does not rank', policy: { policy: { semver: { range: '' } } }, tags: ['1.0.0+b2', '1.0.0+b10'], selected: '1.0.0+b10' },
  { name: 'prerelease precedence', policy: { policy: { semver: { range: '>=1.0.0-0' } } }, tags: ['1.0.0-alpha', '1.0.0-beta.11', '1.0.0-beta.2'], selected: '1.0.0-beta.11' },
  { name: 'no tags at all', policy: { policy: { semver: { range: '' } } }, tags: [], selected: null },
  { name: 'no versions at all', policy: { policy: { semver: { range: '' } } }, tags: ['latest', 'main', 'stable'], selected: null },
  { name: 'template rebuilds a version', policy: { filterTags: { pattern: '^app-(?P<major>\\d+)_(?P<minor>\\d+)_(?P<patch>\\d+)$', extract: '$major.$minor.$patch' }, policy: { semver: { range: '<2' } } }, tags: ['app-1_2_3', 'app-1_10_0', 'app-2_0_0'], selected: 'app-1_10_0' },
  { name: 'leading zeros are coerced', policy: { policy: { semver: { range: '' } } }, tags: ['01.02.03', '1.2.4'], selected: '1.2.4' },
  { name: '>11 means 12 or higher', policy: { policy: { semver: { range: '>11' } } }, tags: ['11.5.0'], selected: null },
  { name: '<=1.1 includes 1.1.x', policy: { policy: { semver: { range: '<=1.1' } } }, tags: ['1.1.9', '1.2.0'], selected: '1.1.9' },
  { name: '^0.2.3 stays on 0.2', policy: { policy: { semver: { range: '^0.2.3' } } }, tags: ['0.2.9', '0.3.0'], selected: '0.2.9' },
  { name: '^0.0.3 is exact', policy: { policy: { semver: { range: '^0.0.3' } } }, tags: ['0.0.3', '0.0.4'], selected: '0.0.3' },
  { name: '* skips prereleases', policy: { policy: { semver: { range: '*' } } }, tags: ['1.0.0', '1.1.0-rc'], selected: '1.0.0' },
  { name: 'semver picks the best even below the running tag', policy: { policy: { semver: { range: '<2' } } }, tags: ['1.9.0', '2.1.0'], current: '2.1.0', selected: '1.9.0' },
  // numerical
  { name: 'numerical desc', policy: { policy: { numerical: { order: 'desc' } } }, tags: ['5', '10', '9'], selected: '10' },
  { name: 'numerical asc', policy: { policy: { numerical: { order: 'asc' } } }, tags: ['5', '10', '9'], selected: '5' },
  { name: 'numerical floats', policy: { policy: { numerical: { order: 'desc' } } }, tags: ['1.5', '1.25', '1.10'], selected: '1.5' },
  { name: 'numerical negatives', policy: { filterTags: { pattern: '^n(?P<v>.*)$', extract: '$v' }, policy: { numerical: { order: 'asc' } } }, tags: ['n-1', 'n0', 'n-0.5'], selected: 'n-1' },
  { name: 'numerical skips non-numbers', policy: { policy: { numerical: {} } }, tags: ['3', 'abc', '7x'], selected: '3' },
  { name: 'numerical beyond 2^53 stays exact', policy: { policy: { numerical: {} } }, tags: ['9007199254740992', '9007199254740993'], selected: '9007199254740993' },
  { name: 'numerical nanosecond timestamps', policy: { filterTags: { pattern: '^b-(?P<ns>\\d+)$', extract: '$ns' }, policy: { numerical: {} } }, tags: ['b-1718435261000000001', 'b-1718435261000000000'], selected: 'b-1718435261000000001' },
  { name: 'numerical exponent', policy: { policy: { numerical: {} } }, tags: ['999', '1e3'], selected: '1e3' },
  { name: 'numerical equal values: first in byte order', policy: { policy: { numerical: {} } }, tags: ['7', '007'], selected: '007' },
  { name: 'numerical build numbers, not alphabetical', policy: { filterTags: { pattern: '^build-(\\d+)$', extract: '$1' }, policy: { numerical: { order: 'desc' } } }, tags: ['build-99', 'build-123'], selected: 'build-123' },
  { name: 'numerical with nothing numeric', policy: { policy: { numerical: {} } }, tags: ['a', 'b'], selected: null },
  { name: 'numerical: null block = desc', policy: { policy: { numerical: null } }, tags: ['1', '2'], selected: '2' },
  { name: 'numerical order is case-insensitive', policy: { policy: { numerical: { order: 'DESC' } } }, tags: ['1', '2'], selected: '2' },
  { name: 'numerical: hex is not a number', policy: { policy: { numerical: {} } }, tags: ['0x10', '9'], selected: '9' },
  // alphabetical
  { name: 'alphabetical desc', policy: { policy: { alphabetical: { order: 'desc' } } }, tags: ['a', 'c', 'b'], selected: 'c' },
  { name: 'alphabetical asc', policy: { policy: { alphabetical: { order: 'asc' } } }, tags: ['b', 'a', 'c'], selected: 'a' },
  { name: 'alphabetical is byte order (uppercase first)', policy: { policy: { alphabetical: {} } }, tags: ['Z', 'a'], selected: 'a' },
  { name: 'alphabetical: 9 after 10', policy: { policy: { alphabetical: {} } }, tags: ['10', '9'], selected: '9' },
  { name: 'alphabetical on an extracted date', policy: { filterTags: { pattern: '^nightly-(?P<d>\\d{8})$', extract: '$d' }, policy: { alphabetical: {} } }, tags: ['nightly-20231231', 'nightly-20240105', 'nightly-2024010'], selected: 'nightly-20240105' },
  { name: 'alphabetical tie through extraction', policy: { filterTags: { pattern: '^(?P<d>\\d+)-', extract: '$d' }, policy: { alphabetical: {} } }, tags: ['5-b', '5-a', '4-z'], selected: '5-a' },
  { name: 'alphabetical with an empty extracted value', policy: { filterTags: { pattern: '^x(?P<o>y)?', extract: '$o' }, policy: { alphabetical: { order: 'asc' } } }, tags: ['xy', 'x'], selected: 'x' },
  // newest
  {
    name: 'newest push wins',
    policy: { policy: { newest: {} } },
    tags: [{ tag: 'a', pushedAt: at('2024-01-01T00:00:00Z') }, { tag: 'b', pushedAt: at('2024-03-01T00:00:00Z') }, { tag: 'c', pushedAt: at('2024-02-01T00:00:00Z') }],
    selected: 'b',
  },
  { name: 'newest drops tags without push time', policy: { policy: { newest: null } }, tags: [{ tag: 'a', pushedAt: at('2024-01-01T00:00:00Z') }, 'b'], selected: 'a' },
  { name: 'newest without any push time', policy: { policy: { newest: {} } }, tags: ['a', 'b'], selected: null },
  {
    name: 'newest tie: first in byte order',
    policy: { policy: { newest: {} } },
    tags: [{ tag: 'y', pushedAt: at('2024-01-01T00:00:00Z') }, { tag: 'x', pushedAt: at('2024-01-01T00:00:00Z') }],
    selected: 'x',
  },
  {
    name: 'newest with a glob filter',
    policy: { tagPattern: 'staging-*', policy: { newest: {} } },
    tags: [{ tag: 'prod-1', pushedAt: at('2024-05-01T00:00:00Z') }, { tag: 'staging-1', pushedAt: at('2024-04-01T00:00:00Z') }, { tag: 'staging-2', pushedAt: at('2024-03-01T00:00:00Z') }],
    selected: 'staging-1',
  },
  {
    name: 'a tag listed twice keeps its latest push time',
    policy: { policy: { newest: {} } },
    tags: [{ tag: 'a', pushedAt: at('2024-01-01T00:00:00Z') }, { tag: 'b', pushedAt: at('2024-02-01T00:00:00Z') }, { tag: 'a', pushedAt: at('2024-03-01T00:00:00Z') }],
    selected: 'a',
  },
  // filters
  { name: 'glob with alphabetical', policy: { tagPattern: 'staging-*', policy: { alphabetical: {} } }, tags: ['staging-10', 'staging-2', 'prod-99'], selected: 'staging-2' },
  { name: 'glob ? is one character', policy: { tagPattern: 'v?.0', policy: { alphabetical: {} } }, tags: ['v1.0', 'v2.0', 'v10.0'], selected: 'v2.0' },
  { name: 'glob dots are literal', policy: { tagPattern: '1.2.*', policy: { alphabetical: {} } }, tags: ['1.2.5', '1x2x9'], selected: '1.2.5' },
  { name: 'unanchored pattern', policy: { filterTags: { pattern: 'rc' }, policy: { semver: { range: '' } } }, tags: ['1.0.0', '1.1.0-rc.1', '0.9.0-rc.2'], selected: '1.1.0-rc.1' },
  { name: '(?i) pattern', policy: { filterTags: { pattern: '(?i)^release-' }, policy: { alphabetical: {} } }, tags: ['RELEASE-1', 'release-0', 'other-9'], selected: 'release-0' },
  { name: '\\z anchors the end of the tag', policy: { filterTags: { pattern: '^1\\.\\d+\\z' }, policy: { alphabetical: {} } }, tags: ['1.5', '1.5z'], selected: '1.5' },
  { name: 'POSIX class [[:digit:]]', policy: { filterTags: { pattern: '^v[[:digit:]]+$' }, policy: { alphabetical: {} } }, tags: ['v1', 'v2', 'vx'], selected: 'v2' },
  { name: 'nothing matches the filter', policy: { filterTags: { pattern: '^main-' }, policy: { numerical: {} } }, tags: ['dev-1', 'dev-2'], selected: null },
  { name: 'empty pattern means no filter (DOSync)', policy: { filterTags: { pattern: '' }, policy: { numerical: {} } }, tags: ['1', '2'], selected: '2' },
  {
    name: 'label exclude drops release candidates',
    sources: { labels: { 'dosync.policy': 'semver:', 'dosync.tag.exclude': '-rc' } },
    tags: ['1.0.0', '1.1.0-rc.1'],
    selected: '1.0.0',
  },
  {
    name: 'wud.tag.include narrows the default policy',
    sources: { labels: { 'wud.tag.include': '^\\d+\\.\\d+\\.\\d+$' } },
    current: '1.0.0',
    tags: ['1.0.0', '1.1.0', '1.2.0.1'],
    selected: '1.1.0',
  },
  {
    name: 'exclude is checked before include',
    sources: { labels: { 'dosync.policy': 'alphabetical', 'dosync.tag.include': '^v', 'dosync.tag.exclude': 'beta' } },
    tags: ['v1', 'v2-beta', 'x9'],
    selected: 'v1',
  },
  {
    name: 'label filter with a registry-level ranking',
    sources: { labels: { 'dosync.tag.include': '^prod-(?P<n>\\d+)$', 'dosync.tag.extract': '$n' }, registry: { imagePolicy: { policy: { numerical: { order: 'desc' } } } } },
    tags: ['prod-10', 'prod-9', 'dev-99'],
    selected: 'prod-10',
  },
];

describe('policy kinds', () => {
  for (const c of cases) {
    test(`${c.name} -> ${c.selected}`, () => {
      const policy = resolvePolicy(c.sources ?? { service: { imagePolicy: c.policy } }, WHERE);
      const tags = c.tags.map((t) => (typeof t === 'string' ? { tag: t } : t));
      const s = selectTag(tags, c.current ?? 'unused', policy);
      assert.equal(s.kind, 'tag');
      assert.equal(s.selected, c.selected, s.reason);
      if (c.selected === null) assert.match(s.reason, /^no tag qualifies/);
      else assert.equal(s.candidates[0].tag, c.selected);
      // Every tag is accounted for exactly once.
      const seen = [...s.candidates.map((x) => x.tag), ...s.dropped.map((x) => x.tag)].sort();
      assert.deepEqual(seen, [...new Set(tags.map((t) => t.tag))].sort());
    });
  }
  test(`at least 60 derived cases (${cases.length})`, () => assert.ok(cases.length >= 60));
});

describe('selection details', () => {
  test('disabled policy selects nothing and says why', () => {
    const p = resolvePolicy({ labels: { 'dosync.enable': 'false' } }, WHERE);
    const s = selectTag([{ tag: '2.0.0' }], '1.0.0', p);
    assert.deepEqual({ kind: s.kind, selected: s.selected }, { kind: 'none', selected: null });
    assert.match(s.reason, /label dosync\.enable/);
  });
  test('candidates carry the extracted value; dropped ones say why', () => {
    const p = resolvePolicy({ service: { imagePolicy: { filterTags: { pattern: '^main-[a-f0-9]+-(?P<ts>\\d+)$', extract: '$ts' }, policy: { numerical: {} } } } }, WHERE);
    const s = selectTag([{ tag: 'main-abc-100' }, { tag: 'main-def-200' }, { tag: 'feature-1' }], 'x', p);
    assert.deepEqual(s.candidates, [{ tag: 'main-def-200', value: '200' }, { tag: 'main-abc-100', value: '100' }]);
    assert.deepEqual(s.dropped, [{ tag: 'feature-1', why: 'does not match /^main-[a-f0-9]+-(?P<ts>\\d+)$/' }]);
    assert.match(s.reason, /^main-def-200 selected .*best of 2 candidates; dropped 1 not matching/);
  });
});
