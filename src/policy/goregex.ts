/**
 * Tag patterns in Go's regexp syntax, run by re2js (a JavaScript port of RE2, the engine behind Go's
 * regexp): `(?P<name>...)`, `(?i)`, `\z`, `[[:alpha:]]` work as in DOSync/Flux files, constructs Go
 * rejects (lookaround, backreferences, possessive quantifiers) are rejected here too, and matching
 * runs in linear time, so no pattern can hang the daemon.
 */
import { RE2JS } from 're2js';

export interface GoRegex {
  /** The pattern as compiled (after DOSync's `\\` collapsing, see compileGoRegex). */
  source: string;
  re: RE2JS;
  /** Capture group names -> index. */
  names: Map<string, number>;
  groupCount: number;
}

export class GoRegexError extends Error {}

/**
 * Compiles a Go regex. Like DOSync, a doubled backslash is collapsed to one first: configs often
 * over-escape (`'^v\\d+'` in single-quoted YAML) and a tag can never contain a backslash, so a
 * literal backslash could never match anyway.
 */
export function compileGoRegex(pattern: string): GoRegex {
  const source = pattern.replaceAll('\\\\', '\\');
  let re: RE2JS;
  try {
    re = RE2JS.compile(source);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    throw new GoRegexError(msg.replace(/^error parsing regexp: /, ''));
  }
  const names = new Map<string, number>(Object.entries(re.namedGroups()));
  return { source, re, names, groupCount: re.groupCount() };
}

/** The groups of the leftmost-first match (Go's FindStringSubmatch), or null when the pattern does not match. */
export function matchGroups(rx: GoRegex, text: string): Array<string | null> | null {
  const m = rx.re.matcher(text);
  if (!m.find()) return null;
  const groups: Array<string | null> = [];
  for (let i = 0; i <= rx.groupCount; i++) groups.push(m.group(i));
  return groups;
}

/** Does the pattern match anywhere in the text (unanchored, as Go's MatchString)? */
export function matchesGo(rx: GoRegex, text: string): boolean {
  return rx.re.test(text);
}

const WORD_CHAR = /[\p{L}\p{Nd}_]/u;

/** One `$name`, `${name}`, `$1`, `${1}` reference after the `$`, as Go's regexp `extract`. */
function extractRef(str: string): { name: string; num: number; rest: string } | null {
  let s = str;
  let brace = false;
  if (s.startsWith('{')) {
    brace = true;
    s = s.slice(1);
  }
  let i = 0;
  for (const ch of s) {
    if (!WORD_CHAR.test(ch)) break;
    i += ch.length;
  }
  if (i === 0) return null;
  const name = s.slice(0, i);
  if (brace) {
    if (s[i] !== '}') return null;
    i++;
  }
  let num = -1;
  if (/^[0-9]+$/.test(name) && !(name.length > 1 && name[0] === '0') && name.length <= 9) num = Number(name);
  return { name, num, rest: s.slice(i) };
}

/**
 * Go's regexp.Expand: `$$` is a literal `$`; `$name` takes the longest run of letters, digits and
 * `_` (so `$1x` means `${1x}`); an unknown or unmatched group expands to ""; a malformed `$`
 * stays literal.
 */
export function expandTemplate(rx: GoRegex, template: string, groups: Array<string | null>): string {
  let out = '';
  let t = template;
  for (;;) {
    const at = t.indexOf('$');
    if (at < 0) break;
    out += t.slice(0, at);
    t = t.slice(at + 1);
    if (t.startsWith('$')) {
      out += '$';
      t = t.slice(1);
      continue;
    }
    const ref = extractRef(t);
    if (!ref) {
      out += '$';
      continue;
    }
    t = ref.rest;
    const index = ref.num >= 0 ? ref.num : rx.names.get(ref.name);
    if (index !== undefined && index < groups.length) out += groups[index] ?? '';
  }
  return out + t;
}

/** The group references of a template, split into those the pattern defines and those it does not. */
export function templateRefs(rx: GoRegex, template: string): { known: string[]; unknown: string[] } {
  const known: string[] = [];
  const unknown: string[] = [];
  let t = template;
  for (;;) {
    const at = t.indexOf('$');
    if (at < 0) break;
    t = t.slice(at + 1);
    if (t.startsWith('$')) {
      t = t.slice(1);
      continue;
    }
    const ref = extractRef(t);
    if (!ref) continue;
    t = ref.rest;
    const defined = ref.num >= 0 ? ref.num <= rx.groupCount : rx.names.has(ref.name);
    (defined ? known : unknown).push(ref.name);
  }
  return { known, unknown };
}

/** `staging-*` style glob (whole tag; `*` any run, `?` one character, the rest literal) as a Go regex. */
export function globToGoRegex(glob: string): string {
  let out = '^';
  for (const ch of glob) {
    if (ch === '*') out += '.*';
    else if (ch === '?') out += '.';
    else out += RE2JS.quote(ch);
  }
  return out + '$';
}

/**
 * DOSync's per-registry `tag_pattern`: its config documents `tag_pattern: "main-"` as "only consider tags
 * starting with 'main-'", while other updaters write globs (`staging-*`). A value with a wildcard is a glob
 * (whole tag); one without is a prefix, since as a glob it would match that one literal tag only.
 */
export function tagPatternToGoRegex(pattern: string): string {
  return /[*?]/.test(pattern) ? globToGoRegex(pattern) : `^${RE2JS.quote(pattern)}`;
}
