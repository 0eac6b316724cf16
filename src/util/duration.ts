import { ConfigError } from './errors.js';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Parses Go-style durations as DOSync accepts them (`30s`, `5m`, `1h30m`, `1.5h`, `250ms`), plus a bare
 * number of seconds. Returns milliseconds.
 */
export function parseDuration(text: string, field = 'duration'): number {
  const ms = durationMs(text);
  if (ms === undefined) throw new ConfigError(`${field}: ${notADuration(text)}`);
  return ms;
}

/** parseDuration without the throw: milliseconds, or undefined when `text` is not a duration. */
export function durationMs(text: string): number | undefined {
  const s = text.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000);
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    total += Number(m[1]) * UNITS[m[2]];
    matched = re.lastIndex;
  }
  return s === '' || matched !== s.length ? undefined : Math.round(total);
}

/** What is wrong with `text`, without naming the field (the caller's message names it once). */
export function notADuration(text: string): string {
  return `"${text}" is not a duration; use forms like 30s, 5m, 1h30m`;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000) return `${+(ms / 1000).toFixed(1)}s`;
  if (ms < 3_600_000) return `${+(ms / 60_000).toFixed(1)}m`;
  return `${+(ms / 3_600_000).toFixed(1)}h`;
}
