import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { createLogger, parseLogFormat, useColor, type LoggerSettings } from '../../../src/util/logger.js';

/** Logs one event with nested fields and a line break in it; returns what was written. */
function logOnce(settings: LoggerSettings): string {
  const out = new PassThrough();
  let text = '';
  out.on('data', (c: Buffer) => { text += c.toString(); });
  const logger = createLogger({ ...settings, destination: out });
  logger.info({ service: 'web', tag: '1.2.0', err: { message: 'first line\nsecond "quoted" line' }, password: 'hunter2' }, 'updated web');
  logger.flush?.();
  return text;
}

describe('log formats', () => {
  test('pretty: one line per event, no colour under NO_COLOR, colour under FORCE_COLOR', () => {
    const plain = logOnce({ format: 'pretty', env: { NO_COLOR: '1', FORCE_COLOR: '1' } });
    assert.equal(plain.trimEnd().split('\n').length, 1, plain);
    assert.match(plain, /INFO.*updated web.*"service":"web"/);
    assert.doesNotMatch(plain, /\x1b\[/);
    assert.doesNotMatch(plain, /hunter2/);
    const coloured = logOnce({ format: 'pretty', env: { FORCE_COLOR: '1' } });
    assert.match(coloured, /\x1b\[/);
    assert.equal(coloured.trimEnd().split('\n').length, 1);
    // Not a terminal and nothing forced: no colour.
    assert.doesNotMatch(logOnce({ format: 'pretty', env: {} }), /\x1b\[/);
  });
  test('logfmt: key=value on one line, nested keys dotted, quotes and line breaks escaped, secrets redacted', () => {
    const line = logOnce({ format: 'logfmt', env: {} });
    assert.equal(line.split('\n').length, 2, line);
    assert.match(line, /^time=\d{4}-\d\d-\d\dT[\d:.]+Z level=info msg="updated web" /);
    assert.match(line, / service=web tag=1\.2\.0 /);
    assert.match(line, / err\.message="first line\\nsecond \\"quoted\\" line" /);
    assert.match(line, / password=\[redacted\]\n$/);
  });
  test('json: one JSON object per line', () => {
    const line = logOnce({ format: 'json' });
    assert.equal(JSON.parse(line).msg, 'updated web');
  });
  test('--log-format / DOSYNC_LOG_FORMAT: the three formats, anything else one line naming the place', () => {
    assert.equal(parseLogFormat('LOGFMT'), 'logfmt');
    assert.equal(parseLogFormat(undefined), undefined);
    assert.throws(() => parseLogFormat('yaml'), /^ConfigError: DOSYNC_LOG_FORMAT: "yaml" is not a log format; use json, pretty, logfmt$/);
  });
  test('useColor follows no-color.org and FORCE_COLOR', () => {
    assert.equal(useColor({}, true), true);
    assert.equal(useColor({ NO_COLOR: '1' }, true), false);
    assert.equal(useColor({ NO_COLOR: '' }, true), true);
    assert.equal(useColor({ FORCE_COLOR: '0' }, true), false);
    assert.equal(useColor({ FORCE_COLOR: '1' }, false), true);
  });
});
