/**
 * The default policy (no imagePolicy): the newest version of the running tag's shape (shape.ts) within the
 * reach of `update:` (patch, minor, major). Unlike the explicit policies it never moves below the running tag.
 * Tags of one shape that rank equal (`1.2.3-rc1`, `1.2.3-RC1`): the first in byte order.
 */
import { compareBytes } from './bytes.js';
import type { Drops } from './drops.js';
import type { Ranker } from './ranker.js';
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

/**
 * `current` must be a version whose shape has more components than `reach` keeps fixed (select.ts checks).
 * `listLength` picks the shape parser (shape.ts: a list longer than the shape cache is parsed without it).
 */
export function defaultRanker(current: TagShape, reach: Reach, listLength: number): (drops: Drops) => Ranker<TagShape> {
  const fixed = fixedComponents(current, reach);
  const level = fixed === 1 ? 'major' : 'minor';
  const parse = shapeParser(listLength);
  return (drops) => {
    const notVersion = drops.rule('not a version', 'not a version');
    const otherShape = drops.rule('of another shape', `different shape than ${current.tag}`);
    const prerelease = drops.rule('prerelease', 'prerelease');
    const beyond = drops.rule(`beyond ${level}`, `another ${level} version than ${current.tag} (update: ${reach})`);
    const older = drops.rule('older', `older than ${current.tag}`);
    return {
      admit(tag, _value, _pushedAt, at) {
        const s = parse(tag);
        if (!s) {
          drops.add(tag, notVersion);
          return undefined;
        }
        if (!sameShape(current, s)) {
          drops.add(tag, otherShape);
          return undefined;
        }
        if (s.pre && !current.pre) {
          drops.add(tag, prerelease);
          return undefined;
        }
        for (let k = 0; k < fixed; k++) {
          if (s.nums[k] !== current.nums[k]) {
            drops.add(tag, beyond);
            return undefined;
          }
        }
        if (compareShapes(s, current) < 0) {
          drops.add(tag, older);
          return undefined;
        }
        return { tag, value: tag, key: s, at };
      },
      compare: (a, b) => compareShapes(a.key, b.key) || compareBytes(b.tag, a.tag),
    };
  };
}
