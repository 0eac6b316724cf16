/**
 * README "Reference" cannot drift from the code. In both directions:
 *  - every key of the zod schemas (dosync.yaml, its `registry:` section, `imagePolicy`) has a row, and every row names a key;
 *  - every environment variable and compose label the source reads has a row, and every row is read somewhere;
 *  - every visible command (as buildProgram() registers it, hidden ones skipped) has a section listing each of its
 *    options and arguments, and no section lists an option the command does not have.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { Help, type Command } from 'commander';
import { configFileSchema } from '../../../src/config/file.js';
import { REGISTRY_FAMILIES, registryConfigSchema } from '../../../src/registry/config.js';
import { imagePolicySchema } from '../../../src/policy/schema.js';
import { buildProgram } from '../../../src/cli/index.js';
import { codeSpans, headings, section, tableRows, docsText } from './markdown.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
// README.md and docs/*.md (the reference moved to docs/).
const readme = docsText();

function readmeSection(title: string, nested = true): string {
  const text = section(readme, title, { nested });
  assert.ok(text !== undefined, `README has a "${title}" heading`);
  return text;
}

/** Code spans of the first cell of every table row in a section. */
function firstColumn(text: string): string[] {
  return tableRows(text).flatMap((row) => codeSpans(row[0] ?? ''));
}

function sorted(values: Iterable<string>): string[] {
  return [...new Set(values)].sort();
}

function assertMissing(missing: string[], what: string): void {
  assert.deepEqual(missing, [], `${what}: ${missing.join(', ')}`);
}

// ------------------------------------------------------------------------------------------ zod schemas

function unwrap(schema: z.ZodTypeAny): z.ZodTypeAny {
  let s = schema;
  for (;;) {
    if (s instanceof z.ZodOptional || s instanceof z.ZodNullable) s = s.unwrap();
    else if (s instanceof z.ZodDefault) s = s.removeDefault();
    else if (s instanceof z.ZodEffects) s = s.innerType();
    else if (s instanceof z.ZodPipeline) s = s._def.in;
    else return s;
  }
}

/**
 * Every key path a schema accepts, down to its leaves: `health.timeout`, `services.<name>.skip`. A record adds a
 * `<name>` segment, a list adds nothing (its entries have the list's keys), a mapping without keys (`newest: {}`)
 * and a value the schema does not look into (`z.unknown()`) are leaves.
 */
export function keyPaths(schema: z.ZodTypeAny, prefix = ''): string[] {
  const s = unwrap(schema);
  const join2 = (key: string) => (prefix ? `${prefix}.${key}` : key);
  if (s instanceof z.ZodObject) {
    const entries = Object.entries(s.shape as Record<string, z.ZodTypeAny>);
    if (entries.length === 0) return [prefix];
    return entries.flatMap(([key, child]) => keyPaths(child, join2(key)));
  }
  if (s instanceof z.ZodRecord) {
    const value = unwrap(s.valueSchema as z.ZodTypeAny);
    return value instanceof z.ZodUnknown || value instanceof z.ZodAny ? [prefix] : keyPaths(value, join2('<name>'));
  }
  if (s instanceof z.ZodArray) return keyPaths(s.element as z.ZodTypeAny, prefix);
  if (s instanceof z.ZodUnion) {
    const options = s.options as z.ZodTypeAny[];
    const structured = options.filter((o) => keyPaths(o, prefix).some((p) => p !== prefix));
    return sorted((structured.length > 0 ? structured : options).flatMap((o) => keyPaths(o, prefix)));
  }
  return [prefix];
}

/** Both directions: every schema leaf is documented; every documented key is a leaf or leads to one. */
function assertKeysMatch(schemaPaths: string[], documented: string[], where: string): void {
  const doc = new Set(documented);
  assertMissing(schemaPaths.filter((p) => !doc.has(p)), `keys the schema accepts but README "${where}" does not document`);
  const known = (key: string) => schemaPaths.some((p) => p === key || p.startsWith(`${key}.`));
  assertMissing(documented.filter((k) => !known(k)), `keys README "${where}" documents but the schema does not accept`);
}

describe('README configuration reference matches the zod schemas', () => {
  test('keyPaths walks objects, records, lists, unions, wrappers and empty mappings', () => {
    const schema = z.object({
      a: z.string().optional(),
      b: z.object({ c: z.number().default(1), d: z.object({}).strict().nullable() }).strict(),
      list: z.array(z.object({ e: z.string() })),
      either: z.union([z.object({ f: z.string() }), z.array(z.object({ f: z.string(), g: z.boolean() }))]).transform((v) => v),
      dur: z.union([z.string(), z.number()]),
      byName: z.record(z.object({ h: z.string() })),
      opaque: z.record(z.unknown()),
      pre: z.preprocess((v) => v, z.object({ i: z.string() })),
    });
    assert.deepEqual(keyPaths(schema).sort(), ['a', 'b.c', 'b.d', 'byName.<name>.h', 'dur', 'either.f', 'either.g', 'list.e', 'opaque', 'pre.i']);
  });

  test('dosync.yaml keys', () => {
    const documented = firstColumn(readmeSection('dosync.yaml keys'));
    assertKeysMatch(keyPaths(configFileSchema), documented, 'dosync.yaml keys');
  });

  test('registry section keys, per family', () => {
    const documented: string[] = [];
    for (const row of tableRows(readmeSection('Registry section keys'))) {
      const [familyCell, keysCell] = row;
      const families = /every family/i.test(familyCell) ? REGISTRY_FAMILIES : codeSpans(familyCell);
      for (const family of families) for (const key of codeSpans(keysCell ?? '')) documented.push(`${family}.${key}`);
    }
    assertKeysMatch(keyPaths(registryConfigSchema as unknown as z.ZodTypeAny), documented, 'Registry section keys');
  });

  test('imagePolicy keys', () => {
    const documented = firstColumn(readmeSection('imagePolicy keys'));
    assertKeysMatch(keyPaths(imagePolicySchema), documented, 'imagePolicy keys');
  });
});

// ------------------------------------------------------------------------------------------ source scan

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sourceFiles(p);
    return p.endsWith('.ts') || p.endsWith('.js') ? [p] : [];
  });
}

const sources = sourceFiles(join(root, 'src')).map((file) => ({ file, text: readFileSync(file, 'utf8') }));
// Environment variables are also read by bin/ (the launcher and its code-cache loader, plain JavaScript); labels only in src/.
const envSources = [...sources, ...sourceFiles(join(root, 'bin')).map((file) => ({ file, text: readFileSync(file, 'utf8') }))];

const ENV_NAME = /^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*$/;

/**
 * Environment variables the source reads: `env.X` / `process.env.X` / `(… env).X` / `env['X']`, the names given to
 * envValue/envFlag/envList, names in `*_ENV` constants, and every DOSYNC_* string literal.
 */
export function envVarsRead(text: string): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(/\benv\??\.([A-Z][A-Z0-9_]*)\b/g)) found.push(m[1]);
  for (const m of text.matchAll(/\benv\)\.([A-Z][A-Z0-9_]*)\b/g)) found.push(m[1]);
  for (const m of text.matchAll(/\benv\[\s*['"]([A-Z][A-Z0-9_]*)['"]\s*\]/g)) found.push(m[1]);
  const quoted = (s: string) => [...s.matchAll(/['"]([A-Z][A-Z0-9_]*)['"]/g)].map((q) => q[1]);
  for (const m of text.matchAll(/\benv(?:Value|Flag|List)\(([^)]*)\)/g)) found.push(...quoted(m[1]));
  for (const m of text.matchAll(/\b[A-Z_]*_ENV\b\s*=\s*(\[[^\]]*\]|'[^']*'|"[^"]*")/g)) found.push(...quoted(m[1]));
  for (const m of text.matchAll(/['"`](DOSYNC_[A-Z0-9_]+)['"`]/g)) found.push(m[1]);
  return found.filter((n) => ENV_NAME.test(n));
}

/** Compose labels the source reads: `dosync.*`, and the Watchtower / What's Up Docker labels honoured. */
export function labelsRead(text: string): string[] {
  return [...text.matchAll(/['"`]((?:dosync|wud|com\.centurylinklabs\.watchtower)\.[a-z][a-z0-9._-]*)['"`]/g)]
    .map((m) => m[1])
    .filter((l) => !/\.ya?ml$/.test(l)); // dosync.yaml is a file name, not a label
}

describe('README reference matches what the source reads', () => {
  test('the scanners find each way of reading a variable or label', () => {
    const sample = [
      "const a = process.env.DOCKER_HOST; ctx.env.GITHUB_PAT; (deps.env ?? process.env).DOSYNC_IMAGE; env['CI_JOB_TOKEN'];",
      "envValue(env, 'DOSYNC_INTERVAL', 'CHECK_INTERVAL'); envFlag(process.env, 'VERBOSE');",
      "const PAUSE_ENV = ['DOSYNC_PAUSE_UPDATES', 'PAUSE_UPDATES']; export const HEARTBEAT_FILE_ENV = 'DOSYNC_HEARTBEAT_FILE';",
      "const code = 'ECONNRESET'; const t = 'QUOTE_DOUBLE';",
      "labels['dosync.enable']; has('wud.tag.include'); x === 'com.centurylinklabs.watchtower.enable'; find('dosync.yaml');",
    ].join('\n');
    assert.deepEqual(sorted(envVarsRead(sample)), [
      'CHECK_INTERVAL', 'CI_JOB_TOKEN', 'DOCKER_HOST', 'DOSYNC_HEARTBEAT_FILE', 'DOSYNC_IMAGE', 'DOSYNC_INTERVAL',
      'DOSYNC_PAUSE_UPDATES', 'GITHUB_PAT', 'PAUSE_UPDATES', 'VERBOSE',
    ]);
    assert.deepEqual(sorted(labelsRead(sample)), ['com.centurylinklabs.watchtower.enable', 'dosync.enable', 'wud.tag.include']);
  });

  test('environment variables', () => {
    const read = sorted(envSources.flatMap((s) => envVarsRead(s.text)));
    assert.ok(read.length > 20, 'the scan finds the variables');
    const documented = sorted(firstColumn(readmeSection('Environment variables')).map((c) => /^[A-Z][A-Z0-9_]*/.exec(c)?.[0] ?? c));
    assertMissing(read.filter((v) => !documented.includes(v)), 'environment variables the source reads but README "Environment variables" does not document');
    assertMissing(documented.filter((v) => !read.includes(v)), 'environment variables README "Environment variables" documents but no source file reads');
  });

  test('compose labels', () => {
    const read = sorted(sources.flatMap((s) => labelsRead(s.text)));
    const documented = sorted(firstColumn(readmeSection('Compose labels')).map((c) => c.split('=')[0]));
    assertMissing(read.filter((l) => !documented.includes(l)), 'labels the source reads but README "Compose labels" does not document');
    assertMissing(documented.filter((l) => !read.includes(l)), 'labels README "Compose labels" documents but no source file reads');
  });
});

// ------------------------------------------------------------------------------------------ commands

interface VisibleCommand {
  path: string;
  command: Command;
}

/** Every visible command, depth first, named by its path (`backups list`); commander's `help` and hidden ones left out. */
function visibleCommands(parent: Command, prefix = ''): VisibleCommand[] {
  const help = new Help();
  return help.visibleCommands(parent)
    .filter((c) => c.name() !== 'help')
    .flatMap((c) => {
      const path = `${prefix}${c.name()}`;
      return [{ path, command: c }, ...visibleCommands(c, `${path} `)];
    });
}

/** `-f, --file <path>` -> ['-f', '--file']. */
function flagsIn(text: string): string[] {
  return [...text.matchAll(/(?<![\w-])(--?[A-Za-z][\w-]*)/g)].map((m) => m[1]);
}

describe('README documents every command and option', () => {
  const program = buildProgram();
  const commands = visibleCommands(program);
  const reference = readmeSection('Commands and flags');

  test('the walk finds the commands', () => {
    assert.ok(commands.some((c) => c.path === 'sync') && commands.some((c) => c.path === 'check'));
  });

  for (const { path, command } of commands) {
    test(`dosync ${path}`, () => {
      const text = readmeSection(`\`dosync ${path}\``, false);
      const documented = new Set(firstColumn(text).flatMap(flagsIn));
      const help = new Help();
      const options = help.visibleOptions(command).filter((o) => o.long !== '--help');
      const missing = options.filter((o) => !documented.has(o.long ?? o.short ?? '')).map((o) => o.flags);
      assertMissing(missing, `options of dosync ${path} missing from its README section`);
      const real = new Set(options.flatMap((o) => [o.long, o.short].filter((f): f is string => f !== undefined)));
      assertMissing([...documented].filter((f) => !real.has(f) && f !== '--help' && f !== '-h'), `README section of dosync ${path} lists options the command does not have`);
      for (const arg of command.registeredArguments) {
        assert.ok(text.includes(arg.name()) || headings(readme).some((h) => h.startsWith(`\`dosync ${path}`) && h.includes(arg.name())),
          `argument <${arg.name()}> of dosync ${path} is documented`);
      }
    });
  }

  test('no README command section names a command that does not exist', () => {
    const known = new Set(commands.map((c) => `\`dosync ${c.path}\``));
    const stale = headings(reference).filter((h) => h.startsWith('`dosync ') && !known.has(h));
    assertMissing(stale, 'README command sections without a registered (visible) command');
  });

  test('the program options are documented', () => {
    for (const o of new Help().visibleOptions(program).filter((o) => o.long !== '--help')) {
      assert.ok(reference.includes(o.long!), `${o.flags} is documented in README "Commands and flags"`);
    }
  });
});
