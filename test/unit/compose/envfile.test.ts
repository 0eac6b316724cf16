import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseEnvFile, scanEnvFile } from '../../../src/compose/envfile.js';
import { ConfigError } from '../../../src/util/errors.js';

describe('parseEnvFile: compose .env syntax', () => {
  // Each expected value was checked against `docker compose config` (Compose v2.26).
  const rows: Array<[string, string, Record<string, string>]> = [
    ['comment lines and blank lines', '# c\n\n  # indented\nA=1\n', { A: '1' }],
    ['inline comment needs a space before #', 'A1=x #c\nA2=x#c\n', { A1: 'x', A2: 'x#c' }],
    ['a tab before # is not a comment', 'A=x\t#tab\n', { A: 'x\t#tab' }],
    ['export prefix', 'export A=1.0 # trailing\n', { A: '1.0' }],
    ['double quotes with comment after', 'B="two words" # c\n', { B: 'two words' }],
    ['single quotes are literal', "A=1\nC='single $A'\n", { A: '1', C: 'single $A' }],
    ['double quotes interpolate and unescape', 'A=1.0\nD="dq $A \\n x"\n', { A: '1.0', D: 'dq 1.0 \n x' }],
    ['unquoted interpolates, keeps # inside', 'A=1.0\nE=unq$A#nocomment\n', { A: '1.0', E: 'unq1.0#nocomment' }],
    ['spaces around =', 'F = spaced\n', { F: 'spaced' }],
    ['yaml-ish colon', 'G: yamlish\n', { G: 'yamlish' }],
    ['multi-line double-quoted value', 'H="multi\nline"\nI=2\n', { H: 'multi\nline', I: '2' }],
    ['empty value', 'I=\n', { I: '' }],
    ['unquoted backslash stays', 'K=with\\ttab\n', { K: 'with\\ttab' }],
    ['escaped quotes', 'A5="a\\"b"\nA6="a\\\\b"\nA7=\'a\\\'b\'\n', { A5: 'a"b', A6: 'a\\b', A7: "a'b" }],
    ['leading and trailing space trimmed', 'A8=  lead\nA9=trail   \n', { A8: 'lead', A9: 'trail' }],
    ['defaults inside values', 'A1=x\nA10=${A1:-def}/${NOPE:-d2}\n', { A1: 'x', A10: 'x/d2' }],
    ['duplicates: last wins', 'A13=first\nA13=second\n', { A13: 'second' }],
    ['text after a closing quote starts another statement', 'A14="x"trailing\n', { A14: 'x' }],
    ['quote inside an unquoted value', 'A15=a"b\n', { A15: 'a"b' }],
    ['\\t in double quotes', 'A16="tab\\there"\n', { A16: 'tab\there' }],
    ['$$ and \\$ escape a dollar in double quotes', 'A="$$"\nB="\\$x"\n', { A: '$', B: '$x' }],
    ['single quotes keep \\n', "A23='new\\nline'\n", { A23: 'new\\nline' }],
    ['comment with quotes', 'A24=x # "quoted" # two\nA25="x # not"\n', { A24: 'x', A25: 'x # not' }],
    ['CRLF', 'A=1\r\nB="2"\r\nC\r\n', { A: '1', B: '2' }],
    ['BOM', '\uFEFFA=1\n', { A: '1' }],
    ['dots, dashes and brackets in names', 'a.b-c[0]=1\n', { 'a.b-c[0]': '1' }],
    ['octal escape: three digits after \\0, else the 0 is dropped', 'O="\\0101\\012"\n', { O: 'A\\12' }],
  ];
  for (const [name, text, expected] of rows) test(name, () => assert.deepEqual(parseEnvFile(text), expected));

  test('the lookup (shell, earlier env files) is consulted before earlier entries of the same file', () => {
    const shell: Record<string, string> = { SHELLV: 'fromshell', INH: 'inh' };
    const out = parseEnvFile('SHELLV=fromfile\nA18=${SHELLV}\nINH\nMISSING\nB=b2\nC=${B}-c\n', { lookup: (n) => shell[n] ?? ({ B: 'b1' } as Record<string, string>)[n] });
    assert.deepEqual(out, { SHELLV: 'fromfile', A18: 'fromshell', INH: 'inh', B: 'b2', C: 'b1-c' });
  });

  const errors: Array<[string, string, RegExp]> = [
    ['bad character in a name', 'A=1\nJ=\'it\'\'s\'\n', /^\.env:2: unexpected character "'" in variable name/],
    ['space inside a name', 'MY VAR=1\n', /^\.env:1: variable name "MY VAR" cannot contain a space$/],
    ['unterminated quote', 'A=1\nB="open\n', /^\.env:2: unterminated quoted value for B$/],
    ['required variable inside a value', 'A=${NOPE:?set it}\n', /^\.env:1: A: required variable NOPE is missing a value: set it$/],
    ['missing name', '=1\n', /^\.env:1: missing variable name/],
  ];
  for (const [name, text, message] of errors) {
    test(`error: ${name}`, () => assert.throws(() => parseEnvFile(text, { file: '.env' }), (e: unknown) => e instanceof ConfigError && message.test(e.message)));
  }
});

describe('scanEnvFile: positions', () => {
  test('value ranges cover exactly the value as written', () => {
    const text = 'export A=1 # c\nB = "x y"\nC=\'z\'\r\nD\n';
    const entries = scanEnvFile(text);
    assert.deepEqual(
      entries.map((e) => [e.key, e.line, e.inherited, e.quote ?? null, text.slice(e.valueStart, e.valueEnd)]),
      [
        ['A', 1, false, null, '1'],
        ['B', 2, false, '"', '"x y"'],
        ['C', 3, false, "'", "'z'"],
        ['D', 4, true, null, ''],
      ],
    );
  });
});
