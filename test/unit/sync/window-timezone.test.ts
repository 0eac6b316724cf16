/**
 * Maintenance windows without `timezone:` are in the host's zone (TZ), like a cron `schedule:`; `timezone:`
 * sets both. The clock is injected; the host's zone is set through process.env.TZ, which Node applies at once.
 */
import { describe, test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { nextRun, parseSchedule, parseWindows, updateHold } from '../../../src/sync/schedule.js';

let savedTz: string | undefined;
beforeEach(() => { savedTz = process.env.TZ; });
afterEach(() => {
  if (savedTz === undefined) delete process.env.TZ;
  else process.env.TZ = savedTz;
});

const windows = parseWindows('02:00-04:00');
const at = (iso: string) => new Date(iso);

describe('maintenance window zone', () => {
  // [host TZ, configured timezone, now (UTC), open?, zone named in the hold]
  const rows: Array<[string, string | undefined, string, boolean, string]> = [
    ['Asia/Tokyo', undefined, '2025-01-16T18:30:00Z', true, 'Asia/Tokyo'], // 03:30 in Tokyo
    ['Asia/Tokyo', undefined, '2025-01-17T02:30:00Z', false, 'Asia/Tokyo'], // 02:30 UTC, but 11:30 in Tokyo
    ['America/New_York', undefined, '2025-01-17T08:30:00Z', true, 'America/New_York'], // 03:30 EST
    ['America/New_York', undefined, '2025-07-17T07:30:00Z', true, 'America/New_York'], // 03:30 EDT
    ['America/New_York', undefined, '2025-01-17T03:30:00Z', false, 'America/New_York'],
    ['UTC', undefined, '2025-01-17T03:30:00Z', true, 'UTC'],
    // timezone: wins over the host's zone.
    ['Asia/Tokyo', 'UTC', '2025-01-17T02:30:00Z', true, 'UTC'],
    ['Asia/Tokyo', 'UTC', '2025-01-16T18:30:00Z', false, 'UTC'],
    ['UTC', 'Europe/Berlin', '2025-01-17T01:30:00Z', true, 'Europe/Berlin'],
  ];
  for (const [hostTz, timeZone, now, open, zone] of rows) {
    test(`TZ=${hostTz} timezone=${timeZone ?? '(unset)'} at ${now}: ${open ? 'open' : 'held'}`, () => {
      process.env.TZ = hostTz;
      const hold = updateHold({ now: at(now), windows, timeZone });
      if (open) assert.equal(hold, undefined);
      else {
        assert.equal(hold?.kind, 'window');
        assert.match(hold!.reason, new RegExp(`^outside the maintenance window 02:00-04:00 \\(${zone.replace('/', '\\/')}\\); next opens `));
      }
    });
  }

  test('held outside: it opens at the same instant as a cron schedule for that time (both in the host zone)', () => {
    process.env.TZ = 'Asia/Tokyo';
    const now = at('2025-01-17T06:00:00Z'); // 15:00 in Tokyo
    const hold = updateHold({ now, windows });
    assert.equal(hold?.kind === 'window' && hold.until.toISOString(), '2025-01-17T17:00:00.000Z'); // 02:00 in Tokyo
    const cron = parseSchedule({ schedule: '0 2 * * *' });
    assert.equal(nextRun(cron, now)?.toISOString(), '2025-01-17T17:00:00.000Z');
  });
});
