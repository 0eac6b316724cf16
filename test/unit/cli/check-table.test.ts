import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { resolvePolicy, type PolicySources } from '../../../src/policy/index.js';
import { layoutTable, printable, shortPolicy, longPolicy, statusText, terminalWidth } from '../../../src/cli/check-table.js';
import { renderTable, checkFormat, type CheckRow } from '../../../src/cli/check.js';
import type { Selection } from '../../../src/policy/types.js';

const WHERE = { labels: 'compose.yml: services.web.labels', service: 'dosync.yaml: services.web', registry: 'dosync.yaml: registry' };
const policy = (s: PolicySources) => resolvePolicy(s, WHERE);
const digestSelection: Selection = { kind: 'digest', selected: 'latest', reason: 'latest is not a version: tracking its digest', candidates: [], dropped: [] };

describe('shortPolicy', () => {
  test('short names for every kind of policy', () => {
    const cases: Array<[PolicySources, string]> = [
      [{}, 'same-major'],
      [{ labels: { 'dosync.update': 'patch' } }, 'patch'],
      [{ labels: { 'dosync.update': 'major' } }, 'any-major'],
      [{ labels: { 'dosync.update': 'digest' } }, 'digest'],
      [{ labels: { 'dosync.policy': 'semver:>=1 <2' } }, 'semver >=1 <2'],
      [{ labels: { 'dosync.policy': 'numerical:desc', 'dosync.tag.include': '^b-(?P<n>\\d+)$', 'dosync.tag.extract': '$n' } }, 'numerical +include'],
      [{ labels: { 'dosync.enable': 'false' } }, 'disabled'],
      [{ service: { skip: true } }, 'disabled'],
    ];
    for (const [sources, want] of cases) assert.equal(shortPolicy(policy(sources)), want, JSON.stringify(sources));
  });
  test('a tag that is not a version (latest) is followed by digest: the row says digest, not the version rule', () => {
    const p = policy({});
    assert.equal(shortPolicy(p, digestSelection), 'digest');
    assert.match(longPolicy(p, digestSelection), /^digest of the current tag \(latest is not a version/);
    assert.match(longPolicy(p), /^default: newest version of the same tag shape/);
  });
  test('a service disabled by a label has the label as its source', () => {
    assert.equal(policy({ labels: { 'dosync.enable': 'false' } }).source, 'label');
    assert.equal(policy({ labels: { 'com.centurylinklabs.watchtower.enable': 'false' } }).source, 'label');
    assert.equal(policy({ service: { skip: true } }).source, 'service');
  });
});

describe('statusText', () => {
  test('worded once: a disabled service says why once; held says until when', () => {
    const disabled = policy({ labels: { 'dosync.enable': 'false' } }).describe;
    assert.equal(statusText({ status: 'skipped', reason: disabled }), 'updates disabled (label dosync.enable)');
    assert.equal(statusText({ status: 'held', reason: '1.0 -> 1.1 (x); held: outside the maintenance window Sat 02:00-04:00 (UTC)', heldUntil: '2026-12-05T02:00:00.000Z' }),
      'held until 2026-12-05 02:00 UTC (outside the maintenance window Sat 02:00-04:00 (UTC))');
    assert.equal(statusText({ status: 'held', reason: '1.0 -> 1.1 (x); held: updates are paused' }), 'held (updates are paused)');
    assert.equal(statusText({ status: 'error', reason: 'not found' }), 'error: not found');
    assert.equal(statusText({ status: 'up to date', reason: 'x', unverified: 'no signature' }), 'up to date; running image does not verify: no signature');
  });
});

describe('printable', () => {
  test('control characters (ESC, CR, BEL, C1) are escaped, never printed', () => {
    assert.equal(printable('v1\x1b[31mred\r\x07\u009b'), 'v1\\x1b[31mred\\x0d\\x07\\x9b');
    assert.equal(printable('ünïcode-ok 1.2'), 'ünïcode-ok 1.2');
  });
  test('every cell of the table, not only tags', () => {
    const row: CheckRow = { service: 'we\x1bb', current: '1\r', newest: '2\x07', policy: 'p\x1b', policyShort: 's\x1b', source: 'label', registry: 'r\x00', status: 'error', reason: 'bad\x1b[2J', unit: null };
    const out = renderTable([row], 200) + renderTable([row]);
    assert.doesNotMatch(out, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    assert.match(out, /we\\x1bb/);
    assert.match(out, /error: bad\\x1b\[2J/);
  });
});

describe('terminalWidth', () => {
  test('COLUMNS, else the tty, else 80', () => {
    assert.equal(terminalWidth({ COLUMNS: '100' }, { isTTY: true, columns: 120 }), 100);
    assert.equal(terminalWidth({ COLUMNS: 'wide' }, { isTTY: true, columns: 120 }), 120);
    assert.equal(terminalWidth({}, { isTTY: false, columns: 120 }), 80);
    assert.equal(terminalWidth({}, {}), 80);
  });
});

describe('layoutTable and renderTable', () => {
  const rows: CheckRow[] = Array.from({ length: 12 }, (_, i) => ({
    service: `service-number-${i}`, current: '1.2.3', newest: '1.4.0', policy: 'default: newest version of the same tag shape within the current major (label dosync.update)',
    policyShort: 'same-major', source: 'label', registry: 'registry.example.com:5000', status: i % 2 ? 'update available' : 'error',
    reason: 'cannot reach registry.example.com:5000: connect ECONNREFUSED 127.0.0.1:5000 (after 3 attempts)', unit: null,
  }));
  for (const width of [80, 100, 120]) {
    test(`fits ${width} columns, tags kept whole`, () => {
      const out = renderTable(rows, width);
      const lines = out.split('\n\n')[0].split('\n');
      assert.equal(lines.length, 13);
      // A status shortened in the table is printed whole below it.
      assert.match(out, /\n  service-number-0: error: cannot reach registry\.example\.com:5000: connect ECONNREFUSED 127\.0\.0\.1:5000 \(after 3 attempts\)\n/);
      assert.match(out, new RegExp(`\\(fitted to ${width} columns.*--wide shows everything\\)$`));
      for (const l of lines) assert.ok([...l].length <= width, `${[...l].length} > ${width}: ${l}`);
      for (const l of lines.slice(1)) assert.match(l, /1\.2\.3\s+1\.4\.0/);
      assert.match(lines[0], width >= 120 ? /^SERVICE\s+CURRENT\s+NEWEST\s+POLICY\s+SOURCE\s+REGISTRY\s+STATUS$/ : /^SERVICE\s+CURRENT\s+NEWEST\s+POLICY\s+(SOURCE\s+)?STATUS$/);
    });
  }
  test('--wide: full policy text, nothing shortened', () => {
    const out = renderTable(rows);
    assert.match(out, /default: newest version of the same tag shape within the current major \(label dosync\.update\)/);
    assert.match(out, /after 3 attempts\)/);
    assert.doesNotMatch(out, /…/);
  });
  test('a table that fits is not touched', () => {
    assert.equal(layoutTable(['A', 'B'], [['x', 'y']], 80).text, 'A  B\nx  y');
  });
  test('--format wins over --json/--wide; they are shorthands', () => {
    assert.equal(checkFormat({}), 'table');
    assert.equal(checkFormat({ json: true }), 'json');
    assert.equal(checkFormat({ wide: true }), 'wide');
    assert.equal(checkFormat({ wide: true, format: 'json' }), 'json');
  });
});
