import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfigText, validSummary } from '../../../src/config/validate.js';

const F = '/etc/dosync/dosync.yaml';
const check = (text: string, env: Record<string, string | undefined> = {}) => validateConfigText(text, F, env);

describe('validateConfigText: valid files', () => {
  test('a full file is valid and summarized in one line', () => {
    const text = [
      'interval: 90s',
      'keep_backups: 5',
      'timezone: Europe/Berlin',
      'maintenance_window: "02:00-04:00"',
      'registry:',
      '  dockerhub: { username: me, password: "${HUB_PASS}" }',
      '  ghcr: { token: t }',
      'services:',
      '  web:',
      '    update: minor',
      '    health: { timeout: 45s }',
      '  api:',
      '    imagePolicy:',
      '      policy: { semver: { range: ">=1.0.0 <2.0.0" } }',
      'notify: ["ntfy://ntfy.sh/topic"]',
      'listen: 127.0.0.1:9180',
      '',
    ].join('\n');
    const report = check(text, { HUB_PASS: 'x' });
    assert.deepEqual(report.errors, []);
    assert.deepEqual(report.warnings, []);
    assert.equal(validSummary(F, report), `${F} is valid: 2 service setting(s), registries: dockerhub, ghcr, interval 1m30s, 1 notification URL(s)`);
  });

  test('an empty file is valid', () => {
    const report = check('# nothing yet\n');
    assert.deepEqual(report.errors, []);
    assert.equal(validSummary(F, report), `${F} is valid: 0 service setting(s), no registry credentials, default interval`);
  });

  test('warnings do not fail: unknown registry keys, unset variables, interval next to schedule', () => {
    const report = check('schedule: "0 3 * * *"\ninterval: 5m\nregistry:\n  dockerhub: { username: me, pasword: x, password: "${UNSET_VAR}" }\n');
    assert.deepEqual(report.errors, []);
    assert.equal(report.warnings.length, 3, report.warnings.join('\n'));
    assert.ok(report.warnings.some((w) => /registry\.dockerhub\.pasword: unknown key, ignored \(did you mean "password"\?\)/.test(w)));
    assert.ok(report.warnings.some((w) => /\$\{UNSET_VAR\} is not set/.test(w)));
    assert.ok(report.warnings.some((w) => /interval is ignored because schedule is set/.test(w)));
  });
});

describe('validateConfigText: every error, one line each, file:line: field: what to do', () => {
  const text = [
    'intervall: 5m', // 1
    'interval: 5 minutes', // 2
    'keep_backups: 0', // 3
    'timezone: Mars/Olympus', // 4
    'maintenance_window: "25:00-26:00"', // 5
    'registry:', // 6
    '  custom:', // 7
    '    url: http://insecure.example.com', // 8
    '    password: hunter2-secret', // 9
    'services:', // 10
    '  web:', // 11
    '    update: minr', // 12
    '    health: { timout: 3s }', // 13
    '  api:', // 14
    '    imagePolicy:', // 15
    '      policy: { numerical: { order: sideways } }', // 16
    'notify: ["slack:/broken", "nope://token-abc@x"]', // 17
    'listen: "abc"', // 18
    '',
  ].join('\n');
  const report = check(text);

  const expected: RegExp[] = [
    /^\/etc\/dosync\/dosync\.yaml:1: intervall: unknown key; did you mean "interval"\?$/,
    /^\/etc\/dosync\/dosync\.yaml:2: interval: "5 minutes" is not a duration; use forms like 30s, 5m, 1h30m$/,
    /^\/etc\/dosync\/dosync\.yaml:3: keep_backups: Number must be greater than or equal to 1$/,
    /^\/etc\/dosync\/dosync\.yaml:4: timezone: "Mars\/Olympus" is not an IANA time zone/,
    /^\/etc\/dosync\/dosync\.yaml:5: maintenance_window: .*not a time range/,
    /^\/etc\/dosync\/dosync\.yaml:8: registry\.custom\.url: uses plain http; add "insecure: true"/,
    /^\/etc\/dosync\/dosync\.yaml:12: services\.web\.update: Invalid enum value\. Expected 'patch' \| 'minor' \| 'major' \| 'digest' \| 'none', received 'minr'$/,
    /^\/etc\/dosync\/dosync\.yaml:13: services\.web\.health\.timout: unknown key; did you mean "timeout"\?$/,
    /^\/etc\/dosync\/dosync\.yaml:1[4-6]: services\.api.*order/,
    /^\/etc\/dosync\/dosync\.yaml:17: notify\[0\]: not a URL/,
    /^\/etc\/dosync\/dosync\.yaml:17: notify\[1\] \(nope:\/\/\): unknown scheme/,
    /^\/etc\/dosync\/dosync\.yaml:18: listen "abc": the port is missing/,
  ];
  for (const want of expected) {
    test(want.source.slice(26, 90), () => {
      assert.ok(report.errors.some((e) => want.test(e)), `no error matches ${want}:\n${report.errors.join('\n')}`);
    });
  }

  test('exactly those, in file order, each one line, no secret repeated', () => {
    assert.equal(report.errors.length, expected.length, report.errors.join('\n'));
    const lines = report.errors.map((e) => Number(/^[^:]+:(\d+):/.exec(e)?.[1]));
    assert.deepEqual(lines, [...lines].sort((a, b) => a - b));
    for (const e of report.errors) {
      assert.doesNotMatch(e, /\n/);
      assert.doesNotMatch(e, /hunter2|token-abc/);
    }
    assert.equal(report.config, undefined);
  });
});

describe('validateConfigText: syntax and shape', () => {
  test('YAML errors name the line', () => {
    const report = check('interval: 5m\nservices: [a\n');
    assert.equal(report.errors.length >= 1, true);
    assert.match(report.errors[0], /^\/etc\/dosync\/dosync\.yaml:\d+: invalid YAML: .*; fix the syntax there$/);
  });

  test('a duplicate key is an error', () => {
    assert.match(check('interval: 5m\ninterval: 10m\n').errors[0], /:2: invalid YAML: .*[Mm]ap keys must be unique/);
  });

  test('a list at the top level', () => {
    assert.deepEqual(check('- a\n- b\n').errors, [`${F}: the top level must be a mapping of settings (interval:, registry:, services: ...)`]);
  });

  test('${VAR}s expand before checking', () => {
    assert.deepEqual(check('interval: ${EVERY}\n', { EVERY: '2m' }).errors, []);
    assert.match(check('interval: ${EVERY}\n', { EVERY: 'soon' }).errors[0], /:1: interval: "soon" is not a duration/);
  });

  test('a bad cron schedule names the field', () => {
    assert.match(check('schedule: "not cron"\n').errors[0], /^\/etc\/dosync\/dosync\.yaml(:1)?: schedule/);
  });
});
