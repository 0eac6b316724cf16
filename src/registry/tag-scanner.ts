/**
 * Reads one page of a tag list (`{"name": "...", "tags": ["1.0", ...]}`) as its bytes arrive, keeping only
 * the tag strings: no whole body, no text of it, no parsed array beside the list the tags go into. A
 * million-tag page (~12 MB) cost three copies with JSON.parse (issue 15: the body, its text and the array).
 *
 * The JSON itself is read by @streamparser/json: its tokenizer resolves strings and escapes across chunk
 * boundaries, and its token parser checks the grammar (set to emit nothing and keep nothing). Only the walk
 * over the tokens is ours: which key of the top-level object we are in, and whether `tags` is an array of
 * strings (the library's path selection cannot say what `tags` was when it is not an array, and selecting
 * `$.tags` itself makes it keep the whole array).
 */
import { TokenParser, Tokenizer, TokenType, type ParsedTokenInfo } from '@streamparser/json';

export class TagPageError extends Error {
  constructor(readonly kind: 'not-json' | 'no-tags', message: string) {
    super(message);
  }
}

export class TagPageScanner {
  private readonly tokenizer = new Tokenizer();
  private readonly grammar = new TokenParser({ paths: ['$.tags.*'], keepStack: false });
  private depth = 0;
  private key: string | undefined;
  private expectKey = false;
  private inTags = false;

  /**
   * `onTag` gets each string of `tags` in order; `onReset` says that a later `tags` key replaces what came
   * before (JSON.parse keeps the last of a repeated key), and the tags given so far by this page are void.
   */
  constructor(private readonly onTag: (tag: string) => void, private readonly onReset: () => void) {
    this.grammar.onValue = () => undefined;
    // The walk's own errors pass through the tokenizer's onToken, and so come back here: kept as they are.
    const fail = (err: Error) => { throw err instanceof TagPageError ? err : new TagPageError('not-json', err.message); };
    this.grammar.onError = fail;
    this.tokenizer.onError = fail;
    this.tokenizer.onToken = (info) => {
      this.grammar.write(info);
      this.token(info);
    };
  }

  /** Whitespace may follow the document; any other token after it is refused by the grammar (state ENDED). */
  write(chunk: Uint8Array): void {
    this.tokenizer.write(chunk);
  }

  /** The page is whole: throws when it was not one JSON object (cut short, or another kind of value). */
  end(): void {
    if (!this.grammar.isEnded) throw new TagPageError('not-json', 'the JSON document is incomplete');
    this.tokenizer.end();
  }

  private token({ token, value }: ParsedTokenInfo): void {
    if (this.depth === 0) {
      if (token !== TokenType.LEFT_BRACE) throw new TagPageError('no-tags', 'not an object');
      this.depth = 1;
      this.expectKey = true;
      return;
    }
    // The value of a top-level key starts here (a key or a `:` is not a value).
    const rootValue = this.depth === 1 && !this.expectKey && token !== TokenType.COLON && token !== TokenType.COMMA && token !== TokenType.RIGHT_BRACE;
    if (rootValue && this.key === 'tags') {
      if (token === TokenType.LEFT_BRACKET) {
        this.onReset();
        this.inTags = true;
      } else if (token === TokenType.NULL) {
        // An empty repository lists `"tags": null` on CNCF distribution.
        this.onReset();
      } else throw new TagPageError('no-tags', '"tags" is not an array');
    } else if (this.inTags && this.depth === 2) {
      if (token === TokenType.STRING) this.onTag(value as string);
      else if (token !== TokenType.COMMA && token !== TokenType.RIGHT_BRACKET) throw new TagPageError('no-tags', '"tags" holds something that is not a string');
    }
    switch (token) {
      case TokenType.LEFT_BRACE:
      case TokenType.LEFT_BRACKET:
        this.depth++;
        break;
      case TokenType.RIGHT_BRACE:
      case TokenType.RIGHT_BRACKET:
        this.depth--;
        if (this.depth === 1) this.inTags = false;
        break;
      case TokenType.COLON:
        if (this.depth === 1) this.expectKey = false;
        break;
      case TokenType.COMMA:
        if (this.depth === 1) this.expectKey = true;
        break;
      case TokenType.STRING:
        if (this.depth === 1 && this.expectKey) this.key = value as string;
        break;
      default:
        break;
    }
  }
}
