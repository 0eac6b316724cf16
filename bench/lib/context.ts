/** What every bench item receives: sizes, the bench's own registry, a scratch dir, and the row format. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestRegistry } from '../../test/helpers/mirror-registries.js';
import { seedRepositories } from './seed.js';

export interface Scale {
  name: 'full' | 'tiny';
  /** Item 1 and 5: repositories, tags in each, compose services over them. */
  repos: number;
  tagsPerRepo: number;
  services: number;
  /** Timed rounds per comparison (median reported). */
  runs: number;
  /** Item 2: tags in the one large repository. */
  largeTags: number;
  /** Item 3: tags per policy selection. */
  policyTags: number;
  /** Item 4: runs of each way to update (alternated). */
  updateRuns: number;
  /** Item 5: after which daemon cycles RSS and CPU are sampled. */
  cycles: number[];
  /** Item 6: runs of each command. */
  startupRuns: number;
}

export const SCALES: Record<Scale['name'], Scale> = {
  full: { name: 'full', repos: 50, tagsPerRepo: 200, services: 200, runs: 5, largeTags: 10_000, policyTags: 100_000, updateRuns: 3, cycles: [1, 10, 50, 100], startupRuns: 10 },
  // For the smoke test: every step runs, nothing takes long.
  tiny: { name: 'tiny', repos: 3, tagsPerRepo: 5, services: 6, runs: 1, largeTags: 30, policyTags: 1000, updateRuns: 1, cycles: [1, 2, 3], startupRuns: 2 },
};

export interface Row {
  item: string;
  measure: string;
  dosync: string;
  baseline: string;
  /** dosync / baseline (time or memory), when the two are comparable. */
  ratio?: number;
  target?: string;
  /** Whether the target is met; undefined when the row has no target. */
  met?: boolean;
}

export interface ItemResult {
  rows: Row[];
  /** Raw figures for results.json. */
  data: Record<string, unknown>;
}

/** Tag `t` (0-based) of a seeded repository: 1.<t/20>.<t%20>, so the newest is the last. */
export const scaleTag = (t: number) => `1.${Math.floor(t / 20)}.${t % 20}`;

export class BenchContext {
  private seeded?: Promise<string[]>;
  constructor(
    readonly registry: TestRegistry,
    readonly scale: Scale,
    readonly dir: string,
    readonly log: (line: string) => void,
  ) {}

  /** The repositories items 1, 5 and 6 share (seeded on first use): bench/app-NN with `tagsPerRepo` tags. */
  scaleRepos(): Promise<string[]> {
    this.seeded ??= (async () => {
      const repos = Array.from({ length: this.scale.repos }, (_, i) => `bench/app-${String(i + 1).padStart(2, '0')}`);
      const t0 = performance.now();
      const { requests } = await seedRepositories(this.registry.host, repos, () => Array.from({ length: this.scale.tagsPerRepo }, (_, t) => scaleTag(t)));
      this.log(`seeded ${repos.length} repositories x ${this.scale.tagsPerRepo} tags (${requests} requests) in ${((performance.now() - t0) / 1000).toFixed(1)}s`);
      return repos;
    })();
    return this.seeded;
  }

  /**
   * A compose file of `services` services spread over `repos`; every `behindEvery`-th service runs the
   * oldest tag (an update is due), the others the newest. Returns the file's path.
   */
  writeStack(name: string, repos: string[], services: number, behindEvery?: number): string {
    const dir = join(this.dir, name);
    mkdirSync(dir, { recursive: true });
    const newest = scaleTag(this.scale.tagsPerRepo - 1);
    // The bench stacks are not started: update_stopped lets the stopped services get their updates planned.
    const lines = ['x-bench: &bench', '  labels: [dosync.update_stopped=true]', 'services:'];
    for (let i = 0; i < services; i++) {
      const tag = behindEvery && i % behindEvery === 0 ? scaleTag(0) : newest;
      lines.push(`  svc-${String(i + 1).padStart(3, '0')}:`, '    <<: *bench', `    image: ${this.registry.host}/${repos[i % repos.length]}:${tag}`);
    }
    const file = join(dir, 'docker-compose.yml');
    writeFileSync(file, lines.join('\n') + '\n');
    return file;
  }

  /** Runs `work` and returns the requests the bench registry served meanwhile (from its access log). */
  async counted<T>(work: () => Promise<T>): Promise<{ value: T; requests: number }> {
    this.registry.resetRequests();
    const value = await work();
    // The access log line is written as each response completes: let the last ones arrive.
    await new Promise((r) => setTimeout(r, 250));
    return { value, requests: this.registry.requests().total };
  }
}
