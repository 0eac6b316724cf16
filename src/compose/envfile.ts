/**
 * Compose `.env` files: a scanner that keeps source positions (so a value can be rewritten in place)
 * and a parser with compose's semantics (compose-go dotenv, as shipped with Compose v2.26):
 * `export` prefix, `KEY=value` and `KEY: value`, `#` comment lines, ` #` inline comments on unquoted
 * values, single quotes (literal), double quotes (escapes `\n \t \\ \" \$ ...`, may span lines),
 * interpolation of unquoted and double-quoted values, a bare `KEY` inheriting from the environment.
 *
 * Hand-written: the npm dotenv packages implement other dialects (no interpolation, different comment
 * and escape rules) and none reports value positions, which the in-place writer needs.
 */
import { ConfigError } from '../util/errors.js';
import { InterpolationError, interpolateValue } from './interpolate.js';

export interface EnvEntry {
  key: string;
  /** 1-based line of the key. */
  line: number;
  /** `KEY` alone on its line: the value comes from the environment. */
  inherited: boolean;
  quote: '"' | "'" | undefined;
  /** Source range of the value as written, quotes included (empty range for inherited keys). */
  valueStart: number;
  valueEnd: number;
  /** The text between the quotes with only quote escapes resolved (unquoted: comment and trailing space removed). */
  content: string;
}

const UNICODE_SPACE = /\s/u;
/** Spaces that do not end a line (compose-go's isSpace). */
const isInlineSpace = (c: string) => c === ' ' || c === '\t' || c === '\v' || c === '\f' || c === '\r' || c === '\u0085' || c === '\u00a0';
const isKeyChar = (c: string) => /[\p{L}\p{N}_.\-[\]]/u.test(c);

function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text[i] === '\n') line++;
  return line;
}

/** Splits an env file into entries with their positions; throws ConfigError (naming `file` and the line) on bad syntax. */
export function scanEnvFile(text: string, file = 'env file'): EnvEntry[] {
  const entries: EnvEntry[] = [];
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const fail = (at: number, message: string): never => {
    throw new ConfigError(`${file}:${lineAt(text, at)}: ${message}`);
  };
  for (;;) {
    // Statement start: skip blank space and comment lines.
    while (i < text.length && UNICODE_SPACE.test(text[i])) i++;
    if (i >= text.length) break;
    if (text[i] === '#') {
      const nl = text.indexOf('\n', i);
      if (nl < 0) break;
      i = nl;
      continue;
    }
    const statementStart = i;
    const exportMatch = /^export[ \t\v\f\r\u0085\u00a0]+/.exec(text.slice(i, i + 64));
    if (exportMatch) {
      i += 'export'.length;
      while (i < text.length && isInlineSpace(text[i])) i++;
    }
    const keyStart = i;
    let terminator: string | undefined;
    for (; i < text.length; i++) {
      const c = text[i];
      if (isInlineSpace(c)) continue;
      if (c === '=' || c === ':' || c === '\n') {
        terminator = c;
        break;
      }
      if (!isKeyChar(c)) fail(i, `unexpected character ${JSON.stringify(c)} in variable name ${JSON.stringify(text.slice(keyStart, text.indexOf('\n', keyStart) < 0 ? undefined : text.indexOf('\n', keyStart)).trim())}`);
    }
    const key = text.slice(keyStart, i).replace(/\s+$/u, '');
    if (/\s/u.test(key)) fail(keyStart, `variable name ${JSON.stringify(key)} cannot contain a space`);
    if (key === '') fail(statementStart, 'missing variable name before "="');
    const line = lineAt(text, keyStart);
    if (terminator === undefined || terminator === '\n') {
      entries.push({ key, line, inherited: true, quote: undefined, valueStart: i, valueEnd: i, content: '' });
      continue;
    }
    i++; // past '=' or ':'
    while (i < text.length && isInlineSpace(text[i])) i++;
    const c = text[i];
    if (c === '"' || c === "'") {
      const valueStart = i;
      let content = '';
      let escaped = false;
      let closed = -1;
      for (let j = i + 1; j < text.length; j++) {
        const ch = text[j];
        if (escaped) {
          escaped = false;
          // An escaped quote drops its backslash; any other escape is kept for the double-quote pass.
          content += ch === c ? ch : `\\${ch}`;
        } else if (ch === '\\') escaped = true;
        else if (ch === c) {
          closed = j;
          break;
        } else content += ch;
      }
      if (closed < 0) fail(valueStart, `unterminated quoted value for ${key}`);
      entries.push({ key, line, inherited: false, quote: c, valueStart, valueEnd: closed + 1, content });
      // compose-go resumes right after the closing quote: the rest of the line is another statement or a comment.
      i = closed + 1;
      continue;
    }
    const nl = text.indexOf('\n', i);
    const lineEnd = nl < 0 ? text.length : nl;
    let valueEnd = lineEnd;
    const comment = text.slice(i, lineEnd).indexOf(' #');
    if (comment >= 0) valueEnd = i + comment;
    while (valueEnd > i && UNICODE_SPACE.test(text[valueEnd - 1])) valueEnd--;
    entries.push({ key, line, inherited: false, quote: undefined, valueStart: i, valueEnd, content: text.slice(i, valueEnd) });
    i = lineEnd;
  }
  return entries;
}

/** Backslash escapes honoured inside double quotes (compose-go's expandEscapes). */
function expandEscapes(s: string): string {
  const simple: Record<string, string> = { a: '\x07', b: '\b', c: '\\c', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '"': '"', '\\': '\\', $: '$$' };
  return s.replace(/\\(?:([abcfnrtv$"\\])|0(\d{0,3}))/g, (match, ch: string | undefined, digits: string | undefined) => {
    if (ch !== undefined) return simple[ch];
    // `\0ddd` is an octal byte only with exactly three octal digits (Go's UnquoteChar after compose strips the 0).
    if (digits !== undefined) {
      if (/^[0-7]{3}$/.test(digits) && parseInt(digits, 8) <= 0o377) return String.fromCharCode(parseInt(digits, 8));
      return `\\${digits}`; // compose-go has already dropped the 0 when the octal form fails
    }
    return match;
  });
}

export interface ParseEnvOptions {
  /**
   * What `${VAR}` inside values and bare `KEY` lines see first: the shell environment plus the values of
   * env files read earlier. Compose v2.26 consults it before the earlier entries of this same file.
   */
  lookup?: (name: string) => string | undefined;
  /** Name used in error messages. */
  file?: string;
}

/** Values of an env file as compose computes them. Throws ConfigError naming the file and line on bad syntax. */
export function parseEnvFile(text: string, options: ParseEnvOptions = {}): Record<string, string> {
  const file = options.file ?? 'env file';
  const lookup = options.lookup ?? (() => undefined);
  const out: Record<string, string> = {};
  for (const entry of scanEnvFile(text, file)) {
    if (entry.inherited) {
      const inherited = lookup(entry.key);
      if (inherited !== undefined) out[entry.key] = inherited;
      continue;
    }
    let value = entry.content;
    if (entry.quote !== "'") {
      const template = entry.quote === '"' ? expandEscapes(value) : value;
      try {
        value = interpolateValue(template, (name) => lookup(name) ?? (Object.prototype.hasOwnProperty.call(out, name) ? out[name] : undefined));
      } catch (err) {
        if (err instanceof InterpolationError) throw new ConfigError(`${file}:${entry.line}: ${entry.key}: ${err.message}`);
        throw err;
      }
    }
    out[entry.key] = value;
  }
  return out;
}
