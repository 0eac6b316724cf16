/**
 * In-place rewriting of image references (pure). The source range of the one scalar is found through the
 * `yaml` Document API and only those characters are spliced; the document is never re-stringified, so
 * comments, order, quoting, blank lines, anchors and line endings elsewhere stay byte-for-byte identical.
 * Every result is re-parsed and checked before it is returned.
 */
import { isAlias, isMap, isScalar, isSeq, Scalar, visit, type Document, type Node, type Pair, type YAMLMap } from 'yaml';
import { isDeepStrictEqual } from 'node:util';
import { ConfigError } from '../util/errors.js';
import { scanEnvFile, parseEnvFile } from './envfile.js';
import { findReferences, type VariableReference } from './interpolate.js';
import { aliasResolver, isMergeKey, keyString, parseComposeDocument } from './yaml.js';

export interface ImageLocation {
  /** Source range of the scalar as written (quotes included). */
  start: number;
  end: number;
  style: 'PLAIN' | 'QUOTE_SINGLE' | 'QUOTE_DOUBLE' | 'BLOCK_LITERAL' | 'BLOCK_FOLDED';
  /** The parsed string value. */
  value: string;
  /** Anchor on the scalar (`image: &img nginx:1`), if any. */
  anchor?: string;
  /** Other services whose `image:` is an alias of this scalar: rewriting it changes them too. */
  sharedWith: string[];
}

function findPair(map: YAMLMap, key: string): Pair | undefined {
  return map.items.find((p) => !isMergeKey(p.key) && keyString(p.key) === key) as Pair | undefined;
}

function describeAnchor(node: unknown): string {
  return isAlias(node) ? `*${node.source}` : 'an alias';
}

/** Anchor names reachable through a `<<` merge in `map` that provide `key`. */
function mergedProviders(map: YAMLMap, key: string, doc: Document.Parsed): string[] {
  const out: string[] = [];
  for (const pair of map.items) {
    if (!isMergeKey(pair.key)) continue;
    const sources = isSeq(pair.value) ? pair.value.items : [pair.value];
    for (const source of sources) {
      const target = isAlias(source) ? source.resolve(doc) : source;
      if (isMap(target) && (findPair(target, key) || mergedProviders(target, key, doc).length > 0)) {
        out.push(isAlias(source) ? `&${source.source}` : 'an inline mapping');
      }
    }
  }
  return out;
}

function serviceMap(doc: Document.Parsed, service: string, where: string): YAMLMap {
  const root = doc.contents;
  if (!isMap(root)) throw new ConfigError(`${where}: the top level is not a mapping`);
  const servicesPair = findPair(root, 'services');
  if (!servicesPair) throw new ConfigError(`${where}: no services: section`);
  if (isAlias(servicesPair.value)) throw new ConfigError(`${where}: services: is the alias ${describeAnchor(servicesPair.value)}; dosync rewrites only images written in place`);
  if (!isMap(servicesPair.value)) throw new ConfigError(`${where}: services: is not a mapping`);
  const pair = findPair(servicesPair.value, service);
  if (!pair) throw new ConfigError(`${where}: services.${service} is not defined in this file`);
  if (isAlias(pair.value)) {
    throw new ConfigError(`${where}: services.${service} is the alias ${describeAnchor(pair.value)}; its image is shared with the anchor, change it there`);
  }
  if (!isMap(pair.value)) throw new ConfigError(`${where}: services.${service} is not a mapping`);
  return pair.value;
}

/** Finds the literal `image:` scalar of a service; throws ConfigError saying why when there is none to rewrite. */
function locateNode(doc: Document.Parsed, service: string, where: string): Scalar {
  const svc = serviceMap(doc, service, where);
  const pair = findPair(svc, 'image');
  if (!pair) {
    const providers = mergedProviders(svc, 'image', doc);
    if (providers.length > 0) {
      throw new ConfigError(
        `${where}: services.${service} inherits its image from the anchor ${providers[0]} through a merge key (<<); dosync does not rewrite it there because other services may share it — give the service its own image: line or change the anchor by hand`,
      );
    }
    throw new ConfigError(`${where}: services.${service} has no image: in this file`);
  }
  const node = pair.value as Node | null;
  if (isAlias(node)) {
    throw new ConfigError(`${where}: services.${service}.image is the alias *${node.source}; change the anchored value &${node.source} instead (it may be shared)`);
  }
  if (!isScalar(node)) throw new ConfigError(`${where}: services.${service}.image is not a single value`);
  if (typeof node.value !== 'string' || node.value === '' || !node.range) {
    throw new ConfigError(`${where}: services.${service}.image is empty or not a string`);
  }
  return node;
}

function aliasUsers(doc: Document.Parsed, target: Scalar, self: string): string[] {
  if (!target.anchor) return [];
  const resolve = aliasResolver(doc);
  const root = doc.contents;
  if (!isMap(root)) return [];
  const services = findPair(root, 'services')?.value;
  if (!isMap(services)) return [];
  const out: string[] = [];
  for (const pair of services.items) {
    const name = keyString(pair.key);
    if (name === self || !isMap(pair.value)) continue;
    const image = findPair(pair.value, 'image')?.value;
    if (isAlias(image) && resolve(image) === target) out.push(name);
  }
  return out;
}

/** Where the literal image of `service` is written. Throws ConfigError when there is no literal image to rewrite. */
export function locateServiceImage(text: string, service: string, where = 'compose file'): ImageLocation {
  return locationOf(parseComposeDocument(text, where), service, where);
}

function locationOf(doc: Document.Parsed, service: string, where: string): ImageLocation {
  const node = locateNode(doc, service, where);
  const [start, end] = node.range!;
  return {
    start,
    end,
    style: node.type as ImageLocation['style'],
    value: node.value as string,
    ...(node.anchor ? { anchor: node.anchor } : {}),
    sharedWith: aliasUsers(doc, node, service),
  };
}

/** yaml's guard against alias bombs; its default (100) rejects ordinary stacks where 200 services share `<<: *common`. */
const MAX_ALIAS_EXPANSION = 100_000;

// --- encoding a scalar -------------------------------------------------------------------------

function singleQuoted(value: string): string | undefined {
  // Line breaks fold inside single quotes; anything unprintable needs double-quote escapes.
  if (/[\r\n\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\u0085\u2028\u2029\ufeff]/.test(value)) return undefined;
  return `'${value.replace(/'/g, "''")}'`;
}

function doubleQuoted(value: string): string {
  let out = '"';
  for (const ch of value) {
    const code = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (code < 0x20 || code === 0x7f || code === 0x85 || code === 0x2028 || code === 0x2029 || code === 0xfeff) {
      out += code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
    } else out += ch;
  }
  return `${out}"`;
}

/** Candidate spellings, the existing style first, then the least quoting that is safe. */
function candidates(value: string, style: ImageLocation['style']): string[] {
  const plain = value.trim() === value && value !== '' && !/[\r\n]/.test(value) ? [value] : [];
  const single = singleQuoted(value);
  const singles = single ? [single] : [];
  const double = [doubleQuoted(value)];
  if (style === 'PLAIN') return [...plain, ...singles, ...double];
  if (style === 'QUOTE_SINGLE') return [...singles, ...double];
  return double;
}

/**
 * A block scalar (`image: >-` and the value on the next line) keeps its header and indentation: the changed
 * part of a one-line value is replaced where it stands in the source. Nothing when the value spans lines or
 * its text does not appear once as written (the caller then refuses with a line that says so).
 */
function blockCandidates(source: string, value: string, newValue: string): string[] {
  const core = value.replace(/\n+$/, '');
  const newCore = newValue.replace(/\n+$/, '');
  if (core.includes('\n') || newCore.includes('\n') || core === '') return [];
  const header = source.indexOf('\n');
  const at = source.indexOf(core, header + 1);
  if (header < 0 || at < 0 || source.indexOf(core, at + 1) >= 0) return [];
  return [source.slice(0, at) + newCore + source.slice(at + core.length)];
}

/**
 * Splices `newValue` into the scalar at `loc`, trying the existing quoting first; each candidate is re-parsed and must
 * yield exactly `newValue` at the same place with the rest of the document unchanged.
 */
function spliceScalar(text: string, before: Document.Parsed, locate: (doc: Document.Parsed) => Scalar, loc: ImageLocation, newValue: string, where: string, what: string): string {
  const beforeNode = locate(before);
  // What the document must look like afterwards: the same, with this scalar (and its aliases) holding newValue.
  beforeNode.value = newValue;
  const expected = before.toJS({ maxAliasCount: MAX_ALIAS_EXPANSION });
  const spellings = loc.style === 'BLOCK_LITERAL' || loc.style === 'BLOCK_FOLDED' ? blockCandidates(text.slice(loc.start, loc.end), loc.value, newValue) : candidates(newValue, loc.style);
  for (const spelling of spellings) {
    const candidate = text.slice(0, loc.start) + spelling + text.slice(loc.end);
    let doc: Document.Parsed;
    try {
      doc = parseComposeDocument(candidate, where);
      const node = locate(doc);
      if (node.value !== newValue || node.range![0] !== loc.start) continue;
    } catch {
      continue;
    }
    if (isDeepStrictEqual(doc.toJS({ maxAliasCount: MAX_ALIAS_EXPANSION }), expected)) return candidate;
  }
  throw new ConfigError(`${where}: cannot write ${JSON.stringify(newValue)} as ${what} without changing other content`);
}

/** The string scalar written at `offset` (its first character, quotes included), for an edit planned against the stack. */
function scalarAt(doc: Document.Parsed, offset: number, where: string, text: string): Scalar {
  let found: Scalar | undefined;
  visit(doc, {
    Scalar(_key, node) {
      if (node.range?.[0] === offset) { found = node; return visit.BREAK; }
      return undefined;
    },
  });
  if (!found || typeof found.value !== 'string') throw new ConfigError(`${where}: no image value at offset ${offset} any more; the file changed`);
  return found;
}

function locationOfNode(node: Scalar): ImageLocation {
  const [start, end] = node.range!;
  return { start, end, style: node.type as ImageLocation['style'], value: node.value as string, ...(node.anchor ? { anchor: node.anchor } : {}), sharedWith: [] };
}

/**
 * Returns `text` with only the scalar written at `offset` changed to `newValue` (keeping its quoting when it can).
 * Every service that uses the scalar (alias, merge key, extends) sees the new value: that is the point.
 */
export function setScalarAt(text: string, offset: number, newValue: string, where = 'compose file'): string {
  const doc = parseComposeDocument(text, where);
  const node = scalarAt(doc, offset, where, text);
  if (node.value === newValue) return text;
  return spliceScalar(text, doc, (d) => scalarAt(d, offset, where, text), locationOfNode(node), newValue, where, 'the image value');
}

/** setImageDefault for the scalar written at `offset`. */
export function setDefaultAt(text: string, offset: number, variable: string, value: string, where = 'compose file'): string {
  const doc = parseComposeDocument(text, where);
  const node = scalarAt(doc, offset, where, text);
  return replaceDefault(text, doc, (d) => scalarAt(d, offset, where, text), locationOfNode(node), variable, value, where, 'the image value');
}

/**
 * Returns `text` with only the characters of services.<service>.image changed to `newImage`, keeping its quoting
 * style when the new value can be written in it (else the least quoting that is safe). Throws ConfigError when the
 * service has no literal image in this file, the image is an alias or inherited through a merge key, or a block scalar.
 */
export function setServiceImage(text: string, service: string, newImage: string, where = 'compose file'): string {
  const doc = parseComposeDocument(text, where);
  const loc = locationOf(doc, service, where);
  if (loc.value === newImage) return text;
  return spliceScalar(text, doc, (d) => locateNode(d, service, where), loc, newImage, where, `services.${service}.image`);
}

function referencesDeep(template: string, offset = 0): VariableReference[] {
  const out: VariableReference[] = [];
  for (const ref of findReferences(template)) {
    const shifted = { ...ref, start: ref.start + offset, end: ref.end + offset, argStart: ref.argStart + offset, argEnd: ref.argEnd + offset };
    out.push(shifted);
    if (ref.argEnd > ref.argStart) out.push(...referencesDeep(template.slice(ref.argStart, ref.argEnd), shifted.argStart));
  }
  return out;
}

/**
 * Replaces the default of every `${variable:-default}` / `${variable-default}` inside the image of `service` with
 * `value`, changing nothing else. Throws ConfigError when there is no such default or it contains other variables.
 */
export function setImageDefault(text: string, service: string, variable: string, value: string, where = 'compose file'): string {
  const doc = parseComposeDocument(text, where);
  return replaceDefault(text, doc, (d) => locateNode(d, service, where), locationOf(doc, service, where), variable, value, where, `services.${service}.image`);
}

function replaceDefault(text: string, doc: Document.Parsed, locate: (doc: Document.Parsed) => Scalar, loc: ImageLocation, variable: string, value: string, where: string, what: string): string {
  if (/[}$\r\n]/.test(value)) throw new ConfigError(`${where}: ${JSON.stringify(value)} cannot be written as the default of \${${variable}}`);
  let refs: VariableReference[];
  try {
    refs = referencesDeep(loc.value).filter((r) => r.name === variable && (r.operator === ':-' || r.operator === '-'));
  } catch (err) {
    throw new ConfigError(`${where}: ${what}: ${(err as Error).message}`);
  }
  if (refs.length === 0) throw new ConfigError(`${where}: ${what} has no \${${variable}:-default} to update`);
  for (const r of refs) {
    if (loc.value.slice(r.argStart, r.argEnd).includes('$')) {
      throw new ConfigError(`${where}: the default of \${${variable}} in ${what} contains other variables; dosync only rewrites plain defaults`);
    }
  }
  let next = loc.value;
  for (const r of [...refs].sort((a, b) => b.argStart - a.argStart)) next = next.slice(0, r.argStart) + value + next.slice(r.argEnd);
  if (next === loc.value) return text;
  return spliceScalar(text, doc, locate, loc, next, where, what);
}

// --- env files ---------------------------------------------------------------------------------

function envSpellings(value: string, quote: '"' | "'" | undefined): string[] {
  const unquoted = /^[^\s'"#$\\]*$/u.test(value) ? [value] : [];
  const single = /^[^'\r\n]*$/.test(value) ? [`'${value}'`] : [];
  const double = [`"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\$/g, '$$$$')}"`];
  if (quote === undefined) return [...unquoted, ...single, ...double];
  if (quote === "'") return [...single, ...double];
  return double;
}

/**
 * Returns the env file `text` with only the value of `name` (its last definition, the one compose uses) changed to
 * `value`, keeping its quoting when possible. Throws ConfigError when the file does not define `name`.
 */
export function setEnvVariable(text: string, name: string, value: string, where = 'env file'): string {
  const entries = scanEnvFile(text, where);
  let index = -1;
  entries.forEach((e, i) => {
    if (e.key === name && !e.inherited) index = i;
  });
  if (index < 0) throw new ConfigError(`${where}: ${name} is not set in this file`);
  const entry = entries[index];
  if (parseEnvFile(text, { file: where })[name] === value) return text;
  for (const spelling of envSpellings(value, entry.quote)) {
    const candidate = text.slice(0, entry.valueStart) + spelling + text.slice(entry.valueEnd);
    try {
      // Same statements in the same order (nothing swallowed or split), and the entry now reads `value`.
      const after = scanEnvFile(candidate, where);
      const sameShape = after.length === entries.length && after.every((e, i) => e.key === entries[i].key && e.inherited === entries[i].inherited);
      if (sameShape && parseEnvFile(candidate, { file: where })[name] === value) return candidate;
    } catch {
      continue;
    }
  }
  throw new ConfigError(`${where}: cannot write ${JSON.stringify(value)} as ${name} without changing other entries`);
}
