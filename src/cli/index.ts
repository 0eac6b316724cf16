import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { asLocalError, isUserError, errorMessage } from '../util/errors.js';
import { scrubSecrets } from '../util/scrub.js';
import { registerSyncCommand } from './sync.js';
import { registerUpdateCommand } from './update.js';
import { registerCheckCommand } from './check.js';
import { registerPauseCommands } from './pause.js';
import { registerMirrorCommand } from './mirror.js';
import { registerPolicyCommand } from './policy.js';
import { registerInitCommand } from './init.js';
import { registerHealthCommand } from './health.js';
import { registerCompletionCommand } from './completion.js';
import { registerRollbackCommand } from './rollback.js';
import { registerRetryCommand } from './retry.js';
import { registerApproveCommands } from './approve.js';
import { registerBackupsCommand } from './backups.js';
import { registerConfigCommand } from './config.js';
import { registerSelfUpdateHelperCommand } from './self-update.js';
import type { TagInfo } from '../registry/types.js';

/** package.json's version, found by walking up from this file: in the bundle this code sits at another depth than in src/. */
function packageVersion(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'dosync' && pkg.version) return pkg.version;
    } catch { /* not here: look one level up */ }
    if (dirname(dir) === dir) return 'unknown';
  }
}
export const VERSION: string = packageVersion();

export function buildProgram(): Command {
  const program = new Command('dosync')
    .description('Keeps the services of a Docker Compose stack on the newest image a policy allows.')
    .version(VERSION, '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  program.command('version').description('print the version').action(() => console.log(`dosync ${VERSION}`));
  registerSyncCommand(program);
  registerUpdateCommand(program);
  registerCheckCommand(program);
  registerPauseCommands(program);
  registerMirrorCommand(program);
  registerPolicyCommand(program, { listTags: listTagsForPolicy });
  registerInitCommand(program);
  registerHealthCommand(program);
  registerRollbackCommand(program);
  registerRetryCommand(program);
  registerApproveCommands(program);
  registerBackupsCommand(program);
  registerConfigCommand(program);
  registerSelfUpdateHelperCommand(program);
  registerCompletionCommand(program);
  return program;
}

/** Runs the CLI; user mistakes end as one line on stderr, programming errors keep their stack. */
export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (caught) {
    // A file system error nobody turned into a sentence still ends as one line (`disk full writing /x: ...`).
    const err = asLocalError(caught);
    if (err instanceof CommanderError) {
      // Commander already printed its message; keep its code but map usage errors to 2.
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    if (isUserError(err)) {
      process.stderr.write(`dosync: ${scrubSecrets(errorMessage(err))}\n`);
      process.exitCode = err.exitCode;
      return;
    }
    process.stderr.write(`dosync: unexpected error (please report it): ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 70;
  }
}

/** `dosync policy --image`: tags (and push times, where the registry has them) with the credentials dosync would use. */
async function listTagsForPolicy(image: string): Promise<TagInfo[]> {
  const [{ parseImageReference }, { loadConfigFile }, { createRegistryRuntime }, { createLogger }] = await Promise.all([
    import('../reference/index.js'), import('../config/file.js'), import('./registry-runtime.js'), import('../util/logger.js'),
  ]);
  const ref = parseImageReference(image);
  const { path, config } = await loadConfigFile(process.env.DOSYNC_CONFIG, process.env);
  const runtime = await createRegistryRuntime(config, process.env, createLogger({ destination: process.stderr }), path);
  const [tags, times] = await Promise.all([runtime.registry.listTags(ref), runtime.pushTimes(ref).catch(() => undefined)]);
  return tags.map((tag) => ({ tag, pushedAt: times?.get(tag) }));
}
