/**
 * Decimal numbers for the `numerical` policy, compared exactly. DOSync parses with Go's ParseFloat
 * (float64), which makes long build numbers and nanosecond timestamps collide; comparing the
 * decimal digits keeps `1718435261000000001` above `1718435261000000000`.
 *
 * Accepted: the decimal float syntax of Go (`42`, `-3`, `1.5`, `.5`, `2.`, `1e3`, `6.02E+23`).
 * Not numbers: hex floats, `Inf`, `NaN`, digit separators, empty strings.
 */
export interface Decimal {
  /** -1, 0 or 1. */
  sign: number;
  /** Significant digits without leading or trailing zeros ("" for zero). */
  digits: string;
  /** Value = 0.<digits> x 10^exp. */
  exp: number;
}

const DECIMAL = /^([+-]?)(?:([0-9]+)(?:\.([0-9]*))?|\.([0-9]+))(?:[eE]([+-]?[0-9]+))?$/;

export function parseDecimal(s: string): Decimal | null {
  const m = DECIMAL.exec(s);
  if (!m) return null;
  const intPart = m[2] ?? '';
  const fracPart = m[3] ?? m[4] ?? '';
  const all = intPart + fracPart;
  let lead = 0;
  while (lead < all.length && all.charCodeAt(lead) === 48) lead++;
  if (lead === all.length) return { sign: 0, digits: '', exp: 0 };
  let end = all.length;
  while (all.charCodeAt(end - 1) === 48) end--;
  const exponent = m[5] ? Number(m[5]) : 0;
  return { sign: m[1] === '-' ? -1 : 1, digits: all.slice(lead, end), exp: intPart.length - lead + exponent };
}

export function compareDecimals(a: Decimal, b: Decimal): number {
  if (a.sign !== b.sign) return a.sign < b.sign ? -1 : 1;
  if (a.sign === 0) return 0;
  let mag: number;
  if (a.exp !== b.exp) mag = a.exp < b.exp ? -1 : 1;
  else mag = a.digits === b.digits ? 0 : a.digits < b.digits ? -1 : 1;
  return a.sign * mag;
}
