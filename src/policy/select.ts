/**
 * Picks the tag a service should run, given the registry's tags and a resolved policy.
 *
 * Order of work: de-duplicate, exclude, include (+ extract), rank. Never throws for "nothing
 * qualifies": the Selection says why instead.
 *
 * Ties: when two tags have the same policy value (`1.2` and `1.2.0` under semver, `v1.3.0` and
 * `v1.3.0-beta` when an extract template keeps only `1.3.0`, equal numbers or push times), the tag
 * that comes first in byte order wins, whatever the policy's order: usually the plainer tag.
 * Together with the de-duplication this makes the result independent of the input order.
 *
 * Explicit policies (semver, numerical, alphabetical, newest) pick the best tag by their own rule,
 * even when it sorts below the current tag (DOSync semantics: the policy, not the running tag,
 * defines "best"). Only the default policy refuses to downgrade.
 */
import type { TagInfo } from '../registry/types.js';
import { expandTemplate, matchGroups, matchesGo } from './goregex.js';
import { compareDecimals, parseDecimal, type Decimal } from './numeric.js';
import { describeRanking } from './resolve.js';
import { compareVersions, parseVersion, satisfies, type SemVersion } from './semver.js';
import { compareShapes, parseShape, sameShape, type TagShape } from './shape.js';
import type { ResolvedPolicy, Selection } from './types.js';

interface Candidate {
  tag: string;
  value: string;
  key: SemVersion | Decimal | TagShape | number | string;
}

/** Sorts best first; ties go to the tag first in byte order. Strings without surrogates (all real tags) compare natively. */
function rank(candidates: Candidate[], compare: (a: Candidate, b: Candidate) => number): void {
  const plain = candidates.every((c) => !SURROGATE.test(c.tag) && (typeof c.key !== 'string' || !SURROGATE.test(c.key)));
  if (plain) candidates.sort((a, b) => compare(b, a) || (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0));
  else candidates.sort((a, b) => compare(b, a) || compareBytes(a.tag, b.tag));
}

/** Native string order, valid when `rank` found no surrogates. */
function compareKeys(a: string, b: string, plain: boolean): number {
  if (plain) return a < b ? -1 : a > b ? 1 : 0;
  return compareBytes(a, b);
}

interface Drop {
  tag: string;
  why: string;
  value?: string;
  /** Short category for the one-line summary. */
  group: string;
}

const SURROGATE = /[\uD800-\uDFFF]/;

/** Byte order of the UTF-8 encodings (= code point order), as Go compares strings. */
export function compareBytes(a: string, b: string): number {
  if (a === b) return 0;
  // JavaScript's own order (UTF-16 code units) is the same unless a surrogate pair is involved.
  if (!SURROGATE.test(a) && !SURROGATE.test(b)) return a < b ? -1 : 1;
  return compareCodePoints(a, b);
}

function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) {
      // UTF-16 order differs from code point order only between surrogates and U+E000..U+FFFF.
      const xs = x >= 0xd800 && x <= 0xdfff;
      const ys = y >= 0xd800 && y <= 0xdfff;
      if (xs !== ys) return xs ? 1 : -1;
      return x < y ? -1 : 1;
    }
  }
  return a.length < b.length ? -1 : 1;
}

function dedupe(tags: TagInfo[]): TagInfo[] {
  const seen = new Map<string, TagInfo>();
  for (const t of tags) {
    const prev = seen.get(t.tag);
    // A tag listed twice keeps its latest push time, so the input order never matters.
    if (!prev || (t.pushedAt && (!prev.pushedAt || t.pushedAt.getTime() > prev.pushedAt.getTime()))) seen.set(t.tag, t);
  }
  return seen.size === tags.length ? tags : [...seen.values()];
}

function summarize(drops: Drop[]): string {
  const counts = new Map<string, number>();
  for (const d of drops) counts.set(d.group, (counts.get(d.group) ?? 0) + 1);
  // Most frequent first, then by name: the same tags give the same line in any order.
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || compareBytes(a[0], b[0]))
    .map(([g, n]) => `${n} ${g}`)
    .join(', ');
}

function finish(
  policy: ResolvedPolicy,
  current: string,
  candidates: Candidate[],
  drops: Drop[],
  compare: (a: Candidate, b: Candidate) => number,
  fallbackToCurrent: boolean,
): Selection {
  rank(candidates, compare);
  const dropped = drops.map(({ tag, why, value }) => (value === undefined ? { tag, why } : { tag, why, value }));
  const ranked = candidates.map(({ tag, value }) => ({ tag, value }));
  const droppedNote = drops.length > 0 ? `; dropped ${summarize(drops)}` : '';
  const rule = describeRanking(policy.ranking);
  if (candidates.length === 0) {
    if (fallbackToCurrent) {
      return { kind: 'tag', selected: current, reason: `${current} is up to date (${rule}; no newer tag${droppedNote})`, candidates: ranked, dropped };
    }
    return { kind: 'tag', selected: null, reason: `no tag qualifies (${rule}${droppedNote})`, candidates: ranked, dropped };
  }
  const best = candidates[0].tag;
  const verdict = best === current ? `${current} is up to date` : `${best} selected`;
  const of = candidates.length === 1 ? 'the only candidate' : `best of ${candidates.length} candidates`;
  return { kind: 'tag', selected: best, reason: `${verdict} (${rule}; ${of}${droppedNote})`, candidates: ranked, dropped };
}

function rankDefault(policy: ResolvedPolicy, current: string, tags: Array<{ tag: string; info: TagInfo }>, drops: Drop[]): Selection {
  const reach = policy.ranking.kind === 'default' ? policy.ranking.reach : 'minor';
  const cur = parseShape(current)!;
  const fixed = fixedComponents(cur, reach);
  const candidates: Candidate[] = [];
  for (const { tag } of tags) {
    const s = parseShape(tag);
    if (!s) {
      drops.push({ tag, why: 'not a version', group: 'not a version' });
      continue;
    }
    if (!sameShape(cur, s)) {
      drops.push({ tag, why: `different shape than ${current}`, group: 'of another shape' });
      continue;
    }
    if (s.pre && !cur.pre) {
      drops.push({ tag, why: 'prerelease', group: 'prerelease' });
      continue;
    }
    let crosses = false;
    for (let i = 0; i < fixed; i++) if (s.nums[i] !== cur.nums[i]) crosses = true;
    if (crosses) {
      const level = fixed === 1 ? 'major' : 'minor';
      drops.push({ tag, why: `another ${level} version than ${current} (update: ${reach})`, group: `beyond ${level}` });
      continue;
    }
    if (compareShapes(s, cur) < 0) {
      drops.push({ tag, why: `older than ${current}`, group: 'older' });
      continue;
    }
    candidates.push({ tag, value: tag, key: s });
  }
  return finish(policy, current, candidates, drops, (a, b) => compareShapes(a.key as TagShape, b.key as TagShape), true);
}

/**
 * How many leading components must stay equal. `minor` keeps the major, except on 0.x where a
 * minor bump is the breaking change (semver spec item 4, npm/Cargo caret), so it keeps 0.<minor> too.
 */
function fixedComponents(cur: TagShape, reach: 'patch' | 'minor' | 'major'): number {
  if (reach === 'major') return 0;
  if (reach === 'patch') return 2;
  return cur.nums[0] === '0' ? 2 : 1;
}

export function selectTag(tags: TagInfo[], current: string, policy: ResolvedPolicy): Selection {
  if (!policy.enabled || policy.mode === 'none') {
    return { kind: 'none', selected: null, reason: policy.describe, candidates: [], dropped: [] };
  }
  if (policy.mode === 'digest') {
    return { kind: 'digest', selected: current, reason: `tracking the digest of ${current}: ${policy.describe}`, candidates: [], dropped: [] };
  }
  const r = policy.ranking;
  if (r.kind === 'default') {
    const cur = parseShape(current);
    if (!cur) {
      return { kind: 'digest', selected: current, reason: `${current} is not a version: tracking its digest`, candidates: [], dropped: [] };
    }
    if (cur.parts.length <= fixedComponents(cur, r.reach)) {
      return {
        kind: 'digest',
        selected: current,
        reason: `${current} is a floating tag (${cur.parts.length} version component${cur.parts.length === 1 ? '' : 's'}, update: ${r.reach}): tracking its digest`,
        candidates: [],
        dropped: [],
      };
    }
  }

  const drops: Drop[] = [];
  const kept: Array<{ tag: string; info: TagInfo; value: string }> = [];
  const { include, extract, exclude } = policy.filter;
  for (const info of dedupe(tags)) {
    const tag = info.tag;
    if (exclude && matchesGo(exclude, tag)) {
      drops.push({ tag, why: `matches exclude /${exclude.source}/`, group: 'excluded' });
      continue;
    }
    let value = tag;
    if (include) {
      if (extract === undefined) {
        if (!matchesGo(include, tag)) {
          drops.push({ tag, why: `does not match /${include.source}/`, group: `not matching /${include.source}/` });
          continue;
        }
      } else {
        // The DFA test is much cheaper than a capturing match; most tags fail the filter.
        const groups = matchesGo(include, tag) ? matchGroups(include, tag) : null;
        if (!groups) {
          drops.push({ tag, why: `does not match /${include.source}/`, group: `not matching /${include.source}/` });
          continue;
        }
        value = expandTemplate(include, extract, groups);
      }
    }
    kept.push({ tag, info, value });
  }

  switch (r.kind) {
    case 'default':
      return rankDefault(policy, current, kept, drops);
    case 'semver': {
      const candidates: Candidate[] = [];
      for (const k of kept) {
        const v = parseVersion(k.value);
        if (!v) drops.push({ tag: k.tag, value: k.value, why: `${JSON.stringify(k.value)} is not a semantic version`, group: 'not a version' });
        else if (!satisfies(v, r.range)) {
          const pre = v.pre !== '' && !r.range.groupHasPre.some(Boolean);
          drops.push({
            tag: k.tag,
            value: k.value,
            why: pre ? `prerelease ${k.value} (the range names no prerelease)` : `${k.value} is outside ${r.range.source.trim()}`,
            group: pre ? 'prerelease' : 'outside the range',
          });
        } else candidates.push({ tag: k.tag, value: k.value, key: v });
      }
      return finish(policy, current, candidates, drops, (a, b) => compareVersions(a.key as SemVersion, b.key as SemVersion), false);
    }
    case 'numerical': {
      const candidates: Candidate[] = [];
      for (const k of kept) {
        const d = parseDecimal(k.value);
        if (!d) drops.push({ tag: k.tag, value: k.value, why: `${JSON.stringify(k.value)} is not a number`, group: 'not a number' });
        else candidates.push({ tag: k.tag, value: k.value, key: d });
      }
      const sign = r.order === 'desc' ? 1 : -1;
      return finish(policy, current, candidates, drops, (a, b) => sign * compareDecimals(a.key as Decimal, b.key as Decimal), false);
    }
    case 'alphabetical': {
      const candidates: Candidate[] = kept.map((k) => ({ tag: k.tag, value: k.value, key: k.value }));
      const sign = r.order === 'desc' ? 1 : -1;
      const plain = candidates.every((c) => !SURROGATE.test(c.value));
      return finish(policy, current, candidates, drops, (a, b) => sign * compareKeys(a.key as string, b.key as string, plain), false);
    }
    case 'newest': {
      const candidates: Candidate[] = [];
      for (const k of kept) {
        const t = k.info.pushedAt?.getTime();
        if (t === undefined || Number.isNaN(t)) drops.push({ tag: k.tag, value: k.value, why: 'the registry gave no push time', group: 'without push time' });
        else candidates.push({ tag: k.tag, value: k.info.pushedAt!.toISOString(), key: t });
      }
      return finish(policy, current, candidates, drops, (a, b) => (a.key as number) - (b.key as number), false);
    }
  }
}
