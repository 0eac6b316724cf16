// Compiles the bundled CLI with a V8 code cache and returns its exports. Node 20 caches no compiled
// code for ES modules, but vm.Script takes and produces cached data for a script: the bundle is
// CommonJS for that reason (scripts/bundle.mjs). Hand-written because v8-compile-cache, the package
// that did this, hooks require() for every module, caches in the temp dir, and is unmaintained.
//
// The cache is keyed by the bundle's hash (dist/build.json), the Node version and the command, since
// it holds what the command compiled (a `check` cache covers the registry client, a `--version` one
// only the CLI). It is written when missing or refused by V8 (another Node or V8 flags), at the exit of
// a run that succeeded, atomically, to dist/.cache or else ~/.cache/dosync — never a shared temp dir, whose files another
// user could plant. Any failure only means compiling as usual; DOSYNC_CODE_CACHE=0 turns it off.
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';

/**
 * The cache a run uses: its command word (first argument), or `cli` for options alone (`--version`).
 * No list of commands to keep in step with the CLI: a word that is not one ends in a usage error, and a
 * failed run writes no cache.
 */
const cacheName = (command) => (typeof command === 'string' && /^[a-z][a-z-]{0,39}$/.test(command) ? command : 'cli');

/** The CommonJS wrapper around the bundle; offsets in V8's view of the script are the bundle's plus its length. */
export const WRAPPER_START = '(function (exports, require, module, __filename, __dirname) {';

function cacheDirs(dist) {
  const home = process.env.XDG_CACHE_HOME || (homedir() ? join(homedir(), '.cache') : undefined);
  return [join(dist, '.cache'), ...(home ? [join(home, 'dosync')] : [])];
}

function readFirst(paths) {
  for (const p of paths) {
    try {
      return readFileSync(p);
    } catch { /* not there: try the next */ }
  }
  return undefined;
}

function writeAtomically(dirs, name, data) {
  for (const dir of dirs) {
    const tmp = join(dir, `.${name}.${process.pid}.tmp`);
    try {
      mkdirSync(dir, { recursive: true, mode: 0o755 });
      writeFileSync(tmp, data);
      renameSync(tmp, join(dir, name));
      // Caches of other builds are never read again.
      for (const old of readdirSync(dir)) if (old.startsWith('dosync-') && old.endsWith('.cache') && !old.startsWith(name.slice(0, name.indexOf('-node')))) rmSync(join(dir, old), { force: true });
      return;
    } catch { /* read-only install or no home: try the next */ }
  }
}

/**
 * `distUrl`: the URL of dist/ (with a trailing slash). Returns the bundle's exports and what became of
 * the cache: `accepted`, `rejected` or `missing` (both rewritten at exit), or `off`.
 */
export function loadBundle(distUrl, command) {
  const dist = fileURLToPath(distUrl);
  const file = join(dist, 'dosync.cjs');
  // esbuild escapes every non-ASCII character of code (charset 'ascii'); only comments keep raw UTF-8,
  // and reading them as latin1 changes nothing that runs. latin1 skips UTF-8 decoding: 10 -> 5 ms.
  const source = readFileSync(file, 'latin1');
  let key;
  try {
    const { hash } = JSON.parse(readFileSync(join(dist, 'build.json'), 'utf8'));
    if (process.env.DOSYNC_CODE_CACHE !== '0' && typeof hash === 'string' && /^[0-9a-f]+$/.test(hash)) {
      key = `dosync-${hash}-node${process.versions.node}-${process.arch}-${cacheName(command)}.cache`;
    }
  } catch { /* no build.json: no cache */ }
  const dirs = cacheDirs(dist);
  const cachedData = key ? readFirst(dirs.map((d) => join(d, key))) : undefined;
  // V8 accepts a cache only under the flags it was made with, and the cache is made at exit: a flag
  // the program sets while it runs would make every run refuse the cache the last one wrote (and
  // write it again). The GC pacer and the idle collections expose gc that way (v8Gc in
  // src/util/idle-gc.ts), so it is set here, first: every `mirror` run compiled the whole bundle anew
  // (100 ms instead of 30) and wrote a 1.4 MB cache at exit. No `gc` global comes of it: the main
  // context exists already.
  v8.setFlagsFromString('--expose-gc');
  const script = new vm.Script(`${WRAPPER_START}${source}\n})`, {
    filename: file,
    cachedData,
    // The bundle keeps import() for packages left outside it (cloud SDKs, prom-client): resolve them as the main program would.
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  const cache = !key ? 'off' : !cachedData ? 'missing' : script.cachedDataRejected ? 'rejected' : 'accepted';
  // Written after a run that went through (exit 0, or `check`'s 10): one that stopped at a typo would
  // leave a cache without the command's code, and a cache is never rewritten once V8 accepts it.
  const written = (code) => (code === 0 || code === 10) && writeAtomically(dirs, key, script.createCachedData());
  if (cache === 'missing' || cache === 'rejected') process.once('exit', written);
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(file), module, file, dirname(file));
  return { exports: module.exports, cache };
}
