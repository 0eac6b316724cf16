// Selects from 100,000 tags with each policy kind and prints the time per selection.
// Run: node --import tsx bench/policy.ts   (bench/run.ts reuses makeTags, POLICY_KINDS and benchPolicies)
import { pathToFileURL } from 'node:url';
import { resolvePolicy, selectTag, type PolicySources } from '../src/policy/index.js';
import type { TagInfo } from '../src/registry/types.js';

const N = 100_000;
const WHERE = { labels: 'bench: labels', service: 'bench: services.app', registry: 'bench: registry.r' };

/** A realistic mix: versions with variants and prereleases, CI tags, dates, sha tags. Deterministic. */
export function makeTags(n: number): TagInfo[] {
  const tags: TagInfo[] = [];
  let seed = 42;
  const rnd = (m: number) => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed % m;
  };
  const t0 = Date.UTC(2020, 0, 1);
  for (let i = 0; i < n; i++) {
    const pushedAt = new Date(t0 + rnd(1_000_000_000) * 60);
    switch (i % 5) {
      case 0:
        tags.push({ tag: `${rnd(5)}.${rnd(40)}.${rnd(40)}${['', '', '-alpine', '-bookworm'][rnd(4)]}${i}`.replace(/(\d+)$/, ''), pushedAt });
        tags.push({ tag: `${rnd(5)}.${rnd(40)}.${i % 1000}${['', '-rc.1', '-alpine'][rnd(3)]}`, pushedAt });
        break;
      case 1:
        tags.push({ tag: `main-${(rnd(0xfffffff) + 0x1000000).toString(16)}-${1_700_000_000 + i}`, pushedAt });
        break;
      case 2:
        tags.push({ tag: `RELEASE.2024-${String(1 + rnd(12)).padStart(2, '0')}-${String(1 + rnd(28)).padStart(2, '0')}T${String(rnd(24)).padStart(2, '0')}-00-${String(i % 60).padStart(2, '0')}Z`, pushedAt });
        break;
      case 3:
        tags.push({ tag: `v${rnd(3)}.${rnd(30)}.${i}`, pushedAt });
        break;
      default:
        tags.push({ tag: `sha-${(rnd(0xfffffff) + i).toString(16)}`, pushedAt });
    }
  }
  return tags.slice(0, n);
}

export const POLICY_KINDS: Array<[string, PolicySources, string]> = [
  ['default (current 1.2.3)', {}, '1.2.3'],
  ['semver >=1.0.0 <2.0.0', { labels: { 'dosync.policy': 'semver:>=1.0.0 <2.0.0' } }, 'v1.0.0'],
  ['semver (any) + include/extract', { service: { imagePolicy: { filterTags: { pattern: '^v(?P<semver>[0-9]+\\.[0-9]+\\.[0-9]+)$', extract: '$semver' }, policy: { semver: { range: '' } } } } }, ''],
  ['numerical + include/extract', { service: { imagePolicy: { filterTags: { pattern: '^main-[a-fA-F0-9]+-(?P<ts>\\d+)$', extract: '$ts' }, policy: { numerical: { order: 'desc' } } } } }, ''],
  ['alphabetical + include/extract', { service: { imagePolicy: { filterTags: { pattern: '^RELEASE\\.(?P<timestamp>.*)Z$', extract: '$timestamp' }, policy: { alphabetical: { order: 'desc' } } } } }, ''],
  ['alphabetical (no filter)', { labels: { 'dosync.policy': 'alphabetical:desc' } }, ''],
  ['newest', { labels: { 'dosync.policy': 'newest' } }, ''],
  ['newest + glob tagPattern main-*', { service: { imagePolicy: { tagPattern: 'main-*', policy: { newest: {} } } } }, ''],
];

export interface PolicyTiming {
  kind: string;
  /** Median of `runs` selections, after one warm-up. */
  ms: number;
  tags: number;
  selected: string | null;
}

/** Times one selection per policy kind over `n` generated tags. */
export function benchPolicies(n = N, runs = 5): PolicyTiming[] {
  const tags = makeTags(n);
  return POLICY_KINDS.map(([name, sources, current]) => {
    const policy = resolvePolicy(sources, WHERE);
    selectTag(tags, current, policy);
    const times: number[] = [];
    let selected: string | null = null;
    for (let i = 0; i < runs; i++) {
      // A fresh list each run, as each cycle gets: the engine remembers per-list work (de-duplication).
      const list = tags.slice();
      const t = performance.now();
      selected = selectTag(list, current, policy).selected;
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    return { kind: name, ms: times[Math.floor(runs / 2)], tags: tags.length, selected };
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(`policy selection over ${N.toLocaleString('en')} tags (median of 5 runs, after 1 warm-up)`);
  for (const r of benchPolicies()) {
    console.log(`${r.kind.padEnd(34)} ${r.ms.toFixed(1).padStart(8)} ms   (${(r.ms * 1000 / r.tags).toFixed(2)} us/tag)  -> ${r.selected}`);
  }
}
