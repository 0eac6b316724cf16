import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import npmSemver from 'semver';
import { compareVersions, parseRange, parseStrictVersion, parseVersion, satisfies } from '../../../src/policy/semver.js';

describe('parseVersion (loose, as Masterminds NewVersion)', () => {
  const ok: Array<[string, string]> = [
    ['1.2.3', '1.2.3'],
    ['v1.2.3', '1.2.3'],
    ['1.2', '1.2.0'],
    ['16', '16.0.0'],
    ['v2', '2.0.0'],
    ['1.2.3-rc.1', '1.2.3-rc.1'],
    ['1.2.3-alpha-1', '1.2.3-alpha-1'],
    ['1.2.3+build.7', '1.2.3+build.7'],
    ['1.2-beta', '1.2.0-beta'],
    ['01.02.03', '1.2.3'], // leading zeros are coerced (CoerceNewVersion)
    ['2024.01.01', '2024.1.1'],
    ['18446744073709551615.0.0', '18446744073709551615.0.0'],
  ];
  for (const [input, expected] of ok) {
    test(`${input} -> ${expected}`, () => {
      const v = parseVersion(input);
      assert.ok(v, `${input} should parse`);
      const text = `${v.major}.${v.minor}.${v.patch}${v.pre ? `-${v.pre}` : ''}${v.metadata ? `+${v.metadata}` : ''}`;
      assert.equal(text, expected);
    });
  }
  const bad = ['', 'latest', 'V1.2.3', 'v', '1.2.3.4', '1.2.3-', '1.2.3-01', '1..2', '1.2.3-rc_1', '18446744073709551616', ' 1.2.3', 'main-1.2.3', '1.2.3-alpine3.17+'];
  for (const input of bad) {
    test(`${JSON.stringify(input)} is not a version`, () => assert.equal(parseVersion(input), null));
  }
});

describe('parseStrictVersion (Flux version.ParseVersion: StrictNewVersion after one leading v)', () => {
  // The first eleven are fluxcd/pkg version/version_test.go's TestParseVersion cases.
  const cases: Array<[string, boolean]> = [
    ['v1.2.3', true], ['v1.0', false], ['v1', false], ['v1.2.beta', false], ['v1.2-5', false], ['v1.2-beta.5', false],
    ['\nv1.2', false], ['v1.2.0-x.Y.0+metadata', true], ['v1.2.0-x.Y.0+metadata-width-hypen', true], ['v1.2.3-rc1-with-hypen', true],
    ['v1.2.3.4', false],
    // Masterminds StrictNewVersion: three numbers without leading zeros, non-empty identifiers.
    ['1.2.3', true], ['0.0.0', true], ['1.2', false], ['200', false], ['', false], ['01.2.3', false], ['1.02.3', false],
    ['1.2.3-0', true], ['1.2.3-01', false], ['1.2.3-0a', true], ['1.2.3-rc..1', false], ['1.2.3-', false], ['1.2.3+', false],
    ['1.2.3+001', true], ['1.2.3+b.7', true], ['1.2.3+b_7', false], ['1.2.3-rc+b+c', false], ['V1.2.3', false], ['vv1.2.3', false],
    [' 1.2.3', false], ['1.2.3 ', false], ['18446744073709551615.0.0', true], ['18446744073709551616.0.0', false],
  ];
  for (const [input, ok] of cases) {
    test(`${JSON.stringify(input)} ${ok ? 'is' : 'is not'} a version`, () => assert.equal(parseStrictVersion(input) !== null, ok));
  }
  test('what it parses compares like the loose parse of the same text', () => {
    for (const [input, ok] of cases) {
      if (ok) assert.equal(compareVersions(parseStrictVersion(input)!, parseVersion(input)!), 0, input);
    }
    assert.deepEqual(parseStrictVersion('v1.2.3-rc.1+b7'), { major: '1', minor: '2', patch: '3', pre: 'rc.1', metadata: 'b7', original: 'v1.2.3-rc.1+b7' });
  });
  test('agrees with npm semver on strict versions without a v (property)', () => {
    const part = fc.oneof(fc.constantFrom('0', '1', '01', '10', 'a', 'rc', '-', 'x-1', ''), fc.stringMatching(/^[0-9A-Za-z-]{1,4}$/));
    const text = fc.tuple(fc.array(part, { minLength: 1, maxLength: 4 }), fc.option(fc.array(part, { minLength: 1, maxLength: 3 })), fc.option(fc.array(part, { minLength: 1, maxLength: 2 })))
      .map(([nums, pre, meta]) => `${nums.join('.')}${pre ? `-${pre.join('.')}` : ''}${meta ? `+${meta.join('.')}` : ''}`);
    fc.assert(fc.property(text, (t) => assert.equal(parseStrictVersion(t) !== null, npmSemver.valid(t) !== null, t)), { numRuns: 2000 });
  });
});

describe('compareVersions', () => {
  const ordered = [
    '0.0.1', '0.1.0', '1.0.0-0', '1.0.0-1', '1.0.0-2', '1.0.0-10', '1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-alpha.beta',
    '1.0.0-beta', '1.0.0-beta.2', '1.0.0-beta.11', '1.0.0-rc.1', '1.0.0', '1.0.1', '1.2.0', '1.10.0', '2.0.0', '9007199254740993.0.0', '18446744073709551615.0.0',
  ];
  test('follows semver precedence (table)', () => {
    for (let i = 0; i < ordered.length; i++) {
      for (let j = 0; j < ordered.length; j++) {
        const got = compareVersions(parseVersion(ordered[i])!, parseVersion(ordered[j])!);
        assert.equal(Math.sign(got), Math.sign(i - j), `${ordered[i]} vs ${ordered[j]}`);
      }
    }
  });
  test('build metadata and v prefix do not count', () => {
    assert.equal(compareVersions(parseVersion('v1.2.3+a')!, parseVersion('1.2.3+b')!), 0);
    assert.equal(compareVersions(parseVersion('1.2')!, parseVersion('1.2.0')!), 0);
  });
  test('agrees with npm semver on strict versions (property)', () => {
    const num = fc.integer({ min: 0, max: 30 });
    const ident = fc.oneof(fc.integer({ min: 0, max: 20 }).map(String), fc.constantFrom('alpha', 'beta', 'rc', 'x-y', 'A'));
    const ver = fc.tuple(num, num, num, fc.array(ident, { maxLength: 3 })).map(([a, b, c, pre]) => `${a}.${b}.${c}${pre.length ? `-${pre.join('.')}` : ''}`);
    fc.assert(
      fc.property(ver, ver, (a, b) => {
        assert.equal(Math.sign(compareVersions(parseVersion(a)!, parseVersion(b)!)), npmSemver.compare(a, b));
      }),
    );
  });
});

/** [range, version, satisfied] — Masterminds v3.4 semantics, including where npm differs. */
const checks: Array<[string, string, boolean]> = [
  // exact and partial equality
  ['=2.0.0', '2.0.0', true], ['=2.0.0', '1.2.3', false], ['=2.0', '2.0.1', true], ['2.0', '2.1.0', false],
  ['4.1', '4.1.0', true], ['4.1.x', '4.1.3', true], ['1.x', '1.4', true], ['2.*', '3.4.5', false], ['2.1.*', '2.2.1', false],
  ['v1.2', '1.2.7', true], ['=v1.2.3', 'v1.2.3', true], ['*', '4.5.6', true], ['x', '0.0.1', true],
  // not equal
  ['!=4.1.0', '4.1.0', false], ['!=4.1.0', '4.1.1', true], ['!=4.1', '4.1.1', false], ['!=4.1', '5.1.0', true],
  ['!=4.x', '4.1.0', false], ['!=4.x', '5.1.0', true], ['!=4.1.x', '4.2.0', true], ['!=4.1-alpha', '4.1.0', true],
  // greater / less with partial versions: `>11` means 12 or higher, `<=1.1` includes 1.1.9
  ['>1.1', '1.1.0', false], ['>1.1', '1.1.9', false], ['>1.1', '1.2.0', true], ['>11', '11.9.9', false], ['>11', '12.0.0', true],
  ['>0', '0.0.1', false], ['>0', '1.0.0', true], ['>1.2.3', '1.2.4', true], ['>1.2.3', '1.2.3', false],
  ['<1.1', '1.0.9', true], ['<1.1', '1.1.0', false], ['<11', '11.1.0', false], ['<1.x', '0.1.1', true], ['<1.x', '1.1.1', false],
  ['<=1.1', '1.1.9', true], ['<=1.1', '1.2.0', false], ['<=11', '11.2.3', true], ['<=11', '12.0.0', false], ['<=2.x', '3.0.0', false],
  ['>=1.1', '1.1.0', true], ['>=1.1', '0.9.9', false], ['=>1.0', '1.0.0', true], ['=<1.0', '1.0.0', true], ['=<1.0', '1.1.0', false],
  // tilde
  ['~1.2.3', '1.2.9', true], ['~1.2.3', '1.3.0', false], ['~1.2.3', '1.2.2', false], ['~1.2', '1.2.0', true], ['~1.2', '1.3.0', false],
  ['~1', '1.9.9', true], ['~1', '2.0.0', false], ['~1.x', '1.3.5', true], ['~0.2.3', '0.2.5', true], ['~0.2.3', '0.3.0', false],
  ['~>1.2', '1.2.5', true], ['~>1.2', '1.3.0', false], ['~*', '2.1.1', true], ['~0.0.0', '5.0.0', true],
  // caret: major is the boundary, for 0.x the minor, for 0.0.x the patch
  ['^1.2.3', '1.8.9', true], ['^1.2.3', '2.0.0', false], ['^1.2.3', '1.2.1', false], ['^1.2', '1.9.0', true], ['^1', '2.0.0', false],
  ['^0.2.3', '0.2.9', true], ['^0.2.3', '0.3.0', false], ['^0.2', '0.2.5', true], ['^0.0.3', '0.0.3', true], ['^0.0.3', '0.0.4', false],
  ['^0.0', '0.0.9', true], ['^0.0', '0.1.0', false], ['^0', '0.9.0', true], ['^0', '1.0.0', false], ['^1.x', '1.1.1', true], ['^1.x', '2.1.1', false],
  ['^*', '1.2.3', false], // Masterminds quirk: `^*` keeps major 0
  // hyphen ranges (inclusive), with and without other constraints
  ['1.2 - 1.4', '1.4.5', true], ['1.2 - 1.4', '1.5.0', false], ['1.2 - 1.4', '1.1.9', false], ['1.5.0 - 4.5', '3.7.0', true],
  ['1.0.0 - 2.0.0 <=2.0.0', '1.5.0', true], ['1.0.0 - 2.0.0, <=2.0.0', '2.0.0', true], ['1.1-3', '4.3.2', false],
  // AND: spaces or commas
  ['>=1.0.0 <2.0.0', '1.9.9', true], ['>=1.0.0 <2.0.0', '2.0.0', false], ['>= 1.2, < 1.4', '1.3.9', true], ['>= 1.2, < 1.4', '1.4.0', false],
  ['>1.1    <3', '4.3.2', false], ['>=1.1, <2, !=1.2.3', '1.2.3', false], ['>=1.1, <2, !=1.2.3', '1.2.4', true],
  // OR
  ['>=1.1 <2 !=1.2.3 || > 3', '4.1.2', true], ['>=1.1 <2 !=1.2.3 || > 3', '3.1.2', false], ['>=1.1, <2 || >= 3', '3.0.0', true],
  ['1.x || 3.x', '2.5.0', false], ['1.x || 3.x', '3.5.0', true],
  // prereleases only where the AND group names one
  ['>=1.0.0', '1.1.0-rc.1', false], ['>=1.0.0-0', '1.1.0-rc.1', true], ['>=1.0.0-0', '3.4.5-beta.1', true], ['*', '1.2.3-alpha.1', false],
  ['*-0', '1.2.3-alpha.1', true], ['^1.2.0', '1.2.1-alpha.1', false], ['^1.2.0-alpha.0', '1.2.1-alpha.1', true],
  ['~1.2.3-beta.2', '1.2.4-beta.2', true], ['~1.2.3-beta.2', '1.3.4-beta.2', false], ['>=1.1', '4.1.0-beta', false],
  ['<=1.1-a', '0.1.0-alpha', true], ['<0-z', '0.0.0-alpha', true], ['>0.0.0-0', '0.0.0-alpha', true],
  ['>=1.0.0-0 <2.0.0', '1.5.0-rc.1', true], // the whole AND group admits prereleases (v3.4, #267)
  ['>=1.0.0-0 || >=2.0.0', '2.1.0-rc.1', true], ['>=1.0.0 || >=2.0.0', '2.1.0-rc.1', false],
  ['>1.2.3-alpha.1', '1.2.3-alpha.2', true], ['~1.1.1-beta', '1.1.1-alpha', false],
  // empty = any version, prereleases included (DOSync's "range: ''")
  ['', '0.0.1', true], ['', '9.9.9-rc.1', true], ['   ', '1.0.0', true],
];

describe('semver ranges (Masterminds v3 constraint semantics)', () => {
  for (const [range, version, expected] of checks) {
    test(`${JSON.stringify(range)} ${expected ? 'admits' : 'rejects'} ${version}`, () => {
      const v = parseVersion(version);
      assert.ok(v, version);
      assert.equal(satisfies(v, parseRange(range)), expected);
    });
  }
  const invalid = ['foo', '>= bar', 'BAR >= 1.2.3', '12.3.4.1234', '12.3.34~ 1.2.3', '>=1.0 <<2', '1.2.3x', '1|2', '>=1.0 ||', '!1.0', '>= 1.2,, <2'];
  for (const range of invalid) {
    test(`rejects ${JSON.stringify(range)}`, () => assert.throws(() => parseRange(range), /improper constraint/));
  }
  test('where npm semver differs: npm admits 1.2.3-beta for ^1.2.3-alpha only within 1.2.3, Masterminds across patches', () => {
    assert.equal(satisfies(parseVersion('1.2.4-beta')!, parseRange('^1.2.3-alpha')), true);
    assert.equal(npmSemver.satisfies('1.2.4-beta', '^1.2.3-alpha'), false);
  });
  test('where npm semver differs: a comma is an AND here, npm cannot parse it', () => {
    assert.equal(satisfies(parseVersion('1.3.0')!, parseRange('>= 1.2, < 1.4')), true);
    assert.equal(npmSemver.validRange('>= 1.2, < 1.4'), null);
  });
});
