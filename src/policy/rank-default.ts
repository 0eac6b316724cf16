/**
 * The default policy (no imagePolicy): the newest version of the running tag's shape (shape.ts) within the
 * reach of `update:` (patch, minor, major). Unlike the explicit policies it never moves below the running tag.
 * Tags of one shape that rank equal (`1.2.3-rc1`, `1.2.3-RC1`): the first in byte order.
 */
import { compareBytes } from './bytes.js';
import type { Drops } from './drops.js';
import type { Candidate, Filtered, Ranked, Ranker } from './ranker.js';
import { compareShapes, sameShape, shapeParser, type TagShape } from './shape.js';

export type Reach = 'patch' | 'minor' | 'major';

/**
 * How many leading components must stay equal. `minor` keeps the major, except on 0.x where a
 * minor bump is the breaking change (semver spec item 4, npm/Cargo caret), so it keeps 0.<minor> too.
 */
export function fixedComponents(cur: TagShape, reach: Reach): number {
  if (reach === 'major') return 0;
  if (reach === 'patch') return 2;
  return cur.nums[0] === '0' ? 2 : 1;
}

/** `current` must be a version whose shape has more components than `reach` keeps fixed (select.ts checks). */
export function defaultRanker(current: TagShape, reach: Reach): Ranker {
  const fixed = fixedComponents(current, reach);
  const level = fixed === 1 ? 'major' : 'minor';
  return {
    rank(filtered: Filtered, drops: Drops): Ranked<TagShape> {
      const notVersion = drops.rule('not a version', 'not a version');
      const otherShape = drops.rule('of another shape', `different shape than ${current.tag}`);
      const prerelease = drops.rule('prerelease', 'prerelease');
      const beyond = drops.rule(`beyond ${level}`, `another ${level} version than ${current.tag} (update: ${reach})`);
      const older = drops.rule('older', `older than ${current.tag}`);
      const candidates: Candidate<TagShape>[] = [];
      const { tags } = filtered;
      const parse = shapeParser(tags.length);
      for (let i = 0; i < tags.length; i++) {
        const tag = tags[i].tag;
        const s = parse(tag);
        if (!s) {
          drops.add(tag, notVersion);
          continue;
        }
        if (!sameShape(current, s)) {
          drops.add(tag, otherShape);
          continue;
        }
        if (s.pre && !current.pre) {
          drops.add(tag, prerelease);
          continue;
        }
        let crosses = false;
        for (let k = 0; k < fixed; k++) if (s.nums[k] !== current.nums[k]) crosses = true;
        if (crosses) {
          drops.add(tag, beyond);
          continue;
        }
        if (compareShapes(s, current) < 0) {
          drops.add(tag, older);
          continue;
        }
        candidates.push({ tag, value: tag, key: s, at: i });
      }
      return { candidates, compare: (a, b) => compareShapes(a.key, b.key) || compareBytes(b.tag, a.tag) };
    },
  };
}
