/**
 * `policy.semver`: the highest version in the range (Flux's internal/policy/semver.go, DOSync's semver policy).
 * Tags are read strictly, as Flux's `version.ParseVersion` reads them, so `1.2` and `200` are not versions
 * here (the default policy has its own, looser shape rules). Equal versions (`v1.2.3`, `1.2.3`, `1.2.3+b7`):
 * the first listed wins, as Flux replaces its best only with a strictly greater version.
 */
import type { Drops } from './drops.js';
import { fluxTieBreak, valueAt, type Candidate, type Filtered, type Ranked, type Ranker } from './ranker.js';
import { compareVersions, parseStrictVersion, parseVersion, satisfies, type SemVersion, type SemverRange } from './semver.js';

export function semverRanker(range: SemverRange): Ranker {
  return {
    rank(filtered: Filtered, drops: Drops): Ranked<SemVersion> {
      const notSemver = drops.rule('not a version', (_, value) => `${JSON.stringify(value)} is not a semantic version`);
      const partial = drops.rule('not a version', (_, value) => `${JSON.stringify(value)} is not a full semantic version (semver policies need MAJOR.MINOR.PATCH, as Flux reads them)`);
      const prerelease = drops.rule('prerelease', (_, value) => `prerelease ${value} (the range names no prerelease)`);
      const outside = drops.rule('outside the range', (_, value) => `${value} is outside ${range.source.trim()}`);
      const candidates: Candidate<SemVersion>[] = [];
      const { tags } = filtered;
      for (let i = 0; i < tags.length; i++) {
        const tag = tags[i].tag;
        const value = valueAt(filtered, i);
        const v = parseStrictVersion(value);
        if (!v) drops.add(tag, parseVersion(value) ? partial : notSemver, value);
        else if (!satisfies(v, range)) {
          const pre = v.pre !== '' && !range.groupHasPre.some(Boolean);
          drops.add(tag, pre ? prerelease : outside, value);
        } else candidates.push({ tag, value, key: v, at: i });
      }
      const tie = fluxTieBreak(filtered, 'first');
      return { candidates, compare: (a, b) => compareVersions(a.key, b.key) || tie(a, b) };
    },
  };
}
