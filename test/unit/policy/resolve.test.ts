import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { imagePolicySchema, resolvePolicy, type PolicySources } from '../../../src/policy/index.js';
import { ConfigError } from '../../../src/util/errors.js';

const WHERE = { labels: 'docker-compose.yml: services.web.labels', service: 'dosync.yaml: services.web', registry: 'dosync.yaml: registry.ghcr' };
const resolve = (s: PolicySources) => resolvePolicy(s, WHERE);

describe('where policies attach: most specific wins', () => {
  const semver = (range: string) => ({ imagePolicy: { policy: { semver: { range } } } });
  test('nothing configured: the default', () => {
    const p = resolve({});
    assert.deepEqual([p.enabled, p.source, p.mode, p.ranking.kind], [true, 'default', 'tag', 'default']);
    assert.match(p.describe, /^default: newest version of the same tag shape within the current major$/);
  });
  test('registry imagePolicy applies when nothing more specific is set', () => {
    const p = resolve({ registry: semver('>=1 <2') });
    assert.equal(p.source, 'registry');
    assert.equal(p.describe, 'semver >=1 <2 (dosync.yaml: registry.ghcr.imagePolicy)');
  });
  test('service beats registry', () => {
    const p = resolve({ service: semver('~2'), registry: semver('>=1 <2') });
    assert.equal(p.source, 'service');
    assert.match(p.describe, /^semver ~2 /);
  });
  test('service update shorthand beats a registry policy', () => {
    const p = resolve({ service: { update: 'patch' }, registry: semver('>=1') });
    assert.deepEqual([p.source, p.ranking], ['service', { kind: 'default', reach: 'patch' }]);
  });
  test('labels beat service and registry', () => {
    const p = resolve({ labels: { 'dosync.policy': 'semver:>=1.2 <2' }, service: semver('~2'), registry: semver('>=1') });
    assert.equal(p.source, 'label');
    assert.equal(p.describe, 'semver >=1.2 <2 (label dosync.policy)');
  });
  test('a label filter combines with the ranking of a less specific level', () => {
    const p = resolve({ labels: { 'dosync.tag.include': '^v' }, service: semver('>=1') });
    assert.equal(p.source, 'service');
    assert.equal(p.filter.include?.source, '^v');
    assert.match(p.describe, /include \/\^v\/ \(label dosync\.tag\.include\)/);
  });
  test('the include pattern and its extract template travel together', () => {
    const p = resolve({
      labels: { 'dosync.tag.include': '^b-(?P<n>\\d+)$' },
      service: { imagePolicy: { filterTags: { pattern: '^x-(?P<ts>\\d+)$', extract: '$ts' }, policy: { numerical: {} } } },
    });
    assert.equal(p.filter.include?.source, '^b-(?P<n>\\d+)$');
    assert.equal(p.filter.extract, undefined);
  });
});

describe('turning updates off', () => {
  const cases: Array<[string, PolicySources, boolean, string]> = [
    ['dosync.enable=false', { labels: { 'dosync.enable': 'false' } }, false, 'label dosync.enable'],
    ['watchtower label', { labels: { 'com.centurylinklabs.watchtower.enable': 'false' } }, false, 'label com.centurylinklabs.watchtower.enable'],
    ['wud.watch=false', { labels: { 'wud.watch': 'false' } }, false, 'label wud.watch'],
    ['skip: true', { service: { skip: true } }, false, 'dosync.yaml: services.web.skip'],
    ['update: none', { service: { update: 'none' } }, false, 'dosync.yaml: services.web.update'],
    ['dosync.update=none', { labels: { 'dosync.update': 'none' } }, false, 'label dosync.update'],
    ['dosync.enable=true beats skip: true', { labels: { 'dosync.enable': 'true' }, service: { skip: true } }, true, ''],
    ['dosync.enable=true beats the watchtower label', { labels: { 'dosync.enable': 'TRUE', 'com.centurylinklabs.watchtower.enable': 'false' } }, true, ''],
    ['watchtower enable=true changes nothing', { labels: { 'com.centurylinklabs.watchtower.enable': 'true' } }, true, ''],
  ];
  for (const [name, sources, enabled, origin] of cases) {
    test(name, () => {
      const p = resolve(sources);
      assert.equal(p.enabled, enabled);
      assert.equal(p.mode, enabled ? 'tag' : 'none');
      if (!enabled) assert.equal(p.describe, `updates disabled (${origin})`);
    });
  }
  test('update: digest tracks the digest only', () => {
    const p = resolve({ labels: { 'dosync.update': 'digest' } });
    assert.deepEqual([p.enabled, p.mode], [true, 'digest']);
  });
});

describe('label shorthand', () => {
  const cases: Array<[string, string]> = [
    ['semver:>=1.2 <2', 'semver >=1.2 <2'],
    ['semver', 'semver (any version)'],
    ['SEMVER:~1.2', 'semver ~1.2'],
    ['numerical:asc', 'numerical asc (lowest wins)'],
    ['numerical', 'numerical desc (highest wins)'],
    ['alphabetical:desc', 'alphabetical desc (last in byte order wins)'],
    ['newest', 'newest (most recently pushed wins)'],
  ];
  for (const [label, describe] of cases) {
    test(`dosync.policy=${label}`, () => assert.equal(resolve({ labels: { 'dosync.policy': label } }).describe, `${describe} (label dosync.policy)`));
  }
  test('dosync.update levels', () => {
    for (const level of ['patch', 'minor', 'major'] as const) {
      assert.deepEqual(resolve({ labels: { 'dosync.update': level } }).ranking, { kind: 'default', reach: level });
    }
  });
});

describe('DOSync spellings', () => {
  test('image_policy, filter_tags and case-insensitive keys are accepted', () => {
    const p = resolve({ registry: { image_policy: { Filter_Tags: { Pattern: '^v' }, POLICY: { SemVer: { Range: '>=1' } } } } });
    assert.equal(p.filter.include?.source, '^v');
    assert.equal(p.describe, 'semver >=1 (dosync.yaml: registry.ghcr.image_policy); include /^v/ (dosync.yaml: registry.ghcr.image_policy)');
  });
  test('the schema is exported for config code', () => {
    assert.equal(imagePolicySchema.safeParse({ policy: { numerical: { order: 'asc' } } }).success, true);
    assert.equal(imagePolicySchema.safeParse({ policy: { numerical: { order: 'up' } } }).success, false);
  });
});

describe('invalid policies are rejected with file, key path and reason', () => {
  const cases: Array<[string, PolicySources, RegExp]> = [
    ['bad range', { registry: { imagePolicy: { policy: { semver: { range: '>=1.0 <<2' } } } } }, /^dosync\.yaml: registry\.ghcr\.imagePolicy\.policy\.semver\.range: invalid semver range ">=1\.0 <<2": improper constraint/],
    ['bad range (snake case block)', { service: { image_policy: { policy: { semver: { range: 'foo' } } } } }, /^dosync\.yaml: services\.web\.image_policy\.policy\.semver\.range: invalid semver range/],
    ['range given as a number', { service: { imagePolicy: { policy: { semver: { range: 1.1 } } } } }, /^dosync\.yaml: services\.web\.imagePolicy\.policy\.semver\.range: range must be a string \(quote it in YAML\)$/],
    ['bad regex', { service: { imagePolicy: { filterTags: { pattern: '^main-(?=x)' }, policy: { numerical: {} } } } }, /^dosync\.yaml: services\.web\.imagePolicy\.filterTags\.pattern: invalid regular expression "\^main-\(\?=x\)": invalid or unsupported Perl syntax/],
    ['unknown order', { service: { imagePolicy: { policy: { alphabetical: { order: 'newest' } } } } }, /^dosync\.yaml: services\.web\.imagePolicy\.policy\.alphabetical\.order: order must be asc or desc$/],
    ['two policy kinds', { service: { imagePolicy: { policy: { semver: { range: '' }, numerical: {} } } } }, /^dosync\.yaml: services\.web\.imagePolicy\.policy: choose one policy kind, found semver and numerical$/],
    ['no policy kind', { service: { imagePolicy: { policy: {} } } }, /^dosync\.yaml: services\.web\.imagePolicy\.policy: needs one of semver, numerical, alphabetical or newest$/],
    ['unknown key', { service: { imagePolicy: { filterTags: { patern: 'x' } } } }, /^dosync\.yaml: services\.web\.imagePolicy\.filterTags: unknown key "patern"$/],
    ['unknown policy kind', { service: { imagePolicy: { policy: { regex: {} } } } }, /^dosync\.yaml: services\.web\.imagePolicy\.policy: unknown key "regex"$/],
    ['both spellings', { service: { imagePolicy: {}, image_policy: {} } }, /^dosync\.yaml: services\.web: set either imagePolicy or image_policy, not both$/],
    ['pattern and tagPattern', { service: { imagePolicy: { tagPattern: 'v*', filterTags: { pattern: '^v' } } } }, /set either filterTags\.pattern or tagPattern, not both/],
    ['extract without pattern', { service: { imagePolicy: { filterTags: { extract: '$ts' }, policy: { numerical: {} } } } }, /filterTags\.extract: an extract template needs filterTags\.pattern/],
    ['extract of an unknown group', { service: { imagePolicy: { filterTags: { pattern: '^(?P<ts>\\d+)$', extract: '$semver' }, policy: { semver: {} } } } }, /filterTags\.extract: "\$semver" refers to \$semver, which the pattern does not define/],
    ['extract without a group reference', { service: { imagePolicy: { filterTags: { pattern: '^b-(?P<ts>\\d+)$', extract: 'ts' }, policy: { numerical: {} } } } }, /filterTags\.extract: "ts" refers to no group, so every tag would get the same value \(did you mean \$ts\?\)$/],
    ['extract with the default ranking', { labels: { 'dosync.tag.include': '^v(?P<n>\\d+)$', 'dosync.tag.extract': '$n' } }, /^docker-compose\.yml: services\.web\.labels\["dosync\.tag\.extract"\]: an extract template needs a policy/],
    ['update and policy at one level', { service: { update: 'minor', imagePolicy: { policy: { numerical: {} } } } }, /^dosync\.yaml: services\.web: set either update: minor or an imagePolicy policy, not both$/],
    ['bad update', { service: { update: 'latest' as never } }, /^dosync\.yaml: services\.web\.update: must be one of patch, minor, major, digest, none$/],
    ['bad label boolean', { labels: { 'dosync.enable': 'nope' } }, /^docker-compose\.yml: services\.web\.labels\["dosync\.enable"\]: "nope" is not true or false$/],
    ['bad label update', { labels: { 'dosync.update': 'weekly' } }, /labels\["dosync\.update"\]: must be one of/],
    ['unknown label policy', { labels: { 'dosync.policy': 'regex:^v' } }, /labels\["dosync\.policy"\]: unknown policy "regex:\^v"/],
    ['bad label range', { labels: { 'dosync.policy': 'semver:>>1' } }, /labels\["dosync\.policy"\]: invalid semver range ">>1"/],
    ['bad label order', { labels: { 'dosync.policy': 'numerical:up' } }, /labels\["dosync\.policy"\]: order "up" must be asc or desc/],
    ['bad label regex', { labels: { 'wud.tag.include': '^(\\d+)\\1' } }, /labels\["wud\.tag\.include"\]: invalid regular expression/],
    ['label policy and update together', { labels: { 'dosync.policy': 'newest', 'dosync.update': 'major' } }, /set either dosync\.update or dosync\.policy, not both/],
  ];
  for (const [name, sources, message] of cases) {
    test(name, () => {
      assert.throws(() => resolve(sources), (err: unknown) => {
        assert.ok(err instanceof ConfigError, String(err));
        assert.match(err.message, message);
        assert.equal(err.message.includes('\n'), false);
        return true;
      });
    });
  }
});
