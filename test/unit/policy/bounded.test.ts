// A cycle's selection keeps only the best candidates (policy/select.ts, selectTags with a limit): whatever the
// tags, it picks the same tag as the selection that keeps all, its list is the head of that one's ranked list,
// and its counts cover every tag. Also the de-duplication it reads the list through (policy/unique.ts).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { resolvePolicy, selectTag, selectTags, type PolicySources } from '../../../src/policy/index.js';
import { uniqueTags } from '../../../src/policy/unique.js';

const WHERE = { labels: 'compose: labels', service: 'dosync.yaml: services.p', registry: 'dosync.yaml: registry.r' };

const n = fc.integer({ min: 0, max: 9 });
const tagName = fc.oneof(
  fc.tuple(fc.constantFrom('', 'v'), n, n, n, fc.constantFrom('', '', '-rc.1', '-alpine', '+b7')).map(([p, a, b, c, s]) => `${p}${a}.${b}.${c}${s}`),
  fc.tuple(n, n).map(([a, b]) => `${a}.${b}`),
  fc.constantFrom('7', '7.0', '007', 'latest', 'main-1-100', 'main-2-100', 'main-3-050', 'sha-4f2a9c1'),
);
const sources: PolicySources[] = [
  {},
  { labels: { 'dosync.update': 'major' } },
  { labels: { 'dosync.policy': 'semver:>=1' } },
  { labels: { 'dosync.policy': 'numerical:desc' } },
  { labels: { 'dosync.policy': 'numerical:asc' } },
  { labels: { 'dosync.policy': 'alphabetical:desc' } },
  { labels: { 'dosync.policy': 'newest' } },
  // Ties between different values and between tags of one value: Flux's rules need where each value was first listed.
  { labels: { 'dosync.policy': 'numerical:desc', 'dosync.tag.include': '^main-(?P<n>[0-9]+)-(?P<ts>[0-9]+)$', 'dosync.tag.extract': '$ts' } },
  { labels: { 'dosync.policy': 'semver:', 'dosync.tag.include': '^v?(?P<v>[0-9.]+)', 'dosync.tag.extract': '$v.0' } },
];

describe('a selection that keeps only the best candidates', () => {
  test('same winner, the head of the full ranking, every tag counted', () => {
    fc.assert(fc.property(fc.array(tagName, { maxLength: 40 }), fc.nat(sources.length - 1), fc.integer({ min: 1, max: 5 }), fc.nat(1000), (tags, which, limit, t0) => {
      const policy = resolvePolicy(sources[which], WHERE);
      const current = tags[0] ?? '1.0.0';
      const pushed = new Map(tags.map((t, i) => [t, new Date(1_600_000_000_000 + ((t0 + i * 7) % 13) * 1000)]));
      const full = selectTag(tags.map((tag) => ({ tag, pushedAt: pushed.get(tag) })), current, policy);
      const kept = selectTags({ tags, pushedAt: (t) => pushed.get(t) }, current, policy, limit);
      assert.equal(kept.selected, full.selected);
      assert.equal(kept.reason, full.reason);
      assert.deepEqual(kept.candidates, full.candidates.slice(0, limit));
      assert.equal(kept.candidateCount ?? 0, full.candidates.length);
      assert.equal(kept.droppedCount ?? 0, full.dropped.length);
      assert.deepEqual(kept.dropped, full.dropped.slice(0, limit));
    }), { numRuns: 3000 });
  });

  test('skipped tags (failed before) are left out uncounted, as if never listed', () => {
    const policy = resolvePolicy({}, WHERE);
    const s = selectTags({ tags: ['1.0.0', '1.2.0', '1.1.0'], skip: (t) => t === '1.2.0' }, '1.0.0', policy);
    assert.equal(s.selected, '1.1.0');
    assert.equal(s.candidateCount, 2);
    assert.equal(s.droppedCount, 0);
  });
});

describe('uniqueTags', () => {
  test('a list without repeats is handed back as it is', () => {
    const tags = ['1.0.0', '1.1.0', 'latest'];
    assert.equal(uniqueTags(tags), tags);
  });

  test('repeats are left out, first places kept', () => {
    fc.assert(fc.property(fc.array(fc.string({ maxLength: 4 }), { maxLength: 200 }), (tags) => {
      assert.deepEqual([...uniqueTags(tags)], [...new Set(tags)]);
    }), { numRuns: 2000 });
  });
});
