#!/usr/bin/env node
// Trims node_modules to what the bundle loads at run time (container image, after `npm prune --omit=dev`):
// the packages scripts/bundle.mjs leaves external and their dependencies; everything else is inside
// dist/dosync.cjs already. Then drops files no running program reads: source maps, type declarations,
// markdown, and the browser / react-native builds that packages ship next to their Node build.
//   node scripts/prune-runtime.mjs [node_modules dir]      (prints what it removed, in MB)
import { existsSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const modules = resolve(process.argv[2] ?? join(root, 'node_modules'));
const externals = JSON.parse(readFileSync(join(root, 'scripts/externals.json'), 'utf8'));

/** Top-level package names matching an external (`@aws-sdk/*` = the whole scope). */
function topLevel(pattern) {
  if (!pattern.endsWith('/*')) return existsSync(join(modules, pattern)) ? [pattern] : [];
  const scope = pattern.slice(0, -2);
  return existsSync(join(modules, scope)) ? readdirSync(join(modules, scope)).map((n) => `${scope}/${n}`) : [];
}

/** Where Node finds `name` from the package in `from`: its own node_modules, then each one above. */
function locate(name, from) {
  for (let dir = from; dir.startsWith(modules); dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dir === modules) break;
  }
  const top = join(modules, name);
  return existsSync(join(top, 'package.json')) ? top : undefined;
}

// External for the bundle but never loaded by dosync: gRPC and protobufjs serve dockerode's BuildKit session
// (behind a lazy stand-in in scripts/bundle.mjs), and dosync never builds images. ~6 MB with what only they use.
const UNUSED_EXTERNALS = new Set(['@grpc/*', 'protobufjs']);

const keep = new Set();
const queue = externals.filter((e) => !UNUSED_EXTERNALS.has(e)).flatMap(topLevel).map((n) => join(modules, n));
while (queue.length > 0) {
  const dir = queue.pop();
  if (keep.has(dir)) continue;
  keep.add(dir);
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies, ...pkg.peerDependencies })) {
    const found = locate(dep, dir);
    if (found) queue.push(found);
  }
}

let removed = 0;
const size = (path) => {
  const st = statSync(path);
  return st.isDirectory() ? readdirSync(path).reduce((a, n) => a + size(join(path, n)), 0) : st.size;
};
const drop = (path) => { removed += size(path); rmSync(path, { recursive: true, force: true }); };

// Packages nothing at run time loads (kept packages' nested node_modules stay with them).
for (const name of readdirSync(modules)) {
  if (name.startsWith('.')) { if (name === '.bin') drop(join(modules, name)); continue; }
  const names = name.startsWith('@') ? readdirSync(join(modules, name)).map((n) => `${name}/${n}`) : [name];
  for (const n of names) if (!keep.has(join(modules, n))) drop(join(modules, n));
  if (name.startsWith('@') && readdirSync(join(modules, name)).length === 0) rmSync(join(modules, name), { recursive: true });
}

// @azure/identity depends on MSAL's browser build, which its Node build never loads (the image test builds
// credentials with it gone): 11 MB.
const NEVER_LOADED = ['@azure/msal-browser'];
for (const name of NEVER_LOADED) if (existsSync(join(modules, name))) drop(join(modules, name));

// Files no program reads, in what is left.
const DEAD_FILE = /\.(map|d\.ts|d\.mts|d\.cts|md|markdown)$/i;
const DEAD_DIR = new Set(['browser', 'react-native']);
// The AWS SDK's ES-module build next to its CommonJS one (dist-cjs): the bundle requires, Node loads dist-cjs.
const DEAD_TOP_DIR = new Set(['dist-es', 'dist-types']);
function sweep(dir, depth) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      // dist/browser, dist/react-native: builds for other platforms, chosen by bundlers, never by Node.
      if (DEAD_DIR.has(entry.name) && /[\\/]dist$/.test(dir)) drop(path);
      else if (DEAD_TOP_DIR.has(entry.name) && existsSync(join(dir, 'dist-cjs'))) drop(path);
      else sweep(path, depth + 1);
    } else if (DEAD_FILE.test(entry.name)) drop(path);
  }
}
sweep(modules, 0);
console.log(`prune-runtime: kept ${keep.size} packages, removed ${(removed / 1e6).toFixed(1)} MB`);
