/**
 * `dosync __complete-services [-f FILE]...`: the service names of the stack, one a line, for the shell
 * completion of `rollback`, `retry` and `update`. Hidden; silent on any problem (a completion that prints
 * an error into the user's command line is worse than none).
 */
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { collect } from './common.js';
import { COMPOSE_NAMES } from './init.js';
import { envList } from './env-defaults.js';

export const COMPLETE_SERVICES = '__complete-services';

/** The files to read: -f as typed, else DOSYNC_FILE, else the first compose file of the current directory. */
export function completionFiles(files: string[], env: NodeJS.ProcessEnv, exists: (path: string) => boolean = existsSync): string[] {
  if (files.length > 0) return files;
  const fromEnv = envList(env, 'DOSYNC_FILE');
  if (fromEnv && fromEnv.length > 0) return fromEnv;
  const here = COMPOSE_NAMES.find((n) => exists(n));
  return here ? [here] : [];
}

export async function serviceNames(files: string[]): Promise<string[]> {
  const { parse } = await import('yaml');
  const names = new Set<string>();
  for (const file of files) {
    try {
      const doc = parse(await readFile(file, 'utf8')) as { services?: Record<string, unknown> } | null;
      for (const name of Object.keys(doc?.services ?? {})) names.add(name);
    } catch { /* unreadable or not YAML: nothing to offer from this file */ }
  }
  return [...names].sort();
}

export function registerCompleteServicesCommand(program: Command): void {
  program.command(COMPLETE_SERVICES, { hidden: true })
    .option('-f, --file <path>', 'compose file', collect, [])
    .action(async (flags: { file: string[] }) => {
      const names = await serviceNames(completionFiles(flags.file, process.env));
      if (names.length > 0) process.stdout.write(`${names.join('\n')}\n`);
    });
}
