import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compileGoRegex, expandTemplate, globToGoRegex, matchGroups, matchesGo, GoRegexError } from '../../../src/policy/goregex.js';

describe('Go regexp.Expand templates', () => {
  const rx = compileGoRegex('(?P<a>x+)-(?P<b>\\d+)');
  const groups = matchGroups(rx, 'tag-xx-12-end')!;
  const cases: Array<[string, string]> = [
    ['$a', 'xx'],
    ['${a}', 'xx'],
    ['$1', 'xx'],
    ['${2}', '12'],
    ['$0', 'xx-12'],
    ['$a$b', 'xx12'],
    ['$a-$b', 'xx-12'],
    ['v$a.$b', 'vxx.12'],
    ['${a}_${b}', 'xx_12'],
    ['$a_b', ''], // the name runs over `_`: group "a_b" does not exist
    ['$1x', ''], // `$1x` means `${1x}`
    ['${1}x', 'xxx'],
    ['$01', ''], // leading zero: a name, not group 1
    ['$3', ''], // no such group
    ['$$a', '$a'],
    ['100$$', '100$'],
    ['$', '$'],
    ['$ a', '$ a'],
    ['${a', '${a'], // missing brace: the `$` stays literal
    ['${}', '${}'],
    ['plain', 'plain'],
    ['', ''],
  ];
  for (const [template, expected] of cases) {
    test(`${JSON.stringify(template)} -> ${JSON.stringify(expected)}`, () => assert.equal(expandTemplate(rx, template, groups), expected));
  }
  test('an optional group that did not take part expands to ""', () => {
    const r = compileGoRegex('^v(?P<n>\\d+)(?P<pre>-rc\\d+)?$');
    assert.equal(expandTemplate(r, '$n:$pre', matchGroups(r, 'v7')!), '7:');
  });
  test('leftmost-first alternation, as Go (not POSIX longest)', () => {
    const r = compileGoRegex('(?P<v>\\d+|\\d+\\.\\d+)');
    assert.equal(expandTemplate(r, '$v', matchGroups(r, '1.2')!), '1');
  });
});

describe('Go regex syntax', () => {
  const matches: Array<[string, string, boolean]> = [
    ['^main-(?P<ts>\\d+)$', 'main-42', true],
    ['(?i)^MAIN-', 'main-1', true],
    ['^MAIN-', 'main-1', false],
    ['^1\\.\\d+\\z', '1.5', true], // \z is "end of text" in Go; JavaScript would read a literal z
    ['^1\\.\\d+\\z', '1.5z', false],
    ['\\A1', '1.0', true],
    ['^v[[:digit:]]+$', 'v12', true], // POSIX class; JavaScript would read the set "[:digt" then "]"
    ['^v[[:digit:]]+$', 'v:', false],
    ['^\\pN+$', '123', true],
    ['^\\Q1.2\\E$', '1.2', true],
    ['^\\Q1.2\\E$', '1x2', false],
    ['(?U)^a+', 'aaa', true],
    ['(?s)a.b', 'a\nb', true],
    ['rc', '1.0.0-rc1', true], // unanchored unless anchored by the user
    ['^rc', '1.0.0-rc1', false],
    ['(?<name>x)', 'x', true], // Go 1.22 also accepts (?<name>)
    ['^v\\\\d+$', 'v12', true], // DOSync collapses a doubled backslash: `\\d` is `\d`
  ];
  for (const [pattern, text, expected] of matches) {
    test(`/${pattern}/ ${expected ? 'matches' : 'does not match'} ${JSON.stringify(text)}`, () => {
      assert.equal(matchesGo(compileGoRegex(pattern), text), expected);
    });
  }
  const rejected = ['(?=x)', '(?!x)', '(?<=x)y', '(?<!x)y', '(\\w)\\1', 'a++', '\\Z', '\\h', '\\u0041', 'a{2,1001}', '[a-', '(x', 'x)', '*x', '(?P<a>x)(?P<a>y)', '(?P<a-b>x)', '(?x)a'];
  for (const pattern of rejected) {
    test(`rejects ${JSON.stringify(pattern)}`, () => assert.throws(() => compileGoRegex(pattern), GoRegexError));
  }
  test('nested quantifiers run in linear time (no catastrophic backtracking)', () => {
    const rx = compileGoRegex('^(a+)+$');
    assert.equal(matchesGo(rx, `${'a'.repeat(5000)}!`), false);
    assert.equal(matchesGo(rx, 'a'.repeat(5000)), true);
  });
});

describe('tagPattern globs', () => {
  const cases: Array<[string, string, boolean]> = [
    ['staging-*', 'staging-42', true],
    ['staging-*', 'prod-staging-42', false],
    ['staging-*', 'staging-', true],
    ['v?.0', 'v1.0', true],
    ['v?.0', 'v10.0', false],
    ['1.2.*', '1.2.5', true],
    ['1.2.*', '1x2x5', false], // dots are literal
    ['*-alpine', '1.25-alpine', true],
    ['a+b', 'a+b', true],
    ['a+b', 'aab', false],
  ];
  for (const [glob, tag, expected] of cases) {
    test(`${glob} ${expected ? 'matches' : 'does not match'} ${tag}`, () => assert.equal(matchesGo(compileGoRegex(globToGoRegex(glob)), tag), expected));
  }
});
