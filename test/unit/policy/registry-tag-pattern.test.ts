/**
 * DOSync's `registry.<family>.tag_pattern`: filters the tags of every image of that registry, below labels,
 * `services.<name>` and the registry's own imagePolicy filter in precedence.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { resolvePolicy, selectTag, type PolicySources } from '../../../src/policy/index.js';
import { compileGoRegex, matchesGo, tagPatternToGoRegex } from '../../../src/policy/goregex.js';
import { parseRegistryConfig } from '../../../src/registry/config.js';
import { ConfigError } from '../../../src/util/errors.js';

const WHERE = { labels: 'docker-compose.yml: services.web.labels', service: 'dosync.yaml: services.web', registry: 'dosync.yaml: registry.custom' };
const resolve = (s: PolicySources) => resolvePolicy(s, WHERE);
const TAGS = ['main-1.0.0', 'main-1.2.0', 'main-2.0.0', 'dev-1.9.0', '1.5.0', 'staging-3', 'staging-10'];
const pick = (s: PolicySources, current: string, tags = TAGS) => selectTag(tags.map((tag) => ({ tag })), current, resolve(s)).selected;

describe('tag_pattern: a glob, or a prefix when it has no wildcard', () => {
  const cases: Array<[string, string, boolean]> = [
    ['main-', 'main-1.2.0', true],
    ['main-', 'main-', true],
    ['main-', 'xmain-1', false], // a prefix, not a substring
    ['main-', 'dev-1', false],
    ['1.2', '1.2.5', true],
    ['1.2', '1x2.5', false], // dots are literal
    ['staging-*', 'staging-10', true],
    ['staging-*', 'prod-staging-10', false],
    ['v?', 'v1', true],
    ['v?', 'v10', false], // a glob covers the whole tag
  ];
  for (const [pattern, tag, expected] of cases) {
    test(`${pattern} ${expected ? 'matches' : 'does not match'} ${tag}`, () => assert.equal(matchesGo(compileGoRegex(tagPatternToGoRegex(pattern)), tag), expected));
  }
});

describe('registry tag_pattern in the policy precedence', () => {
  test('alone: filters the registry\'s tags under the default ranking', () => {
    const p = resolve({ registry: { tag_pattern: 'main-' } });
    assert.equal(p.source, 'registry');
    assert.equal(p.filter.include?.source, '^main-');
    assert.match(p.describe, /include \/\^main-\/ \(dosync\.yaml: registry\.custom\.tag_pattern\)$/);
    assert.equal(pick({ registry: { tag_pattern: 'main-' } }, 'main-1.0.0'), 'main-1.2.0');
    // Unfiltered, alphabetical would pick zeta.
    assert.equal(pick({ registry: { tag_pattern: 'staging-*', imagePolicy: { policy: { alphabetical: {} } } } }, 'staging-10', ['staging-3', 'staging-10', 'zeta']), 'staging-3');
  });
  test('combines with the registry imagePolicy ranking', () => {
    const sources = { registry: { tag_pattern: 'main-', imagePolicy: { policy: { alphabetical: {} } } } };
    const p = resolve(sources);
    assert.match(p.describe, /^alphabetical desc .*\(dosync\.yaml: registry\.custom\.imagePolicy\); include \/\^main-\/ \(dosync\.yaml: registry\.custom\.tag_pattern\)$/);
    assert.equal(pick(sources, 'main-1.0.0'), 'main-2.0.0');
  });
  test('the registry imagePolicy filter wins over tag_pattern', () => {
    const sources = { registry: { tag_pattern: 'main-', imagePolicy: { filterTags: { pattern: '^dev-' }, policy: { alphabetical: {} } } } };
    assert.equal(resolve(sources).filter.include?.source, '^dev-');
    assert.equal(pick(sources, 'dev-1.9.0'), 'dev-1.9.0');
  });
  test('a service tagPattern or imagePolicy filter wins over the registry tag_pattern', () => {
    const registry = { tag_pattern: 'main-' };
    assert.equal(resolve({ registry, service: { tagPattern: 'staging-*' } }).filter.include?.source, '^staging-.*$');
    const svc = resolve({ registry, service: { imagePolicy: { filterTags: { pattern: '^dev-' } } } });
    assert.deepEqual([svc.filter.include?.source, svc.source], ['^dev-', 'service']);
    // A service that only ranks keeps the registry's filter.
    const ranked = resolve({ registry, service: { update: 'major' } });
    assert.deepEqual([ranked.filter.include?.source, ranked.source], ['^main-', 'service']);
    assert.equal(pick({ registry, service: { update: 'major' } }, 'main-1.0.0'), 'main-2.0.0');
  });
  test('a label include wins; a label exclude combines with it', () => {
    const registry = { tag_pattern: 'main-' };
    assert.equal(resolve({ registry, labels: { 'dosync.tag.include': '^dev-' } }).filter.include?.source, '^dev-');
    const both = resolve({ registry, labels: { 'dosync.tag.exclude': '^main-2' } });
    assert.deepEqual([both.filter.include?.source, both.filter.exclude?.source], ['^main-', '^main-2']);
    assert.equal(pick({ registry, labels: { 'dosync.tag.exclude': '^main-2', 'dosync.update': 'major' } }, 'main-1.0.0'), 'main-1.2.0');
  });
  test('labels that turn updates off still do', () => {
    assert.equal(resolve({ registry: { tag_pattern: 'main-' }, labels: { 'dosync.enable': 'false' } }).enabled, false);
  });
  test('an empty tag_pattern filters nothing', () => {
    assert.equal(resolve({ registry: { tag_pattern: '' } }).filter.include, undefined);
  });
  test('a non-string tag_pattern is a one-line ConfigError naming the field', () => {
    assert.throws(() => resolve({ registry: { tag_pattern: 5 as unknown as string } }),
      (e: unknown) => e instanceof ConfigError && e.message === 'dosync.yaml: registry.custom.tag_pattern: must be a string (quote it in YAML)');
  });
});

describe('registry config: tag_pattern beside an imagePolicy filter', () => {
  const warningsOf = (entry: Record<string, unknown>) => parseRegistryConfig({ ghcr: entry }).warnings;
  test('warns that tag_pattern is ignored when the imagePolicy filters (any key spelling)', () => {
    for (const policy of [{ filterTags: { pattern: '^v' } }, { filter_tags: { Pattern: '^v' } }, { tagPattern: 'v*' }]) {
      assert.deepEqual(warningsOf({ tag_pattern: 'main-', image_policy: policy }), ['dosync.yaml: registry.ghcr.tag_pattern: ignored, the imagePolicy already filters tags; keep one of them']);
    }
  });
  test('no warning when the imagePolicy only ranks', () => {
    assert.deepEqual(warningsOf({ tag_pattern: 'main-', imagePolicy: { policy: { semver: { range: '>=1' } } } }), []);
    assert.deepEqual(warningsOf({ tag_pattern: 'main-' }), []);
  });
});
