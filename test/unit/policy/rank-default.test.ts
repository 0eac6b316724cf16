// The default policy (src/policy/rank-default.ts): no imagePolicy, the running tag's shape within the reach of update:.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { resolvePolicy, selectTag, type UpdateLevel } from '../../../src/policy/index.js';

const WHERE = { labels: 'docker-compose.yml: services.app.labels', service: 'dosync.yaml: services.app', registry: 'dosync.yaml: registry.custom' };
const tags = (...xs: string[]) => xs.map((tag) => ({ tag }));

function pick(current: string, available: string[], update?: UpdateLevel) {
  const policy = resolvePolicy(update ? { service: { update } } : {}, WHERE);
  return selectTag(tags(...available), current, policy);
}

/** [current, available tags, update level, expected kind, expected selection] */
const cases: Array<[string, string[], UpdateLevel | undefined, 'tag' | 'digest' | 'none', string | null]> = [
  // plain semver-shaped tags: stay within the major, never a prerelease, never down
  ['1.0.0', ['1.0.0', '1.1.0', '2.0.0'], undefined, 'tag', '1.1.0'],
  ['1.0.0', ['1.0.0', '1.0.1', '1.1.0-rc1', '1.1.0-beta.2'], undefined, 'tag', '1.0.1'],
  ['1.2.3', ['1.2.2', '1.1.9', '0.9.0'], undefined, 'tag', '1.2.3'],
  ['1.2.3', [], undefined, 'tag', '1.2.3'],
  ['1.9.0', ['1.10.0', '1.9.1'], undefined, 'tag', '1.10.0'],
  // suffix variants stay on their variant
  ['1.25.3-bookworm', ['1.25.4-bookworm', '1.26.0-bookworm', '1.26.1-alpine', '1.27.0', '2.0.0-bookworm'], undefined, 'tag', '1.26.0-bookworm'],
  ['1.25.3-alpine', ['1.25.4-alpine3.19', '1.25.4-alpine'], undefined, 'tag', '1.25.4-alpine'],
  // component count is part of the shape
  ['16.1-alpine', ['16.2-alpine', '16.2.1-alpine', '17.0-alpine'], undefined, 'tag', '16.2-alpine'],
  ['16-alpine', ['16.1-alpine', '17-alpine'], undefined, 'digest', '16-alpine'],
  ['16-alpine', ['16.1-alpine', '17-alpine'], 'major', 'tag', '17-alpine'],
  ['16', ['17', '16.1'], undefined, 'digest', '16'],
  // prefixes
  ['v1.2', ['v1.3', '1.4', 'v2.0', 'v1.3.1'], undefined, 'tag', 'v1.3'],
  ['release-1.2.3', ['release-1.3.0', '1.4.0', 'rel-1.5.0'], undefined, 'tag', 'release-1.3.0'],
  // update levels
  ['1.2.3', ['1.2.4', '1.3.0', '2.0.0'], 'patch', 'tag', '1.2.4'],
  ['1.2.3', ['1.2.4', '1.3.0', '2.0.0'], 'minor', 'tag', '1.3.0'],
  ['1.2.3', ['1.2.4', '1.3.0', '2.0.0'], 'major', 'tag', '2.0.0'],
  ['1.25', ['1.26', '1.25.1'], 'patch', 'digest', '1.25'],
  ['1.2.3', ['1.2.4'], 'digest', 'digest', '1.2.3'],
  ['1.2.3', ['1.2.4'], 'none', 'none', null],
  // 0.x: the minor is the breaking boundary
  ['0.3.1', ['0.3.5', '0.4.0', '1.0.0'], undefined, 'tag', '0.3.5'],
  ['0.3.1', ['0.3.5', '0.4.0', '1.0.0'], 'major', 'tag', '1.0.0'],
  ['0.9', ['0.10', '0.9'], undefined, 'digest', '0.9'],
  // calendar versions: the year is the major; zero padding must match
  ['2024.01.09', ['2024.01.10', '2024.1.11', '2024.02.01', '2025.01.01'], undefined, 'tag', '2024.02.01'],
  ['2024.6.1', ['2024.7.0', '2024.10.2', '2025.1.0'], undefined, 'tag', '2024.10.2'],
  // build revisions
  ['1.2.3-1', ['1.2.3-2', '1.2.4-1', '1.2.5', '1.3.0-rc1'], undefined, 'tag', '1.2.4-1'],
  ['1.2.3-r5', ['1.2.3-r6', '1.2.3-6'], undefined, 'tag', '1.2.3-r6'],
  // prereleases: only when the current tag is one; never below it
  ['1.2.3-rc1', ['1.2.3-rc2', '1.2.3-beta3'], undefined, 'tag', '1.2.3-rc2'],
  ['1.2.3-rc1', ['1.2.3-rc2', '1.2.3'], undefined, 'tag', '1.2.3'],
  ['2.0.0-beta.1', ['2.0.0-alpha.9', '2.0.0-beta.2', '2.0.0-rc.1', '2.1.0-alpha'], undefined, 'tag', '2.1.0-alpha'],
  ['3.12.5-slim', ['3.12.6-slim', '3.13.0rc2-slim', '3.13.0-slim', '4.0.0-slim'], undefined, 'tag', '3.13.0-slim'],
  // non-version tags follow their digest
  ['latest', ['1.0.0', '2.0.0'], undefined, 'digest', 'latest'],
  ['stable', ['1.0.0'], 'major', 'digest', 'stable'],
  ['main', ['main-1', '1.0.0'], undefined, 'digest', 'main'],
  ['sha-4f2a9c1', ['sha-9a8b7c6'], undefined, 'digest', 'sha-4f2a9c1'],
  ['4f2a9c1', ['9f2a9c1', '5a2a9c1'], undefined, 'digest', '4f2a9c1'],
  // tags of one shape that rank equal: the first in byte order, in any input order
  ['1.2.3-rc0', ['1.2.3-rc1', '1.2.3-RC1'], undefined, 'tag', '1.2.3-RC1'],
  ['1.2.3-rc0', ['1.2.3-RC1', '1.2.3-rc1'], undefined, 'tag', '1.2.3-RC1'],
  // the default keeps its shape rules: partial versions move within their shape, not as semver
  ['1.2', ['1.3', '1.2.9', '2.0'], undefined, 'tag', '1.3'],
  ['200', ['201', '200.1'], 'major', 'tag', '201'],
  // a sha-like tag in the list never passes for a version
  ['1.0.0', ['1.0.0', '1.0.1', 'deadbeef', '1234abcd'], undefined, 'tag', '1.0.1'],
];

describe('default policy', () => {
  for (const [current, available, update, kind, selected] of cases) {
    test(`${current} among [${available.join(', ')}]${update ? ` (update: ${update})` : ''} -> ${kind} ${selected}`, () => {
      const s = pick(current, available, update);
      assert.equal(s.kind, kind, s.reason);
      assert.equal(s.selected, selected, s.reason);
    });
  }
  test('the reason names what was left out', () => {
    const s = pick('1.0.0', ['1.0.0', '2.0.0', '1.1.0-rc1', 'latest']);
    assert.equal(s.selected, '1.0.0');
    assert.match(s.reason, /up to date/);
    assert.match(s.reason, /1 beyond major/);
    assert.match(s.reason, /1 prerelease/);
    assert.deepEqual(s.dropped.map((d) => d.tag).sort(), ['1.1.0-rc1', '2.0.0', 'latest']);
  });
});
