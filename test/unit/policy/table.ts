// The harness of the policy table tests: each case is a policy as a user writes it (an imagePolicy block or
// full sources), tags in the order the registry lists them, and the tag that must win.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { resolvePolicy, selectTag, type PolicySources } from '../../../src/policy/index.js';
import type { TagInfo } from '../../../src/registry/types.js';

export const WHERE = { labels: 'docker-compose.yml: services.app.labels', service: 'dosync.yaml: services.app', registry: 'dosync.yaml: registry.custom' };

export interface PolicyCase {
  name: string;
  /** An imagePolicy block (service level), or full sources. */
  policy?: unknown;
  sources?: PolicySources;
  tags: Array<string | TagInfo>;
  current?: string;
  selected: string | null;
}

export const at = (iso: string) => new Date(iso);

export function runTable(title: string, cases: PolicyCase[]): void {
  describe(title, () => {
    for (const c of cases) {
      test(`${c.name} -> ${c.selected}`, () => {
        const policy = resolvePolicy(c.sources ?? { service: { imagePolicy: c.policy } }, WHERE);
        const tags = c.tags.map((t) => (typeof t === 'string' ? { tag: t } : t));
        const s = selectTag(tags, c.current ?? 'unused', policy);
        assert.equal(s.kind, 'tag');
        assert.equal(s.selected, c.selected, s.reason);
        if (c.selected === null) assert.match(s.reason, /^no tag qualifies/);
        // The ranked list (--explain) agrees with the winner.
        else assert.equal(s.candidates[0].tag, c.selected);
        // Every tag is accounted for exactly once.
        const seen = [...s.candidates.map((x) => x.tag), ...s.dropped.map((x) => x.tag)].sort();
        assert.deepEqual(seen, [...new Set(tags.map((t) => t.tag))].sort());
      });
    }
  });
}
