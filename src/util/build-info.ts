/**
 * What build this is, for `dosync_build_info` and logs: the package version and the source revision the
 * bundle recorded in dist/build.json (scripts/bundle.mjs; DOSYNC_REVISION at build time, else git).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface BuildInfo { version: string; revision: string }

let cached: BuildInfo | undefined;

export function buildInfo(): BuildInfo {
  if (cached) return cached;
  // Walk up from this file (src/util in development, dist/ in the bundle) to dosync's package.json.
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'dosync' && pkg.version) {
        let revision = 'unknown';
        try {
          revision = (JSON.parse(readFileSync(join(dir, 'dist', 'build.json'), 'utf8')) as { revision?: string }).revision || 'unknown';
        } catch { /* not bundled (tests from src/): no recorded revision */ }
        return (cached = { version: pkg.version, revision: process.env.DOSYNC_REVISION || revision });
      }
    } catch { /* not here: one level up */ }
    if (dirname(dir) === dir) return (cached = { version: 'unknown', revision: process.env.DOSYNC_REVISION || 'unknown' });
  }
}
