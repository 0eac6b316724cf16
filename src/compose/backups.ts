/**
 * The backups the compose writer leaves (`<backup dir>/<file name>.<UTC timestamp>[-n].bak`, see writer.ts):
 * finding them, saying which image references differ from the current file, showing them as a diff and
 * restoring one. The comparisons and the table are pure; only listing and restoring touch the disk.
 */
import { promises as fsp } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { createTwoFilesPatch } from 'diff';
import { ConfigError, UserError } from '../util/errors.js';
import { parseEnvFile } from './envfile.js';
import { findReferences } from './interpolate.js';
import { versionStart } from './image-source.js';
import { replaceFileSafely, type WriteResult } from './writer.js';

export type FileKind = 'compose' | 'env';

/** A file of the stack whose backups are looked for. */
export interface StackFile {
  path: string;
  kind: FileKind;
}

export interface BackupName {
  /** The name of the file it is a backup of (`docker-compose.yml`, `.env`). */
  file: string;
  time: Date;
  /** `-n` suffix of backups taken in the same millisecond (0 for none). */
  seq: number;
}

const NAME = /^(.+)\.(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z(?:-(\d+))?\.bak$/;

/** `docker-compose.yml.20240102T030405678Z-1.bak` -> its file, time and sequence; undefined for other names. */
export function parseBackupName(name: string): BackupName | undefined {
  const m = NAME.exec(name);
  if (!m) return undefined;
  const [, file, y, mo, d, h, mi, s, ms, seq] = m;
  const time = new Date(Date.UTC(+y, +mo - 1, +d, +h, +mi, +s, +ms));
  if (Number.isNaN(time.getTime())) return undefined;
  return { file, time, seq: seq === undefined ? 0 : Number(seq) };
}

/** Oldest first, as the writer prunes them. */
export function compareBackups(a: BackupName, b: BackupName): number {
  return a.time.getTime() - b.time.getTime() || a.seq - b.seq;
}

/** Where the writer puts the backups of `file`: the configured dir, else `backups/` next to the file. */
export function backupDirFor(file: string, backupDir?: string): string {
  return backupDir ? resolve(backupDir) : join(dirname(resolve(file)), 'backups');
}

export interface Backup extends BackupName {
  path: string;
  name: string;
  size: number;
  /** The stack file it is a backup of. */
  target: StackFile;
}

/** Every backup of the stack's files, oldest first. A missing backup dir means no backups. */
export async function listBackups(files: StackFile[], backupDir?: string): Promise<Backup[]> {
  const out: Backup[] = [];
  const dirs = new Map<string, StackFile[]>();
  for (const f of files) {
    const dir = backupDirFor(f.path, backupDir);
    dirs.set(dir, [...(dirs.get(dir) ?? []), f]);
  }
  for (const [dir, owners] of dirs) {
    const names = await fsp.readdir(dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return [] as string[];
      throw new UserError(`cannot read the backup dir ${dir}: ${err.message}; check --backup-dir and its permissions`);
    });
    for (const name of names) {
      const parsed = parseBackupName(name);
      const target = parsed && owners.find((o) => basename(o.path) === parsed.file);
      if (!parsed || !target) continue;
      const path = join(dir, name);
      const stat = await fsp.stat(path).catch(() => undefined);
      if (!stat?.isFile()) continue;
      out.push({ ...parsed, path, name, size: stat.size, target });
    }
  }
  return out.sort(compareBackups);
}

/**
 * The backup a user named: its file name as `backups list` shows it, or a path to it. A path outside the
 * backup dirs is accepted when its name says which of the stack's files it belongs to.
 */
export async function findBackup(arg: string, backups: Backup[], files: StackFile[]): Promise<Backup> {
  const byPath = backups.find((b) => b.path === resolve(arg));
  const byName = backups.filter((b) => b.name === arg || b.name === basename(arg));
  if (byPath) return byPath;
  if (byName.length === 1 && !arg.includes('/')) return byName[0];
  const parsed = parseBackupName(basename(arg));
  const stat = await fsp.stat(arg).catch(() => undefined);
  if (parsed && stat?.isFile()) {
    const target = files.find((f) => basename(f.path) === parsed.file);
    if (!target) {
      throw new ConfigError(`${arg} is a backup of ${parsed.file}, which is not one of this stack's files (${files.map((f) => basename(f.path)).join(', ')}); pass -f with the file it belongs to`);
    }
    return { ...parsed, path: resolve(arg), name: basename(arg), size: stat.size, target };
  }
  if (byName.length > 1) throw new ConfigError(`several backups are named ${arg} (${byName.map((b) => b.path).join(', ')}); give its path`);
  throw new ConfigError(`no backup ${arg} of ${files.map((f) => basename(f.path)).join(', ')}; run \`dosync backups list\` to see the backups there are`);
}

/** One image reference (compose file) or image variable (env file) that differs between a backup and now. */
export interface ImageChange {
  /** Service name (compose) or variable name (env). */
  name: string;
  backup?: string;
  current?: string;
}

function composeImages(text: string): Map<string, string> | undefined {
  const doc = parseDocument(text, { merge: true, uniqueKeys: false });
  if (doc.errors.length > 0) return undefined;
  const services = (doc.toJS({ maxAliasCount: -1 }) as { services?: unknown } | null)?.services;
  const images = new Map<string, string>();
  if (!services || typeof services !== 'object') return images;
  for (const [name, def] of Object.entries(services as Record<string, unknown>)) {
    const image = def && typeof def === 'object' ? (def as { image?: unknown }).image : undefined;
    if (typeof image === 'string' || typeof image === 'number') images.set(name, String(image));
  }
  return images;
}

/** The `image:` values (as written, before interpolation) that differ, by service; undefined when either text is not YAML. */
export function composeImageChanges(backupText: string, currentText: string): ImageChange[] | undefined {
  const before = composeImages(backupText);
  const now = composeImages(currentText);
  if (!before || !now) return undefined;
  const names = [...new Set([...before.keys(), ...now.keys()])];
  return names.filter((n) => before.get(n) !== now.get(n)).map((name) => ({ name, backup: before.get(name), current: now.get(name) }));
}

/** Names of the variables the compose files' `image:` values use (`${TAG}` in `app:${TAG}`). */
export function imageVariables(composeTexts: string[]): Set<string> {
  const names = new Set<string>();
  for (const text of composeTexts) {
    for (const image of composeImages(text)?.values() ?? []) {
      for (const ref of findReferences(image)) names.add(ref.name);
    }
  }
  return names;
}

/**
 * Env variables that differ. Only variables an image uses carry values; the others (which may be
 * credentials) are named with no value. Undefined when either text does not parse.
 */
export function envImageChanges(backupText: string, currentText: string, used: Set<string>): { images: ImageChange[]; others: string[] } | undefined {
  let before: Record<string, string>;
  let now: Record<string, string>;
  try {
    // No interpolation from the environment: compare what the files say.
    before = parseEnvFile(backupText, { lookup: () => undefined });
    now = parseEnvFile(currentText, { lookup: () => undefined });
  } catch {
    return undefined;
  }
  const names = [...new Set([...Object.keys(before), ...Object.keys(now)])].filter((n) => before[n] !== now[n]);
  return {
    images: names.filter((n) => used.has(n)).map((name) => ({ name, backup: before[name], current: now[name] })),
    others: names.filter((n) => !used.has(n)),
  };
}

/** `web: 1.0.0 (now 1.1.0)` when only the version differs, else both references in full. */
export function describeChange(c: ImageChange): string {
  const b = c.backup ?? '(none)';
  const n = c.current ?? '(none)';
  if (c.backup !== undefined && c.current !== undefined) {
    const bs = versionStart(c.backup);
    const ns = versionStart(c.current);
    if (bs === ns && bs > 0 && bs < c.backup.length && c.backup.slice(0, bs) === c.current.slice(0, ns)) {
      return `${c.name}: ${c.backup.slice(bs)} (now ${c.current.slice(ns) || '(none)'})`;
    }
  }
  return `${c.name}: ${b} (now ${n})`;
}

/** The CHANGES cell of `backups list`: what differs from the current file, image references first. */
export function summarizeChanges(kind: FileKind, backupText: string, currentText: string | undefined, used: Set<string>): string {
  if (currentText === undefined) return 'the file no longer exists';
  if (backupText === currentText) return 'identical to the current file';
  if (kind === 'compose') {
    const changes = composeImageChanges(backupText, currentText);
    if (!changes) return 'not valid YAML';
    return changes.length > 0 ? changes.map(describeChange).join(', ') : 'no image changes (other lines differ)';
  }
  const changes = envImageChanges(backupText, currentText, used);
  if (!changes) return 'not a valid env file';
  const parts = changes.images.map(describeChange);
  if (changes.others.length > 0) parts.push(`other variables: ${changes.others.join(', ')}`);
  return parts.length > 0 ? parts.join(', ') : 'no variable changes (comments or layout differ)';
}

export interface BackupRow {
  time: Date;
  file: string;
  size: number;
  name: string;
  changes: string;
}

export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${+(bytes / 1024).toFixed(1)} KiB`;
  return `${+(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** `2024-01-02 03:04:05Z` */
export function formatTime(t: Date): string {
  return `${t.toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

/** Newest first; the last column is not padded. */
export function renderBackupTable(rows: BackupRow[]): string {
  const head = ['TIME (UTC)', 'FILE', 'SIZE', 'BACKUP', 'CHANGES vs CURRENT'];
  const cells = [...rows].sort((a, b) => b.time.getTime() - a.time.getTime()).map((r) => [formatTime(r.time), r.file, formatSize(r.size), r.name, r.changes]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((v, i) => (i === c.length - 1 ? v : v.padEnd(widths[i]))).join('  ');
  return [line(head), ...cells.map(line)].join('\n');
}

/** Keys whose values `backups show` masks in env files: credentials must not land in a terminal or a CI log. */
const SECRET_NAME = /pass|secret|token|key|credential|auth/i;

/** An env file with the values of credential-looking variables replaced by `***` (line by line, layout kept). */
export function maskEnvSecrets(text: string): string {
  return text.replace(/^([ \t]*(?:export[ \t]+)?)([A-Za-z_][A-Za-z0-9_.-]*)([ \t]*[=:][ \t]*)(.*)$/gm, (line, pre: string, key: string, sep: string, value: string) =>
    (SECRET_NAME.test(key) && value.trim() !== '' ? `${pre}${key}${sep}***` : line));
}

export interface DiffSide {
  /** The path shown in the ---/+++ lines. */
  label: string;
  text: string;
  /** What it is (`backup`, `current`), shown after the path. */
  role: string;
}

/** Unified diff between two versions of a file (env files with credentials masked); '' when they are equal. */
export function backupDiff(kind: FileKind, from: DiffSide, to: DiffSide): string {
  if (from.text === to.text) return '';
  const mask = kind === 'env' ? maskEnvSecrets : (t: string) => t;
  return createTwoFilesPatch(from.label, to.label, mask(from.text), mask(to.text), from.role, to.role);
}

/**
 * Puts the whole backup back in place of its file: the current content is backed up first and the file is
 * replaced atomically (writer.ts). The restored backup itself is kept even if it is the oldest one.
 */
export async function restoreBackup(backup: Backup, all: Backup[], opts: { backupDir?: string; keep: number }): Promise<WriteResult & { unchanged: boolean }> {
  const text = await fsp.readFile(backup.path, 'utf8');
  const current = await fsp.readFile(backup.target.path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new UserError(`cannot read ${backup.target.path}: ${err.message}; a backup is restored over an existing file`);
  });
  if (current === text) return { backupPath: '', mode: 'rename', unchanged: true };
  const sameFile = all.filter((b) => b.target.path === backup.target.path && dirname(b.path) === dirname(backup.path));
  const newerOrThis = sameFile.filter((b) => compareBackups(b, backup) >= 0).length;
  const result = await replaceFileSafely(backup.target.path, text, {
    expectedOriginal: current, backupDir: backupDirFor(backup.target.path, opts.backupDir), keep: Math.max(opts.keep, newerOrThis + 1),
  });
  return { ...result, unchanged: false };
}
