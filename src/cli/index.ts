import { Command, CommanderError } from 'commander';
import { createRequire } from 'node:module';
import { isUserError, errorMessage } from '../util/errors.js';
import { scrubSecrets } from '../util/logger.js';
import { registerSyncCommand } from './sync.js';
import { registerCheckCommand } from './check.js';
import { registerPauseCommands } from './pause.js';
import { registerMirrorCommand } from './mirror.js';
import { registerPolicyCommand } from './policy.js';
import { registerInitCommand } from './init.js';
import { registerHealthCommand } from './health.js';
import { registerCompletionCommand } from './completion.js';
import type { TagInfo } from '../registry/types.js';

const require = createRequire(import.meta.url);
export const VERSION: string = (require('../../package.json') as { version: string }).version;

export function buildProgram(): Command {
  const program = new Command('dosync')
    .description('Keeps the services of a Docker Compose stack on the newest image a policy allows.')
    .version(VERSION, '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  program.command('version').description('print the version').action(() => console.log(`dosync ${VERSION}`));
  registerSyncCommand(program);
  registerCheckCommand(program);
  registerPauseCommands(program);
  registerMirrorCommand(program);
  registerPolicyCommand(program, { listTags: listTagsForPolicy });
  registerInitCommand(program);
  registerHealthCommand(program);
  registerCompletionCommand(program);
  return program;
}

/** Runs the CLI; user mistakes end as one line on stderr, programming errors keep their stack. */
export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
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
