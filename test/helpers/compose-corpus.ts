/**
 * The compose corpus: real compose files from public projects, kept in ../shared/compose-corpus (never
 * copied into this repository). Each entry is copied to a temporary directory before anything edits it.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { cp, mkdtemp, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const run = promisify(execFile);

export const CORPUS = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'shared', 'compose-corpus');

export interface CorpusEntry {
  id: string;
  repo: string;
  path: string;
  commit: string;
  files: string[];
  companions?: string[];
  stubs?: string[];
  env?: Record<string, string>;
  composeRejects?: string;
}

export async function corpusEntries(): Promise<CorpusEntry[]> {
  const manifest = JSON.parse(await readFile(join(CORPUS, 'manifest.json'), 'utf8')) as { files: CorpusEntry[] };
  return manifest.files;
}

/** A writable copy of one entry; returns its root and the absolute compose file paths (in -f order). */
export async function copyEntry(entry: CorpusEntry, parent?: string): Promise<{ root: string; files: string[] }> {
  const root = await mkdtemp(join(parent ?? tmpdir(), `corpus-${entry.id}-`));
  await cp(join(CORPUS, 'files', entry.id), root, { recursive: true });
  return { root, files: entry.files.map((f) => join(root, f)) };
}

/** The environment compose and dosync both get: the entry's dummy values and nothing of this machine's but PATH and HOME. */
export function entryEnv(entry: CorpusEntry): Record<string, string> {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', ...(entry.env ?? {}) };
}

export type ComposeConfig = { name?: string; services: Record<string, Record<string, unknown>> } & Record<string, unknown>;

/** `docker compose config --format json` with every profile, run in the directory of the first file. */
export async function composeConfig(files: string[], env: Record<string, string>): Promise<ComposeConfig> {
  const args = ['compose', ...files.flatMap((f) => ['-f', f]), '--profile', '*', 'config', '--format', 'json'];
  const { stdout } = await run('docker', args, { cwd: dirname(files[0]), env, maxBuffer: 64 * 1024 * 1024 });
  return JSON.parse(stdout) as ComposeConfig;
}

/** The project's `.env` (compose reads it for interpolation) when there is one. */
export function dotenvOf(files: string[]): string | undefined {
  const path = join(dirname(files[0]), '.env');
  return existsSync(path) ? path : undefined;
}
