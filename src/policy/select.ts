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

/** The candidate `rank` would put first, in one pass: a cycle needs the winner, only `--explain` the order. */
function best(candidates: Candidate[], compare: (a: Candidate, b: Candidate) => number): Candidate {
  let top = candidates[0];
  for (let i = 1; i < candidates.length; i++) {
    const c = candidates[i];
    const d = compare(c, top);
    if (d > 0 || (d === 0 && compareBytes(c.tag, top.tag) < 0)) top = c;
  }
  return top;
}

/** Native string order, valid when `rank` found no surrogates. */
function compareKeys(a: string, b: string, plain: boolean): number {
  if (plain) return a < b ? -1 : a > b ? 1 : 0;
  return compareBytes(a, b);
}

/**
 * Why tags were left out. One rule is shared by every tag it drops and the sentence is written only
 * when asked (`--explain`): a cycle over 200 services x 200 tags drops ~40,000 tags and only counts them.
 */
interface DropRule {
  /** Short category for the one-line summary. */
  group: string;
  why: (tag: string, value: string | undefined) => string;
}

interface Drop {
  tag: string;
  value?: string;
  rule: DropRule;
}

/**
 * The tags one selection leaves out, counted per rule (the summary needs only counts). The tags themselves
 * are listed only in a replay of the selection (`--explain` reads them): a cycle keeps no ~40,000 records.
 */
class Drops {
  readonly list: Drop[] = [];
  total = 0;
  private readonly rules: Array<DropRule & { count: number }> = [];

  constructor(
    /** Keep each dropped tag (the replay), or only count. */
    readonly recording: boolean,
    /** The same selection again, recording. */
    readonly replay: () => Selection['dropped'],
  ) {}

  rule(group: string, why: string | DropRule['why']): DropRule {
    const r = { group, why: typeof why === 'string' ? () => why : why, count: 0 };
    this.rules.push(r);
    return r;
  }

  add(tag: string, rule: DropRule, value?: string): void {
    (rule as DropRule & { count: number }).count++;
    this.total++;
    if (this.recording) this.list.push(value === undefined ? { tag, rule } : { tag, value, rule });
  }

  /** `3 older, 1 prerelease`: most frequent first, then by name, so the same tags give the same line in any order. */
  summary(): string {
    const counts = new Map<string, number>();
    for (const r of this.rules) if (r.count > 0) counts.set(r.group, (counts.get(r.group) ?? 0) + r.count);
    return [...counts.entries()]
      .sort((a, b) => b[1] - a[1] || compareBytes(a[0], b[0]))
      .map(([g, n]) => `${n} ${g}`)
      .join(', ');
  }
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

// Services on one repository pass the same tag list (see plan.ts): de-duplicate it once.
const dedupedLists = new WeakMap<TagInfo[], TagInfo[]>();

function dedupe(tags: TagInfo[]): TagInfo[] {
  let out = dedupedLists.get(tags);
  if (!out) dedupedLists.set(tags, (out = dedupeUncached(tags)));
  return out;
}

function dedupeUncached(tags: TagInfo[]): TagInfo[] {
  const seen = new Map<string, TagInfo>();
  for (const t of tags) {
    const prev = seen.get(t.tag);
    // A tag listed twice keeps its latest push time, so the input order never matters.
    if (!prev || (t.pushedAt && (!prev.pushedAt || t.pushedAt.getTime() > prev.pushedAt.getTime()))) seen.set(t.tag, t);
  }
  return seen.size === tags.length ? tags : [...seen.values()];
}

function finish(
  policy: ResolvedPolicy,
  current: string,
  candidates: Candidate[],
  drops: Drops,
  compare: (a: Candidate, b: Candidate) => number,
  fallbackToCurrent: boolean,
): Selection {
  const droppedNote = drops.total > 0 ? `; dropped ${drops.summary()}` : '';
  const rule = describeRanking(policy.ranking);
  // The ranked and dropped lists are built on first read (own enumerable getters, so JSON and spreads see them).
  let ranked: Selection['candidates'] | undefined;
  let dropped: Selection['dropped'] | undefined;
  const lists = {
    get candidates() {
      if (!ranked) {
        rank(candidates, compare);
        ranked = candidates.map(({ tag, value }) => ({ tag, value }));
      }
      return ranked;
    },
    get dropped() {
      if (!drops.recording) return (dropped ??= drops.replay());
      return (dropped ??= drops.list.map(({ tag, value, rule: r }) => (value === undefined ? { tag, why: r.why(tag, value) } : { tag, why: r.why(tag, value), value })));
    },
  };
  if (candidates.length === 0) {
    if (fallbackToCurrent) {
      return Object.assign(lists, { kind: 'tag' as const, selected: current, reason: `${current} is up to date (${rule}; no newer tag${droppedNote})` });
    }
    return Object.assign(lists, { kind: 'tag' as const, selected: null, reason: `no tag qualifies (${rule}${droppedNote})` });
  }
  const top = best(candidates, compare).tag;
  const verdict = top === current ? `${current} is up to date` : `${top} selected`;
  const of = candidates.length === 1 ? 'the only candidate' : `best of ${candidates.length} candidates`;
  return Object.assign(lists, { kind: 'tag' as const, selected: top, reason: `${verdict} (${rule}; ${of}${droppedNote})` });
}

function rankDefault(policy: ResolvedPolicy, current: string, tags: TagInfo[], drops: Drops): Selection {
  const reach = policy.ranking.kind === 'default' ? policy.ranking.reach : 'minor';
  const cur = parseShape(current)!;
  const fixed = fixedComponents(cur, reach);
  const level = fixed === 1 ? 'major' : 'minor';
  const notVersion = drops.rule('not a version', 'not a version');
  const otherShape = drops.rule('of another shape', `different shape than ${current}`);
  const prerelease = drops.rule('prerelease', 'prerelease');
  const beyond = drops.rule(`beyond ${level}`, `another ${level} version than ${current} (update: ${reach})`);
  const older = drops.rule('older', `older than ${current}`);
  const candidates: Candidate[] = [];
  for (const { tag } of tags) {
    const s = parseShape(tag);
    if (!s) {
      drops.add(tag, notVersion);
      continue;
    }
    if (!sameShape(cur, s)) {
      drops.add(tag, otherShape);
      continue;
    }
    if (s.pre && !cur.pre) {
      drops.add(tag, prerelease);
      continue;
    }
    let crosses = false;
    for (let i = 0; i < fixed; i++) if (s.nums[i] !== cur.nums[i]) crosses = true;
    if (crosses) {
      drops.add(tag, beyond);
      continue;
    }
    if (compareShapes(s, cur) < 0) {
      drops.add(tag, older);
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
  return select(tags, current, policy, false);
}

function select(tags: TagInfo[], current: string, policy: ResolvedPolicy, recording: boolean): Selection {
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

  const drops = new Drops(recording, () => select(tags, current, policy, true).dropped);
  const { include, extract, exclude } = policy.filter;
  // The tags that pass the filters, and what the extract template made of them (null: the tags themselves).
  // Without filters that is the de-duplicated list as it is: no copy for every service of a repository.
  let kept: TagInfo[] = dedupe(tags);
  let values: string[] | null = null;
  if (include || exclude) {
    const passed: TagInfo[] = [];
    if (extract !== undefined) values = [];
    const excluded = exclude && drops.rule('excluded', `matches exclude /${exclude.source}/`);
    const notMatching = include && drops.rule(`not matching /${include.source}/`, `does not match /${include.source}/`);
    for (const info of kept) {
      const tag = info.tag;
      if (exclude && matchesGo(exclude, tag)) {
        drops.add(tag, excluded!);
        continue;
      }
      if (include) {
        if (extract === undefined) {
          if (!matchesGo(include, tag)) {
            drops.add(tag, notMatching!);
            continue;
          }
        } else {
          // The DFA test is much cheaper than a capturing match; most tags fail the filter.
          const groups = matchesGo(include, tag) ? matchGroups(include, tag) : null;
          if (!groups) {
            drops.add(tag, notMatching!);
            continue;
          }
          values!.push(expandTemplate(include, extract, groups));
        }
      }
      passed.push(info);
    }
    kept = passed;
  }
  const valueOf = (i: number) => (values ? values[i] : kept[i].tag);

  switch (r.kind) {
    case 'default':
      return rankDefault(policy, current, kept, drops);
    case 'semver': {
      const notSemver = drops.rule('not a version', (_, value) => `${JSON.stringify(value)} is not a semantic version`);
      const prerelease = drops.rule('prerelease', (_, value) => `prerelease ${value} (the range names no prerelease)`);
      const outside = drops.rule('outside the range', (_, value) => `${value} is outside ${r.range.source.trim()}`);
      const candidates: Candidate[] = [];
      for (let i = 0; i < kept.length; i++) {
        const tag = kept[i].tag;
        const value = valueOf(i);
        const v = parseVersion(value);
        if (!v) drops.add(tag, notSemver, value);
        else if (!satisfies(v, r.range)) {
          const pre = v.pre !== '' && !r.range.groupHasPre.some(Boolean);
          drops.add(tag, pre ? prerelease : outside, value);
        } else candidates.push({ tag, value, key: v });
      }
      return finish(policy, current, candidates, drops, (a, b) => compareVersions(a.key as SemVersion, b.key as SemVersion), false);
    }
    case 'numerical': {
      const notNumber = drops.rule('not a number', (_, value) => `${JSON.stringify(value)} is not a number`);
      const candidates: Candidate[] = [];
      for (let i = 0; i < kept.length; i++) {
        const value = valueOf(i);
        const d = parseDecimal(value);
        if (!d) drops.add(kept[i].tag, notNumber, value);
        else candidates.push({ tag: kept[i].tag, value, key: d });
      }
      const sign = r.order === 'desc' ? 1 : -1;
      return finish(policy, current, candidates, drops, (a, b) => sign * compareDecimals(a.key as Decimal, b.key as Decimal), false);
    }
    case 'alphabetical': {
      const candidates: Candidate[] = kept.map((k, i) => ({ tag: k.tag, value: valueOf(i), key: valueOf(i) }));
      const sign = r.order === 'desc' ? 1 : -1;
      const plain = candidates.every((c) => !SURROGATE.test(c.value));
      return finish(policy, current, candidates, drops, (a, b) => sign * compareKeys(a.key as string, b.key as string, plain), false);
    }
    case 'newest': {
      const noTime = drops.rule('without push time', 'the registry gave no push time');
      const candidates: Candidate[] = [];
      for (let i = 0; i < kept.length; i++) {
        const t = kept[i].pushedAt?.getTime();
        if (t === undefined || Number.isNaN(t)) drops.add(kept[i].tag, noTime, valueOf(i));
        else candidates.push({ tag: kept[i].tag, value: kept[i].pushedAt!.toISOString(), key: t });
      }
      return finish(policy, current, candidates, drops, (a, b) => (a.key as number) - (b.key as number), false);
    }
  }
}
