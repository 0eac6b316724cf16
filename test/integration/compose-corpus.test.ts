// The corpus suite: every compose file of ../shared/compose-corpus (real files from public projects) that
// compose accepts, every service with an image. dosync plans a new tag for the service; the edit must change
// only the bytes of the value that defines it, and `docker compose config` of the result must differ from
// the original in exactly the services of dosync's unit (their images, plus the reported non-image uses).
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { rm, writeFile, mkdtemp } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pLimit from 'p-limit';
import { readStack, type Stack } from '../../src/compose/stack.js';
import { planImageEdit } from '../../src/compose/image-source.js';
import { applyEdits, editFile, imagesAfterEdits, stackUnits, unitOf } from '../../src/compose/units.js';
import { parseImageReference, replaceTag, effectiveTag } from '../../src/reference/index.js';
import { ConfigError } from '../../src/util/errors.js';
import { composeConfig, copyEntry, corpusEntries, dotenvOf, entryEnv, type ComposeConfig, type CorpusEntry } from '../helpers/compose-corpus.js';

/** A new tag of the same shape: the last number goes up by one (`1.25` -> `1.26`, `16-alpine` -> `17-alpine`), else a suffix. */
export function probeTag(tag: string): string {
  const m = /(\d+)(?!.*\d)/.exec(tag);
  if (!m) return `${tag}-dosync1`.slice(0, 128);
  return tag.slice(0, m.index) + String(BigInt(m[1]) + 1n) + tag.slice(m.index + m[1].length);
}

const FAKE_DIGEST = `sha256:${'e'.repeat(64)}`;

/** Compose prints `$` as `$$` in its output. */
const unescape = (v: unknown) => (typeof v === 'string' ? v.replace(/\$\$/g, '$') : v);

interface Figures {
  entries: number;
  services: number;
  units: number;
  sharedUnits: number;
  rewrites: number;
  refused: Map<string, number>;
  skipped: Map<string, number>;
  failures: string[];
}

const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);

function ourStack(files: string[], env: Record<string, string>, texts: Map<string, string>): Stack {
  const dotenv = dotenvOf(files);
  const envFiles = dotenv ? [{ path: dotenv, text: readFileSync(dotenv, 'utf8') }] : [];
  for (const e of envFiles) texts.set(e.path, e.text);
  const readFile = (path: string) => {
    if (texts.has(path)) return texts.get(path);
    try {
      const t = readFileSync(path, 'utf8');
      texts.set(path, t);
      return t;
    } catch {
      return undefined;
    }
  };
  return readStack(files.map((f) => ({ path: f, text: readFile(f)! })), env, { envFiles, readFile });
}

/** Services of a compose config whose value differs, and how (image, or other fields). */
function differences(before: ComposeConfig, after: ComposeConfig): { images: Map<string, string | undefined>; other: string[]; topLevel: string[] } {
  const images = new Map<string, string | undefined>();
  const other: string[] = [];
  for (const name of new Set([...Object.keys(before.services), ...Object.keys(after.services)])) {
    const a = before.services[name] ?? {};
    const b = after.services[name] ?? {};
    if (a.image !== b.image) images.set(name, unescape(b.image) as string | undefined);
    const { image: _a, ...restA } = a;
    const { image: _b, ...restB } = b;
    if (JSON.stringify(restA) !== JSON.stringify(restB)) other.push(name);
  }
  // Extension fields (`x-defaults: &defaults`) are where shared values are written; compose prints them but deploys nothing from them.
  const topLevel = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((k) => k !== 'services' && !k.startsWith('x-') && JSON.stringify(before[k]) !== JSON.stringify(after[k]));
  return { images, other, topLevel };
}

/** The changed byte range between two texts lies on one line: only the value was touched. */
function changedOneLine(before: string, after: string): boolean {
  let p = 0;
  while (p < before.length && p < after.length && before[p] === after[p]) p++;
  let s = 0;
  while (s < before.length - p && s < after.length - p && before[before.length - 1 - s] === after[after.length - 1 - s]) s++;
  return !before.slice(p, before.length - s).includes('\n') && !after.slice(p, after.length - s).includes('\n');
}

async function checkEntry(entry: CorpusEntry, figures: Figures, scratch: string): Promise<void> {
  const { root, files } = await copyEntry(entry, scratch);
  const env = entryEnv(entry);
  const where = `${entry.id} ${entry.repo}:${entry.path}`;
  try {
    const baseline = await composeConfig(files, env);
    const texts = new Map<string, string>();
    const stack = ourStack(files, env, texts);
    figures.entries++;
    // The reader must see the images compose sees before any edit can be judged.
    for (const [name, s] of Object.entries(baseline.services)) {
      const ours = stack.services.find((x) => x.name === name);
      if (unescape(s.image) !== ours?.image) figures.failures.push(`${where}: services.${name}: compose says image ${String(s.image)}, dosync read ${ours?.image}`);
    }
    const units = stackUnits(stack);
    figures.units += units.length;
    figures.sharedUnits += units.filter((u) => u.services.length > 1).length;
    for (const service of stack.services) {
      if (!service.image) continue;
      figures.services++;
      let ref;
      try {
        ref = parseImageReference(service.image);
      } catch {
        bump(figures.skipped, 'not a valid reference'); continue;
      }
      const tag = effectiveTag(ref);
      if (!tag) { bump(figures.skipped, 'pinned by digest without a tag'); continue; }
      const newImage = replaceTag(service.image, probeTag(tag), ref.digest ? FAKE_DIGEST : undefined);
      let edit;
      try {
        edit = planImageEdit(service, newImage);
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        bump(figures.refused, err.message.replace(/^.*?: (the tag comes from|the change)/, '$1').replace(/\$\{[^}]+\}/g, '${VAR}').slice(0, 90));
        continue;
      }
      figures.rewrites++;
      const unit = unitOf(units, service.name)!;
      const predicted = imagesAfterEdits(stack.services, [edit]);
      const label = `${where}: ${service.name} -> ${newImage} (unit of ${unit.services.length}${unit.via.length ? ` via ${unit.via.join('; ')}` : ''})`;
      let changed: Map<string, string>;
      try {
        changed = applyEdits(texts, [edit]);
      } catch (err) {
        figures.failures.push(`${label}: the edit failed: ${(err as Error).message}`); continue;
      }
      const file = editFile(edit);
      if (!changedOneLine(texts.get(file)!, changed.get(file) ?? texts.get(file)!)) figures.failures.push(`${label}: the edit touched more than the value's line`);
      try {
        for (const [path, text] of changed) await writeFile(path, text);
        const after = await composeConfig(files, env);
        const diff = differences(baseline, after);
        const moved = [...diff.images.keys()].sort();
        if (diff.images.get(service.name) !== newImage) figures.failures.push(`${label}: compose now says ${diff.images.get(service.name) ?? 'the old image'}`);
        if (JSON.stringify(moved) !== JSON.stringify([...unit.services].sort())) figures.failures.push(`${label}: compose changed the images of [${moved}], dosync's unit is [${unit.services}]`);
        for (const [name, image] of diff.images) if (predicted.get(name) !== image) figures.failures.push(`${label}: ${name}: compose says ${image}, dosync predicted ${predicted.get(name)}`);
        const reported = new Set(unit.dependents.map((d) => d.path.split('.')[1]));
        for (const name of diff.other) if (!reported.has(name)) figures.failures.push(`${label}: services.${name} changed beyond its image and dosync did not report it`);
        if (diff.topLevel.length > 0) figures.failures.push(`${label}: top-level ${diff.topLevel.join(', ')} changed`);
      } finally {
        for (const path of changed.keys()) await writeFile(path, texts.get(path)!);
      }
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

describe('compose corpus: every rewrite moves exactly its unit', () => {
  const scratchDirs: string[] = [];
  after(async () => { for (const d of scratchDirs) await rm(d, { recursive: true, force: true }); });

  test('probe tags keep the shape', () => {
    assert.equal(probeTag('1.25'), '1.26');
    assert.equal(probeTag('16-alpine'), '17-alpine');
    assert.equal(probeTag('v2.3.9-rc1'), 'v2.3.9-rc2');
    assert.equal(probeTag('latest'), 'latest-dosync1');
  });

  test('all entries compose accepts', async () => {
    const entries = (await corpusEntries()).filter((e) => !e.composeRejects && (!process.env.CORPUS_ONLY || process.env.CORPUS_ONLY.split(',').includes(e.id)));
    assert.ok(process.env.CORPUS_ONLY || entries.length >= 190, `the corpus has ${entries.length} counted entries`);
    const scratch = await mkdtemp(join(tmpdir(), 'dosync-corpus-'));
    scratchDirs.push(scratch);
    const figures: Figures = { entries: 0, services: 0, units: 0, sharedUnits: 0, rewrites: 0, refused: new Map(), skipped: new Map(), failures: [] };
    const limit = pLimit(4);
    await Promise.all(entries.map((e) => limit(() => checkEntry(e, figures, scratch).catch((err) => { figures.failures.push(`${e.id} ${e.repo}:${e.path}: ${(err as Error).message.split('\n')[0]}`); }))));
    const summary = {
      entries: figures.entries, services: figures.services, units: figures.units, sharedUnits: figures.sharedUnits, rewrites: figures.rewrites,
      refused: Object.fromEntries(figures.refused), skipped: Object.fromEntries(figures.skipped), failures: figures.failures.length,
    };
    console.log(`corpus: ${JSON.stringify(summary)}`);
    assert.deepEqual(figures.failures, []);
    assert.equal(figures.entries, entries.length);
  });
});


