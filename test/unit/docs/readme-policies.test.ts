/**
 * Every example of README "How policies work" says what it selects ("Tags `a`, `b` → `b`", or "Running `x`; tags ...
 * → `y`" where the running tag matters); each is run through the real policy engine and must select exactly that.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { resolvePolicy, selectTag, type PolicySources } from '../../../src/policy/index.js';
import { codeSpans, lines, section, docsText } from './markdown.js';

// README.md and docs/*.md (the reference moved to docs/).
const readme = docsText();

interface Example {
  yaml: string;
  /** The line stating the outcome, or undefined when the block is not followed by one. */
  outcome?: string;
}

/** Each ```yaml block of the text with the first non-empty line after it. */
function yamlExamples(text: string): Example[] {
  const all = lines(text);
  const examples: Example[] = [];
  for (let i = 0; i < all.length; i++) {
    if (!/^```yaml\s*$/.test(all[i].text)) continue;
    const end = all.findIndex((l, j) => j > i && /^```\s*$/.test(l.text));
    const yaml = all.slice(i + 1, end).map((l) => l.text).join('\n');
    const next = all.slice(end + 1).find((l) => l.text.trim() !== '');
    const outcome = next && /^(Running|Tags) /.test(next.text) ? next.text : undefined;
    examples.push({ yaml, outcome });
    i = end;
  }
  return examples;
}

/** A block is a `services.<name>` body (`update`, `imagePolicy`), a bare `imagePolicy`, or `labels:` as in a compose file. */
function sourcesOf(yaml: string): PolicySources {
  const doc = parse(yaml) as Record<string, unknown>;
  if (doc.labels) {
    // Compose turns `$$` into `$` before anyone reads the label.
    const labels = Object.fromEntries(Object.entries(doc.labels as Record<string, string>).map(([k, v]) => [k, String(v).replace(/\$\$/g, '$')]));
    return { labels };
  }
  return { service: doc as PolicySources['service'] };
}

function parseOutcome(line: string): { current: string; tags: string[]; expected: string } {
  const m = /^(?:Running `([^`]+)`; tags|Tags) (.+?) → `([^`]+)`/.exec(line);
  assert.ok(m, `"${line}" reads "Tags \`a\`, \`b\` → \`b\`" or "Running \`x\`; tags ... → \`y\`"`);
  const tags = codeSpans(m[2]);
  return { current: m[1] ?? tags[0], tags, expected: m[3] };
}

test('README policy examples select what they say', () => {
  const text = section(readme, 'How policies work');
  assert.ok(text, 'README has "How policies work"');
  const examples = yamlExamples(text);
  assert.ok(examples.length >= 8, `found ${examples.length} examples`);
  for (const ex of examples) {
    assert.ok(ex.outcome, `the example\n${ex.yaml}\nis followed by the tags it sees and the tag it selects`);
    const { current, tags, expected } = parseOutcome(ex.outcome);
    const policy = resolvePolicy(sourcesOf(ex.yaml), { labels: 'README labels', service: 'README services.x', registry: 'README registry' });
    const selection = selectTag(tags.map((tag) => ({ tag })), current, policy);
    assert.equal(selection.selected, expected, `${ex.yaml}\n${ex.outcome}\n${selection.reason}`);
  }
});
