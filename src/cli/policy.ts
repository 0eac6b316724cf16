/**
 * `dosync policy`: try a tag policy against a list of tags, without touching any stack.
 *
 *   dosync policy --policy '<imagePolicy as YAML or JSON, or semver:<range> ...>' [--current TAG] [--explain] [--json] < tags.txt
 *   dosync policy --image ghcr.io/org/app:1.2.3 [--policy ...] [--explain]
 *
 * Prints the selected tag (exit 0) or says that none qualifies (exit 1). Tags on stdin are one per
 * line; an optional second field is the push time (ISO 8601), used by the `newest` policy.
 */
import type { Command } from 'commander';
import type { TagInfo } from '../registry/types.js';

export interface PolicyCommandDeps {
  /** Lists an image's tags from its registry (for `--image`). */
  listTags?: (image: string) => Promise<TagInfo[]>;
  /** Reads all of stdin (tests pass text; default: process.stdin). */
  readStdin?: () => Promise<string>;
  /** Writes to stdout (default: process.stdout). */
  write?: (text: string) => void;
}

export interface PolicyOptions {
  policy?: string;
  update?: string;
  current?: string;
  image?: string;
  explain?: boolean;
  json?: boolean;
}

export function registerPolicyCommand(program: Command, deps: PolicyCommandDeps): void {
  program
    .command('policy')
    .description('try a tag policy: reads tags from stdin (one per line, optional ISO push time) or from the registry with --image')
    .option('--policy <policy>', 'imagePolicy as YAML or JSON (filterTags/policy), or semver:<range> | numerical:asc|desc | alphabetical:asc|desc | newest')
    .option('--update <level>', 'reach of the default policy: patch | minor | major | digest | none')
    .option('--current <tag>', 'the tag running now (default: the tag of --image)')
    .option('--image <ref>', 'list the tags of this image from its registry')
    .option('--explain', 'list every tag with its value and why it was kept, dropped or outranked')
    .option('--json', 'print {"selected", "candidates", "dropped"} as JSON')
    .action(async (opts: PolicyOptions) => (await import('./policy-run.js')).runPolicy(opts, deps));
}
