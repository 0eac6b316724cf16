/**
 * Picks the tag a service should run, given the registry's tags and a resolved policy.
 *
 * Order of work, in one pass over the list: de-duplicate, exclude, include (+ extract), admit to the policy
 * kind's ranker (rank-*.ts), keep the best. No copy of the list and no object per tag: a tag that does not
 * qualify is counted under its rule, one that qualifies competes for the kept candidates (issue 15: a
 * million-tag repository had a million candidate objects and their parsed shapes, ~300 MB). Never throws
 * for "nothing qualifies": the Selection says why instead.
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
import { BestCandidates, type Candidate, type Ranker, type TieContext } from './ranker.js';
import { describeRanking } from './resolve.js';
import { parseShape, type TagShape } from './shape.js';
import type { Ranking, ResolvedPolicy, Selection, TagFilter } from './types.js';
import { uniqueTags } from './unique.js';

export { compareBytes } from './bytes.js';

/**
 * How many candidates (and, for `--explain`, dropped tags) a cycle's selection keeps, best first: the winner
 * and what walks down from it (signature checks try 10, a unit proposes tags until every member allows one,
 * `check --explain` prints 10). The counts always cover every tag.
 */
export const CANDIDATE_LIMIT = 1000;

/** A repository's tags as the registry listed them, with what a policy may need besides the names. */
export interface TagSource {
  readonly tags: readonly string[];
  /** When a tag was last pushed, where the registry tells (the `newest` policy). */
  pushedAt?: (tag: string) => Date | undefined;
  /** Tags to leave out before anything else, uncounted (those that failed their health gate). */
  skip?: (tag: string) => boolean;
}

/** The tags that pass the filters, in list order, with their position among them and what they rank as. */
function eachFiltered(source: TagSource, filter: TagFilter, drops: Drops | undefined, visit: (tag: string, value: string, at: number) => void): void {
  const { include, extract, exclude } = filter;
  const templated = include !== undefined && extract !== undefined;
  const excluded = exclude && drops?.rule('excluded', `matches exclude /${exclude.source}/`);
  const notMatching = include && drops?.rule(`not matching /${include.source}/`, `does not match /${include.source}/`);
  const { skip } = source;
  let at = 0;
  for (const tag of uniqueTags(source.tags)) {
    if (skip?.(tag)) continue;
    if (exclude && matchesGo(exclude, tag)) {
      if (excluded) drops!.add(tag, excluded);
      continue;
    }
    let value = tag;
    if (include) {
      // The DFA test is much cheaper than a capturing match; most tags fail the filter.
      const groups = matchesGo(include, tag) ? (templated ? matchGroups(include, tag) : true) : null;
      if (!groups) {
        if (notMatching) drops!.add(tag, notMatching);
        continue;
      }
      if (templated) value = expandTemplate(include, extract, groups as Exclude<typeof groups, true>);
    }
    visit(tag, value, at++);
  }
}

function rankerFor(ranking: Ranking, current: TagShape | null, listLength: number, drops: Drops, ties: TieContext): Ranker {
  switch (ranking.kind) {
    case 'default':
      return defaultRanker(current!, ranking.reach, listLength)(drops);
    case 'semver':
      return semverRanker(ranking.range)(drops, ties) as Ranker;
    case 'numerical':
      return numericalRanker(ranking.order)(drops, ties) as Ranker;
    case 'alphabetical':
      return alphabeticalRanker(ranking.order)(drops, ties) as Ranker;
    case 'newest':
      return newestRanker()(drops) as Ranker;
  }
}

/** Where each value first appears among the filtered tags: read again from the list on the first tie that asks. */
function tieContext(source: TagSource, filter: TagFilter): TieContext {
  let firstSeen: Map<string, number> | undefined;
  return {
    templated: filter.include !== undefined && filter.extract !== undefined,
    firstAt(value) {
      if (!firstSeen) {
        const seen = new Map<string, number>();
        eachFiltered(source, filter, undefined, (_tag, v, at) => { if (!seen.has(v)) seen.set(v, at); });
        firstSeen = seen;
      }
      return firstSeen.get(value)!;
    },
  };
}

function finish(policy: ResolvedPolicy, current: string, best: BestCandidates<unknown>, drops: Drops, fallbackToCurrent: boolean): Selection {
  const droppedNote = drops.total > 0 ? `; dropped ${drops.summary()}` : '';
  const rule = describeRanking(policy.ranking);
  const count = best.count;
  // The winner in one pass; the ranked list (a sort of what was kept) only when read.
  const top = best.winner()?.tag;
  // The ranked and dropped lists are built on first read (own enumerable getters, so JSON and spreads see them).
  let candidates: Selection['candidates'] | undefined;
  let dropped: Selection['dropped'] | undefined;
  const lists = {
    get candidates() {
      return (candidates ??= best.ordered().map(({ tag, value }) => ({ tag, value })));
    },
    get dropped() {
      return (dropped ??= drops.recording ? drops.described() : drops.replay());
    },
    candidateCount: count,
    droppedCount: drops.total,
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

/** Every candidate and every dropped tag listed (the `policy` command, the mirror's semver selection). */
export function selectTag(tags: TagInfo[], current: string, policy: ResolvedPolicy): Selection {
  let times: Map<string, Date> | undefined;
  for (const t of tags) {
    if (!t.pushedAt) continue;
    times ??= new Map();
    const prev = times.get(t.tag);
    // A tag listed twice keeps its first place and its latest push time.
    if (!prev || t.pushedAt.getTime() > prev.getTime()) times.set(t.tag, t.pushedAt);
  }
  return select({ tags: tags.map((t) => t.tag), pushedAt: times && ((tag) => times!.get(tag)) }, current, policy, false, Infinity);
}

/**
 * A cycle's selection: the best `limit` candidates kept (and, replayed for `--explain`, the first `limit`
 * dropped), with `candidateCount` and `droppedCount` counting all of them.
 */
export function selectTags(source: TagSource, current: string, policy: ResolvedPolicy, limit = CANDIDATE_LIMIT): Selection {
  return select(source, current, policy, false, limit);
}

function select(source: TagSource, current: string, policy: ResolvedPolicy, recording: boolean, limit: number): Selection {
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
  const drops = new Drops(recording, () => select(source, current, policy, true, limit).dropped, limit);
  const ranker = rankerFor(r, cur, source.tags.length, drops, tieContext(source, policy.filter));
  const best = new BestCandidates<unknown>(limit, ranker.compare);
  const { pushedAt } = source;
  eachFiltered(source, policy.filter, drops, (tag, value, at) => {
    const c: Candidate | undefined = ranker.admit(tag, value, pushedAt?.(tag), at);
    if (c) best.offer(c);
  });
  return finish(policy, current, best, drops, r.kind === 'default');
}
