// policy.semver (src/policy/rank-semver.ts). Flux's cases come from image-reflector-controller
// internal/policy/semver_test.go (TestSemVer_Latest, TestNewSemVer); the tie rule from semver.go (only a
// strictly greater version replaces the best: the first listed of equal versions wins).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { resolvePolicy, selectTag } from '../../../src/policy/index.js';
import { ConfigError } from '../../../src/util/errors.js';
import { runTable, WHERE, type PolicyCase } from './table.js';

const range = (r: string) => ({ policy: { semver: { range: r } } });

const flux: PolicyCase[] = [
  { name: 'Flux "Regular": 1.0.x among 1.0.0, 1.0.0.1, 1.0.0p, 1.0.1, 1.2.0, 0.1.0', policy: range('1.0.x'), tags: ['1.0.0', '1.0.0.1', '1.0.0p', '1.0.1', '1.2.0', '0.1.0'], selected: '1.0.1' },
  { name: 'Flux "Regular with prefix": the v tag is returned as listed', policy: range('1.0.x'), tags: ['v1.2.3', 'v1.0.0', 'v0.1.0'], selected: 'v1.0.0' },
  { name: 'Flux "With invalid prefix": b1.2.3 is no version', policy: range('1.0.x'), tags: ['b1.2.3', 'b1.0.0', 'b0.1.0'], selected: null },
  { name: 'Flux "With empty list"', policy: range('1.0.x'), tags: [], selected: null },
  { name: 'Flux "With non-matching version list"', policy: range('1.0.x'), tags: ['1.2.0'], selected: null },
];

const strict: PolicyCase[] = [
  // Flux reads tags with version.ParseVersion = StrictNewVersion after one leading v (fluxcd/pkg version.go).
  { name: '1.2 is not a version under semver', policy: range('>=1'), tags: ['1.2', '1.1.0'], selected: '1.1.0' },
  { name: '200 is not a version under semver', policy: range(''), tags: ['200', '3.0.0'], selected: '3.0.0' },
  { name: 'only partial versions: nothing qualifies', policy: range('>=16'), tags: ['15.9.9', '16', '16.1'], selected: null },
  { name: 'leading zeros are not versions', policy: range(''), tags: ['01.02.03', '1.2.4'], selected: '1.2.4' },
  { name: 'leading zero in a numeric prerelease', policy: range('>=1.0.0-0'), tags: ['1.1.0-01', '1.0.0'], selected: '1.0.0' },
  { name: 'capital V is no prefix', policy: range(''), tags: ['V2.0.0', '1.0.0'], selected: '1.0.0' },
  { name: 'a four-part version is none', policy: range(''), tags: ['1.2.3.4', '1.2.3'], selected: '1.2.3' },
  { name: '=> operator with full versions', policy: range('=>1.0'), tags: ['0.9.0', '1.0.0'], selected: '1.0.0' },
  { name: 'a partial range still reads loosely (constraints are not tags)', policy: range('~1.2'), tags: ['1.2.9', '1.3.0'], selected: '1.2.9' },
];

const ties: PolicyCase[] = [
  { name: 'equal versions v1.2.3, 1.2.3: the first listed', policy: range(''), tags: ['v1.2.3', '1.2.3'], selected: 'v1.2.3' },
  { name: 'equal versions 1.2.3, v1.2.3: the first listed', policy: range(''), tags: ['1.2.3', 'v1.2.3'], selected: '1.2.3' },
  { name: 'build metadata does not rank: the first listed', policy: range(''), tags: ['1.0.0+b2', '1.0.0+b10'], selected: '1.0.0+b2' },
  { name: 'build metadata, the other way round', policy: range(''), tags: ['1.0.0+b10', '1.0.0+b2', '0.9.0'], selected: '1.0.0+b10' },
  {
    name: 'the same extracted value: the last listed (Flux filter.go keeps one tag per value)',
    policy: { filterTags: { pattern: '^(?P<v>\\d+\\.\\d+\\.\\d+)-', extract: '$v' }, ...range('') },
    tags: ['1.2.3-alpine3.18', '1.2.3-alpine3.19', '1.2.2-alpine3.19'],
    selected: '1.2.3-alpine3.19',
  },
  {
    name: 'different extracted values that rank equal: the value listed first, its last tag',
    policy: { filterTags: { pattern: '^(?:x|y)-(?P<v>.*)$', extract: '$v' }, ...range('') },
    tags: ['x-1.0.0+a', 'y-1.0.0+b', 'y-1.0.0+a'],
    selected: 'y-1.0.0+a',
  },
];

const ranges: PolicyCase[] = [
  { name: 'tilde ~1.2', policy: range('~1.2'), tags: ['1.2.0', '1.2.9', '1.3.0'], selected: '1.2.9' },
  { name: 'caret ^1.2.3', policy: range('^1.2.3'), tags: ['1.2.2', '1.9.0', '2.0.0'], selected: '1.9.0' },
  { name: 'wildcard 1.x', policy: range('1.x'), tags: ['1.0.0', '1.5.5', '2.0.0'], selected: '1.5.5' },
  { name: 'hyphen range 1.2 - 1.4 is inclusive of 1.4.x', policy: range('1.2 - 1.4'), tags: ['1.1.0', '1.4.7', '1.5.0'], selected: '1.4.7' },
  { name: 'not equal', policy: range('>=1.0.0, !=1.0.1'), tags: ['1.0.0', '1.0.1'], selected: '1.0.0' },
  { name: '~> operator', policy: range('~>1.2'), tags: ['1.2.5', '1.3.0'], selected: '1.2.5' },
  { name: 'v prefix in the range', policy: range('v1.x'), tags: ['v1.0.0', 'v1.1.0', 'v2.0.0'], selected: 'v1.1.0' },
  { name: 'comma AND with spaces', policy: range('>= 1.2, < 1.4'), tags: ['1.2.0', '1.3.5', '1.4.0'], selected: '1.3.5' },
  { name: 'OR of ranges', policy: range('<1.0.0 || >=2.0.0 <3.0.0'), tags: ['0.9.0', '1.5.0', '2.5.0', '3.0.0'], selected: '2.5.0' },
  { name: 'prerelease admitted by -0', policy: range('>=1.0.0-0 <2.0.0'), tags: ['1.0.0', '1.1.0-rc.1'], selected: '1.1.0-rc.1' },
  { name: 'prerelease not admitted without one in the range', policy: range('>=1.0.0 <2.0.0'), tags: ['1.1.0-rc.1'], selected: null },
  { name: 'prerelease admitted by its own OR branch only', policy: range('>=1.0.0-0 <1.5.0 || >=2.0.0'), tags: ['1.4.0-rc.1', '2.1.0-rc.1'], selected: '1.4.0-rc.1' },
  { name: 'empty range takes prereleases too (DOSync)', policy: range(''), tags: ['1.0.0', '2.0.0-rc.1'], selected: '2.0.0-rc.1' },
  { name: 'semver with a null block = empty range', policy: { policy: { semver: null } }, tags: ['1.0.0', '1.0.1'], selected: '1.0.1' },
  { name: 'prerelease precedence', policy: range('>=1.0.0-0'), tags: ['1.0.0-alpha', '1.0.0-beta.11', '1.0.0-beta.2'], selected: '1.0.0-beta.11' },
  { name: 'no versions at all', policy: range(''), tags: ['latest', 'main', 'stable'], selected: null },
  { name: 'template rebuilds a version', policy: { filterTags: { pattern: '^app-(?P<major>\\d+)_(?P<minor>\\d+)_(?P<patch>\\d+)$', extract: '$major.$minor.$patch' }, ...range('<2') }, tags: ['app-1_2_3', 'app-1_10_0', 'app-2_0_0'], selected: 'app-1_10_0' },
  { name: '>11 means 12 or higher', policy: range('>11'), tags: ['11.5.0'], selected: null },
  { name: '<=1.1 includes 1.1.x', policy: range('<=1.1'), tags: ['1.1.9', '1.2.0'], selected: '1.1.9' },
  { name: '^0.2.3 stays on 0.2', policy: range('^0.2.3'), tags: ['0.2.9', '0.3.0'], selected: '0.2.9' },
  { name: '^0.0.3 is exact', policy: range('^0.0.3'), tags: ['0.0.3', '0.0.4'], selected: '0.0.3' },
  { name: '* skips prereleases', policy: range('*'), tags: ['1.0.0', '1.1.0-rc'], selected: '1.0.0' },
  { name: 'semver picks the best even below the running tag', policy: range('<2'), tags: ['1.9.0', '2.1.0'], current: '2.1.0', selected: '1.9.0' },
];

runTable('semver ranker: Flux cases', flux);
runTable('semver ranker: strict versions', strict);
runTable('semver ranker: ties', ties);
runTable('semver ranker: ranges', ranges);

describe('semver ranges Flux accepts and rejects (TestNewSemVer)', () => {
  for (const r of ['1.0.x', '^1.0', '=1.0.0', '~1.0', '>=1.0', '>0,<2.0']) {
    test(`accepts ${r}`, () => assert.equal(resolvePolicy({ service: { imagePolicy: range(r) } }, WHERE).ranking.kind, 'semver'));
  }
  // Flux also rejects '' (NewConstraint); DOSync reads an empty range as "any version", which dosync keeps.
  for (const r of ['1.0.0p', '1x', 'x1', '-1', 'a']) {
    test(`rejects ${r}`, () => assert.throws(() => resolvePolicy({ service: { imagePolicy: range(r) } }, WHERE), ConfigError));
  }
});

test('a partial version says why it does not count', () => {
  const s = selectTag([{ tag: '1.2' }, { tag: 'latest' }], 'x', resolvePolicy({ service: { imagePolicy: range('') } }, WHERE));
  assert.deepEqual(s.dropped, [
    { tag: '1.2', value: '1.2', why: '"1.2" is not a full semantic version (semver policies need MAJOR.MINOR.PATCH, as Flux reads them)' },
    { tag: 'latest', value: 'latest', why: '"latest" is not a semantic version' },
  ]);
  assert.match(s.reason, /dropped 2 not a version/);
});
