/**
 * Version-like tags as the default policy sees them: `<prefix><n>(.<n>)*<suffix>`, e.g.
 * `v1.2`, `1.25.3-bookworm`, `16-alpine`, `2024.01.01`, `1.2.3-1`, `3.13.0rc2-slim`.
 *
 * The default moves only between tags of the same shape: same prefix, same number of numeric
 * components (`16-alpine` never becomes `16.1-alpine`), same zero padding (`2024.01.09` ->
 * `2024.01.10`, never `2024.1.10`), same variant suffix (`-alpine`), and a build revision
 * (`-1`, `-r5`) only where the current tag has one.
 */
import { compareDigits } from './semver.js';

export interface TagShape {
  tag: string;
  prefix: string;
  /** Numeric components as written (may be zero padded). */
  parts: string[];
  /** The same without leading zeros, for comparison. */
  nums: string[];
  /** Prerelease marker (`rc`, `beta`...) and its number, when the tag is one. */
  pre: { word: string; rank: number; num: string } | null;
  /** Build revision (`-1` or `-r5`): marker and number. */
  revision: { marker: string; num: string } | null;
  /** Everything else after the numbers (`-alpine`, `-bookworm`), matched exactly. */
  variant: string;
}

// Prefixes: none, `v`, or a word ending in a separator (`release-`, `version_`). A prefix ending in
// another letter or digit (`sha-abc123`, `python3`) does not make a version.
const SHAPE = /^([vV]|[A-Za-z_.-]*[_.-])?([0-9]+(?:\.[0-9]+)*)(.*)$/;
const REVISION = /^-(r?)([0-9]+)$/;
const PRE_WORDS: Record<string, number> = {
  dev: 0, snapshot: 0, nightly: 0, canary: 0, next: 0, ea: 0,
  alpha: 1, a: 1,
  beta: 2, b: 2,
  m: 3, milestone: 3,
  pre: 4, preview: 4,
  rc: 5,
};
// A prerelease marker right after the numbers, with or without a separator (`-rc.1`, `rc2`, `-beta`).
const PRERELEASE = /^[-_.]?(dev|snapshot|nightly|canary|next|ea|alpha|beta|milestone|preview|pre|rc|a|b|m)(?:[-_.]?([0-9]+))?(?=$|[-_.+])/i;

function stripZeros(d: string): string {
  let i = 0;
  while (i < d.length - 1 && d.charCodeAt(i) === 48) i++;
  return i === 0 ? d : d.slice(i);
}

// Every service on a repository ranks the same tag list each cycle: remembering shapes turns 40,000
// parses per cycle (200 services x 200 tags) into a lookup and spares the garbage. Bounded, so a
// registry with endless tags cannot grow it without limit; shapes are frozen because they are shared.
const SHAPE_CACHE_LIMIT = 20_000;
const shapeCache = new Map<string, TagShape | null>();

/** Parses a tag as a version shape; null for `latest`, `main`, `sha-0a1b2c3`, `4f2a9c1`... */
export function parseShape(tag: string): TagShape | null {
  const known = shapeCache.get(tag);
  if (known !== undefined) return known;
  const shape = parseShapeUncached(tag);
  if (shapeCache.size >= SHAPE_CACHE_LIMIT) shapeCache.clear();
  shapeCache.set(tag, shape && deepFreeze(shape));
  return shape;
}

/**
 * The cache is for the many services of a stack that share repositories of ordinary size. A list longer than
 * the cache would only churn it: every shape kept until the next clear lives long enough to reach V8's old
 * generation, and a million-tag list then leaves hundreds of MB of garbage there before a full collection.
 * Parsed without the cache, such shapes die young.
 */
export function shapeParser(listLength: number): (tag: string) => TagShape | null {
  return listLength > SHAPE_CACHE_LIMIT ? parseShapeUncached : parseShape;
}

function deepFreeze(shape: TagShape): TagShape {
  Object.freeze(shape.parts);
  Object.freeze(shape.nums);
  if (shape.pre) Object.freeze(shape.pre);
  if (shape.revision) Object.freeze(shape.revision);
  return Object.freeze(shape);
}

function parseShapeUncached(tag: string): TagShape | null {
  const m = SHAPE.exec(tag);
  if (!m) return null;
  const prefix = m[1] ?? '';
  const parts = m[2].split('.');
  let rest = m[3];
  let pre: TagShape['pre'] = null;
  let revision: TagShape['revision'] = null;
  const rev = REVISION.exec(rest);
  if (rev) {
    revision = { marker: rev[1], num: stripZeros(rev[2]) };
    rest = '';
  } else {
    const p = PRERELEASE.exec(rest);
    if (p) {
      const word = p[1].toLowerCase();
      pre = { word, rank: PRE_WORDS[word], num: p[2] ? stripZeros(p[2]) : '' };
      rest = rest.slice(p[0].length);
    } else if (rest !== '' && !/^[-_.+]/.test(rest)) {
      // `4f2a9c1`, `1.2.3abc`: the digits run into a word, so this is not a version.
      return null;
    }
  }
  return { tag, prefix, parts, nums: parts.map(stripZeros), pre, revision, variant: rest };
}

function padded(part: string): boolean {
  return part.length > 1 && part.charCodeAt(0) === 48;
}

/** Same prefix, component count, padding, variant and revision marker (prerelease-ness is the caller's rule). */
export function sameShape(a: TagShape, b: TagShape): boolean {
  if (a.prefix !== b.prefix || a.parts.length !== b.parts.length || a.variant !== b.variant) return false;
  if ((a.revision === null) !== (b.revision === null)) return false;
  if (a.revision && b.revision && a.revision.marker !== b.revision.marker) return false;
  for (let i = 0; i < a.parts.length; i++) {
    const x = a.parts[i];
    const y = b.parts[i];
    if ((padded(x) || padded(y)) && x.length !== y.length) return false;
  }
  return true;
}

/** Orders two tags of the same shape: numbers, then release above prerelease, then revision. */
export function compareShapes(a: TagShape, b: TagShape): number {
  for (let i = 0; i < a.nums.length; i++) {
    const d = compareDigits(a.nums[i], b.nums[i] ?? '0');
    if (d !== 0) return d;
  }
  if (a.pre || b.pre) {
    if (!a.pre) return 1;
    if (!b.pre) return -1;
    if (a.pre.rank !== b.pre.rank) return a.pre.rank < b.pre.rank ? -1 : 1;
    const d = compareDigits(a.pre.num || '0', b.pre.num || '0');
    if (d !== 0) return d;
  }
  if (a.revision && b.revision) return compareDigits(a.revision.num, b.revision.num);
  return 0;
}
