// Property-based tests: whatever the tags, the selection respects the filter and the range, depends on the
// order of the tags only through Flux's tie rules, and the default never crosses a major version nor downgrades.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import npmSemver from 'semver';
import { resolvePolicy, selectTag, type PolicySources } from '../../../src/policy/index.js';
import { parseDecimal } from '../../../src/policy/numeric.js';
import { compareVersions, parseRange, parseStrictVersion, satisfies } from '../../../src/policy/semver.js';
import { compareShapes, parseShape } from '../../../src/policy/shape.js';
import type { TagInfo } from '../../../src/registry/types.js';

const WHERE = { labels: 'compose: labels', service: 'dosync.yaml: services.p', registry: 'dosync.yaml: registry.r' };

const small = fc.integer({ min: 0, max: 12 });
const versionTag = fc
  .tuple(
    fc.constantFrom('', 'v'),
    small,
    small,
    small,
    fc.integer({ min: 1, max: 3 }),
    fc.constantFrom('', '', '', '-rc.1', '-rc.2', '-beta', '-alpha.1'),
    fc.constantFrom('', '', '-alpine', '-bookworm'),
  )
  .map(([p, a, b, c, n, pre, variant]) => `${p}${[a, b, c].slice(0, n).join('.')}${pre}${variant}`);
const otherTag = fc.oneof(
  fc.constantFrom('latest', 'main', 'stable', 'sha-4f2a9c1', '20240601', 'nightly', '1.2.3.4', '0x10', '1e3'),
  fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,10}$/),
);
const tagName = fc.oneof({ weight: 3, arbitrary: versionTag }, { weight: 1, arbitrary: otherTag });
const pushedAt = fc.option(fc.integer({ min: 1_600_000_000_000, max: 1_600_000_100_000 }).map((ms) => new Date(ms)), { nil: undefined });
const tagInfos = fc.array(fc.record({ tag: tagName, pushedAt }, { requiredKeys: ['tag'] }), { maxLength: 40 }) as fc.Arbitrary<TagInfo[]>;

/** Filters written for the engine (Go syntax) with an equivalent JavaScript oracle. */
const includes: Array<[string, RegExp]> = [
  ['^v', /^v/],
  ['rc', /rc/],
  ['^\\d+\\.\\d+\\.\\d+$', /^\d+\.\d+\.\d+$/],
  ['(?i)ALPINE', /alpine/i],
  ['^[0-9]+$', /^[0-9]+$/],
];
const excludes: Array<[string, RegExp] | undefined> = [undefined, ['beta', /beta/], ['^v1\\.', /^v1\./]];
const rankings = ['semver:', 'semver:>=1 <5', 'numerical:desc', 'numerical:asc', 'alphabetical:desc', 'alphabetical:asc', 'newest'];

function explicitSources(include: [string, RegExp] | undefined, exclude: [string, RegExp] | undefined, ranking: string): PolicySources {
  const labels: Record<string, string> = { 'dosync.policy': ranking };
  if (include) labels['dosync.tag.include'] = include[0];
  if (exclude) labels['dosync.tag.exclude'] = exclude[0];
  return { labels };
}

function shuffled<T>(xs: T[], seed: number): T[] {
  const out = [...xs];
  let s = seed >>> 0 || 1;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** What the policy ranks a tag by: tags with the same key rank equal. */
function rankKey(kind: 'semver' | 'numerical', tag: string): string {
  if (kind === 'semver') {
    const v = parseStrictVersion(tag);
    return v ? `${v.major}.${v.minor}.${v.patch}-${v.pre}` : 'none';
  }
  return JSON.stringify(parseDecimal(tag));
}

describe('selection properties', () => {
  test('the selected tag always passes the include and exclude filters', () => {
    fc.assert(
      fc.property(tagInfos, fc.option(fc.constantFrom(...includes), { nil: undefined }), fc.constantFrom(...excludes), fc.constantFrom(...rankings), (tags, inc, exc, ranking) => {
        const s = selectTag(tags, 'unused', resolvePolicy(explicitSources(inc, exc, ranking), WHERE));
        if (s.selected === null) return;
        if (inc) assert.match(s.selected, inc[1]);
        if (exc) assert.doesNotMatch(s.selected, exc[1]);
        for (const c of s.candidates) {
          if (inc) assert.match(c.tag, inc[1]);
          if (exc) assert.doesNotMatch(c.tag, exc[1]);
        }
      }),
      { numRuns: 300 },
    );
  });

  test('semver: the selected tag satisfies the range and no satisfying tag is higher', () => {
    const ranges = ['', '>=1.0.0 <2.0.0', '^1.2.3', '~1.2', '1.x || 3.x', '>=2, !=2.1.0', '>=1.0.0-0 <4', '>5'];
    fc.assert(
      fc.property(tagInfos, fc.constantFrom(...ranges), (tags, range) => {
        const s = selectTag(tags, 'unused', resolvePolicy({ labels: { 'dosync.policy': `semver:${range}` } }, WHERE));
        const parsed = parseRange(range);
        const admitted = tags.map((t) => parseStrictVersion(t.tag)).filter((v) => v !== null && satisfies(v, parsed));
        if (s.selected === null) {
          assert.equal(admitted.length, 0);
          return;
        }
        const v = parseStrictVersion(s.selected)!;
        assert.ok(satisfies(v, parsed));
        for (const other of admitted) assert.ok(compareVersions(other!, v) <= 0, `${other!.original} > ${s.selected}`);
        // Independent check where npm semver reads the range the same way (plain x.y.z releases).
        const plain = /^v?\d+\.\d+\.\d+$/.test(s.selected);
        if (plain && ['>=1.0.0 <2.0.0', '^1.2.3', '~1.2', '>5'].includes(range)) assert.ok(npmSemver.satisfies(s.selected.replace(/^v/, ''), range));
      }),
      { numRuns: 300 },
    );
  });

  test('the selected tag heads the ranked list, and both lists survive JSON (they are built on first read)', () => {
    fc.assert(
      fc.property(tagInfos, fc.constantFrom(...rankings, 'default'), fc.constantFrom('1.2.3', 'v1.2.0', '2.0.0-alpine'), (tags, ranking, current) => {
        const s = selectTag(tags, current, resolvePolicy(ranking === 'default' ? {} : { labels: { 'dosync.policy': ranking } }, WHERE));
        if (s.kind !== 'tag') return;
        const head = s.candidates[0]?.tag;
        // The default falls back to the current tag when nothing newer qualifies; other policies select nothing.
        assert.equal(s.selected, head ?? (ranking === 'default' ? current : null));
        const json = JSON.parse(JSON.stringify(s)) as typeof s;
        assert.deepEqual(json.candidates, s.candidates);
        assert.deepEqual(json.dropped, s.dropped);
        assert.equal(s.candidates.length + s.dropped.length, new Set(tags.map((t) => t.tag)).size);
        for (const d of s.dropped) assert.ok(d.why.length > 0, `${d.tag} dropped without a reason`);
      }),
      { numRuns: 300 },
    );
  });

  test('the result does not depend on the order of the tags, except which of the tags that rank equal wins', () => {
    fc.assert(
      fc.property(tagInfos, fc.constantFrom(...rankings, 'default'), fc.integer(), fc.constantFrom('1.2.3', 'v1.2', '1.0.0-rc.1', '2.0.0-alpine'), (tags, ranking, seed, current) => {
        const policy = resolvePolicy(ranking === 'default' ? {} : { labels: { 'dosync.policy': ranking } }, WHERE);
        const a = selectTag(tags, current, policy);
        const b = selectTag(shuffled(tags, seed), current, policy);
        const kind = ranking.split(':')[0];
        if (kind === 'semver' || kind === 'numerical') {
          // Flux's tie rules follow the input order (first / last listed): the winner may change, its rank may not.
          assert.equal(a.selected === null, b.selected === null);
          if (a.selected !== null) assert.equal(rankKey(kind, b.selected!), rankKey(kind, a.selected));
          assert.deepEqual(b.candidates.map((c) => c.tag).sort(), a.candidates.map((c) => c.tag).sort());
          assert.equal(b.reason.replace(String(b.selected), 'X'), a.reason.replace(String(a.selected), 'X'));
        } else {
          assert.equal(b.selected, a.selected);
          assert.deepEqual(b.candidates, a.candidates);
          assert.equal(b.reason, a.reason);
        }
      }),
      { numRuns: 300 },
    );
  });

  test('of the tags that rank equal, semver picks the first listed and numerical the last (Flux)', () => {
    const pool = ['1.2.3', 'v1.2.3', '1.2.3+a', 'v1.2.3+b', '1.2.2', '7', '007', '7.0', '7e0', '6', 'x'];
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...pool), { maxLength: 12 }), fc.constantFrom('semver', 'numerical:desc', 'numerical:asc'), (names, ranking) => {
        const kind = ranking.split(':')[0] as 'semver' | 'numerical';
        const s = selectTag(names.map((tag) => ({ tag })), 'unused', resolvePolicy({ labels: { 'dosync.policy': ranking } }, WHERE));
        if (s.selected === null) return;
        const listed = [...new Set(names)];
        const equal = listed.filter((t) => rankKey(kind, t) === rankKey(kind, s.selected!));
        assert.equal(s.selected, kind === 'semver' ? equal[0] : equal[equal.length - 1], `${ranking} over ${listed.join(', ')}`);
        assert.equal(s.candidates[0].tag, s.selected);
      }),
      { numRuns: 300 },
    );
  });

  test('the default never crosses the major version, never picks a new prerelease, never downgrades', () => {
    const current = fc.oneof(versionTag, fc.constantFrom('0.3.1', '2024.01.09', '1.2.3-1', '16-alpine', 'latest'));
    fc.assert(
      fc.property(tagInfos, current, fc.constantFrom<'minor' | 'patch' | undefined>(undefined, 'minor', 'patch'), (tags, cur, update) => {
        const s = selectTag(tags, cur, resolvePolicy(update ? { service: { update } } : {}, WHERE));
        const c = parseShape(cur);
        if (s.kind === 'digest') {
          assert.equal(s.selected, cur);
          return;
        }
        assert.equal(s.kind, 'tag');
        assert.ok(c, `${cur} should be a version when the default picks a tag`);
        const sel = parseShape(s.selected!)!;
        assert.equal(sel.prefix, c.prefix);
        assert.equal(sel.parts.length, c.parts.length);
        assert.equal(sel.variant, c.variant);
        assert.equal(sel.nums[0], c.nums[0], `crossed the major: ${cur} -> ${s.selected}`);
        if (update === 'patch' || c.nums[0] === '0') assert.equal(sel.nums[1], c.nums[1]);
        if (!c.pre) assert.equal(sel.pre, null);
        assert.ok(compareShapes(sel, c) >= 0, `downgrade: ${cur} -> ${s.selected}`);
        // ... and nothing better of the same shape was left out.
        for (const t of tags) {
          const x = parseShape(t.tag);
          if (x && x.prefix === c.prefix && x.variant === c.variant && x.parts.length === c.parts.length && x.nums[0] === c.nums[0] && !x.pre && !c.pre && !x.revision && !c.revision && x.parts.every((p, i) => p.length === c.parts[i].length || (!p.startsWith('0') && !c.parts[i].startsWith('0'))) && (update !== 'patch' && c.nums[0] !== '0' ? true : x.nums[1] === c.nums[1])) {
            assert.ok(compareShapes(x, sel) <= 0, `${t.tag} beats ${s.selected} for ${cur}`);
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  test('explicit policies rank candidates best first and account for every tag once', () => {
    fc.assert(
      fc.property(tagInfos, fc.constantFrom(...rankings), (tags, ranking) => {
        const s = selectTag(tags, 'unused', resolvePolicy({ labels: { 'dosync.policy': ranking } }, WHERE));
        const all = [...s.candidates.map((c) => c.tag), ...s.dropped.map((d) => d.tag)].sort();
        assert.deepEqual(all, [...new Set(tags.map((t) => t.tag))].sort());
        assert.equal(s.selected, s.candidates[0]?.tag ?? null);
      }),
      { numRuns: 200 },
    );
  });
});
