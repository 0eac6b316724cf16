/**
 * `policy.semver`: the highest version in the range (Flux's internal/policy/semver.go, DOSync's semver policy).
 * Tags are read strictly, as Flux's `version.ParseVersion` reads them, so `1.2` and `200` are not versions
 * here (the default policy has its own, looser shape rules). Equal versions (`v1.2.3`, `1.2.3`, `1.2.3+b7`):
 * the first listed wins, as Flux replaces its best only with a strictly greater version.
 */
import type { Drops } from './drops.js';
import { fluxTieBreak, type Ranker, type TieContext } from './ranker.js';
import { compareVersions, parseStrictVersion, parseVersion, satisfies, type SemVersion, type SemverRange } from './semver.js';

export function semverRanker(range: SemverRange): (drops: Drops, ties: TieContext) => Ranker<SemVersion> {
  return (drops, ties) => {
    const notSemver = drops.rule('not a version', (_, value) => `${JSON.stringify(value)} is not a semantic version`);
    const partial = drops.rule('not a version', (_, value) => `${JSON.stringify(value)} is not a full semantic version (semver policies need MAJOR.MINOR.PATCH, as Flux reads them)`);
    const prerelease = drops.rule('prerelease', (_, value) => `prerelease ${value} (the range names no prerelease)`);
    const outside = drops.rule('outside the range', (_, value) => `${value} is outside ${range.source.trim()}`);
    const tie = fluxTieBreak(ties, 'first');
    return {
      admit(tag, value, _pushedAt, at) {
        const v = parseStrictVersion(value);
        if (!v) drops.add(tag, parseVersion(value) ? partial : notSemver, value);
        else if (!satisfies(v, range)) {
          const pre = v.pre !== '' && !range.groupHasPre.some(Boolean);
          drops.add(tag, pre ? prerelease : outside, value);
        } else return { tag, value, key: v, at };
        return undefined;
      },
      compare: (a, b) => compareVersions(a.key, b.key) || tie(a, b),
    };
  };
}
