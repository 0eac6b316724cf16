#!/usr/bin/env node
// Runs the test suite with node's built-in runner (TypeScript through tsx).
// Usage: node test/run.mjs [unit|integration|<file>...]
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function find(dir) {
  let out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out = out.concat(find(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out.sort();
}
const args = process.argv.slice(2);
let files;
if (args.length === 0) files = [...find('test/unit'), ...find('test/integration')];
else if (args.length === 1 && (args[0] === 'unit' || args[0] === 'integration')) files = find(`test/${args[0]}`);
else files = args;
// Integration tests are isolated (own compose projects and repositories) and mostly wait on the
// engine, so several files run at once.
const concurrency = process.env.DOSYNC_TEST_CONCURRENCY ?? '4';
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
