/**
 * Reads one page of a tag list (`{"name": "...", "tags": ["1.0", ...]}`) as its bytes arrive, keeping only
 * the tag strings: no whole body, no text of it, no parsed array beside the list the tags go into. A
 * million-tag page (~12 MB) cost three copies with JSON.parse (issue 15: the body, its text and the array).
 *
 * The bytes are read by @streamparser/json's tokenizer: it resolves strings, escapes and numbers across chunk
 * boundaries. The walk over its tokens is ours, and so is the grammar check in it: the library's token parser
 * cannot say what `tags` was when it is not an array (selecting `$.tags` makes it keep the whole array), and
 * it more than doubled the time of a page (a million tags: ~0.4 s tokenizing, +0.5 s in the token parser; the
 * byte budget of an endless page must be reached as fast as the bytes come).
 */
import { Tokenizer, TokenType, type ParsedTokenInfo } from '@streamparser/json';

export class TagPageError extends Error {
  constructor(readonly kind: 'not-json' | 'no-tags', message: string) {
    super(message);
  }
}

/** What the next token may be. */
type Expect = 'root' | 'key' | 'key-or-end' | 'colon' | 'value' | 'value-or-end' | 'comma-or-end' | 'done';

export class TagPageScanner {
  // Strings gathered in a buffer rather than by concatenation: twice as fast on a million short strings.
  private readonly tokenizer = new Tokenizer({ stringBufferSize: 64 * 1024 });
  /** Open containers, innermost last: true for an object. */
  private readonly open: boolean[] = [];
  private expect: Expect = 'root';
  private rootKey: string | undefined;
  private rootIsObject = false;
  private inTags = false;
  /** Why `tags` is not an array of strings, once it was found not to be (the tags gathered are then void). */
  private refusal: string | undefined;

  /**
   * `onTag` gets each string of `tags` in order; `onReset` says that a later `tags` key replaces what came
   * before (JSON.parse keeps the last of a repeated key), and the tags given so far by this page are void.
   */
  constructor(private readonly onTag: (tag: string) => void, private readonly onReset: () => void) {
    // The walk's own errors pass through the tokenizer's onToken, and so come back here: kept as they are.
    this.tokenizer.onError = (err) => { throw err instanceof TagPageError ? err : new TagPageError('not-json', err.message); };
    this.tokenizer.onToken = (info) => this.token(info);
  }

  write(chunk: Uint8Array): void {
    this.tokenizer.write(chunk);
  }

  /** The page is whole: throws when it was not one JSON object (cut short, or another kind of value). */
  end(): void {
    // Ending the tokenizer gives the last token when the document ends without a delimiter (a bare number).
    this.tokenizer.end();
    if (this.expect !== 'done') throw new TagPageError('not-json', 'the JSON document is incomplete');
    // Refused only now: a document that is not JSON at all is reported as that, as JSON.parse did.
    if (!this.rootIsObject) throw new TagPageError('no-tags', 'not an object');
    if (this.refusal) throw new TagPageError('no-tags', this.refusal);
  }

  private token({ token, value }: ParsedTokenInfo): void {
    switch (this.expect) {
      case 'done':
        throw new TagPageError('not-json', 'data after the end of the JSON document');
      case 'root':
        // Another kind of document is read to its end all the same: invalid JSON is reported as that first.
        this.rootIsObject = token === TokenType.LEFT_BRACE;
        return this.value(token, value);
      case 'key':
      case 'key-or-end':
        if (token === TokenType.STRING) {
          if (this.open.length === 1) this.rootKey = value as string;
          this.expect = 'colon';
          return;
        }
        if (token === TokenType.RIGHT_BRACE && this.expect === 'key-or-end') return this.close();
        return this.unexpected(token);
      case 'colon':
        if (token !== TokenType.COLON) this.unexpected(token);
        this.expect = 'value';
        return;
      case 'comma-or-end': {
        const inObject = this.open[this.open.length - 1];
        if (token === TokenType.COMMA) this.expect = inObject ? 'key' : 'value';
        else if (token === (inObject ? TokenType.RIGHT_BRACE : TokenType.RIGHT_BRACKET)) this.close();
        else this.unexpected(token);
        return;
      }
      case 'value':
      case 'value-or-end':
        if (token === TokenType.RIGHT_BRACKET && this.expect === 'value-or-end') return this.close();
        return this.value(token, value);
    }
  }

  /** A value starts (or is) here. */
  private value(token: TokenType, value: ParsedTokenInfo['value']): void {
    const depth = this.open.length;
    if (depth === 1 && this.rootIsObject && this.rootKey === 'tags') {
      // The last `tags` key decides, as with JSON.parse: what an earlier one gave is void.
      this.onReset();
      this.refusal = undefined;
      if (token === TokenType.LEFT_BRACKET) this.inTags = true;
      // An empty repository lists `"tags": null` on CNCF distribution.
      else if (token !== TokenType.NULL && isValueStart(token)) this.refusal = '"tags" is not an array';
    } else if (depth === 2 && this.inTags) {
      if (token === TokenType.STRING) this.onTag(value as string);
      else if (isValueStart(token)) {
        this.refusal = '"tags" holds something that is not a string';
        this.inTags = false;
        this.onReset();
      }
    }
    switch (token) {
      case TokenType.LEFT_BRACE:
        return this.push(true);
      case TokenType.LEFT_BRACKET:
        return this.push(false);
      case TokenType.STRING:
      case TokenType.NUMBER:
      case TokenType.TRUE:
      case TokenType.FALSE:
      case TokenType.NULL:
        return this.afterValue();
      default:
        return this.unexpected(token);
    }
  }

  private push(isObject: boolean): void {
    this.open.push(isObject);
    this.expect = isObject ? 'key-or-end' : 'value-or-end';
  }

  private close(): void {
    this.open.pop();
    if (this.open.length === 1) this.inTags = false;
    this.afterValue();
  }

  private afterValue(): void {
    this.expect = this.open.length === 0 ? 'done' : 'comma-or-end';
  }

  private unexpected(token: TokenType): never {
    throw new TagPageError('not-json', `unexpected ${TokenType[token]} (expected ${this.expect})`);
  }
}

function isValueStart(token: TokenType): boolean {
  return token === TokenType.LEFT_BRACE || token === TokenType.LEFT_BRACKET || token === TokenType.STRING || token === TokenType.NUMBER
    || token === TokenType.TRUE || token === TokenType.FALSE || token === TokenType.NULL;
}
