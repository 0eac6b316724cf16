/**
 * Go's string order (the bytes of the UTF-8 encodings, = code point order), which Flux's alphabetical
 * policy and every byte-order tie rule use. JavaScript compares UTF-16 code units, which agree except
 * where a surrogate pair meets U+E000..U+FFFF.
 */
export const SURROGATE = /[\uD800-\uDFFF]/;

/** Byte order of the UTF-8 encodings (= code point order), as Go compares strings. */
export function compareBytes(a: string, b: string): number {
  if (a === b) return 0;
  if (!SURROGATE.test(a) && !SURROGATE.test(b)) return a < b ? -1 : 1;
  return compareCodePoints(a, b);
}

/** Native string order: valid, and much cheaper, when neither string holds a surrogate. */
export function compareNative(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
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
