/**
 * Semantic versions and range constraints with the semantics of the Go library
 * github.com/Masterminds/semver v3.4 (what DOSync and Flux use). Hand-ported because npm `semver`
 * reads many of the same strings differently (`1.2 - 1.4`, `~>1.2`, `=>1.0`, `!=1.x`, comma ANDs,
 * prerelease opt-in per OR branch, `>11` meaning ">=12"...).
 *
 * Tags under a semver policy are read strictly (parseStrictVersion, as Flux); constraints loosely, as the library does.
 *
 * Numbers are kept as digit strings without leading zeros, so versions wider than 2^53 (build
 * numbers, timestamps) compare exactly, like Go's uint64.
 */
import { RE2JS } from 're2js';

export interface SemVersion {
  major: string;
  minor: string;
  patch: string;
  /** Prerelease identifiers without the leading `-` ("" when none). */
  pre: string;
  /** Build metadata without the leading `+` (ignored by comparisons). */
  metadata: string;
  original: string;
}

const UINT64_MAX = '18446744073709551615';

/** Go's loose `NewVersion` (CoerceNewVersion = true): `v` prefix, `1` = 1.0.0, `1.2` = 1.2.0, leading zeros allowed in the numbers. */
const LOOSE_VERSION = /^v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?(-([0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*))?(\+([0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*))?$/;

/** Strips leading zeros; returns null when the number does not fit Go's uint64 (NewVersion then fails). */
function uint64Digits(digits: string): string | null {
  let i = 0;
  while (i < digits.length - 1 && digits.charCodeAt(i) === 48) i++;
  const d = i === 0 ? digits : digits.slice(i);
  if (d.length > 20 || (d.length === 20 && d > UINT64_MAX)) return null;
  return d;
}

function validPrerelease(pre: string): boolean {
  for (const part of pre.split('.')) {
    // Numeric identifiers must not have leading zeros (the regex already limits the characters).
    if (/^[0-9]+$/.test(part) && part.length > 1 && part.charCodeAt(0) === 48) return false;
  }
  return true;
}

/** Parses a version loosely as Masterminds' NewVersion does; null when it is not one. */
export function parseVersion(s: string): SemVersion | null {
  const m = LOOSE_VERSION.exec(s);
  if (!m) return null;
  const major = uint64Digits(m[1]);
  const minor = m[2] ? uint64Digits(m[2].slice(1)) : '0';
  const patch = m[3] ? uint64Digits(m[3].slice(1)) : '0';
  if (major === null || minor === null || patch === null) return null;
  const pre = m[5] ?? '';
  if (pre !== '' && !validPrerelease(pre)) return null;
  return { major, minor, patch, pre, metadata: m[8] ?? '', original: s };
}

// Flux's version.ParseVersion (fluxcd/pkg/version): Masterminds' StrictNewVersion after one leading `v` is
// trimmed. StrictNewVersion splits by hand rather than by regex; this is the same grammar: exactly three numbers
// without leading zeros, dot-separated non-empty [0-9A-Za-z-] identifiers after `-` (numeric ones without
// leading zeros) and after `+`. Hand-written because npm `semver` trims whitespace and caps numbers at 2^53.
const STRICT_VERSION =
  /^v?(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(?:-((?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*))*))?(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$/;

/**
 * Parses a version strictly, as Flux's semver policy does (`version.ParseVersion`): `1.2.3`, `v1.2.3-rc.1+b7`;
 * not `1.2`, `200`, `01.2.3`, `V1.2.3` or `1.2.3.4`. Null when it is not one.
 */
export function parseStrictVersion(s: string): SemVersion | null {
  const m = STRICT_VERSION.exec(s);
  if (!m) return null;
  // The numbers have no leading zeros here; uint64Digits only rejects those wider than Go's uint64 (ParseUint fails).
  const major = uint64Digits(m[1]);
  const minor = uint64Digits(m[2]);
  const patch = uint64Digits(m[3]);
  if (major === null || minor === null || patch === null) return null;
  return { major, minor, patch, pre: m[4] ?? '', metadata: m[5] ?? '', original: s };
}

/** Compares two digit strings without leading zeros. */
export function compareDigits(a: string, b: string): number {
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

function isUint(s: string): boolean {
  return /^[0-9]+$/.test(s) && uint64Digits(s) !== null;
}

/** One dot-separated prerelease part, as Masterminds' comparePrePart (numbers before words). */
function comparePrePart(s: string, o: string): number {
  if (s === o) return 0;
  if (s === '') return -1;
  if (o === '') return 1;
  const sNum = isUint(s);
  const oNum = isUint(o);
  if (!sNum && !oNum) return s > o ? 1 : -1;
  if (!oNum) return -1;
  if (!sNum) return 1;
  return compareDigits(uint64Digits(s)!, uint64Digits(o)!) > 0 ? 1 : -1;
}

export function comparePrerelease(a: string, b: string): number {
  const ap = a.split('.');
  const bp = b.split('.');
  const n = Math.max(ap.length, bp.length);
  for (let i = 0; i < n; i++) {
    const d = comparePrePart(ap[i] ?? '', bp[i] ?? '');
    if (d !== 0) return d;
  }
  return 0;
}

/** Semver precedence (build metadata ignored, a prerelease sorts before its release). */
export function compareVersions(a: SemVersion, b: SemVersion): number {
  let d = compareDigits(a.major, b.major);
  if (d !== 0) return d;
  d = compareDigits(a.minor, b.minor);
  if (d !== 0) return d;
  d = compareDigits(a.patch, b.patch);
  if (d !== 0) return d;
  if (a.pre === '' && b.pre === '') return 0;
  if (a.pre === '') return 1;
  if (b.pre === '') return -1;
  return comparePrerelease(a.pre, b.pre);
}

// ---------------------------------------------------------------------------------------------
// Constraints

type Op = '' | '=' | '!=' | '>' | '<' | '>=' | '=>' | '<=' | '=<' | '~' | '~>' | '^';

interface Constraint {
  op: Op;
  con: SemVersion;
  orig: string;
  /** A wildcard (x, X, *) or a missing part made the version partial. */
  dirty: boolean;
  minorDirty: boolean;
  patchDirty: boolean;
}

export interface SemverRange {
  /** The text as the user wrote it. */
  source: string;
  /** OR of AND groups; `null` for the empty range (any version, prereleases included, as DOSync). */
  groups: Constraint[][] | null;
  /** Per OR group: does any of its constraints name a prerelease (then prereleases may match it). */
  groupHasPre: boolean[];
}

// The grammar of Masterminds' constraints.go, written in Go regex syntax and run with RE2 so that
// leftmost-first alternation picks the same operator Go does. Note the empty operator in OPS and
// the `|` inside the version character class: both are part of the original grammar.
const CV = String.raw`v?([0-9|x|X|\*]+)(\.[0-9|x|X|\*]+)?(\.[0-9|x|X|\*]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?`;
const OPS = String.raw`=||!=|>|<|>=|=>|<=|=<|~|~>|\^`;
// Compiled on first use: ~14 ms that every command paid at load, though only a semver range needs them.
let grammar: { constraintRe: RE2JS; rangeRe: RE2JS; findRe: RE2JS; validRe: RE2JS } | undefined;
const rangeGrammar = () => (grammar ??= {
  constraintRe: RE2JS.compile(String.raw`^\s*(${OPS})\s*(${CV})\s*$`),
  rangeRe: RE2JS.compile(String.raw`\s*(${CV})\s+-\s+(${CV})\s*`),
  findRe: RE2JS.compile(String.raw`(${OPS})\s*(${CV})`),
  validRe: RE2JS.compile(String.raw`^(\s*(${OPS})\s*(${CV})\s*)((?:\s+|,\s*)(${OPS})\s*(${CV})\s*)*$`),
});

export class SemverRangeError extends Error {}

function isX(s: string): boolean {
  return s === 'x' || s === 'X' || s === '*';
}

/** `1.2 - 1.4` becomes `>= 1.2, <= 1.4 ` (textual replacement of the first occurrence, as Go's strings.Replace). */
function rewriteRange(input: string): string {
  const m = rangeGrammar().rangeRe.matcher(input);
  const found: Array<{ all: string; from: string; to: string }> = [];
  while (m.find()) found.push({ all: m.group(0)!, from: m.group(1)!, to: m.group(11)! });
  let out = input;
  for (const f of found) {
    const at = out.indexOf(f.all);
    if (at >= 0) out = out.slice(0, at) + `>= ${f.from}, <= ${f.to} ` + out.slice(at + f.all.length);
  }
  return out;
}

function parseConstraint(text: string): Constraint {
  const m = rangeGrammar().constraintRe.matcher(text);
  if (!m.matches()) throw new SemverRangeError(`improper constraint: ${text}`);
  const op = m.group(1)! as Op;
  const orig = m.group(2)!;
  const major = m.group(3)!;
  const minorPart = m.group(4) ?? '';
  const patchPart = m.group(5) ?? '';
  const prePart = m.group(6) ?? '';
  let ver = orig;
  let dirty = false;
  let minorDirty = false;
  let patchDirty = false;
  if (isX(major)) {
    ver = `0.0.0${prePart}`;
    dirty = true;
  } else if (minorPart === '' || isX(minorPart.slice(1))) {
    minorDirty = true;
    dirty = true;
    ver = `${major}.0.0${prePart}`;
  } else if (patchPart === '' || isX(patchPart.slice(1))) {
    dirty = true;
    patchDirty = true;
    ver = `${major}${minorPart}.0${prePart}`;
  }
  const con = parseVersion(ver);
  // E.g. `1.2.3x` or `1|2`: accepted by the grammar's character class but not a version.
  if (!con) throw new SemverRangeError(`improper constraint: ${text.trim()}`);
  return { op, con, orig, dirty, minorDirty, patchDirty };
}

/** Parses a Masterminds constraint string. Throws SemverRangeError with the offending part. */
export function parseRange(source: string): SemverRange {
  if (source.trim() === '') return { source, groups: null, groupHasPre: [] };
  const rewritten = rewriteRange(source);
  const groups: Constraint[][] = [];
  const groupHasPre: boolean[] = [];
  for (const segment of rewritten.split('||')) {
    if (!rangeGrammar().validRe.test(segment)) throw new SemverRangeError(`improper constraint: ${segment.trim() || '(empty)'}`);
    const parts: string[] = [];
    const m = rangeGrammar().findRe.matcher(segment);
    while (m.find()) parts.push(m.group(0)!);
    if (parts.length === 0) parts.push(segment);
    const group = parts.map(parseConstraint);
    groups.push(group);
    groupHasPre.push(group.some((c) => c.con.pre !== ''));
  }
  return { source, groups, groupHasPre };
}

function lessThan(a: SemVersion, b: SemVersion): boolean {
  return compareVersions(a, b) < 0;
}

function checkOne(v: SemVersion, c: Constraint, includePre: boolean): boolean {
  // A prerelease only satisfies an AND group that itself names a prerelease.
  if (v.pre !== '' && !includePre) return false;
  const con = c.con;
  switch (c.op) {
    case '':
    case '=':
      return c.dirty ? tilde(v, c) : compareVersions(v, con) === 0;
    case '!=':
      return notEqual(v, c);
    case '>':
      if (!c.dirty) return compareVersions(v, con) > 0;
      if (compareDigits(v.major, con.major) > 0) return true;
      if (compareDigits(v.major, con.major) < 0) return false;
      if (c.minorDirty) return false; // `>11` needs 12 or higher
      if (c.patchDirty) return compareDigits(v.minor, con.minor) > 0; // `>11.1` needs 11.2 or higher
      return compareVersions(v, con) > 0;
    case '<':
      return compareVersions(v, con) < 0;
    case '>=':
    case '=>':
      return compareVersions(v, con) >= 0;
    case '<=':
    case '=<':
      if (!c.dirty) return compareVersions(v, con) <= 0;
      if (compareDigits(v.major, con.major) > 0) return false;
      if (v.major === con.major && compareDigits(v.minor, con.minor) > 0 && !c.minorDirty) return false;
      return true;
    case '~':
    case '~>':
      return tilde(v, c);
    case '^':
      return caret(v, c);
  }
}

function tilde(v: SemVersion, c: Constraint): boolean {
  const con = c.con;
  if (lessThan(v, con)) return false;
  // ~0.0.0 (and ~*) accept everything.
  if (con.major === '0' && con.minor === '0' && con.patch === '0' && !c.minorDirty && !c.patchDirty) return true;
  if (v.major !== con.major) return false;
  if (v.minor !== con.minor && !c.minorDirty) return false;
  return true;
}

function caret(v: SemVersion, c: Constraint): boolean {
  const con = c.con;
  if (lessThan(v, con)) return false;
  if (con.major !== '0' || c.minorDirty) return v.major === con.major;
  // Major 0: the minor is the compatibility boundary (^0.2 = >=0.2.0 <0.3.0) ...
  if (v.major !== '0') return false;
  if (con.minor !== '0' || c.patchDirty) return v.minor === con.minor;
  // ... and with minor 0 as well, the patch (^0.0.3 = 0.0.3 only).
  if (v.minor !== '0') return false;
  return con.patch === v.patch;
}

function notEqual(v: SemVersion, c: Constraint): boolean {
  const con = c.con;
  if (c.dirty) {
    if (con.major !== v.major) return true;
    if (con.minor !== v.minor && !c.minorDirty) return true;
    if (c.minorDirty) return false;
    if (con.patch !== v.patch && !c.patchDirty) return true;
    if (c.patchDirty) {
      if (v.pre !== '' || con.pre !== '') return comparePrerelease(v.pre, con.pre) !== 0;
      return false;
    }
  }
  return compareVersions(v, con) !== 0;
}

/** Does the version satisfy the range? (OR of AND groups.) */
export function satisfies(v: SemVersion, range: SemverRange): boolean {
  if (range.groups === null) return true;
  for (let i = 0; i < range.groups.length; i++) {
    const includePre = range.groupHasPre[i];
    if (range.groups[i].every((c) => checkOne(v, c, includePre))) return true;
  }
  return false;
}
