/**
 * Picks the tag a service should run, given the registry's tags and a resolved policy.
 *
 * Order of work: de-duplicate, exclude, include (+ extract), rank with the policy kind's ranker
 * (rank-*.ts). Never throws for "nothing qualifies": the Selection says why instead.
 *
 * Ties (tags that rank equal) follow each ranker's rule: Flux's for semver (first listed), numerical
 * (last listed) and tags with the same extracted value (last listed), byte order for the default and
 * newest (see ranker.ts, fluxTieBreak).
 *
 * Explicit policies (semver, numerical, alphabetical, newest) pick the best tag by their own rule,
 * even when it sorts below the current tag (DOSync semantics: the policy, not the running tag,
 * defines "best"). Only the default policy refuses to downgrade.
 */
import type { TagInfo } from '../registry/types.js';
import { Drops } from './drops.js';
import { expandTemplate, matchGroups, matchesGo } from './goregex.js';
import { alphabeticalRanker } from './rank-alphabetical.js';
import { defaultRanker, fixedComponents } from './rank-default.js';
import { newestRanker } from './rank-newest.js';
import { numericalRanker } from './rank-numerical.js';
import { semverRanker } from './rank-semver.js';
import { best, ordered, type Filtered, type Ranked, type Ranker } from './ranker.js';
import { describeRanking } from './resolve.js';
import { parseShape, type TagShape } from './shape.js';
import type { Ranking, ResolvedPolicy, Selection, TagFilter } from './types.js';

export { compareBytes } from './bytes.js';

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
    // A tag listed twice keeps its first place and its latest push time.
    if (!prev || (t.pushedAt && (!prev.pushedAt || t.pushedAt.getTime() > prev.pushedAt.getTime()))) seen.set(t.tag, t);
  }
  return seen.size === tags.length ? tags : [...seen.values()];
}

/**
 * The tags that pass the exclude and include patterns, and what the extract template makes of them.
 * Without filters that is the de-duplicated list as it is: no copy for every service of a repository.
 */
function applyFilters(tags: TagInfo[], filter: TagFilter, drops: Drops): Filtered {
  const { include, extract, exclude } = filter;
  if (!include && !exclude) return { tags, values: null };
  const passed: TagInfo[] = [];
  const values: string[] | null = include && extract !== undefined ? [] : null;
  const excluded = exclude && drops.rule('excluded', `matches exclude /${exclude.source}/`);
  const notMatching = include && drops.rule(`not matching /${include.source}/`, `does not match /${include.source}/`);
  for (const info of tags) {
    const tag = info.tag;
    if (exclude && matchesGo(exclude, tag)) {
      drops.add(tag, excluded!);
      continue;
    }
    if (include) {
      if (!values) {
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
        values.push(expandTemplate(include, extract!, groups));
      }
    }
    passed.push(info);
  }
  return { tags: passed, values };
}

function rankerFor(ranking: Ranking, current: TagShape | null): Ranker {
  switch (ranking.kind) {
    case 'default':
      return defaultRanker(current!, ranking.reach);
    case 'semver':
      return semverRanker(ranking.range);
    case 'numerical':
      return numericalRanker(ranking.order);
    case 'alphabetical':
      return alphabeticalRanker(ranking.order);
    case 'newest':
      return newestRanker();
  }
}

function finish(policy: ResolvedPolicy, current: string, ranked: Ranked, drops: Drops, fallbackToCurrent: boolean): Selection {
  const droppedNote = drops.total > 0 ? `; dropped ${drops.summary()}` : '';
  const rule = describeRanking(policy.ranking);
  const count = ranked.candidates.length;
  // The winner in one pass; the ranked list (a sort) only when read.
  const top = best(ranked)?.tag;
  // The ranked and dropped lists are built on first read (own enumerable getters, so JSON and spreads see them).
  let candidates: Selection['candidates'] | undefined;
  let dropped: Selection['dropped'] | undefined;
  const lists = {
    get candidates() {
      return (candidates ??= ordered(ranked).map(({ tag, value }) => ({ tag, value })));
    },
    get dropped() {
      return (dropped ??= drops.recording ? drops.described() : drops.replay());
    },
  };
  if (top === undefined) {
    if (fallbackToCurrent) {
      return Object.assign(lists, { kind: 'tag' as const, selected: current, reason: `${current} is up to date (${rule}; no newer tag${droppedNote})` });
    }
    return Object.assign(lists, { kind: 'tag' as const, selected: null, reason: `no tag qualifies (${rule}${droppedNote})` });
  }
  const verdict = top === current ? `${current} is up to date` : `${top} selected`;
  const of = count === 1 ? 'the only candidate' : `best of ${count} candidates`;
  return Object.assign(lists, { kind: 'tag' as const, selected: top, reason: `${verdict} (${rule}; ${of}${droppedNote})` });
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
  let cur: TagShape | null = null;
  if (r.kind === 'default') {
    cur = parseShape(current);
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
  const filtered = applyFilters(dedupe(tags), policy.filter, drops);
  const ranked = rankerFor(r, cur).rank(filtered, drops);
  return finish(policy, current, ranked, drops, r.kind === 'default');
}
