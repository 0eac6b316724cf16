import { Command, CommanderError } from 'commander';
import { createRequire } from 'node:module';
import { isUserError, errorMessage } from '../util/errors.js';
import { scrubSecrets } from '../util/logger.js';
import { registerSyncCommand } from './sync.js';

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
