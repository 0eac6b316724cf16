/** The work of `dosync policy`, loaded only when that command runs (it pulls in yaml, re2js and the policy engine). */
import { parse as parseYaml } from 'yaml';
import type { TagInfo } from '../registry/types.js';
import { effectiveTag, parseImageReference } from '../reference/index.js';
import { policyFromFlags, selectTag, type ResolvedPolicy, type Selection } from '../policy/index.js';
import { ConfigError, UserError, errorMessage } from '../util/errors.js';

import type { PolicyCommandDeps, PolicyOptions } from './policy.js';

const POLICY_KIND_KEYS = ['semver', 'numerical', 'alphabetical', 'newest'];

/** `--policy` text: an imagePolicy in YAML/JSON (optionally wrapped in `imagePolicy:`), or a shorthand like `semver:>=1.2`. */
export function parsePolicyFlag(text: string): unknown {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`--policy: not valid YAML or JSON: ${errorMessage(err).split('\n')[0]}`);
  }
  if (doc === null || doc === undefined) return undefined;
  if (typeof doc === 'string') return doc;
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError('--policy: expected an imagePolicy mapping or a shorthand like semver:>=1.2');
  const obj = doc as Record<string, unknown>;
  const keys = Object.keys(obj);
  if (keys.length === 1 && (keys[0] === 'imagePolicy' || keys[0] === 'image_policy')) return obj[keys[0]];
  // Shorthand for the CLI only: the policy kind at the top (`{semver: {range: ">=1"}}`).
  if (!('policy' in obj) && keys.some((k) => POLICY_KIND_KEYS.includes(k))) {
    const policy: Record<string, unknown> = {};
    const rest: Record<string, unknown> = {};
    for (const k of keys) {
      if (!POLICY_KIND_KEYS.includes(k)) rest[k] = obj[k];
      // `semver: '>=1.2 <2'` / `numerical: asc` (a scalar where the block would go).
      else if (typeof obj[k] === 'string') policy[k] = k === 'semver' ? { range: obj[k] } : { order: obj[k] };
      else policy[k] = obj[k];
    }
    return { ...rest, policy };
  }
  return obj;
}

/** Tags, one per line: `tag [pushed-at]`; blank lines and `#` comments are skipped. */
export function parseTagLines(text: string): TagInfo[] {
  const out: TagInfo[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [tag, when] = line.split(/\s+/, 2);
    if (when === undefined) {
      out.push({ tag });
      continue;
    }
    const pushedAt = new Date(when);
    if (Number.isNaN(pushedAt.getTime())) throw new UserError(`stdin: ${JSON.stringify(when)} (push time of ${tag}) is not an ISO 8601 date`, { exitCode: 2 });
    out.push({ tag, pushedAt });
  }
  return out;
}

function explainLines(policy: ResolvedPolicy, current: string, s: Selection): string[] {
  const lines = [`policy:   ${policy.describe}`];
  if (current) lines.push(`current:  ${current}`);
  lines.push(`result:   ${s.kind === 'tag' ? (s.selected ?? 'none qualifies') : s.kind === 'digest' ? `track the digest of ${s.selected}` : 'updates disabled'}`);
  lines.push(`reason:   ${s.reason}`);
  const rows: Array<[string, string, string]> = [];
  s.candidates.forEach((c, i) => {
    const verdict = i === 0 ? 'selected' : `kept, outranked by ${s.candidates[0].tag}`;
    rows.push([c.tag, c.value, verdict]);
  });
  for (const d of s.dropped) rows.push([d.tag, d.value ?? '-', `dropped: ${d.why}`]);
  if (rows.length > 0) {
    const w0 = Math.max(3, ...rows.map((r) => r[0].length));
    const w1 = Math.max(5, ...rows.map((r) => r[1].length));
    lines.push('', `${'TAG'.padEnd(w0)}  ${'VALUE'.padEnd(w1)}  RESULT`);
    for (const [tag, value, verdict] of rows) lines.push(`${tag.padEnd(w0)}  ${value.padEnd(w1)}  ${verdict}`);
  }
  return lines;
}

async function readProcessStdin(): Promise<string> {
  if (process.stdin.isTTY) throw new UserError('give the tags on stdin (one per line) or use --image', { exitCode: 2 });
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

export async function runPolicy(opts: PolicyOptions, deps: PolicyCommandDeps): Promise<void> {
  const write = deps.write ?? ((text: string) => void process.stdout.write(text));
  const policy = policyFromFlags(
    { policy: opts.policy === undefined ? undefined : parsePolicyFlag(opts.policy), update: opts.update },
    '--policy:',
  );

  let current = opts.current ?? '';
  let tags: TagInfo[];
  if (opts.image !== undefined) {
    const ref = parseImageReference(opts.image);
    if (!opts.current) current = effectiveTag(ref) ?? '';
    if (!deps.listTags) throw new UserError('--image is not available here (no registry access)', { exitCode: 2 });
    tags = await deps.listTags(opts.image);
  } else {
    tags = parseTagLines(await (deps.readStdin ?? readProcessStdin)());
  }
  if (current === '' && policy.mode !== 'none' && policy.ranking.kind === 'default') {
    throw new ConfigError('the default policy compares with the running tag: give --current TAG (or a policy kind in --policy)');
  }

  const s = selectTag(tags, current, policy);
  if (opts.json) {
    write(`${JSON.stringify({ selected: s.selected, kind: s.kind, reason: s.reason, candidates: s.candidates, dropped: s.dropped }, null, 2)}\n`);
  } else if (opts.explain) {
    write(`${explainLines(policy, current, s).join('\n')}\n`);
  } else if (s.selected !== null && s.kind !== 'none') {
    write(`${s.selected}\n`);
  }
  if (s.kind === 'none') throw new UserError(`no update: ${s.reason}`, { exitCode: 1 });
  if (s.selected === null) throw new UserError(s.reason, { exitCode: 1 });
}

