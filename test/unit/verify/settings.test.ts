import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseVerifySetting, resolveVerify } from '../../../src/verify/settings.js';
import { parseConfigText } from '../../../src/config/file.js';
import { validateConfigText } from '../../../src/config/validate.js';
import { ConfigError } from '../../../src/util/errors.js';

const where = { labels: 'compose.yml: services.web.labels', top: 'dosync.yaml', registry: 'dosync.yaml: registry.ghcr', service: 'dosync.yaml: services.web' };

describe('resolveVerify: places and precedence', () => {
  const top = { cosign: { keys: ['/k/top.pub'] } };
  test('none anywhere: off', () => assert.equal(resolveVerify({}, where), undefined));
  test('top level alone: enforce with its keys', () => {
    const v = resolveVerify({ top }, where)!;
    assert.deepEqual([v.mode, v.keys, v.source], ['enforce', ['/k/top.pub'], 'dosync.yaml.verify']);
  });
  test('a service sets only mode: the top level keys stay', () => {
    const v = resolveVerify({ top, service: { cosign: { mode: 'warn' } } }, where)!;
    assert.deepEqual([v.mode, v.keys], ['warn', ['/k/top.pub']]);
  });
  test('registry keys replace the top level ones, the service replaces both', () => {
    assert.deepEqual(resolveVerify({ top, registry: { cosign: { keys: ['/k/reg.pub'] } } }, where)!.keys, ['/k/reg.pub']);
    assert.deepEqual(resolveVerify({ top, registry: { cosign: { keys: ['/k/reg.pub'] } }, service: { cosign: { keys: ['env:SVC'] } } }, where)!.keys, ['env:SVC']);
  });
  test('verify: none on the service turns it off', () => assert.equal(resolveVerify({ top, service: 'none' }, where), undefined));
  test('label dosync.verify: none turns it off, cosign turns it on with the file\'s keys', () => {
    assert.equal(resolveVerify({ top, labels: { 'dosync.verify': 'none' } }, where), undefined);
    assert.throws(() => resolveVerify({ top, service: 'none', labels: { 'dosync.verify': 'cosign' } }, where), /dosync\.verify: cosign needs keys/, 'the label cannot bring keys');
    assert.equal(resolveVerify({ top, labels: { 'dosync.verify': 'cosign' } }, where)!.source, 'compose.yml: services.web.labels.dosync.verify');
  });
  test('label cosign without keys anywhere: one line naming the label', () => {
    assert.throws(() => resolveVerify({ labels: { 'dosync.verify': 'cosign' } }, where), /^ConfigError: compose\.yml: services\.web\.labels\.dosync\.verify: cosign needs keys or keyless identities; set verify\.cosign\.keys in dosync\.yaml$/);
  });
  test('a bad label value', () => assert.throws(() => resolveVerify({ top, labels: { 'dosync.verify': 'gpg' } }, where), /dosync\.verify: "gpg" is not a verification; use cosign or none/));
  test('aliases and keyless identities are carried', () => {
    const v = resolveVerify({ top: { cosign: { reference_aliases: ['ghcr.io/org/app'], keyless: { trusted_root: '/r.json', identities: [{ issuer: 'https://i', subject_regexp: '^https://github.com/org/' }] } } } }, where)!;
    assert.deepEqual(v.aliases, ['ghcr.io/org/app']);
    assert.equal(v.keyless?.trustedRoot, '/r.json');
    assert.equal(v.keyless?.identities[0].subjectRegexp?.source, '^https://github.com/org/');
  });
});

describe('parseVerifySetting: one line naming the field', () => {
  const cases: Array<[unknown, RegExp]> = [
    ['cosign', /^dosync\.yaml: verify: must be "none" or a mapping with a cosign: block/],
    [{ cosign: { mode: 'audit' } }, /^dosync\.yaml: verify\.cosign\.mode: Invalid enum value\. Expected 'enforce' \| 'warn', received 'audit'$/],
    [{ cosign: { key: ['a'] } }, /^dosync\.yaml: verify\.cosign: unknown key\(s\) key$/],
    [{ cosign: { keys: 'a.pub' } }, /^dosync\.yaml: verify\.cosign\.keys: Expected array, received string$/],
    [{ cosign: { keys: ['env:'] } }, /verify\.cosign\.keys\[0\]: env: must name a variable/],
    [{ cosign: { keyless: { trusted_root: 'r', identities: [{ issuer: 'i' }] } } }, /verify\.cosign\.keyless\.identities\[0\]: an identity needs subject or subject_regexp/],
    [{ cosign: { keyless: { identities: [{ issuer: 'i', subject: 's' }] } } }, /verify\.cosign\.keyless\.trusted_root: Required/],
    [{ gpg: {} }, /verify: unknown key\(s\) gpg/],
  ];
  for (const [raw, want] of cases) {
    test(JSON.stringify(raw), () => {
      assert.throws(() => parseVerifySetting(raw, 'dosync.yaml: verify'), (err: unknown) => err instanceof ConfigError && want.test(err.message) && !err.message.includes('\n'));
    });
  }
  test('a subject_regexp Go rejects', () => {
    assert.throws(() => resolveVerify({ top: { cosign: { keyless: { trusted_root: 'r', identities: [{ issuer: 'i', subject_regexp: '(?=x)' }] } } } }, where), /keyless\.identities\[0\]\.subject_regexp: /);
  });
  test('no keys and no keyless: nothing to verify against', () => {
    assert.throws(() => resolveVerify({ top: { cosign: { mode: 'warn' } } }, where), /dosync\.yaml\.verify\.cosign: set keys or keyless/);
  });
});

describe('dosync.yaml: verify blocks are checked at load and by config validate', () => {
  test('load stops at the first bad block, naming it', () => {
    assert.throws(() => parseConfigText('services:\n  web:\n    verify:\n      cosign:\n        mode: nope\n', 'dosync.yaml', {}), /^ConfigError: dosync\.yaml: services\.web\.verify\.cosign\.mode: Invalid enum value/);
    assert.throws(() => parseConfigText('registry:\n  ghcr:\n    verify: yes-please\n', 'dosync.yaml', {}), /dosync\.yaml: registry\.ghcr\.verify: must be "none"/);
  });
  test('a good file loads', () => {
    const c = parseConfigText('verify:\n  cosign:\n    keys: [/etc/dosync/cosign.pub]\nservices:\n  web:\n    verify: none\n', 'dosync.yaml', {});
    assert.deepEqual(c.verify, { cosign: { keys: ['/etc/dosync/cosign.pub'] } });
  });
  test('config validate lists every bad block with its line', () => {
    const r = validateConfigText('verify:\n  cosign:\n    mode: x\nservices:\n  web:\n    verify:\n      cosign:\n        keys: k\n', 'dosync.yaml', {});
    assert.deepEqual(r.errors, [
      'dosync.yaml:3: verify.cosign.mode: Invalid enum value. Expected \'enforce\' | \'warn\', received \'x\'',
      'dosync.yaml:8: services.web.verify.cosign.keys: Expected array, received string',
    ]);
  });
});
