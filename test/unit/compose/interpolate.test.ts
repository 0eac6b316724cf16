import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { findReferences, interpolate, InterpolationError } from '../../../src/compose/interpolate.js';

// Expected values were taken from `docker compose config` (Compose v2.26) with S=sv, E= (empty), U unset.
const env: Record<string, string | undefined> = { S: 'sv', E: '' };
const lookup = (name: string) => env[name];

describe('interpolate: compose forms', () => {
  const rows: Array<[string, string]> = [
    ['plain', 'plain'],
    ['${S}', 'sv'],
    ['$S', 'sv'],
    ['$S$S ${S}${S}', 'svsv svsv'],
    ['${S:+alt}', 'alt'],
    ['${S+alt}', 'alt'],
    ['${E:+alt}', ''],
    ['${E+alt}', 'alt'],
    ['${U:+alt}', ''],
    ['${U:-${S}}', 'sv'],
    ['${U:-${U2:-deep}}x', 'deepx'],
    ['${U:-a}b}', 'ab}'],
    ['$1 $ a$-b', '$1 $ a$-b'],
    ['$$S', '$S'],
    ['$${S}', '${S}'],
    ['${E:-def} ${E-def}', 'def '],
    ['${U-a:b}', 'a:b'],
    ['${S:-a}${U:-b}', 'svb'],
    ['${U:-a b}', 'a b'],
    ['${U:-${S:-x}y}z', 'svyz'],
    ['${S:+${S}-plus}', 'sv-plus'],
    ['{$S}', '{sv}'],
    ['${U}', ''],
    ['${S?must}', 'sv'],
    ['${E?may be empty}', ''],
    ['trailing $', 'trailing $'],
    ['registry:5000/app:${TAG:-1.2.3}', 'registry:5000/app:1.2.3'],
  ];
  for (const [template, expected] of rows) {
    test(template, () => assert.equal(interpolate(template, lookup).value, expected));
  }
});

describe('interpolate: errors', () => {
  const rows: Array<[string, 'invalid' | 'required', RegExp]> = [
    ['${1}', 'invalid', /invalid interpolation format/],
    ['${S', 'invalid', /invalid interpolation format/],
    ['${}', 'invalid', /invalid interpolation format/],
    ['${S:x}', 'invalid', /invalid interpolation format/],
    ['${S x}', 'invalid', /invalid interpolation format/],
    ['${U:?need it}', 'required', /^required variable U is missing a value: need it$/],
    ['${U?}', 'required', /^required variable U is missing a value$/],
    ['${E:?empty not ok}', 'required', /^required variable E is missing a value: empty not ok$/],
    // compose evaluates a default even when the variable is set
    ['${S:-a${U:?inner}}', 'required', /^required variable U is missing a value: inner$/],
    ['${U:?missing ${S}}', 'required', /^required variable U is missing a value: missing sv$/],
  ];
  for (const [template, kind, message] of rows) {
    test(template, () => {
      assert.throws(() => interpolate(template, lookup), (err: unknown) => err instanceof InterpolationError && err.kind === kind && message.test(err.message));
    });
  }
});

describe('interpolate: provenance of each part', () => {
  test('literal, variable and default parts with their source ranges', () => {
    const template = 'reg:5000/${NAME}:${TAG:-1.0}';
    const r = interpolate(template, (n) => ({ NAME: 'app' })[n]);
    assert.equal(r.value, 'reg:5000/app:1.0');
    assert.deepEqual(
      r.pieces.map((p) => [p.text, template.slice(p.raw[0], p.raw[1]), p.source.kind, p.verbatim]),
      [
        ['reg:5000/', 'reg:5000/', 'literal', true],
        ['app', '${NAME}', 'variable', false],
        [':', ':', 'literal', true],
        ['1.0', '1.0', 'default', true],
      ],
    );
    assert.deepEqual(r.pieces[3].source, { kind: 'default', name: 'TAG', nested: false, defaultRaw: [24, 27] });
  });

  test('$$ is its own non-verbatim piece; unset names are reported', () => {
    const r = interpolate('a$$b${MISSING}', () => undefined);
    assert.deepEqual(r.pieces.map((p) => [p.text, p.verbatim]), [['a', true], ['$', false], ['b', true]]);
    assert.deepEqual(r.unset, ['MISSING']);
  });

  test('a nested default marks its literal text as nested', () => {
    const r = interpolate('${IMAGE:-app:${TAG}}', (n) => ({ TAG: '2' })[n]);
    assert.equal(r.value, 'app:2');
    assert.deepEqual(r.pieces.map((p) => [p.text, p.source]), [
      ['app:', { kind: 'default', name: 'IMAGE', nested: true, defaultRaw: [9, 19] }],
      ['2', { kind: 'variable', name: 'TAG' }],
    ]);
  });
});

describe('findReferences', () => {
  test('top-level references with operator and argument ranges', () => {
    const t = 'x${A:-d}$B${C?e}';
    assert.deepEqual(
      findReferences(t).map((r) => [r.name, r.operator, t.slice(r.start, r.end), t.slice(r.argStart, r.argEnd)]),
      [
        ['A', ':-', '${A:-d}', 'd'],
        ['B', '', '$B', ''],
        ['C', '?', '${C?e}', 'e'],
      ],
    );
  });
});
