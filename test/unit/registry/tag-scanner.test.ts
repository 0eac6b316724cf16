// The streaming tag-page scanner (src/registry/tag-scanner.ts) against JSON.parse, the reading it replaces:
// the same tags, or the same kind of refusal, for any document cut into chunks anywhere.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { TagPageError, TagPageScanner } from '../../../src/registry/tag-scanner.js';

type Outcome = string[] | 'not-json' | 'no-tags';

/** What the old reading made of a page: JSON.parse of its UTF-8 text, then `tags` as an array of strings (null or absent: none). */
function byJsonParse(text: string): Outcome {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(text).toString('utf8'));
  } catch {
    return 'not-json';
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return 'no-tags';
  const tags = (json as { tags?: unknown }).tags;
  if (tags === null || tags === undefined) return [];
  return Array.isArray(tags) && tags.every((t) => typeof t === 'string') ? (tags as string[]) : 'no-tags';
}

function byScanner(bytes: Buffer, cuts: number[]): Outcome {
  const tags: string[] = [];
  try {
    const s = new TagPageScanner((t) => tags.push(t), () => { tags.length = 0; });
    let from = 0;
    for (const at of [...cuts.filter((c) => c > 0 && c < bytes.length)].sort((a, b) => a - b)) {
      s.write(bytes.subarray(from, at));
      from = at;
    }
    s.write(bytes.subarray(from));
    s.end();
    return tags;
  } catch (err) {
    if (err instanceof TagPageError) return err.kind;
    throw err;
  }
}

const tag = fc.oneof(fc.string(), fc.constantFrom('1.0.0', 'v2.3', 'latest', 'é-ü', '\u{1F600}', 'a"b', 'back\\slash', '\n'));
const page = fc.record({
  name: fc.option(fc.string(), { nil: undefined }),
  tags: fc.oneof(fc.array(tag), fc.constant(null), fc.array(fc.jsonValue(), { maxLength: 3 }), fc.jsonValue()),
  extra: fc.option(fc.jsonValue(), { nil: undefined }),
}, { requiredKeys: [] });

describe('tag page scanner', () => {
  test('reads what JSON.parse reads, cut into chunks anywhere', () => {
    fc.assert(fc.property(page, fc.array(fc.nat(400)), fc.boolean(), (p, cuts, spaced) => {
      const text = JSON.stringify(p, null, spaced ? 1 : undefined);
      assert.deepEqual(byScanner(Buffer.from(text), cuts), byJsonParse(text));
    }), { numRuns: 2000 });
  });

  test('refuses what JSON.parse refuses: truncated, spliced or trailing bytes', () => {
    fc.assert(fc.property(page, fc.nat(), fc.string({ maxLength: 3 }), fc.array(fc.nat(400)), (p, at, junk, cuts) => {
      const text = JSON.stringify(p);
      const i = at % (text.length + 1);
      for (const broken of [text.slice(0, i), text.slice(0, i) + junk + text.slice(i), text + junk]) {
        assert.deepEqual(byScanner(Buffer.from(broken), cuts), byJsonParse(broken), broken);
      }
    }), { numRuns: 2000 });
  });

  test('other kinds of documents', () => {
    for (const text of ['[1,2]', '"s"', '3', 'null', '', ' ', '{"tags":["a"]}{"x":1}', '{"tags":["a",]}', '{"a" 1}', '{,}', '{"tags":["a"],"tags":["b"]}', '{"tags":["a"],"tags":null}']) {
      assert.deepEqual(byScanner(Buffer.from(text), [1, 2, 5]), byJsonParse(text), JSON.stringify(text));
    }
  });

  test('a byte order mark before the document is skipped (JSON.parse of the text refused it; no registry sends one)', () => {
    assert.deepEqual(byScanner(Buffer.from('\uFEFF{"tags":["a"]}'), [1]), ['a']);
  });

  test('a multi-byte character cut between two chunks is read whole', () => {
    const bytes = Buffer.from(JSON.stringify({ tags: ['ä€\u{1F600}x'] }));
    for (let cut = 1; cut < bytes.length; cut++) assert.deepEqual(byScanner(bytes, [cut]), ['ä€\u{1F600}x']);
  });
});
