import { describe, test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import {
  parseWindows, isInWindow, nextWindowStart, validateTimeZone, zoneOffsetMs,
  cronNextRun, parseSchedule, nextRun, jitterDelay, msUntil,
  holdUntil, minAgeHold, pause, resume, isPaused, pauseFilePath, updateHold,
  type MaintenanceWindow,
} from '../../../src/sync/schedule.js';
import { ConfigError } from '../../../src/util/errors.js';

const d = (iso: string) => new Date(iso);
const HOUR = 3_600_000;
const MIN = 60_000;

/** Deterministic random in [0, 1): a small LCG, so jitter tests repeat exactly. */
function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('time zones', () => {
  test('offsets as the tz database has them (DST included)', () => {
    const rows: Array<[string, string, number]> = [
      ['2025-01-15T12:00:00Z', 'Europe/Berlin', 1],
      ['2025-07-15T12:00:00Z', 'Europe/Berlin', 2],
      ['2025-03-30T00:59:59Z', 'Europe/Berlin', 1],
      ['2025-03-30T01:00:00Z', 'Europe/Berlin', 2],
      ['2025-10-26T00:59:59Z', 'Europe/Berlin', 2],
      ['2025-10-26T01:00:00Z', 'Europe/Berlin', 1],
      ['2025-03-09T06:59:59Z', 'America/New_York', -5],
      ['2025-03-09T07:00:00Z', 'America/New_York', -4],
      ['2025-11-02T05:59:59Z', 'America/New_York', -4],
      ['2025-11-02T06:00:00Z', 'America/New_York', -5],
      ['2025-01-15T12:00:00Z', 'Asia/Kolkata', 5.5],
      ['2025-01-15T12:00:00Z', 'UTC', 0],
    ];
    for (const [iso, tz, hours] of rows) assert.equal(zoneOffsetMs(d(iso), tz), hours * HOUR, `${iso} ${tz}`);
  });

  test('validateTimeZone accepts IANA names and refuses others with a ConfigError naming the field', () => {
    assert.equal(validateTimeZone('Europe/Berlin'), 'Europe/Berlin');
    assert.equal(validateTimeZone('UTC'), 'UTC');
    for (const bad of ['Mars/Base', 'Berlin', 'CEST+2', '']) {
      assert.throws(() => validateTimeZone(bad, 'maintenance_time_zone'), (e: unknown) => e instanceof ConfigError && e.message.startsWith('maintenance_time_zone: '));
    }
  });
});

describe('parseWindows', () => {
  const ok: Array<[string, Array<[number, number]>]> = [
    ['02:00-04:00', [[120, 240]]],
    ['02:00-04:00,14:00-15:30', [[120, 240], [840, 930]]],
    [' 2:00 - 4:00 , 14:00-15:30 ', [[120, 240], [840, 930]]],
    ['22:00-02:00', [[1320, 120]]],
    ['22:00-24:00', [[1320, 0]]],
    ['00:00-00:01', [[0, 1]]],
    ['23:59-00:00', [[1439, 0]]],
  ];
  for (const [text, expected] of ok) {
    test(`'${text}'`, () => assert.deepEqual(parseWindows(text).map((w) => [w.start, w.end]), expected));
  }
  const bad = ['', ',', '02:00', '02:00-', '2-4', '24:00-02:00', '02:00-24:30', '02:60-03:00', '25:00-26:00', '02:00-02:00', '02:00-04:00,', 'a:bc-de:fg', '02:00~04:00'];
  for (const text of bad) {
    test(`refuses '${text}'`, () => {
      assert.throws(() => parseWindows(text, 'services.web.maintenance_window'),
        (e: unknown) => e instanceof ConfigError && e.message.startsWith('services.web.maintenance_window: '));
    });
  }
});

describe('isInWindow', () => {
  const rows: Array<[string, string, string, boolean]> = [
    // window, zone, instant, open?
    ['02:00-04:00,14:00-15:30', 'UTC', '2025-01-15T01:59:59.999Z', false],
    ['02:00-04:00,14:00-15:30', 'UTC', '2025-01-15T02:00:00Z', true],
    ['02:00-04:00,14:00-15:30', 'UTC', '2025-01-15T03:59:59.999Z', true],
    ['02:00-04:00,14:00-15:30', 'UTC', '2025-01-15T04:00:00Z', false],
    ['02:00-04:00,14:00-15:30', 'UTC', '2025-01-15T14:00:00Z', true],
    ['02:00-04:00,14:00-15:30', 'UTC', '2025-01-15T15:29:59Z', true],
    ['02:00-04:00,14:00-15:30', 'UTC', '2025-01-15T15:30:00Z', false],
    ['02:00-04:00', 'Europe/Berlin', '2025-01-15T00:59:00Z', false], // 01:59 CET
    ['02:00-04:00', 'Europe/Berlin', '2025-01-15T01:00:00Z', true], // 02:00 CET
    ['02:00-04:00', 'Europe/Berlin', '2025-01-15T02:59:00Z', true],
    ['02:00-04:00', 'Europe/Berlin', '2025-01-15T03:00:00Z', false], // 04:00 CET
    ['02:00-04:00', 'Europe/Berlin', '2025-07-15T00:00:00Z', true], // 02:00 CEST
    ['02:00-04:00', 'Europe/Berlin', '2025-07-15T02:00:00Z', false], // 04:00 CEST
    ['02:00-04:00', 'America/New_York', '2025-01-15T06:59:00Z', false],
    ['02:00-04:00', 'America/New_York', '2025-01-15T07:00:00Z', true], // 02:00 EST
    ['02:00-04:00', 'America/New_York', '2025-07-15T06:00:00Z', true], // 02:00 EDT
    ['02:00-04:00', 'Asia/Kolkata', '2025-01-15T20:30:00Z', true], // 02:00 IST
    ['02:00-04:00', 'Asia/Kolkata', '2025-01-15T20:29:00Z', false],
    // crossing midnight
    ['22:00-02:00', 'Europe/Berlin', '2025-07-15T19:59:00Z', false], // 21:59
    ['22:00-02:00', 'Europe/Berlin', '2025-07-15T20:00:00Z', true], // 22:00
    ['22:00-02:00', 'Europe/Berlin', '2025-07-15T22:00:00Z', true], // 00:00
    ['22:00-02:00', 'Europe/Berlin', '2025-07-15T23:59:59Z', true], // 01:59:59
    ['22:00-02:00', 'Europe/Berlin', '2025-07-16T00:00:00Z', false], // 02:00
    ['22:00-24:00', 'UTC', '2025-01-15T23:59:59.999Z', true],
    ['22:00-24:00', 'UTC', '2025-01-16T00:00:00Z', false],
    // DST days, Berlin: 02:00 CET -> 03:00 CEST at 01:00Z (30 Mar 2025); 03:00 CEST -> 02:00 CET at 01:00Z (26 Oct 2025)
    ['02:00-04:00', 'Europe/Berlin', '2025-03-30T00:59:59Z', false], // 01:59:59 CET
    ['02:00-04:00', 'Europe/Berlin', '2025-03-30T01:00:00Z', true], // 03:00 CEST
    ['02:00-04:00', 'Europe/Berlin', '2025-03-30T02:00:00Z', false], // 04:00 CEST
    ['02:30-04:00', 'Europe/Berlin', '2025-03-30T01:00:00Z', true], // the skipped 02:00-03:00 lands us at 03:00
    ['02:10-02:50', 'Europe/Berlin', '2025-03-30T00:59:59Z', false],
    ['02:10-02:50', 'Europe/Berlin', '2025-03-30T01:00:00Z', false], // wholly skipped
    ['02:00-02:30', 'Europe/Berlin', '2025-10-26T00:15:00Z', true], // 02:15 CEST
    ['02:00-02:30', 'Europe/Berlin', '2025-10-26T00:45:00Z', false], // 02:45 CEST
    ['02:00-02:30', 'Europe/Berlin', '2025-10-26T01:15:00Z', true], // 02:15 CET, the repeat
    // DST days, New York: 02:00 EST -> 03:00 EDT at 07:00Z (9 Mar 2025); 02:00 EDT -> 01:00 EST at 06:00Z (2 Nov 2025)
    ['02:00-03:00', 'America/New_York', '2025-03-09T06:59:59Z', false],
    ['02:00-03:00', 'America/New_York', '2025-03-09T07:00:00Z', false], // 03:00 EDT: the window never happened
    ['01:00-02:00', 'America/New_York', '2025-11-02T05:30:00Z', true], // 01:30 EDT
    ['01:00-02:00', 'America/New_York', '2025-11-02T06:30:00Z', true], // 01:30 EST
    ['01:00-02:00', 'America/New_York', '2025-11-02T07:00:00Z', false], // 02:00 EST
  ];
  for (const [text, tz, iso, expected] of rows) {
    test(`${text} ${tz} at ${iso}: ${expected ? 'open' : 'closed'}`, () => assert.equal(isInWindow(d(iso), parseWindows(text), tz), expected));
  }

  test('no windows: never open', () => assert.equal(isInWindow(d('2025-01-01T00:00:00Z'), [], 'UTC'), false));

  /** Minutes a window is open between two instants, scanned minute by minute. */
  const openMinutes = (text: string, tz: string, fromIso: string, toIso: string) => {
    const w = parseWindows(text);
    let n = 0;
    for (let t = Date.parse(fromIso); t < Date.parse(toIso); t += MIN) if (isInWindow(new Date(t), w, tz)) n++;
    return n;
  };
  const lengths: Array<[string, string, string, number]> = [
    ['02:00-04:00', 'Europe/Berlin', '2025-03-15', 120],
    ['02:00-04:00', 'Europe/Berlin', '2025-03-30', 60], // an hour skipped
    ['02:00-04:00', 'Europe/Berlin', '2025-10-26', 180], // an hour repeated
    ['22:00-02:00', 'Europe/Berlin', '2025-03-30', 240], // crossing midnight, ends as the gap begins: 21:00Z .. 01:00Z
    ['23:00-03:30', 'Europe/Berlin', '2025-03-30', 210], // crossing midnight over the gap: 22:00Z .. 01:30Z (270 on other days)
    ['23:00-03:30', 'Europe/Berlin', '2025-03-20', 270],
    ['01:00-03:00', 'America/New_York', '2025-03-09', 60],
    ['01:00-03:00', 'America/New_York', '2025-11-02', 180],
    ['01:00-03:00', 'America/New_York', '2025-11-09', 120],
  ];
  for (const [text, tz, day, minutes] of lengths) {
    test(`${text} ${tz}: open ${minutes} minutes around ${day}`, () => {
      // From noon the day before to noon on the day: exactly one opening of a night window.
      const prev = new Date(Date.parse(`${day}T12:00:00Z`) - 24 * HOUR).toISOString();
      assert.equal(openMinutes(text, tz, prev, `${day}T12:00:00Z`), minutes);
    });
  }
});

describe('nextWindowStart', () => {
  const rows: Array<[string, string, string, string]> = [
    // window, zone, now, expected opening
    ['02:00-04:00', 'UTC', '2025-01-15T05:00:00Z', '2025-01-16T02:00:00.000Z'],
    ['02:00-04:00', 'UTC', '2025-01-15T01:30:00Z', '2025-01-15T02:00:00.000Z'],
    ['02:00-04:00', 'UTC', '2025-01-15T01:59:59.500Z', '2025-01-15T02:00:00.000Z'],
    ['02:00-04:00', 'UTC', '2025-01-15T03:00:00.123Z', '2025-01-15T03:00:00.123Z'], // open: now
    ['02:00-04:00,14:00-15:30', 'UTC', '2025-01-15T05:00:00Z', '2025-01-15T14:00:00.000Z'],
    ['02:00-04:00,14:00-15:30', 'UTC', '2025-01-15T16:00:00Z', '2025-01-16T02:00:00.000Z'],
    ['02:00-04:00', 'Europe/Berlin', '2025-01-15T12:00:00Z', '2025-01-16T01:00:00.000Z'],
    ['02:00-04:00', 'Europe/Berlin', '2025-07-15T12:00:00Z', '2025-07-16T00:00:00.000Z'],
    ['02:00-04:00', 'Asia/Kolkata', '2025-01-15T00:00:00Z', '2025-01-15T20:30:00.000Z'],
    ['23:00-01:00', 'America/New_York', '2025-01-15T12:00:00Z', '2025-01-16T04:00:00.000Z'],
    ['22:00-24:00', 'UTC', '2025-01-16T00:00:00Z', '2025-01-16T22:00:00.000Z'],
    // Berlin spring forward (30 Mar 2025, 01:00Z): a start in the skipped hour opens when the clock jumps
    ['02:00-04:00', 'Europe/Berlin', '2025-03-29T12:00:00Z', '2025-03-30T01:00:00.000Z'],
    ['02:30-04:00', 'Europe/Berlin', '2025-03-29T12:00:00Z', '2025-03-30T01:00:00.000Z'],
    ['02:10-02:40', 'Europe/Berlin', '2025-03-29T12:00:00Z', '2025-03-31T00:10:00.000Z'], // skipped that day
    ['03:00-04:00', 'Europe/Berlin', '2025-03-29T12:00:00Z', '2025-03-30T01:00:00.000Z'],
    ['01:30-02:30', 'Europe/Berlin', '2025-03-29T12:00:00Z', '2025-03-30T00:30:00.000Z'], // before the gap: normal
    // Berlin fall back (26 Oct 2025, 01:00Z): the repeated hour opens twice
    ['02:30-04:00', 'Europe/Berlin', '2025-10-25T12:00:00Z', '2025-10-26T00:30:00.000Z'], // 02:30 CEST
    ['02:30-04:00', 'Europe/Berlin', '2025-10-26T01:00:00Z', '2025-10-26T01:30:00.000Z'], // 02:00 CET: 02:30 CET next
    ['02:00-02:30', 'Europe/Berlin', '2025-10-26T00:40:00Z', '2025-10-26T01:00:00.000Z'], // reopens at the jump back
    // New York spring forward (9 Mar 2025, 07:00Z) and fall back (2 Nov 2025, 06:00Z)
    ['02:30-03:30', 'America/New_York', '2025-03-08T12:00:00Z', '2025-03-09T07:00:00.000Z'],
    ['02:00-03:00', 'America/New_York', '2025-03-08T12:00:00Z', '2025-03-10T06:00:00.000Z'], // skipped that day
    ['01:30-01:45', 'America/New_York', '2025-11-01T12:00:00Z', '2025-11-02T05:30:00.000Z'], // 01:30 EDT
    ['01:30-01:45', 'America/New_York', '2025-11-02T05:50:00Z', '2025-11-02T06:30:00.000Z'], // 01:30 EST
    // Lord Howe Island moves its clocks by 30 minutes (02:00 -> 02:30 on 5 Oct 2025, 15:30Z)
    ['02:10-03:00', 'Australia/Lord_Howe', '2025-10-04T12:00:00Z', '2025-10-04T15:30:00.000Z'],
  ];
  for (const [text, tz, now, expected] of rows) {
    test(`${text} ${tz} from ${now} -> ${expected}`, () => {
      const at = nextWindowStart(d(now), parseWindows(text), tz);
      assert.equal(at.toISOString(), expected);
      assert.equal(isInWindow(at, parseWindows(text), tz), true);
    });
  }

  test('no windows is a programming error', () => {
    assert.throws(() => nextWindowStart(d('2025-01-01T00:00:00Z'), [], 'UTC'), /no windows/);
  });

  test('property: the result is open, and no minute between now and it is (brute force)', () => {
    const zones = ['UTC', 'Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Kolkata', 'Pacific/Chatham'];
    const hhmm = fc.integer({ min: 0, max: 1439 });
    const windowArb = fc.tuple(hhmm, hhmm).filter(([a, b]) => a !== b).map(([a, b]) => {
      const f = (m: number) => `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
      return `${f(a)}-${f(b)}`;
    });
    // Around the 2025 transitions and at random through two years.
    const instants = fc.oneof(
      fc.integer({ min: Date.parse('2024-01-01T00:00:00Z'), max: Date.parse('2026-01-01T00:00:00Z') }),
      ...['2025-03-30T01:00:00Z', '2025-10-26T01:00:00Z', '2025-03-09T07:00:00Z', '2025-11-02T06:00:00Z', '2025-10-04T15:30:00Z', '2025-04-05T14:00:00Z']
        .map((iso) => fc.integer({ min: Date.parse(iso) - 30 * HOUR, max: Date.parse(iso) + 6 * HOUR })),
    );
    fc.assert(fc.property(fc.array(windowArb, { minLength: 1, maxLength: 3 }), fc.constantFrom(...zones), instants, (texts, tz, t) => {
      const windows: MaintenanceWindow[] = parseWindows(texts.join(','));
      const now = new Date(t);
      const at = nextWindowStart(now, windows, tz).getTime();
      assert.ok(at >= t);
      assert.ok(at - t <= 26 * HOUR, 'a daily window opens within a day (plus a DST shift)');
      assert.equal(isInWindow(new Date(at), windows, tz), true);
      if (at === t) return;
      // Openings happen on whole UTC minutes (all these zones have whole-minute offsets): check now and each one before `at`.
      assert.equal(isInWindow(now, windows, tz), false);
      assert.equal(at % MIN, 0);
      for (let m = Math.floor(t / MIN) * MIN + MIN; m < at; m += MIN) assert.equal(isInWindow(new Date(m), windows, tz), false, new Date(m).toISOString());
    }), { numRuns: 60, seed: 20250330 });
  });
});

describe('cron', () => {
  const rows: Array<[string, string | undefined, string, string | undefined]> = [
    ['*/15 * * * *', 'UTC', '2025-01-01T00:00:00Z', '2025-01-01T00:15:00.000Z'], // strictly after
    ['*/15 * * * *', 'UTC', '2025-01-01T00:07:31Z', '2025-01-01T00:15:00.000Z'],
    ['*/20 * * * * *', 'UTC', '2025-01-01T00:00:05Z', '2025-01-01T00:00:20.000Z'], // six fields: seconds
    ['@daily', 'UTC', '2025-01-01T12:00:00Z', '2025-01-02T00:00:00.000Z'],
    ['@hourly', 'Asia/Kolkata', '2025-01-01T12:10:00Z', '2025-01-01T12:30:00.000Z'], // half-hour zone: local :00 is :30 UTC
    ['0 3 * * *', 'Europe/Berlin', '2025-01-15T12:00:00Z', '2025-01-16T02:00:00.000Z'],
    ['0 3 * * *', 'Europe/Berlin', '2025-07-15T12:00:00Z', '2025-07-16T01:00:00.000Z'],
    ['0 3 * * *', 'America/New_York', '2025-01-15T12:00:00Z', '2025-01-16T08:00:00.000Z'],
    ['0 9 * * 1-5', 'Asia/Tokyo', '2025-01-03T00:00:00Z', '2025-01-06T00:00:00.000Z'], // Friday 09:00 JST itself excluded -> Monday
    ['0 0 29 2 *', 'UTC', '2025-03-01T00:00:00Z', '2028-02-29T00:00:00.000Z'],
    // DST: a time in the skipped hour runs when the clock jumps; a repeated time runs once
    ['0 30 2 * * *', 'Europe/Berlin', '2025-03-29T12:00:00Z', '2025-03-30T01:00:00.000Z'],
    ['0 30 2 * * *', 'Europe/Berlin', '2025-03-30T01:00:00Z', '2025-03-31T00:30:00.000Z'],
    ['0 30 2 * * *', 'Europe/Berlin', '2025-10-25T12:00:00Z', '2025-10-26T00:30:00.000Z'],
    ['0 30 2 * * *', 'Europe/Berlin', '2025-10-26T00:30:00Z', '2025-10-27T01:30:00.000Z'],
    ['30 2 * * *', 'America/New_York', '2025-03-08T12:00:00Z', '2025-03-09T07:00:00.000Z'],
    ['30 1 * * *', 'America/New_York', '2025-11-01T12:00:00Z', '2025-11-02T05:30:00.000Z'],
    ['30 1 * * *', 'America/New_York', '2025-11-02T05:30:00Z', '2025-11-03T06:30:00.000Z'],
  ];
  for (const [expr, tz, after, expected] of rows) {
    test(`'${expr}' ${tz} after ${after}`, () => assert.equal(cronNextRun(expr, d(after), tz)?.toISOString(), expected));
  }

  for (const bad of ['every 5 minutes', '61 * * * *', '* * * *', '* * 32 * *', '']) {
    test(`refuses '${bad}' with a ConfigError naming --schedule`, () => {
      assert.throws(() => parseSchedule({ schedule: bad }), (e: unknown) => e instanceof ConfigError && e.message.startsWith('--schedule: '));
    });
  }
});

describe('parseSchedule and nextRun', () => {
  test('defaults to the interval, 5 minutes unless told', () => {
    assert.deepEqual(parseSchedule({}), { kind: 'interval', intervalMs: 5 * MIN, jitterMs: 0 });
    assert.deepEqual(parseSchedule({}, 60_000), { kind: 'interval', intervalMs: 60_000, jitterMs: 0 });
    assert.deepEqual(parseSchedule({ interval: '1h30m', jitter: '30s' }), { kind: 'interval', intervalMs: 90 * MIN, jitterMs: 30_000 });
    assert.deepEqual(parseSchedule({ interval: 2000 }), { kind: 'interval', intervalMs: 2000, jitterMs: 0 });
  });

  test('cron schedule with zone and jitter', () => {
    assert.deepEqual(parseSchedule({ schedule: ' 0 3 * * * ', timeZone: 'Europe/Berlin', jitter: '2m' }),
      { kind: 'cron', expression: '0 3 * * *', timeZone: 'Europe/Berlin', jitterMs: 2 * MIN });
  });

  const refusals: Array<[Parameters<typeof parseSchedule>[0], RegExp]> = [
    [{ interval: '5m', schedule: '* * * * *' }, /--interval and --schedule both given/],
    [{ interval: '0s' }, /--interval: "0s" must be longer than zero/],
    [{ interval: 0 }, /--interval: "0" must be longer than zero/],
    [{ interval: 'soon' }, /--interval: "soon" is not a duration/],
    [{ jitter: 'lots' }, /--jitter: "lots" is not a duration/],
    [{ jitter: -5 }, /--jitter: "-5" must not be negative/],
    [{ schedule: '* * * * *', timeZone: 'Mars/Base' }, /--time-zone: "Mars\/Base" is not an IANA time zone/],
  ];
  for (const [input, message] of refusals) {
    test(`refuses ${JSON.stringify(input)}`, () => {
      assert.throws(() => parseSchedule(input), (e: unknown) => e instanceof ConfigError && message.test(e.message));
    });
  }

  test('interval: measured from the end of the last cycle, plus jitter', () => {
    const end = d('2025-01-01T00:00:00Z');
    assert.equal(nextRun({ kind: 'interval', intervalMs: 5 * MIN, jitterMs: 0 }, end, () => 0.9)?.toISOString(), '2025-01-01T00:05:00.000Z');
    assert.equal(nextRun({ kind: 'interval', intervalMs: 5 * MIN, jitterMs: 60_000 }, end, () => 0.5)?.toISOString(), '2025-01-01T00:05:30.000Z');
    assert.equal(nextRun({ kind: 'interval', intervalMs: 5 * MIN, jitterMs: 60_000 }, end, () => 0)?.toISOString(), '2025-01-01T00:05:00.000Z');
  });

  test('cron: next fire time plus jitter; undefined when it never fires again', () => {
    const s = parseSchedule({ schedule: '0 3 * * *', timeZone: 'Europe/Berlin', jitter: '10m' });
    assert.equal(nextRun(s, d('2025-01-15T12:00:00Z'), () => 0.25)?.toISOString(), '2025-01-16T02:02:30.000Z');
    assert.equal(nextRun({ kind: 'cron', expression: '0 0 0 1 1 * 2020', jitterMs: 0 }, d('2025-01-01T00:00:00Z')), undefined);
  });

  test('jitter is deterministic with an injected random and stays in [0, jitter)', () => {
    const s = { kind: 'interval' as const, intervalMs: MIN, jitterMs: 30_000 };
    const runs = (seed: number) => Array.from({ length: 50 }, (_, i) => nextRun(s, new Date(i * HOUR), seeded(seed + i))!.getTime() - i * HOUR - MIN);
    assert.deepEqual(runs(7), runs(7));
    assert.notDeepEqual(runs(7), runs(8));
    for (const delay of runs(7)) assert.ok(delay >= 0 && delay < 30_000, String(delay));
    assert.ok(new Set(runs(7)).size > 40, 'spread out, not constant');
  });

  test('jitterDelay bounds, also for a misbehaving random', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 10 * HOUR }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (j, r) => {
      const v = jitterDelay(j, () => r);
      return Number.isInteger(v) && v >= 0 && v < j;
    }));
    assert.equal(jitterDelay(1000, () => 1), 999);
    assert.equal(jitterDelay(1000, () => -3), 0);
    assert.equal(jitterDelay(0, () => 0.5), 0);
  });

  test('msUntil never goes negative', () => {
    assert.equal(msUntil(d('2025-01-01T00:01:00Z'), d('2025-01-01T00:00:00Z')), 60_000);
    assert.equal(msUntil(d('2025-01-01T00:00:00Z'), d('2025-01-01T00:01:00Z')), 0);
  });
});

describe('min age', () => {
  const pushed = d('2025-01-01T00:00:00Z');
  const DAY = 24 * HOUR;

  test('holdUntil', () => {
    assert.equal(holdUntil(pushed, DAY).toISOString(), '2025-01-02T00:00:00.000Z');
    assert.equal(holdUntil(pushed, 90 * MIN).toISOString(), '2025-01-01T01:30:00.000Z');
  });

  const rows: Array<[string, Date | undefined, number, string, 'allow' | 'hold' | undefined, boolean]> = [
    ['younger than min_age', pushed, DAY, '2025-01-01T23:59:59.999Z', undefined, true],
    ['exactly min_age old', pushed, DAY, '2025-01-02T00:00:00Z', undefined, false],
    ['older', pushed, DAY, '2025-01-05T00:00:00Z', undefined, false],
    ['pushed "in the future" (clock skew)', d('2025-01-03T00:00:00Z'), DAY, '2025-01-02T00:00:00Z', undefined, true],
    ['no min_age', pushed, 0, '2025-01-01T00:00:01Z', undefined, false],
    ['unknown push time, default allow', undefined, DAY, '2025-01-01T00:00:00Z', undefined, false],
    ['unknown push time, hold', undefined, DAY, '2025-01-01T00:00:00Z', 'hold', true],
  ];
  for (const [name, at, minAge, now, unknown, held] of rows) {
    test(name, () => {
      const r = minAgeHold(at, minAge, d(now), unknown);
      assert.equal(r.held, held);
      if (r.held && at) assert.equal(r.until!.getTime(), at.getTime() + minAge);
    });
  }
});

describe('pause', () => {
  let dir: string;
  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'dosync-pause-')); });
  afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

  test('pause writes the flag file, isPaused reads it, resume removes it', async () => {
    assert.deepEqual(await isPaused(dir, {}), { paused: false });
    const path = await pause(dir, { now: d('2025-02-03T04:05:06Z'), reason: 'release freeze' });
    assert.equal(path, pauseFilePath(dir));
    assert.deepEqual(await readdir(dir), ['paused']);
    assert.deepEqual(await isPaused(dir, {}), { paused: true, source: 'file', path, since: '2025-02-03T04:05:06.000Z', reason: 'release freeze' });
    const body = JSON.parse(await readFile(path, 'utf8'));
    assert.equal(body.pid, process.pid);
    assert.equal(await resume(dir), true);
    assert.deepEqual(await isPaused(dir, {}), { paused: false });
    assert.equal(await resume(dir), false, 'resuming twice is fine');
  });

  test('pausing twice keeps one file; a state dir that does not exist yet is created', async () => {
    const nested = join(dir, 'state');
    await pause(nested);
    await pause(nested);
    assert.deepEqual(await readdir(nested), ['paused']);
  });

  test('a flag file with any content (even none) pauses', async () => {
    await writeFile(pauseFilePath(dir), '');
    assert.deepEqual(await isPaused(dir, {}), { paused: true, source: 'file', path: pauseFilePath(dir) });
  });

  test('a missing state dir is simply not paused', async () => {
    assert.deepEqual(await isPaused(join(dir, 'nope'), {}), { paused: false });
  });

  const envRows: Array<[NodeJS.ProcessEnv, boolean, string?]> = [
    [{ PAUSE_UPDATES: '1' }, true, 'PAUSE_UPDATES'],
    [{ PAUSE_UPDATES: 'true' }, true, 'PAUSE_UPDATES'],
    [{ PAUSE_UPDATES: ' YES ' }, true, 'PAUSE_UPDATES'],
    [{ PAUSE_UPDATES: 'on' }, true, 'PAUSE_UPDATES'],
    [{ DOSYNC_PAUSE_UPDATES: '1', PAUSE_UPDATES: '1' }, true, 'DOSYNC_PAUSE_UPDATES'],
    [{ PAUSE_UPDATES: '0' }, false],
    [{ PAUSE_UPDATES: 'false' }, false],
    [{ PAUSE_UPDATES: '' }, false],
    [{ PAUSE: '1' }, false],
  ];
  for (const [env, paused, variable] of envRows) {
    test(`env ${JSON.stringify(env)} -> ${paused}`, async () => {
      assert.deepEqual(await isPaused(dir, env), paused ? { paused: true, source: 'env', variable } : { paused: false });
    });
  }
});

describe('updateHold', () => {
  const windows = parseWindows('02:00-04:00');
  const base = { windows, timeZone: 'Europe/Berlin', minAgeMs: 24 * HOUR, pushedAt: d('2025-01-15T00:00:00Z') };

  test('inside the window and old enough: go', () => {
    assert.equal(updateHold({ ...base, now: d('2025-01-17T01:30:00Z') }), undefined);
  });

  test('outside the window: held until it opens', () => {
    const h = updateHold({ ...base, now: d('2025-01-17T12:00:00Z') });
    assert.equal(h?.kind, 'window');
    assert.equal(h?.kind === 'window' && h.until.toISOString(), '2025-01-18T01:00:00.000Z');
    assert.match(h!.reason, /outside the maintenance window 02:00-04:00 \(Europe\/Berlin\); next opens 2025-01-18T01:00:00.000Z/);
  });

  test('too young: held by min-age first', () => {
    const h = updateHold({ ...base, now: d('2025-01-15T01:30:00Z') });
    assert.equal(h?.kind, 'min-age');
    assert.equal(h?.kind === 'min-age' && h.until?.toISOString(), '2025-01-16T00:00:00.000Z');
  });

  test('paused wins over everything, with its reason', () => {
    assert.deepEqual(updateHold({ ...base, now: d('2025-01-17T01:30:00Z'), paused: true }), { kind: 'paused', reason: 'updates are paused' });
    assert.deepEqual(updateHold({ ...base, now: d('2025-01-17T01:30:00Z'), paused: 'services.web.paused is true' }), { kind: 'paused', reason: 'services.web.paused is true' });
  });

  test('no windows and no min-age: go', () => {
    assert.equal(updateHold({ now: d('2025-01-17T12:00:00Z') }), undefined);
  });
});
