// Every image-policy example of DOSync's README (the compatibility contract), as it is written there.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parse as parseYaml } from 'yaml';
import { resolvePolicy, selectTag } from '../../../src/policy/index.js';

const WHERE = { labels: 'docker-compose.yml: services.app.labels', service: 'dosync.yaml: services.app', registry: 'dosync.yaml: registry.ghcr' };

/** Runs a policy written as in the README (YAML text under `imagePolicy:`), attached at the registry level as DOSync does. */
function run(yamlText: string, tags: string[], current = 'unused') {
  const doc = parseYaml(yamlText) as { imagePolicy: unknown };
  const policy = resolvePolicy({ registry: { imagePolicy: doc.imagePolicy } }, WHERE);
  return selectTag(tags.map((tag) => ({ tag })), current, policy);
}

describe('DOSync README image policy examples', () => {
  test('numerical: main-hash-timestamp, highest timestamp', () => {
    const s = run(
      `imagePolicy:
  filterTags:
    pattern: '^main-[a-zA-F0-9]+-(?P<ts>\\d+)$' # Match format: main-hash-timestamp
    extract: '$ts' # Extract the timestamp value
  policy:
    numerical:
      order: desc # Select highest number (newest)`,
      ['main-abc123-100', 'main-def456-200', 'main-ghi789-150'],
    );
    assert.equal(s.selected, 'main-def456-200');
    assert.deepEqual(s.candidates.map((c) => c.value), ['200', '150', '100']);
  });

  test('semver without constraints: empty range means any valid semver', () => {
    const s = run(
      `imagePolicy:
  policy:
    semver: # Select highest semver without constraints
      range: '' # Empty means any valid semver`,
      ['v1.2.3', 'v1.10.0', 'latest', 'v0.9.9'],
    );
    assert.equal(s.selected, 'v1.10.0');
    assert.deepEqual(s.dropped, [{ tag: 'latest', value: 'latest', why: '"latest" is not a semantic version' }]);
  });

  test('semver >=1.0.0 <2.0.0 picks v1.2.4 from v1.2.3, v1.2.4, v2.0.0, v2.0.0-rc1', () => {
    const s = run(
      `imagePolicy:
  policy:
    semver:
      range: '>=1.0.0 <2.0.0' # Only select from 1.x versions`,
      ['v1.2.3', 'v1.2.4', 'v2.0.0', 'v2.0.0-rc1'],
    );
    assert.equal(s.selected, 'v1.2.4');
    assert.deepEqual(s.dropped.map((d) => d.tag).sort(), ['v2.0.0', 'v2.0.0-rc1']);
  });

  test('semver extracted from v<semver>(-suffix): the value ranks, the original tag wins', () => {
    const s = run(
      `imagePolicy:
  filterTags:
    pattern: '^v(?P<semver>[0-9]+\\.[0-9]+\\.[0-9]+)(-[a-z]+)?$'
    extract: '$semver'
  policy:
    semver:
      range: '>=1.0.0'`,
      ['v0.9.0', 'v1.2.10', 'v1.3.0-beta', 'v1.3.0', 'v1.3.0-rc.1', 'release-2.0.0'],
    );
    // v1.3.0-beta and v1.3.0 both extract 1.3.0: the last listed wins, as in Flux's tag filter.
    assert.equal(s.selected, 'v1.3.0');
    assert.deepEqual(s.candidates.map((c) => c.tag), ['v1.3.0', 'v1.3.0-beta', 'v1.2.10']);
    assert.ok(s.dropped.some((d) => d.tag === 'v1.3.0-rc.1' && /does not match/.test(d.why)));
  });

  test('alphabetical desc: RELEASE.<date>Z picks the latest date', () => {
    const s = run(
      `imagePolicy:
  filterTags:
    pattern: '^RELEASE\\.(?P<timestamp>.*)Z$' # Match format: RELEASE.2024-01-01T00-00-00Z
    extract: '$timestamp' # Extract the timestamp portion
  policy:
    alphabetical:
      order: desc # Select alphabetically highest (newest)`,
      ['RELEASE.2024-06-01T12-00-00Z', 'RELEASE.2024-06-02T12-00-00Z'],
    );
    assert.equal(s.selected, 'RELEASE.2024-06-02T12-00-00Z');
  });

  test('build pipeline tags with git SHA and timestamp', () => {
    const s = run(
      `imagePolicy:
  filterTags:
    pattern: '^main-[a-fA-F0-9]+-(?P<ts>\\d+)$'
    extract: '$ts'
  policy:
    numerical:
      order: desc # Highest timestamp wins`,
      ['main-abc1234-1718435261', 'main-0ff1ce9-1718435999', 'main-zzz1234-1718439999', 'dev-abc1234-1718499999'],
    );
    assert.equal(s.selected, 'main-0ff1ce9-1718435999');
    assert.equal(s.dropped.length, 2);
  });

  test('semantic versioning tags: >=1.0.0', () => {
    const s = run(`imagePolicy:\n  policy:\n    semver:\n      range: '>=1.0.0' # Any version 1.0.0 or higher`, ['v0.9.0', 'v1.2.3', 'v3.0.0', 'v3.1.0-rc.1']);
    assert.equal(s.selected, 'v3.0.0');
  });

  test('only stable 1.x versions', () => {
    const s = run(`imagePolicy:\n  policy:\n    semver:\n      range: '>=1.0.0 <2.0.0' # Only 1.x versions`, ['1.0.0', '1.9.9', '1.10.0-rc.1', '2.0.0']);
    assert.equal(s.selected, '1.9.9');
  });

  test('including pre-releases: >=1.0.0-0', () => {
    const s = run(`imagePolicy:\n  policy:\n    semver:\n      range: '>=1.0.0-0' # Include pre-releases`, ['1.0.0', '1.1.0-rc.1', '0.9.0-rc.9']);
    assert.equal(s.selected, '1.1.0-rc.1');
  });

  test('only release candidates: filter .*-rc.* with an empty range', () => {
    const s = run(
      `imagePolicy:\n  filterTags:\n    pattern: '.*-rc.*'\n  policy:\n    semver:\n      range: ''`,
      ['1.0.0', '1.1.0-rc.1', '1.1.0-rc.2', '1.2.0', '1.1.0-beta.1'],
    );
    assert.equal(s.selected, '1.1.0-rc.2');
  });

  test('semver extracted from 1.2.3-alpine3.17 style tags: the highest such tag', () => {
    const s = run(
      `imagePolicy:
  filterTags:
    pattern: '^(?P<semver>[0-9]*\\.[0-9]*\\.[0-9]*)-.*'
    extract: '$semver'
  policy:
    semver:
      range: '>=1.0.0'`,
      ['1.2.3-alpine3.17', '1.10.0-alpine3.18', '0.9.9-alpine3.16', '2.0.0-alpine3.19', '2.1.0', 'latest'],
    );
    assert.equal(s.selected, '2.0.0-alpine3.19');
  });

  test('date-based releases (Minio) with order: asc — asc is lowest-first in DOSync, so the earliest date wins', () => {
    const s = run(
      `imagePolicy:
  filterTags:
    pattern: '^RELEASE\\.(?P<timestamp>.*)Z$'
    extract: '$timestamp'
  policy:
    alphabetical:
      order: asc # Ascending for dates in this format`,
      ['RELEASE.2023-01-31T08-42-01Z', 'RELEASE.2023-03-20T20-16-18Z', 'RELEASE.2022-12-12T19-27-27Z'],
    );
    assert.equal(s.selected, 'RELEASE.2022-12-12T19-27-27Z');
  });

  test('registry dockerhub example: ^main- with numerical desc ranks whole tags, which are not numbers', () => {
    const s = run(
      `imagePolicy: # Optional image policy configuration
  filterTags:
    pattern: '^main-' # Only consider tags starting with 'main-'
  policy:
    numerical:
      order: desc # Select the highest numerical value`,
      ['main-1', 'main-2', 'dev-3'],
    );
    assert.equal(s.kind, 'tag');
    assert.equal(s.selected, null);
    assert.match(s.reason, /no tag qualifies/);
    assert.match(s.reason, /2 not a number/);
    assert.match(s.reason, /1 not matching \/\^main-\//);
  });

  test('registry ghcr example: ^v(?P<semver>...)$ with $semver and >=1.0.0 <2.0.0', () => {
    const s = run(
      `imagePolicy:
  filterTags:
    pattern: '^v(?P<semver>[0-9]+\\.[0-9]+\\.[0-9]+)$'
    extract: '$semver'
  policy:
    semver:
      range: '>=1.0.0 <2.0.0' # Only use 1.x versions`,
      ['v1.0.0', 'v1.4.2', 'v2.0.0', 'v1.5.0-rc1', '1.9.0'],
    );
    assert.equal(s.selected, 'v1.4.2');
  });
});
