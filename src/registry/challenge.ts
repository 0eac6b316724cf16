/**
 * RFC 7235 / RFC 9110 §11 `WWW-Authenticate` parser.
 *
 * Hand-written because no maintained npm package implements the grammar: `auth-header` (last
 * released 2018) is regex-based and throws on a challenge without parameters, `www-authenticate`
 * (2016) reads only one challenge, and `http-auth-utils` only accepts the schemes it knows.
 * Registries need several challenges in one header (Forgejo sends Bearer and Basic), quoted
 * values with commas (`scope="repository:a:pull,push"`) and escaped quotes, and unquoted values
 * (gcr.io sends `service=gcr.io`).
 *
 *   WWW-Authenticate = 1#challenge
 *   challenge        = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
 *   auth-param       = token BWS "=" BWS ( token / quoted-string )
 */

export interface Challenge {
  /** Lower-cased scheme name (`bearer`, `basic`, ...). */
  scheme: string;
  /** Parameters with lower-cased names; the first occurrence of a name wins. */
  params: Record<string, string>;
  /** The token68 form (`Negotiate abc==`), when the challenge uses it instead of parameters. */
  token68?: string;
}

const TCHAR = /[!#$%&'*+.^_`|~0-9A-Za-z-]/;
const TOKEN68_CHAR = /[A-Za-z0-9\-._~+/]/;

/** Parses every challenge of a header value (or of several header lines). Malformed parts are skipped, never thrown. */
export function parseChallenges(header: string | string[] | undefined): Challenge[] {
  if (header === undefined) return [];
  if (Array.isArray(header)) return header.flatMap((h) => parseChallenges(h));
  return new ChallengeParser(header).parse();
}

/** The challenge a registry client should answer: Bearer over Basic, anything else last. */
export function preferredChallenge(challenges: Challenge[]): Challenge | undefined {
  return challenges.find((c) => c.scheme === 'bearer') ?? challenges.find((c) => c.scheme === 'basic') ?? challenges[0];
}

class ChallengeParser {
  private pos = 0;
  constructor(private readonly s: string) {}

  parse(): Challenge[] {
    const out: Challenge[] = [];
    let current: Challenge | undefined;
    for (;;) {
      this.skipSeparators();
      if (this.pos >= this.s.length) break;
      const start = this.pos;
      const name = this.token();
      if (name === '') {
        this.skipElement();
        continue;
      }
      const afterName = this.pos;
      this.skipWhitespace();
      if (current && this.peek() === '=') {
        // `name = value`: another parameter of the current challenge.
        this.pos++;
        this.skipWhitespace();
        const value = this.value();
        if (value === undefined) this.skipElement();
        else setParam(current, name, value);
        continue;
      }
      // Otherwise `name` is a new scheme, followed by nothing, a token68, or its first parameter.
      this.pos = afterName;
      current = { scheme: name.toLowerCase(), params: {} };
      out.push(current);
      if (!this.skipSpaces()) {
        if (this.pos < this.s.length && this.peek() !== ',') {
          // Junk glued to the scheme name (`Basic"x"`): drop the challenge's remainder.
          this.pos = start + name.length;
          this.skipElement();
        }
        continue;
      }
      const token68 = this.tryToken68();
      if (token68 !== undefined) {
        current.token68 = token68;
        continue;
      }
      const param = this.token();
      this.skipWhitespace();
      if (param !== '' && this.peek() === '=') {
        this.pos++;
        this.skipWhitespace();
        const value = this.value();
        if (value === undefined) this.skipElement();
        else setParam(current, param, value);
      } else if (param !== '') {
        // `Scheme other`: not a parameter; treat the rest of the element as noise.
        this.skipElement();
      }
    }
    return out;
  }

  private peek(): string {
    return this.s[this.pos] ?? '';
  }

  private token(): string {
    const start = this.pos;
    while (this.pos < this.s.length && TCHAR.test(this.s[this.pos]!)) this.pos++;
    return this.s.slice(start, this.pos);
  }

  /** A token68 only counts when the element ends right after it (otherwise it is `param=value`). */
  private tryToken68(): string | undefined {
    const start = this.pos;
    let p = this.pos;
    while (p < this.s.length && TOKEN68_CHAR.test(this.s[p]!)) p++;
    if (p === start) return undefined;
    while (p < this.s.length && this.s[p] === '=') p++;
    let q = p;
    while (q < this.s.length && (this.s[q] === ' ' || this.s[q] === '\t')) q++;
    if (q < this.s.length && this.s[q] !== ',') return undefined;
    this.pos = q;
    return this.s.slice(start, p);
  }

  /** A quoted-string (with backslash escapes) or, leniently, any run of characters up to a comma or whitespace. */
  private value(): string | undefined {
    if (this.peek() === '"') {
      this.pos++;
      let out = '';
      while (this.pos < this.s.length) {
        const ch = this.s[this.pos++]!;
        if (ch === '\\' && this.pos < this.s.length) out += this.s[this.pos++];
        else if (ch === '"') return out;
        else out += ch;
      }
      return undefined; // unterminated quoted-string
    }
    const start = this.pos;
    while (this.pos < this.s.length && !/[,\s]/.test(this.s[this.pos]!)) this.pos++;
    return this.pos > start ? this.s.slice(start, this.pos) : '';
  }

  private skipWhitespace(): void {
    while (this.pos < this.s.length && /\s/.test(this.s[this.pos]!)) this.pos++;
  }

  /** Skips spaces; reports whether there was at least one. */
  private skipSpaces(): boolean {
    const start = this.pos;
    this.skipWhitespace();
    return this.pos > start;
  }

  private skipSeparators(): void {
    while (this.pos < this.s.length && /[\s,]/.test(this.s[this.pos]!)) this.pos++;
  }

  /** Skips to the next top-level comma, stepping over quoted strings. */
  private skipElement(): void {
    let quoted = false;
    while (this.pos < this.s.length) {
      const ch = this.s[this.pos]!;
      if (quoted && ch === '\\') this.pos++;
      else if (ch === '"') quoted = !quoted;
      else if (ch === ',' && !quoted) return;
      this.pos++;
    }
  }
}

function setParam(challenge: Challenge, name: string, value: string): void {
  const key = name.toLowerCase();
  if (!Object.hasOwn(challenge.params, key)) challenge.params[key] = value;
}
