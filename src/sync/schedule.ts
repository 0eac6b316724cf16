/**
 * When dosync acts: the next check (interval with jitter, or a cron expression through croner), maintenance
 * windows in an IANA time zone (default the host's, as croner's), minimum tag age, and pause. Everything but the
 * pause flag file and that default zone is pure: the clock and the random source are arguments.
 *
 * Windows are wall-clock ranges. On a day the clocks skip an hour the skipped part of a window simply does not
 * happen (02:30-04:00 opens at 03:00 when 02:00 jumps to 03:00); on a day they repeat an hour the repeated part
 * is open twice. Time zone offsets come from Intl (the ICU data in Node), so no date library is needed.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { Cron } from 'croner';
import { ConfigError, errorMessage } from '../util/errors.js';
import { parseDuration } from '../util/duration.js';
import { writeFileAtomic } from '../util/atomic-write.js';

const MINUTE = 60_000;
const DAY = 86_400_000;

// ---------------------------------------------------------------------------------------------- time zones

export function systemTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Throws a ConfigError naming `field` unless `timeZone` is an IANA zone Node knows; returns its canonical name. */
export function validateTimeZone(timeZone: string, field = 'time zone'): string {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone }).resolvedOptions().timeZone;
  } catch {
    throw new ConfigError(`${field}: "${timeZone}" is not an IANA time zone; use names like Europe/Berlin, America/New_York or UTC`);
  }
}

/** The wall clock in `timeZone` at `t` (ms since the epoch), with the milliseconds of `t`. */
function wallClock(t: number, timeZone: string): { y: number; mo: number; d: number; h: number; mi: number; s: number; ms: number } {
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(t))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return { y: parts.year, mo: parts.month, d: parts.day, h: parts.hour, mi: parts.minute, s: parts.second, ms: ((t % 1000) + 1000) % 1000 };
}

/** UTC offset of `timeZone` at `t`, in milliseconds (Berlin in summer: +7_200_000). */
export function zoneOffsetMs(t: Date | number, timeZone: string): number {
  const ms = typeof t === 'number' ? t : t.getTime();
  const w = wallClock(ms, timeZone);
  return Date.UTC(w.y, w.mo - 1, w.d, w.h, w.mi, w.s, w.ms) - ms;
}

/** Milliseconds since local midnight on the wall clock. */
function wallMsOfDay(t: number, timeZone: string): number {
  const w = wallClock(t, timeZone);
  return ((w.h * 60 + w.mi) * 60 + w.s) * 1000 + w.ms;
}

// ---------------------------------------------------------------------------------------------- windows

/** A daily wall-clock range in minutes after midnight; `start > end` crosses midnight. */
export interface MaintenanceWindow {
  start: number;
  end: number;
  text: string;
}

/** Parses `'02:00-04:00,14:00-15:30'` (24:00 allowed as an end; `22:00-02:00` crosses midnight). */
export function parseWindows(text: string, field = 'maintenance_window'): MaintenanceWindow[] {
  const items = text.split(',').map((s) => s.trim());
  if (items.length === 0 || items.every((s) => s === '')) throw new ConfigError(`${field}: empty; use ranges like '02:00-04:00,14:00-15:30'`);
  return items.map((item) => {
    const m = /^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$/.exec(item);
    const bad = () => new ConfigError(`${field}: "${item}" is not a time range; use HH:MM-HH:MM, e.g. '02:00-04:00,14:00-15:30'`);
    if (!m) throw bad();
    const [sh, sm, eh, em] = m.slice(1).map(Number);
    if (sh > 23 || sm > 59 || em > 59 || eh > 24 || (eh === 24 && em !== 0)) throw bad();
    const start = sh * 60 + sm;
    const end = (eh * 60 + em) % 1440;
    if (start === end) throw new ConfigError(`${field}: "${item}" starts and ends at the same time; give a range that lasts`);
    return { start, end, text: item };
  });
}

function contains(w: MaintenanceWindow, minuteOfDay: number): boolean {
  return w.start < w.end ? minuteOfDay >= w.start && minuteOfDay < w.end : minuteOfDay >= w.start || minuteOfDay < w.end;
}

/** Whether the wall clock in `timeZone` at `now` lies in one of `windows` (none given: false). */
export function isInWindow(now: Date, windows: readonly MaintenanceWindow[], timeZone: string): boolean {
  const minute = wallMsOfDay(now.getTime(), timeZone) / MINUTE;
  return windows.some((w) => contains(w, minute));
}

/** First instant in (lo, hi] whose offset differs from lo's; lo and hi must have different offsets. */
function findTransition(lo: number, hi: number, timeZone: string): number {
  const before = zoneOffsetMs(lo, timeZone);
  while (hi - lo > 1) {
    const mid = lo + Math.floor((hi - lo) / 2);
    if (zoneOffsetMs(mid, timeZone) === before) lo = mid;
    else hi = mid;
  }
  return hi;
}

/**
 * `now` when a window is open, else the first instant one opens. Jumps on the wall clock to the next window
 * start; when a UTC offset change lies on the way, it stops at the change and looks again, so a start inside
 * a skipped hour opens at the end of the gap, and a start in a repeated hour opens at its first occurrence.
 */
export function nextWindowStart(now: Date, windows: readonly MaintenanceWindow[], timeZone: string): Date {
  if (windows.length === 0) throw new Error('nextWindowStart: no windows');
  let t = now.getTime();
  // Each turn reaches a window start or an offset change; a few turns always suffice, the bound guards against a broken zone table.
  for (let turn = 0; turn < 16; turn++) {
    const wall = wallMsOfDay(t, timeZone);
    if (windows.some((w) => contains(w, wall / MINUTE))) return new Date(t);
    const delta = Math.min(...windows.map((w) => (((w.start * MINUTE - wall) % DAY) + DAY) % DAY || DAY));
    const next = t + delta;
    t = zoneOffsetMs(next, timeZone) === zoneOffsetMs(t, timeZone) ? next : findTransition(t, next, timeZone);
  }
  throw new Error(`nextWindowStart: no window opening found after ${now.toISOString()} in ${timeZone}`);
}

// ---------------------------------------------------------------------------------------------- schedule

export type Schedule =
  | { kind: 'interval'; intervalMs: number; jitterMs: number }
  | { kind: 'cron'; expression: string; timeZone?: string; jitterMs: number };

function makeCron(expression: string, timeZone: string | undefined, field: string): Cron {
  try {
    return new Cron(expression, { timezone: timeZone, paused: true });
  } catch (err) {
    throw new ConfigError(`${field}: "${expression}" is not a cron expression (${errorMessage(err)}); e.g. '*/15 * * * *' or '0 30 2 * * *' with seconds`);
  }
}

/** The first run of a cron expression strictly after `after`, or undefined if it never runs again. */
export function cronNextRun(expression: string, after: Date, timeZone?: string): Date | undefined {
  const job = makeCron(expression, timeZone, '--schedule');
  try {
    return job.nextRun(after) ?? undefined;
  } finally {
    job.stop();
  }
}

export interface ScheduleInput {
  /** `--interval` as a duration (`5m`) or milliseconds. */
  interval?: string | number;
  /** `--schedule` cron expression (5 fields, or 6 with seconds). */
  schedule?: string;
  /** `--jitter` duration: a random delay of up to this much is added to every run. */
  jitter?: string | number;
  /** Time zone of the cron expression (default: the system's). */
  timeZone?: string;
}

const toMs = (v: string | number, field: string) => (typeof v === 'number' ? v : parseDuration(v, field));

/** Validates the flags into a Schedule; `--interval` and `--schedule` exclude each other. */
export function parseSchedule(input: ScheduleInput, defaultIntervalMs = 5 * MINUTE): Schedule {
  if (input.interval !== undefined && input.schedule !== undefined) {
    throw new ConfigError('--interval and --schedule both given; use one of them');
  }
  const jitterMs = input.jitter === undefined ? 0 : toMs(input.jitter, '--jitter');
  if (!(jitterMs >= 0)) throw new ConfigError(`--jitter: "${input.jitter}" must not be negative`);
  if (input.schedule !== undefined) {
    const timeZone = input.timeZone === undefined ? undefined : validateTimeZone(input.timeZone, '--time-zone');
    const job = makeCron(input.schedule.trim(), timeZone, '--schedule');
    job.stop();
    return { kind: 'cron', expression: input.schedule.trim(), timeZone, jitterMs };
  }
  const intervalMs = input.interval === undefined ? defaultIntervalMs : toMs(input.interval, '--interval');
  if (!(intervalMs > 0)) throw new ConfigError(`--interval: "${input.interval}" must be longer than zero`);
  return { kind: 'interval', intervalMs, jitterMs };
}

/** A delay in [0, jitterMs) from `random` (which returns [0, 1) like Math.random). */
export function jitterDelay(jitterMs: number, random: () => number): number {
  if (jitterMs <= 0) return 0;
  const r = Math.min(Math.max(random(), 0), 1 - Number.EPSILON);
  return Math.floor(r * jitterMs);
}

/**
 * When the next cycle starts. `after` is the end of the previous cycle for an interval (so a slow cycle never
 * makes runs pile up) and the current time for a cron schedule. Undefined when a cron expression never fires again.
 */
export function nextRun(schedule: Schedule, after: Date, random: () => number = Math.random): Date | undefined {
  const base = schedule.kind === 'interval'
    ? new Date(after.getTime() + schedule.intervalMs)
    : cronNextRun(schedule.expression, after, schedule.timeZone);
  return base && new Date(base.getTime() + jitterDelay(schedule.jitterMs, random));
}

/** Milliseconds to wait from `now` until `when` (never negative). */
export function msUntil(when: Date, now: Date): number {
  return Math.max(0, when.getTime() - now.getTime());
}

// ---------------------------------------------------------------------------------------------- minimum age

/** When a tag pushed at `pushedAt` becomes old enough. */
export function holdUntil(pushedAt: Date, minAgeMs: number): Date {
  return new Date(pushedAt.getTime() + minAgeMs);
}

/**
 * Whether `min_age` holds a tag back at `now`. A tag without a known push time is let through by default
 * (the registry may never tell one); `whenUnknown: 'hold'` holds it instead.
 */
export function minAgeHold(
  pushedAt: Date | undefined, minAgeMs: number, now: Date, whenUnknown: 'allow' | 'hold' = 'allow',
): { held: false } | { held: true; until?: Date; reason: string } {
  if (minAgeMs <= 0) return { held: false };
  if (!pushedAt) return whenUnknown === 'hold' ? { held: true, reason: 'push time unknown and min_age is set' } : { held: false };
  const until = holdUntil(pushedAt, minAgeMs);
  if (now.getTime() >= until.getTime()) return { held: false };
  return { held: true, until, reason: `pushed ${pushedAt.toISOString()}, younger than min_age; eligible at ${until.toISOString()}` };
}

// ---------------------------------------------------------------------------------------------- pause

export const PAUSE_FILE_NAME = 'paused';
const PAUSE_ENV = ['DOSYNC_PAUSE_UPDATES', 'PAUSE_UPDATES'];

export type PauseStatus =
  | { paused: false }
  | { paused: true; source: 'env'; variable: string }
  | { paused: true; source: 'file'; path: string; since?: string; reason?: string };

export function pauseFilePath(stateDir: string): string {
  return join(stateDir, PAUSE_FILE_NAME);
}

/** `dosync pause`: writes the flag file (atomically) that every dosync using this state dir honours. */
export async function pause(stateDir: string, opts: { now?: Date; reason?: string } = {}): Promise<string> {
  const path = pauseFilePath(stateDir);
  const body = { since: (opts.now ?? new Date()).toISOString(), pid: process.pid, ...(opts.reason ? { reason: opts.reason } : {}) };
  await writeFileAtomic(path, `${JSON.stringify(body)}\n`, { mode: 0o644 });
  return path;
}

/** `dosync resume`: removes the flag file; returns whether it was there. */
export async function resume(stateDir: string): Promise<boolean> {
  try {
    await fsp.unlink(pauseFilePath(stateDir));
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** Paused by `PAUSE_UPDATES=1` (or DOSYNC_PAUSE_UPDATES; also true/yes/on) or by the flag file; the file's mere presence counts. */
export async function isPaused(stateDir: string, env: NodeJS.ProcessEnv): Promise<PauseStatus> {
  for (const variable of PAUSE_ENV) {
    const v = env[variable]?.trim();
    if (v && /^(1|true|yes|on)$/i.test(v)) return { paused: true, source: 'env', variable };
  }
  const path = pauseFilePath(stateDir);
  let text: string;
  try {
    text = await fsp.readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { paused: false };
    throw err;
  }
  try {
    const body = JSON.parse(text) as { since?: unknown; reason?: unknown };
    return { paused: true, source: 'file', path, since: typeof body.since === 'string' ? body.since : undefined, reason: typeof body.reason === 'string' ? body.reason : undefined };
  } catch {
    return { paused: true, source: 'file', path };
  }
}

// ---------------------------------------------------------------------------------------------- all together

export type Hold =
  | { kind: 'paused'; reason: string }
  | { kind: 'window'; until: Date; reason: string }
  | { kind: 'min-age'; until?: Date; reason: string };

export interface HoldInput {
  now: Date;
  /** Global pause, or the service's `paused: true`. */
  paused?: boolean | string;
  windows?: readonly MaintenanceWindow[];
  /** IANA zone of the windows; unset: the host's zone (TZ, /etc/localtime), as for a cron schedule. */
  timeZone?: string;
  pushedAt?: Date;
  minAgeMs?: number;
  whenPushUnknown?: 'allow' | 'hold';
}

/** Why an available update must wait, checked in this order: pause, min-age, maintenance window. Undefined: go. */
export function updateHold(input: HoldInput): Hold | undefined {
  if (input.paused) return { kind: 'paused', reason: typeof input.paused === 'string' ? input.paused : 'updates are paused' };
  if (input.minAgeMs) {
    const age = minAgeHold(input.pushedAt, input.minAgeMs, input.now, input.whenPushUnknown);
    if (age.held) return { kind: 'min-age', until: age.until, reason: age.reason };
  }
  if (input.windows && input.windows.length > 0) {
    // Like croner for `schedule:`, so a window and a cron schedule written alike open at the same instant.
    const tz = input.timeZone ?? systemTimeZone();
    if (!isInWindow(input.now, input.windows, tz)) {
      const until = nextWindowStart(input.now, input.windows, tz);
      return { kind: 'window', until, reason: `outside the maintenance window ${input.windows.map((w) => w.text).join(',')} (${tz}); next opens ${until.toISOString()}` };
    }
  }
  return undefined;
}
