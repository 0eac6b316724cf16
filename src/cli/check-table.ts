/**
 * The `check` table as a terminal shows it (pure): short policy names, statuses worded once, no control
 * characters, and columns that fit the terminal's width.
 */
import type { ResolvedPolicy, Selection } from '../policy/types.js';

/** C0, DEL and C1 controls (ESC sequences, carriage returns, bells...) taken from tags, reasons or file names. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/** A cell as printable text: every control character shown as its `\xNN` escape, never sent to the terminal. */
export function printable(text: string): string {
  return text.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** Multi-line text (`--explain`) with its line breaks kept and every other control character escaped. */
export function printableLines(text: string): string {
  return text.split('\n').map(printable).join('\n');
}

/**
 * The policy in a few words (`same-major`, `semver >=1 <2`, `digest`...), what the table shows at terminal width.
 * `selection` tells a tag that is not a version (`latest`): it is followed by digest whatever the ranking says.
 */
export function shortPolicy(policy: ResolvedPolicy, selection?: Selection): string {
  if (policy.mode === 'none' || !policy.enabled) return 'disabled';
  if (policy.mode === 'digest' || selection?.kind === 'digest') return 'digest';
  const r = policy.ranking;
  let name: string;
  switch (r.kind) {
    case 'default': name = r.reach === 'patch' ? 'patch' : r.reach === 'minor' ? 'same-major' : 'any-major'; break;
    case 'semver': name = `semver ${r.range.source.trim() || '*'}`; break;
    // desc (the highest wins) is what these policies are used for; only asc is worth the width.
    case 'numerical': name = r.order === 'desc' ? 'numerical' : 'numerical asc'; break;
    case 'alphabetical': name = r.order === 'desc' ? 'alphabetical' : 'alphabetical asc'; break;
    case 'newest': name = 'newest'; break;
  }
  const filters = [policy.filter.include ? 'include' : '', policy.filter.exclude ? 'exclude' : ''].filter(Boolean);
  return filters.length > 0 ? `${name} +${filters.join('+')}` : name;
}

/** The long policy text (`--wide`, JSON): for a tag followed by digest, says so instead of the version rule it cannot use. */
export function longPolicy(policy: ResolvedPolicy, selection?: Selection): string {
  if (policy.mode === 'tag' && selection?.kind === 'digest') return `digest of the current tag (${selection.reason})`;
  return policy.describe;
}

export type RowStatus = 'up to date' | 'update available' | 'new digest' | 'held' | 'skipped' | 'error';

/**
 * One status line, worded once: `held until 2026-12-03 14:00 UTC (outside the maintenance window ...)`,
 * `updates disabled (label dosync.enable)`, `error: ...`.
 */
export function statusText(row: { status: RowStatus; reason: string; heldUntil?: string | null; unverified?: string }): string {
  let text: string;
  switch (row.status) {
    case 'held': {
      const why = row.reason.replace(/^.*?; held: /, '');
      text = row.heldUntil ? `held until ${formatUntil(row.heldUntil)} (${why})` : `held (${why})`;
      break;
    }
    case 'skipped': text = row.reason; break;
    case 'error': text = `error: ${row.reason}`; break;
    default: text = row.status;
  }
  return row.unverified ? `${text}; running image does not verify: ${row.unverified}` : text;
}

/** `2026-12-03T14:00:00.000Z` as `2026-12-03 14:00 UTC`: the table is read by people, the JSON keeps the ISO time. */
function formatUntil(iso: string): string {
  const m = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d)/.exec(iso);
  return m ? `${m[1]} ${m[2]} UTC` : iso;
}

/** The width to fit: COLUMNS when set to a number, else the terminal's, else 80 (a pipe, a log file). */
export function terminalWidth(env: NodeJS.ProcessEnv, stream: { isTTY?: boolean; columns?: number }): number {
  const fromEnv = Number.parseInt(env.COLUMNS ?? '', 10);
  if (Number.isInteger(fromEnv) && fromEnv > 0) return fromEnv;
  if (stream.isTTY && stream.columns && stream.columns > 0) return stream.columns;
  return 80;
}

const GAP = 2;

/** One way to make a table narrower: shorten a column to `to` characters, or leave it out. */
export type FitStep = { shorten: number; to: number } | { drop: number };

export interface Layout {
  text: string;
  /** Rows (by index) whose cell in that column was shortened, by column. */
  shortened: Map<number, Set<number>>;
  dropped: number[];
}

/**
 * Lays out a table, one line per row. `width` set: the `steps` are taken in order, each only as far as
 * needed, until the table fits (a shortened cell ends in `…`); undefined: no limit (`--wide`).
 * Hand-written rather than a table library: the libraries seen draw borders or wrap cells, and a
 * one-line-per-service table that `grep` and `awk` can read is the point.
 */
export function layoutTable(head: string[], rows: string[][], width?: number, steps: FitStep[] = []): Layout {
  const cells = rows.map((r) => r.map(printable));
  const len = (v: string) => [...v].length;
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => len(c[i]))));
  const natural = [...widths];
  const dropped = new Set<number>();
  const total = () => widths.reduce((a, w, i) => (dropped.has(i) ? a : a + w + GAP), -GAP);
  if (width !== undefined) {
    for (const step of steps) {
      const over = total() - width;
      if (over <= 0) break;
      if ('drop' in step) dropped.add(step.drop);
      else widths[step.shorten] = Math.min(widths[step.shorten], Math.max(step.to, head[step.shorten].length, widths[step.shorten] - over));
    }
    // A column dropped late may leave room: give it back, last shortened first (the first steps shorten
    // what matters least).
    for (const step of [...steps].reverse()) {
      const room = width - total();
      if (room <= 0) break;
      if ('shorten' in step) widths[step.shorten] = Math.min(natural[step.shorten], widths[step.shorten] + room);
    }
  }
  const shortened = new Map<number, Set<number>>();
  const fit = (v: string, col: number, row: number) => {
    if (len(v) <= widths[col]) return v;
    if (!shortened.has(col)) shortened.set(col, new Set());
    shortened.get(col)!.add(row);
    return `${[...v].slice(0, Math.max(0, widths[col] - 1)).join('')}…`;
  };
  const shown = head.map((_, i) => i).filter((i) => !dropped.has(i));
  const line = (c: string[], row: number) => shown.map((i, k) => {
    const text = row < 0 ? c[i] : fit(c[i], i, row);
    return k === shown.length - 1 ? text : text + ' '.repeat(Math.max(0, widths[i] - len(text)));
  }).join(' '.repeat(GAP)).trimEnd();
  return { text: [line(head, -1), ...cells.map(line)].join('\n'), shortened, dropped: [...dropped] };
}
