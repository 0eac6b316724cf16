/**
 * YAML plumbing shared by the stack reader and the mutator: parsing with compose-compatible options
 * (merge keys on, duplicate keys rejected) and errors that name file:line:col, plus a converter from
 * the YAML AST to plain values that understands compose's `!reset` / `!override` tags.
 */
import { Document, isAlias, isMap, isNode, isScalar, isSeq, parseDocument, visit, type Alias, type Node, type Scalar, type YAMLMap } from 'yaml';
import { ConfigError } from '../util/errors.js';

export const YAML_OPTIONS = { merge: true, keepSourceTokens: true, prettyErrors: true, uniqueKeys: true } as const;

/** Parses one compose file. `where` names it in errors (a path, or a phrase such as "compose file"). */
/**
 * Largest compose or override file read: a 200-service stack is ~50 KiB, and parsing holds many times a
 * file's size in memory, so a bigger file is a mistake (a log or a dump passed with -f), said so at once.
 */
export const MAX_COMPOSE_FILE_BYTES = 8 * 1024 * 1024;

export function parseComposeDocument(text: string, where: string): Document.Parsed {
  if (text.length > MAX_COMPOSE_FILE_BYTES) {
    throw new ConfigError(`${where}: the file is ${(Buffer.byteLength(text) / 1024 / 1024).toFixed(1)} MiB; dosync reads compose files up to ${MAX_COMPOSE_FILE_BYTES / 1024 / 1024} MiB (is it the right file?)`);
  }
  const doc = parseDocument(text, YAML_OPTIONS);
  const err = doc.errors[0];
  if (err) {
    const pos = err.linePos?.[0];
    const message =
      err.code === 'MULTIPLE_DOCS'
        ? 'a compose file holds one YAML document, this one has several (a second ---)'
        : err.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
    throw new ConfigError(`${where}${pos ? `:${pos.line}:${pos.col}` : ''}: invalid YAML: ${message}`);
  }
  return doc;
}

/** Human position of a node, `file:line:col`. */
export function positionOf(text: string, where: string, node: { range?: [number, number, number] | null } | null | undefined): string {
  if (!node?.range) return where;
  const offset = node.range[0];
  let line = 1;
  let col = 1;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === '\n') {
      line++;
      col = 1;
    } else col++;
  }
  return `${where}:${line}:${col}`;
}

/**
 * Resolves aliases with one pass over the document (an alias refers to the latest anchor of that name before it).
 * `Alias.resolve(doc)` walks the whole document on every call, which is quadratic for stacks that use many aliases.
 */
export function aliasResolver(doc: Document.Parsed): (alias: Alias) => Node | undefined {
  const anchors = new Map<string, Node>();
  const targets = new Map<Alias, Node | undefined>();
  visit(doc, {
    Node(_key, node) {
      if (isAlias(node)) targets.set(node, anchors.get(node.source));
      else if (isNode(node) && node.anchor) anchors.set(node.anchor, node);
    },
  });
  return (alias) => (targets.has(alias) ? targets.get(alias) : alias.resolve(doc));
}

export function isMergeKey(key: unknown): boolean {
  return isScalar(key) && typeof key.value === 'symbol' && key.value.description === '<<';
}

/** Marker for a value tagged `!reset`: the merged field is removed. */
export const RESET: unique symbol = Symbol('compose !reset');

/** Where a mapping's value was written: `own` when in the mapping's own pair, not an alias or a merge source. */
export interface Origin {
  node: Node;
  own: boolean;
}

export interface ConvertContext {
  doc: Document.Parsed;
  /** Source text, for positions in errors. */
  text: string;
  /** Converts a string scalar (path = keys from the document root where it is used; node = where it is written). */
  onString: (value: string, path: readonly string[], node: Scalar) => unknown;
  /**
   * Filled with the node each key of each produced mapping came from (the pair's own value, an alias's target,
   * or the merge source that provided it): how a service's `image:` is traced to the scalar that writes it.
   */
  provenance?: WeakMap<object, Map<string, Origin>>;
  /** Collections tagged `!override` (they replace instead of merging). */
  overrides: WeakSet<object>;
}

const MAX_NODES = 100_000;

/** Converts the AST to plain values, resolving aliases and merge keys; string scalars go through `onString`. */
export function toPlain(node: unknown, ctx: ConvertContext, where: string): unknown {
  let budget = MAX_NODES;
  let expansions = 0;
  const active = new Set<unknown>();
  const resolve = aliasResolver(ctx.doc);
  const visit = (n: unknown, path: string[]): unknown => {
    if (--budget < 0) {
      throw new ConfigError(expansions > 0
        ? `${where}: too many alias expansions (more than ${MAX_NODES} nodes once aliases are expanded)`
        : `${where}: more than ${MAX_NODES} YAML nodes; dosync reads compose files up to that size (is it the right file?)`);
    }
    if (n === null || n === undefined) return null;
    if (isAlias(n)) {
      expansions++;
      const target = resolve(n);
      if (!target) throw new ConfigError(`${positionOf(ctx.text, where, n)}: ${path.join('.')}: unknown alias *${n.source}`);
      if (active.has(target)) throw new ConfigError(`${positionOf(ctx.text, where, n)}: ${path.join('.')}: alias *${n.source} refers to itself`);
      active.add(target);
      try {
        return visit(target, path);
      } finally {
        active.delete(target);
      }
    }
    const tag = (n as Node).tag;
    if (tag === '!reset') return RESET;
    if (isScalar(n)) {
      const v = n.value;
      if (typeof v === 'string') return ctx.onString(v, path, n);
      if (typeof v === 'symbol') return String(v.description);
      return v ?? null;
    }
    if (isSeq(n)) {
      const out = n.items.map((item, i) => visit(item, [...path, String(i)]));
      if (tag === '!override') ctx.overrides.add(out);
      return out;
    }
    if (isMap(n)) {
      const out: Record<string, unknown> = {};
      const from = new Map<string, Origin>();
      const merged: Array<Record<string, unknown>> = [];
      for (const pair of (n as YAMLMap).items) {
        if (isMergeKey(pair.key)) {
          const sources = isSeq(pair.value) ? pair.value.items : [pair.value];
          for (const source of sources) {
            const value = visit(source, path);
            if (value === null || typeof value !== 'object' || Array.isArray(value)) {
              throw new ConfigError(`${positionOf(ctx.text, where, pair.key as Node)}: ${path.join('.')}: a merge key (<<) must refer to a mapping`);
            }
            merged.push(value as Record<string, unknown>);
          }
          continue;
        }
        const key = keyString(pair.key);
        out[key] = visit(pair.value, [...path, key]);
        const value = isAlias(pair.value) ? resolve(pair.value) : pair.value;
        if (isNode(value)) from.set(key, { node: value, own: value === pair.value });
      }
      // YAML merge: keys written in the mapping win, then earlier merge sources over later ones.
      for (const source of merged) {
        const sourceFrom = ctx.provenance?.get(source);
        for (const [k, v] of Object.entries(source)) {
          if (k in out) continue;
          out[k] = v;
          const origin = sourceFrom?.get(k);
          if (origin) from.set(k, { node: origin.node, own: false });
        }
      }
      ctx.provenance?.set(out, from);
      if (tag === '!override') ctx.overrides.add(out);
      return out;
    }
    return null;
  };
  return visit(node, []);
}

/** The keys leading to `target` in the document (`x-common.image`), for messages. */
export function pathOf(doc: Document.Parsed, target: Node): string | undefined {
  let found: string | undefined;
  visit(doc, {
    Node(_key, node, path) {
      if (node !== target) return undefined;
      found = path.filter((p) => !isAlias(p) && 'key' in (p as object) && 'value' in (p as object)).map((p) => keyString((p as { key: unknown }).key)).join('.');
      return visit.BREAK;
    },
  });
  return found;
}

export function keyString(key: unknown): string {
  if (isScalar(key)) {
    const v = key.value;
    return typeof v === 'symbol' ? String(v.description) : String(v);
  }
  if (key === null || key === undefined) return '';
  return String(key);
}
