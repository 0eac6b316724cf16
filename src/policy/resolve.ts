/**
 * Turns the places a policy can be written (compose labels, dosync.yaml `services.<name>`,
 * dosync.yaml `registry.<name>`, the built-in default) into one validated, compiled policy.
 *
 * Most specific wins, per aspect:
 *  - on/off: `dosync.enable` label, else the other tools' labels (`com.centurylinklabs.watchtower.enable`,
 *    `wud.watch`), else `services.<name>.skip`; `update: none` at the level that sets the ranking also turns it off;
 *  - ranking (`update:` shorthand or a policy kind): the most specific level that sets one;
 *  - include pattern + extract template (they belong together): the most specific level that sets either
 *    (at the registry level its imagePolicy's filter, else its DOSync `tag_pattern`);
 *  - exclude pattern: labels only (`dosync.tag.exclude`, `wud.tag.exclude`).
 */
import { ZodError } from 'zod';
import { ConfigError } from '../util/errors.js';
import { compileGoRegex, globToGoRegex, GoRegexError, tagPatternToGoRegex, templateRefs, type GoRegex } from './goregex.js';
import { imagePolicySchema, type ImagePolicyConfig } from './schema.js';
import { parseRange, SemverRangeError } from './semver.js';
import type { Order, PolicySource, PolicySources, Ranking, ResolvedPolicy, TagFilter, UpdateLevel } from './types.js';

const UPDATE_LEVELS: readonly UpdateLevel[] = ['patch', 'minor', 'major', 'digest', 'none'];

/** What one level (labels, service, registry) says. */
interface Layer {
  source: Exclude<PolicySource, 'default'>;
  /** Where it was written, for descriptions. */
  origin: string;
  enabled?: { value: boolean; origin: string };
  update?: UpdateLevel;
  ranking?: Ranking;
  rankingOrigin?: string;
  include?: GoRegex;
  extract?: string;
  filterOrigin?: string;
  /** Where the extract template was written, for errors. */
  extractWhere?: string;
  exclude?: GoRegex;
  excludeOrigin?: string;
}

/** `dosync.yaml: services.web` + `imagePolicy` -> `dosync.yaml: services.web.imagePolicy`; `--policy:` + `x` -> `--policy: x`. */
function at(where: string, path: string): string {
  return where.endsWith(':') ? `${where} ${path}` : `${where}.${path}`;
}

function describeRegex(rx: GoRegex): string {
  return `/${rx.source}/`;
}

function compilePattern(pattern: string, where: string): GoRegex {
  try {
    return compileGoRegex(pattern);
  } catch (err) {
    if (err instanceof GoRegexError) throw new ConfigError(`${where}: invalid regular expression ${JSON.stringify(pattern)}: ${err.message}`);
    throw err;
  }
}

function compileRange(range: string, where: string): Ranking {
  try {
    return { kind: 'semver', range: parseRange(range) };
  } catch (err) {
    if (err instanceof SemverRangeError) throw new ConfigError(`${where}: invalid semver range ${JSON.stringify(range)}: ${err.message}`);
    throw err;
  }
}

function checkExtract(include: GoRegex | undefined, extract: string | undefined, whereExtract: string, needs: string): void {
  if (extract === undefined) return;
  if (!include) throw new ConfigError(`${whereExtract}: an extract template needs ${needs} to match against`);
  const { known, unknown } = templateRefs(include, extract);
  if (known.length === 0 && unknown.length === 0) {
    // DOSync also took a bare group name (`extract: ts`); Go's Expand reads that as literal text,
    // which would give every tag the same value.
    const hint = include.names.has(extract.trim()) ? ` (did you mean $${extract.trim()}?)` : '';
    throw new ConfigError(`${whereExtract}: ${JSON.stringify(extract)} refers to no group, so every tag would get the same value${hint}`);
  }
  if (unknown.length > 0) {
    throw new ConfigError(
      `${whereExtract}: ${JSON.stringify(extract)} refers to ${unknown.map((n) => `$${n}`).join(', ')}, which the pattern does not define (use a named group like (?P<${unknown[0]}>...))`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// imagePolicy blocks

function zodToConfigError(err: ZodError, where: string): ConfigError {
  const first = err.issues[0];
  let message = first.message;
  if (first.code === 'unrecognized_keys') message = `unknown key ${first.keys.map((k) => JSON.stringify(k)).join(', ')}`;
  if (first.code === 'invalid_type' && first.received === 'undefined') message = 'required';
  const where2 = first.path.length > 0 ? at(where, first.path.join('.')) : where.replace(/:$/, '');
  return new ConfigError(`${where2}: ${message}`);
}

/** The ranking and filter an `imagePolicy` block sets. `where` names the block, e.g. `dosync.yaml: services.web.imagePolicy`. */
export function compileImagePolicy(raw: unknown, where: string): { ranking?: Ranking; include?: GoRegex; extract?: string; extractWhere?: string } {
  const parsed = imagePolicySchema.safeParse(raw ?? {});
  if (!parsed.success) throw zodToConfigError(parsed.error, where);
  const cfg: ImagePolicyConfig = parsed.data;
  const out: { ranking?: Ranking; include?: GoRegex; extract?: string; extractWhere?: string } = {};
  const pattern = cfg.filterTags?.pattern;
  if (pattern !== undefined && pattern !== '' && cfg.tagPattern !== undefined) {
    throw new ConfigError(`${where.replace(/:$/, '')}: set either filterTags.pattern or tagPattern, not both`);
  }
  if (pattern !== undefined && pattern !== '') out.include = compilePattern(pattern, at(where, 'filterTags.pattern'));
  else if (cfg.tagPattern !== undefined && cfg.tagPattern !== '') out.include = compilePattern(globToGoRegex(cfg.tagPattern), at(where, 'tagPattern'));
  const extract = cfg.filterTags?.extract;
  if (extract !== undefined && extract !== '') {
    checkExtract(out.include, extract, at(where, 'filterTags.extract'), 'filterTags.pattern');
    out.extract = extract;
    out.extractWhere = at(where, 'filterTags.extract');
  }
  const p = cfg.policy;
  if (p) {
    if (p.semver !== undefined) out.ranking = compileRange(p.semver?.range ?? '', at(where, 'policy.semver.range'));
    else if (p.numerical !== undefined) out.ranking = { kind: 'numerical', order: p.numerical?.order ?? 'desc' };
    else if (p.alphabetical !== undefined) out.ranking = { kind: 'alphabetical', order: p.alphabetical?.order ?? 'desc' };
    else if (p.newest !== undefined) out.ranking = { kind: 'newest' };
  }
  return out;
}

function pickImagePolicy(block: { imagePolicy?: unknown; image_policy?: unknown }, where: string): { raw: unknown; where: string } | undefined {
  const camel = block.imagePolicy !== undefined && block.imagePolicy !== null;
  const snake = block.image_policy !== undefined && block.image_policy !== null;
  if (camel && snake) throw new ConfigError(`${where}: set either imagePolicy or image_policy, not both`);
  if (camel) return { raw: block.imagePolicy, where: `${where}.imagePolicy` };
  if (snake) return { raw: block.image_policy, where: `${where}.image_policy` };
  return undefined;
}

function configLayer(
  source: 'service' | 'registry',
  block: { imagePolicy?: unknown; image_policy?: unknown; skip?: boolean; update?: UpdateLevel; tagPattern?: string; tag_pattern?: string },
  where: string,
): Layer {
  const layer: Layer = { source, origin: where };
  if (block.skip !== undefined) {
    if (typeof block.skip !== 'boolean') throw new ConfigError(`${where}.skip: must be true or false`);
    layer.enabled = { value: !block.skip, origin: `${where}.skip` };
  }
  if (block.update !== undefined) {
    if (!UPDATE_LEVELS.includes(block.update)) throw new ConfigError(`${where}.update: must be one of ${UPDATE_LEVELS.join(', ')}`);
    layer.update = block.update;
    layer.rankingOrigin = `${where}.update`;
  }
  const picked = pickImagePolicy(block, where);
  if (picked) {
    const compiled = compileImagePolicy(picked.raw, picked.where);
    if (compiled.ranking) {
      layer.ranking = compiled.ranking;
      layer.rankingOrigin = picked.where;
    }
    if (compiled.include || compiled.extract !== undefined) {
      layer.include = compiled.include;
      layer.extract = compiled.extract;
      layer.extractWhere = compiled.extractWhere;
      layer.filterOrigin = picked.where;
    }
  }
  if (block.tagPattern !== undefined && block.tagPattern !== '') {
    if (layer.include) throw new ConfigError(`${where}.tagPattern: the imagePolicy already filters tags; keep one of them`);
    layer.include = compilePattern(globToGoRegex(block.tagPattern), `${where}.tagPattern`);
    layer.filterOrigin = `${where}.tagPattern`;
  }
  // DOSync's `registry.<family>.tag_pattern`. A DOSync file may set it beside an imagePolicy filter (DOSync read
  // neither together); the imagePolicy wins, and the registry config warns that tag_pattern is unused.
  if (source === 'registry' && block.tag_pattern !== undefined && block.tag_pattern !== '' && !layer.include && layer.extract === undefined) {
    if (typeof block.tag_pattern !== 'string') throw new ConfigError(`${where}.tag_pattern: must be a string (quote it in YAML)`);
    layer.include = compilePattern(tagPatternToGoRegex(block.tag_pattern), `${where}.tag_pattern`);
    layer.filterOrigin = `${where}.tag_pattern`;
  }
  if (layer.update !== undefined && layer.update !== 'none' && layer.ranking) {
    throw new ConfigError(`${where}: set either update: ${layer.update} or an imagePolicy policy, not both`);
  }
  return layer;
}

// ---------------------------------------------------------------------------------------------
// Labels

function parseBool(value: string, where: string): boolean {
  const v = value.trim().toLowerCase();
  if (['true', 'yes', '1', 'on'].includes(v)) return true;
  if (['false', 'no', '0', 'off'].includes(v)) return false;
  throw new ConfigError(`${where}: ${JSON.stringify(value)} is not true or false`);
}

/** As in the imagePolicy schema: any case, and empty means the default (Flux: internal/policy/factory.go, numerical.go). */
function parseOrder(arg: string, where: string): Order {
  const o = arg.trim().toLowerCase();
  if (o === '') return 'desc';
  if (o === 'asc' || o === 'desc') return o;
  throw new ConfigError(`${where}: order ${JSON.stringify(arg)} must be asc or desc`);
}

/** `semver:<range>`, `numerical:asc|desc`, `alphabetical:asc|desc`, `newest` (the `dosync.policy` label and `dosync policy --policy` shorthand). */
export function parsePolicyShorthand(value: string, where: string): Ranking {
  const colon = value.indexOf(':');
  const kind = (colon < 0 ? value : value.slice(0, colon)).trim().toLowerCase();
  const arg = colon < 0 ? '' : value.slice(colon + 1);
  switch (kind) {
    case 'semver':
      return compileRange(arg.trim(), where);
    case 'numerical':
      return { kind: 'numerical', order: parseOrder(arg, where) };
    case 'alphabetical':
      return { kind: 'alphabetical', order: parseOrder(arg, where) };
    case 'newest':
      if (arg.trim() !== '') throw new ConfigError(`${where}: newest takes no argument`);
      return { kind: 'newest' };
    default:
      throw new ConfigError(
        `${where}: unknown policy ${JSON.stringify(value)} (use semver:<range>, numerical:asc|desc, alphabetical:asc|desc or newest)`,
      );
  }
}

function labelLayer(labels: Record<string, string>, where: string): Layer {
  const at = (key: string) => `${where}[${JSON.stringify(key)}]`;
  const layer: Layer = { source: 'label', origin: where };
  const has = (key: string) => typeof labels[key] === 'string';
  if (has('dosync.enable')) {
    layer.enabled = { value: parseBool(labels['dosync.enable'], at('dosync.enable')), origin: 'label dosync.enable' };
  } else {
    for (const key of ['com.centurylinklabs.watchtower.enable', 'wud.watch']) {
      if (has(key) && !parseBool(labels[key], at(key))) layer.enabled = { value: false, origin: `label ${key}` };
    }
  }
  if (has('dosync.update')) {
    const u = labels['dosync.update'].trim().toLowerCase() as UpdateLevel;
    if (!UPDATE_LEVELS.includes(u)) throw new ConfigError(`${at('dosync.update')}: must be one of ${UPDATE_LEVELS.join(', ')}`);
    layer.update = u;
    layer.rankingOrigin = 'label dosync.update';
  }
  if (has('dosync.policy')) {
    layer.ranking = parsePolicyShorthand(labels['dosync.policy'], at('dosync.policy'));
    layer.rankingOrigin = 'label dosync.policy';
  }
  if (layer.update !== undefined && layer.update !== 'none' && layer.ranking) {
    throw new ConfigError(`${where}: set either dosync.update or dosync.policy, not both`);
  }
  const includeKey = has('dosync.tag.include') ? 'dosync.tag.include' : has('wud.tag.include') ? 'wud.tag.include' : undefined;
  if (includeKey && labels[includeKey] !== '') {
    layer.include = compilePattern(labels[includeKey], at(includeKey));
    layer.filterOrigin = `label ${includeKey}`;
  }
  if (has('dosync.tag.extract') && labels['dosync.tag.extract'] !== '') {
    checkExtract(layer.include, labels['dosync.tag.extract'], at('dosync.tag.extract'), 'dosync.tag.include');
    layer.extract = labels['dosync.tag.extract'];
    layer.extractWhere = at('dosync.tag.extract');
  }
  const excludeKey = has('dosync.tag.exclude') ? 'dosync.tag.exclude' : has('wud.tag.exclude') ? 'wud.tag.exclude' : undefined;
  if (excludeKey && labels[excludeKey] !== '') {
    layer.exclude = compilePattern(labels[excludeKey], at(excludeKey));
    layer.excludeOrigin = `label ${excludeKey}`;
  }
  return layer;
}

// ---------------------------------------------------------------------------------------------

export function describeRanking(r: Ranking): string {
  switch (r.kind) {
    case 'default':
      return r.reach === 'major'
        ? 'default: newest version of the same tag shape, majors included'
        : `default: newest version of the same tag shape within the current ${r.reach === 'minor' ? 'major' : 'minor'}`;
    case 'semver':
      return `semver ${r.range.source.trim() === '' ? '(any version)' : r.range.source.trim()}`;
    case 'numerical':
      return `numerical ${r.order} (${r.order === 'desc' ? 'highest' : 'lowest'} wins)`;
    case 'alphabetical':
      return `alphabetical ${r.order} (${r.order === 'desc' ? 'last' : 'first'} in byte order wins)`;
    case 'newest':
      return 'newest (most recently pushed wins)';
  }
}

function describeFilter(filter: TagFilter, filterOrigin?: string, excludeOrigin?: string): string {
  const parts: string[] = [];
  if (filter.include) {
    let s = `include ${describeRegex(filter.include)}`;
    if (filter.extract !== undefined) s += ` extract ${JSON.stringify(filter.extract)}`;
    parts.push(filterOrigin ? `${s} (${filterOrigin})` : s);
  }
  if (filter.exclude) parts.push(`exclude ${describeRegex(filter.exclude)}${excludeOrigin ? ` (${excludeOrigin})` : ''}`);
  return parts.length > 0 ? `; ${parts.join('; ')}` : '';
}

/**
 * Validates and compiles a service's policy. Throws ConfigError naming the place (`where.labels`,
 * `where.service`, `where.registry`, e.g. "dosync.yaml: services.web") and the reason. Call at startup.
 */
export function resolvePolicy(sources: PolicySources, where: { labels: string; service: string; registry: string }): ResolvedPolicy {
  const layers: Layer[] = [];
  if (sources.labels) layers.push(labelLayer(sources.labels, where.labels));
  if (sources.service) layers.push(configLayer('service', sources.service, where.service));
  if (sources.registry) layers.push(configLayer('registry', sources.registry, where.registry));
  return combine(layers);
}

/**
 * A policy given on the command line (`dosync policy --policy ... --update ...`): `policy` is a
 * parsed `imagePolicy` object or a shorthand string (`semver:>=1.2 <2`). `where` names the flag,
 * e.g. `--policy:`.
 */
export function policyFromFlags(flags: { policy?: unknown; update?: string }, where: string): ResolvedPolicy {
  const layer: Layer = { source: 'service', origin: where.replace(/:$/, '') };
  if (flags.update !== undefined) {
    const u = flags.update.trim().toLowerCase() as UpdateLevel;
    if (!UPDATE_LEVELS.includes(u)) throw new ConfigError(`--update: must be one of ${UPDATE_LEVELS.join(', ')}`);
    layer.update = u;
    layer.rankingOrigin = '--update';
  }
  if (typeof flags.policy === 'string') {
    layer.ranking = parsePolicyShorthand(flags.policy, where.replace(/:$/, ''));
    layer.rankingOrigin = layer.origin;
  } else if (flags.policy !== undefined && flags.policy !== null) {
    const compiled = compileImagePolicy(flags.policy, where);
    layer.ranking = compiled.ranking;
    if (compiled.ranking) layer.rankingOrigin = layer.origin;
    layer.include = compiled.include;
    layer.extract = compiled.extract;
    layer.extractWhere = compiled.extractWhere;
    if (compiled.include) layer.filterOrigin = layer.origin;
  }
  if (layer.update !== undefined && layer.update !== 'none' && layer.ranking) {
    throw new ConfigError(`set either --update ${layer.update} or a policy kind in --policy, not both`);
  }
  return combine([layer]);
}

function combine(layers: Layer[]): ResolvedPolicy {
  const enabledLayer = layers.find((l) => l.enabled !== undefined);
  const rankingLayer = layers.find((l) => l.ranking !== undefined || l.update !== undefined);
  const filterLayer = layers.find((l) => l.include !== undefined || l.extract !== undefined);
  const excludeLayer = layers.find((l) => l.exclude !== undefined);

  const filter: TagFilter = {};
  if (filterLayer) {
    filter.include = filterLayer.include;
    filter.extract = filterLayer.extract;
  }
  if (excludeLayer) filter.exclude = excludeLayer.exclude;

  let ranking: Ranking = { kind: 'default', reach: 'minor' };
  let mode: ResolvedPolicy['mode'] = 'tag';
  let rankingText: string;
  if (rankingLayer?.ranking) {
    ranking = rankingLayer.ranking;
  } else if (rankingLayer?.update === 'digest') {
    mode = 'digest';
  } else if (rankingLayer?.update === 'none') {
    mode = 'none';
  } else if (rankingLayer?.update) {
    ranking = { kind: 'default', reach: rankingLayer.update };
  }
  if (rankingLayer?.update === 'none') mode = 'none';

  // The default ranks tags by their own shape; an extract template would have nothing to feed.
  if (mode === 'tag' && ranking.kind === 'default' && filter.extract !== undefined) {
    throw new ConfigError(
      `${filterLayer!.extractWhere ?? filterLayer!.origin}: an extract template needs a policy to rank the extracted values (e.g. semver, numerical)`,
    );
  }

  const enabled = mode !== 'none' && (enabledLayer?.enabled?.value ?? true);
  if (!enabled) mode = 'none';
  // A service switched off (`dosync.enable=false`, `skip: true`) owes that to the layer that switched it off.
  const disabledBy = enabledLayer?.enabled?.value === false ? enabledLayer : undefined;
  const source: PolicySource = disabledBy?.source ?? rankingLayer?.source ?? filterLayer?.source ?? excludeLayer?.source ?? 'default';

  if (mode === 'none') {
    const origin = enabledLayer?.enabled?.value === false ? enabledLayer.enabled.origin : rankingLayer?.rankingOrigin;
    rankingText = `updates disabled${origin ? ` (${origin})` : ''}`;
  } else if (mode === 'digest') {
    rankingText = `digest of the current tag only (${rankingLayer!.rankingOrigin})`;
  } else {
    rankingText = describeRanking(ranking) + (rankingLayer?.rankingOrigin ? ` (${rankingLayer.rankingOrigin})` : '');
    rankingText += describeFilter(filter, filterLayer?.filterOrigin, excludeLayer?.excludeOrigin);
  }
  return { enabled, source, describe: rankingText, mode, ranking, filter };
}
