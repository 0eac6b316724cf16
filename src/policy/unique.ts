/**
 * A tag list without repeats, first places kept. Registries list each tag once, so this nearly always
 * finds none and hands the list back as it is; the answer is remembered per list (every service of a
 * repository ranks the same list each cycle).
 *
 * Hand-written open addressing over list positions (FNV-1a of the string, an Int32Array table): for a
 * million tags it takes 8 MB and one pass, where a Set of the strings took ~40 MB and several times as
 * long (measured, issue 15), and Node has no compact string set to use instead.
 */
const uniqueLists = new WeakMap<readonly string[], readonly string[]>();

export function uniqueTags(tags: readonly string[]): readonly string[] {
  let out = uniqueLists.get(tags);
  if (!out) uniqueLists.set(tags, (out = uniqueUncached(tags)));
  return out;
}

function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let k = 0; k < s.length; k++) h = Math.imul(h ^ s.charCodeAt(k), 0x01000193);
  return h;
}

function uniqueUncached(tags: readonly string[]): readonly string[] {
  if (tags.length < 2) return tags;
  // A table at most half full: 2^(bits) slots for the list's length.
  const size = 1 << (32 - Math.clz32(tags.length * 2 - 1));
  const mask = size - 1;
  const table = new Int32Array(size).fill(-1);
  let out: string[] | undefined;
  for (let i = 0; i < tags.length; i++) {
    const tag = tags[i];
    let slot = hash(tag) & mask;
    let repeat = false;
    for (let j = table[slot]; j >= 0; slot = (slot + 1) & mask, j = table[slot]) {
      if (tags[j] === tag) { repeat = true; break; }
    }
    if (repeat) {
      out ??= tags.slice(0, i);
      continue;
    }
    table[slot] = i;
    out?.push(tag);
  }
  return out ?? tags;
}
