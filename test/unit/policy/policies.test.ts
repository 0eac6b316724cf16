// Filters (include, exclude, extract, globs) across policy kinds, and what a selection reports. Each
// policy kind has its own table test (rank-*.test.ts).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { resolvePolicy, selectTag } from '../../../src/policy/index.js';
import { runTable, WHERE, type PolicyCase } from './table.js';

const cases: PolicyCase[] = [
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

runTable('tag filters', cases);

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
