/**
 * Runs `dosync mirror ...` as its own process for CLI tests, with the CLI's error rendering
 * (one line on stderr, ConfigError -> exit 2), independent of what else src/cli/index.ts registers.
 */
import { Command, CommanderError } from 'commander';
import { registerMirrorCommand } from '../../src/cli/mirror.js';
import { isUserError, errorMessage } from '../../src/util/errors.js';

const program = new Command('dosync').exitOverride();
registerMirrorCommand(program);
try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exitCode = err.exitCode === 0 ? 0 : 2;
  else if (isUserError(err)) {
    process.stderr.write(`dosync: ${errorMessage(err)}\n`);
    process.exitCode = err.exitCode;
  } else throw err;
}
