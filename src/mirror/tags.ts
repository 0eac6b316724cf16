/**
 * Which source tags a mirror copies (pure). The pieces are the policy engine's: semver ranges with
 * Masterminds semantics (prereleases only when the range names one) ranked by the engine's
 * `selectTag`, and Go regular expressions as in every other dosync pattern.
 *
 *   selected = (names ∪ semver matches ∪ include matches; every tag when none is given)
 *              − exclude matches
 *              → latest N (the N highest versions, or the N most recently pushed)
 *              → maxAge (pushed or built within the window)
 *
 * Tags picked by name or by an include pattern that are not versions (`stable`, `latest`) are kept
 * by `latest: N` when it ranks by version: they were asked for by name, not by number.
 */
import { compileImagePolicy, compareVersions, parseVersion, selectTag, type ResolvedPolicy } from '../policy/index.js';
import { compileGoRegex, globToGoRegex, matchesGo, type GoRegex } from '../policy/goregex.js';
import type { TagInfo } from '../registry/types.js';
import { ConfigError } from '../util/errors.js';

export interface TagSelectorInput {
  /** Literal tags. */
  names?: string[];
  /** A semver range (`>=1.25 <2`, `1.27.x`, `~1.2`). */
  semver?: string;
  /** Go regexes (unanchored unless they anchor themselves); `glob:` prefix for `1.27.*` style. */
  include?: string[];
  exclude?: string[];
  /** Keep only the newest N. */
  latest?: number;
  /** How `latest` ranks: by version (default when a semver range is given or every candidate is a version) or by push/build time. */
  latestBy?: 'version' | 'time';
  /** Drop tags pushed (or built) longer ago than this, in ms. */
  maxAgeMs?: number;
}

export interface TagSelector {
  names: string[];
  semver?: ResolvedPolicy;
  include: GoRegex[];
  exclude: GoRegex[];
  latest?: number;
  latestBy?: 'version' | 'time';
  maxAgeMs?: number;
  /** Human one-liner for logs and dry runs. */
  describe: string;
}

/** Validates and compiles a selector; `where` names it in errors (`mirror.yaml: tasks[0].images[1].tags`). */
export function compileTagSelector(input: TagSelectorInput, where: string): TagSelector {
  const names = input.names ?? [];
  for (const n of names) {
    if (!/^[\w][\w.-]{0,127}$/.test(n)) throw new ConfigError(`${where}: "${n}" is not a valid tag`);
  }
  let semver: ResolvedPolicy | undefined;
  if (input.semver !== undefined) {
    const compiled = compileImagePolicy({ policy: { semver: { range: input.semver } } }, `${where}.semver`);
    semver = { enabled: true, source: 'service', describe: `semver ${input.semver}`, mode: 'tag', ranking: compiled.ranking!, filter: {} };
  }
  const pattern = (p: string, field: string): GoRegex => {
    const source = p.startsWith('glob:') ? globToGoRegex(p.slice(5)) : p;
    try {
      return compileGoRegex(source);
    } catch (err) {
      throw new ConfigError(`${where}.${field}: ${JSON.stringify(p)} is not a valid regular expression: ${(err as Error).message}`);
    }
  };
  const include = (input.include ?? []).map((p, i) => pattern(p, `include[${i}]`));
  const exclude = (input.exclude ?? []).map((p, i) => pattern(p, `exclude[${i}]`));
  if (input.latest !== undefined && (!Number.isInteger(input.latest) || input.latest < 1)) {
    throw new ConfigError(`${where}.latest: must be a whole number of at least 1`);
  }
  if (input.latestBy !== undefined && input.latest === undefined) throw new ConfigError(`${where}.latestBy: only means something with latest: N`);
  const parts: string[] = [];
  if (names.length > 0) parts.push(`tags ${names.join(', ')}`);
  if (input.semver !== undefined) parts.push(`semver ${input.semver}`);
  if (include.length > 0) parts.push(`include ${(input.include ?? []).join(' | ')}`);
  if (parts.length === 0) parts.push('every tag');
  if (exclude.length > 0) parts.push(`exclude ${(input.exclude ?? []).join(' | ')}`);
  if (input.latest !== undefined) parts.push(`latest ${input.latest}${input.latestBy ? ` by ${input.latestBy}` : ''}`);
  if (input.maxAgeMs !== undefined) parts.push(`max age ${Math.round(input.maxAgeMs / 86_400_000 * 10) / 10}d`);
  return { names, semver, include, exclude, latest: input.latest, latestBy: input.latestBy, maxAgeMs: input.maxAgeMs, describe: parts.join('; ') };
}

/** Only literal names and nothing that needs the tag list: each name is resolved by HEAD, no listing. */
export function namesOnly(sel: TagSelector): boolean {
  return sel.names.length > 0 && !sel.semver && sel.include.length === 0 && sel.latest === undefined && sel.maxAgeMs === undefined;
}

/** Whether `rank` needs each candidate's push (or build) time. */
export function needsTimes(sel: TagSelector, candidates: string[]): boolean {
  return sel.maxAgeMs !== undefined || (sel.latest !== undefined && rankBy(sel, candidates) === 'time');
}

function rankBy(sel: TagSelector, candidates: string[]): 'version' | 'time' {
  if (sel.latestBy) return sel.latestBy;
  if (sel.semver) return 'version';
  return candidates.every((t) => parseVersion(t) !== null) ? 'version' : 'time';
}

export interface Dropped {
  tag: string;
  why: string;
}

/** Step 1, by name only: the union of names, semver matches and include matches, less exclusions. */
export function filterTags(tags: string[], sel: TagSelector): { candidates: string[]; dropped: Dropped[] } {
  const unique = [...new Set(tags)];
  const dropped: Dropped[] = [];
  const wanted = new Set<string>();
  const any = sel.names.length > 0 || sel.semver !== undefined || sel.include.length > 0;
  if (!any) for (const t of unique) wanted.add(t);
  const present = new Set(unique);
  for (const n of sel.names) if (present.has(n)) wanted.add(n);
  if (sel.semver) for (const c of selectTag(unique.map((tag) => ({ tag })), '', sel.semver).candidates) wanted.add(c.tag);
  for (const rx of sel.include) for (const t of unique) if (matchesGo(rx, t)) wanted.add(t);
  const candidates: string[] = [];
  for (const t of unique) {
    if (!wanted.has(t)) continue;
    const ex = sel.exclude.find((rx) => matchesGo(rx, t));
    if (ex) dropped.push({ tag: t, why: `matches exclude /${ex.source}/` });
    else candidates.push(t);
  }
  return { candidates, dropped };
}

/**
 * Step 2: `latest` and `maxAge` over the candidates. `times` holds each candidate's push or build
 * time where known; `now` is the clock (ms). Returns the tags in rank order (newest first when ranked).
 */
export function rankTags(candidates: TagInfo[], sel: TagSelector, now: number): { selected: string[]; dropped: Dropped[] } {
  const dropped: Dropped[] = [];
  let kept = candidates;
  if (sel.maxAgeMs !== undefined) {
    const oldest = now - sel.maxAgeMs;
    kept = kept.filter((c) => {
      const t = c.pushedAt?.getTime();
      if (t === undefined || Number.isNaN(t)) {
        dropped.push({ tag: c.tag, why: 'no push or build time known (maxAge)' });
        return false;
      }
      if (t < oldest) dropped.push({ tag: c.tag, why: `older than the max age (${c.pushedAt!.toISOString()})` });
      return t >= oldest;
    });
  }
  if (sel.latest === undefined) return { selected: kept.map((c) => c.tag), dropped };
  const by = rankBy(sel, kept.map((c) => c.tag));
  let ranked: TagInfo[];
  let unranked: TagInfo[] = [];
  if (by === 'version') {
    const versions = kept.map((c) => ({ c, v: parseVersion(c.tag) }));
    unranked = versions.filter((x) => x.v === null).map((x) => x.c);
    ranked = versions
      .filter((x) => x.v !== null)
      .sort((a, b) => compareVersions(b.v!, a.v!) || (a.c.tag < b.c.tag ? -1 : 1))
      .map((x) => x.c);
  } else {
    const timed = kept.filter((c) => c.pushedAt !== undefined && !Number.isNaN(c.pushedAt.getTime()));
    for (const c of kept) if (!timed.includes(c)) dropped.push({ tag: c.tag, why: 'no push or build time known (latest by time)' });
    ranked = timed.sort((a, b) => b.pushedAt!.getTime() - a.pushedAt!.getTime() || (a.tag < b.tag ? -1 : 1));
  }
  for (const c of ranked.slice(sel.latest)) dropped.push({ tag: c.tag, why: `not among the latest ${sel.latest}` });
  return { selected: [...ranked.slice(0, sel.latest), ...unranked].map((c) => c.tag), dropped };
}
