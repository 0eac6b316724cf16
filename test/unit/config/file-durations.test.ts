/** Duration fields of dosync.yaml: seconds or Go-style text; a bad one is one line naming the file and the field once. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText } from '../../../src/config/file.js';
import { durationMs, notADuration, parseDuration } from '../../../src/util/duration.js';
import { ConfigError } from '../../../src/util/errors.js';

const HINT = 'is not a duration; use forms like 30s, 5m, 1h30m';

describe('bad durations in dosync.yaml name the field once', () => {
  const rows: Array<[string, string]> = [
    ['interval: 5 minutes\n', `/etc/dosync/dosync.yaml: interval: "5 minutes" ${HINT}`],
    ['jitter: lots\n', `/etc/dosync/dosync.yaml: jitter: "lots" ${HINT}`],
    ['min_age: old\n', `/etc/dosync/dosync.yaml: min_age: "old" ${HINT}`],
    ['health:\n  timeout: soon\n', `/etc/dosync/dosync.yaml: health.timeout: "soon" ${HINT}`],
    ['health:\n  stable: 1x\n', `/etc/dosync/dosync.yaml: health.stable: "1x" ${HINT}`],
    ['services:\n  web:\n    health:\n      timeout: soon\n', `/etc/dosync/dosync.yaml: services.web.health.timeout: "soon" ${HINT}`],
    ['services:\n  web:\n    min_age: 2 days\n', `/etc/dosync/dosync.yaml: services.web.min_age: "2 days" ${HINT}`],
    ['interval: ${EVERY}\n', `/etc/dosync/dosync.yaml: interval: "whenever" ${HINT}`],
  ];
  for (const [text, message] of rows) {
    test(JSON.stringify(text), () => {
      assert.throws(() => parseConfigText(text, '/etc/dosync/dosync.yaml', { EVERY: 'whenever' }), (e: unknown) => {
        assert.ok(e instanceof ConfigError);
        assert.equal(e.message, message);
        return true;
      });
    });
  }
  test('good ones parse to milliseconds (a bare number is seconds)', () => {
    const c = parseConfigText('interval: 90\njitter: 1m30s\nmin_age: 1.5h\nhealth:\n  timeout: 250ms\n', 'dosync.yaml', {});
    assert.deepEqual([c.interval, c.jitter, c.min_age, c.health?.timeout], [90_000, 90_000, 5_400_000, 250]);
  });
});

describe('duration helpers', () => {
  const rows: Array<[string, number | undefined]> = [['30s', 30_000], ['1h30m', 5_400_000], ['2', 2000], [' 5m ', 300_000], ['', undefined], ['5 m', undefined], ['5min', undefined], ['m', undefined]];
  for (const [text, ms] of rows) test(`durationMs(${JSON.stringify(text)})`, () => assert.equal(durationMs(text), ms));
  test('parseDuration names its field (flags) once, with the same text', () => {
    assert.throws(() => parseDuration('soon', '--interval'), (e: unknown) => e instanceof ConfigError && e.message === `--interval: ${notADuration('soon')}`);
    assert.equal(notADuration('soon'), `"soon" ${HINT}`);
  });
});
