/**
 * Compose variable interpolation (`${VAR}`, `${VAR:-def}`, `${VAR-def}`, `${VAR:?err}`, `${VAR?err}`,
 * `${VAR:+alt}`, `${VAR+alt}`, `$VAR`, `$$`), following compose-go's template package as shipped with
 * Compose v2.26: defaults/alternatives may nest, a `$` not followed by a name or `{` stays literal, and
 * `${...}` with anything else is an invalid template.
 *
 * Hand-written because no npm package implements compose's dialect (nesting, eager evaluation of the
 * default text, the exact literal rules), and because dosync needs to know which part of the result
 * came from which variable, default or literal (`pieces`) to rewrite a tag where it really lives.
 */

export type PieceSource =
  /** Text written in the template itself (`raw` is its range in the template). */
  | { kind: 'literal' }
  /** The value of a variable. */
  | { kind: 'variable'; name: string }
  /** Literal text of the default of `${name:-...}` / `${name-...}`, used because `name` was unset (or empty). */
  | { kind: 'default'; name: string; nested: boolean; defaultRaw: [number, number] }
  /** Literal text of the alternative of `${name:+...}` / `${name+...}`. */
  | { kind: 'alternative'; name: string };

export interface Piece {
  text: string;
  /** Range in the template that produced `text` (for variables: the whole `${...}` / `$NAME`). */
  raw: [number, number];
  /** True when `text` is exactly `template.slice(raw[0], raw[1])` (a plain literal, not `$$`). */
  verbatim: boolean;
  source: PieceSource;
}

export interface InterpolationResult {
  value: string;
  pieces: Piece[];
  /** Variables referenced without a default that were not set (compose warns and uses ""). */
  unset: string[];
}

export class InterpolationError extends Error {
  constructor(
    message: string,
    readonly kind: 'invalid' | 'required',
  ) {
    super(message);
    this.name = 'InterpolationError';
  }
}

export type Lookup = (name: string) => string | undefined;

const NAME_START = /[_a-zA-Z]/;
const NAME_REST = /[_a-zA-Z0-9]/;

type Operator = '' | '-' | ':-' | '?' | ':?' | '+' | ':+';

/** One `${...}` or `$NAME` reference found in a template (top level only). */
export interface VariableReference {
  name: string;
  operator: Operator;
  /** Range of the whole reference in the template. */
  start: number;
  end: number;
  /** Range of the text after the operator (default, error message or alternative); empty for `$NAME`/`${NAME}`. */
  argStart: number;
  argEnd: number;
}

/** Index of the `}` closing the `${` at `start`, counting nested `${` like compose does; -1 when unclosed. */
function closingBrace(s: string, start: number): number {
  let depth = 0;
  for (let i = start; i < s.length; i++) {
    if (s[i] === '$' && s[i + 1] === '{') {
      depth++;
      i++;
    } else if (s[i] === '}') {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}

type Token =
  | { type: 'text'; start: number; end: number }
  | { type: 'dollar'; start: number; end: number } // `$$` -> `$`, or a lone `$` kept as is
  | { type: 'ref'; ref: VariableReference };

function tokenize(s: string, template: string): Token[] {
  const tokens: Token[] = [];
  let textStart = 0;
  const flushText = (end: number) => {
    if (end > textStart) tokens.push({ type: 'text', start: textStart, end });
  };
  let i = 0;
  while (i < s.length) {
    if (s[i] !== '$') {
      i++;
      continue;
    }
    const next = s[i + 1];
    if (next === '$') {
      flushText(i);
      tokens.push({ type: 'dollar', start: i, end: i + 2 });
      i += 2;
      textStart = i;
    } else if (next !== undefined && NAME_START.test(next)) {
      flushText(i);
      let j = i + 2;
      while (j < s.length && NAME_REST.test(s[j])) j++;
      tokens.push({ type: 'ref', ref: { name: s.slice(i + 1, j), operator: '', start: i, end: j, argStart: j, argEnd: j } });
      i = j;
      textStart = i;
    } else if (next === '{') {
      flushText(i);
      const close = closingBrace(s, i);
      if (close < 0) throw invalid(template);
      let j = i + 2;
      if (j >= close || !NAME_START.test(s[j])) throw invalid(template);
      while (j < close && NAME_REST.test(s[j])) j++;
      const name = s.slice(i + 2, j);
      let operator: Operator = '';
      if (j < close) {
        const two = s.slice(j, j + 2);
        if (two === ':-' || two === ':?' || two === ':+') operator = two;
        else if (s[j] === '-' || s[j] === '?' || s[j] === '+') operator = s[j] as Operator;
        else throw invalid(template);
      }
      const argStart = j + operator.length;
      tokens.push({ type: 'ref', ref: { name, operator, start: i, end: close + 1, argStart, argEnd: close } });
      i = close + 1;
      textStart = i;
    } else {
      // compose keeps a `$` that starts nothing it knows (`$1`, `a$-b`, a trailing `$`).
      i++;
    }
  }
  flushText(s.length);
  return tokens;
}

function invalid(template: string): InterpolationError {
  return new InterpolationError(`invalid interpolation format ${JSON.stringify(template)} (write $$ for a literal $)`, 'invalid');
}

/** Top-level variable references of a template, with their source ranges. Throws InterpolationError on an invalid template. */
export function findReferences(template: string): VariableReference[] {
  return tokenize(template, template)
    .filter((t): t is Extract<Token, { type: 'ref' }> => t.type === 'ref')
    .map((t) => t.ref);
}

/** Interpolates `template` like compose; throws InterpolationError for invalid templates and missing required variables. */
export function interpolate(template: string, lookup: Lookup): InterpolationResult {
  const unset: string[] = [];
  const pieces = expand(template, 0, template.length, template, lookup, unset, undefined);
  return { value: pieces.map((p) => p.text).join(''), pieces: mergeLiterals(pieces, template), unset };
}

/** Shorthand when only the value matters. */
export function interpolateValue(template: string, lookup: Lookup): string {
  return interpolate(template, lookup).value;
}

type LiteralContext = PieceSource | undefined;

function expand(
  template: string,
  from: number,
  to: number,
  whole: string,
  lookup: Lookup,
  unset: string[],
  literalSource: LiteralContext,
): Piece[] {
  const s = template.slice(from, to);
  const pieces: Piece[] = [];
  const literal = (start: number, end: number, text: string, verbatim: boolean) => {
    if (text === '') return;
    pieces.push({ text, raw: [from + start, from + end], verbatim, source: literalSource ?? { kind: 'literal' } });
  };
  for (const token of tokenize(s, whole)) {
    if (token.type === 'text') {
      literal(token.start, token.end, s.slice(token.start, token.end), true);
      continue;
    }
    if (token.type === 'dollar') {
      literal(token.start, token.end, '$', token.end - token.start === 1);
      continue;
    }
    const ref = token.ref;
    const value = lookup(ref.name);
    const rawRange: [number, number] = [from + ref.start, from + ref.end];
    const argFrom = from + ref.argStart;
    const argTo = from + ref.argEnd;
    const argText = template.slice(argFrom, argTo);
    // compose evaluates the text after the operator even when it is not used, so errors inside it surface.
    const argPieces = (source: PieceSource | undefined) =>
      ref.operator === '' ? [] : expand(template, argFrom, argTo, whole, lookup, unset, source);
    const variablePiece = (): Piece[] =>
      value === undefined || value === '' ? [] : [{ text: value, raw: rawRange, verbatim: false, source: { kind: 'variable', name: ref.name } }];
    switch (ref.operator) {
      case '':
        if (value === undefined) unset.push(ref.name);
        pieces.push(...variablePiece());
        break;
      case ':-':
      case '-': {
        const nested = argText.includes('$');
        const def = argPieces({ kind: 'default', name: ref.name, nested, defaultRaw: [argFrom, argTo] });
        const useDefault = value === undefined || (ref.operator === ':-' && value === '');
        pieces.push(...(useDefault ? def : variablePiece()));
        break;
      }
      case ':?':
      case '?': {
        const message = argPieces(undefined)
          .map((p) => p.text)
          .join('');
        const missing = value === undefined || (ref.operator === ':?' && value === '');
        if (missing) {
          throw new InterpolationError(`required variable ${ref.name} is missing a value${message ? `: ${message}` : ''}`, 'required');
        }
        pieces.push(...variablePiece());
        break;
      }
      case ':+':
      case '+': {
        const alt = argPieces({ kind: 'alternative', name: ref.name });
        const useAlt = ref.operator === ':+' ? value !== undefined && value !== '' : value !== undefined;
        if (useAlt) pieces.push(...alt);
        break;
      }
    }
  }
  return pieces;
}

/** Joins adjacent verbatim literal pieces of the same origin, so a literal run is one piece. */
function mergeLiterals(pieces: Piece[], template: string): Piece[] {
  const out: Piece[] = [];
  for (const p of pieces) {
    const last = out[out.length - 1];
    if (
      last &&
      last.verbatim &&
      p.verbatim &&
      last.raw[1] === p.raw[0] &&
      JSON.stringify(last.source) === JSON.stringify(p.source)
    ) {
      last.raw = [last.raw[0], p.raw[1]];
      last.text = template.slice(last.raw[0], last.raw[1]);
    } else {
      out.push({ ...p, raw: [p.raw[0], p.raw[1]] });
    }
  }
  return out;
}

/** Escapes `$` so that `text` interpolates to itself. */
export function escapeDollars(text: string): string {
  return text.replace(/\$/g, '$$$$');
}
