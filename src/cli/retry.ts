import type { Command } from 'commander';
import { addStackOptions, type StackFlags } from './common.js';

export interface RetryFlags extends StackFlags {
  tag?: string;
  all?: boolean;
  stateDir?: string;
  backupDir?: string;
}

/** `dosync retry [SERVICE...]`: list the tags recorded as failed, or clear them so the next cycle may try them again. */
export function registerRetryCommand(program: Command, write: (text: string) => void = (t) => void process.stdout.write(t)): void {
  addStackOptions(program.command('retry'))
    .description('list the tags dosync recorded as failed, or clear them so the next cycle may try them again')
    .argument('[service...]', 'the services whose failed tags to clear (none: list the failed tags of every service)')
    .option('--tag <tag>', 'clear only this failed tag (every digest recorded for it)')
    .option('--all', 'clear the failed tags of every service')
    .option('--state-dir <dir>', 'where the state file is (default: dosync.yaml state_dir, else the backup dir; env DOSYNC_STATE_DIR)')
    .option('--backup-dir <dir>', 'the backup dir, when no state dir is set (env DOSYNC_BACKUP_DIR)')
    .addHelpText('after', `
A tag whose update failed its health gate, or that \`dosync rollback\` moved away from, is recorded as failed
for its service, and no cycle updates to it again; a newer tag still applies. Without SERVICE this lists the
failed tags with when and why. With SERVICE (or --all) it clears them, and records the retry in the state
history: the next \`dosync sync\` cycle may update to them again (and, if one fails again, records it again).

It finds the state exactly as \`dosync sync\` does (same -f, -c, --state-dir, --backup-dir and environment).
Clearing takes the project's lock: a running dosync daemon holds it and keeps the failed tags in memory, so
stop it, run \`dosync retry\`, and start it again. Listing takes no lock.

Examples:
  dosync retry -f docker-compose.yml                    list the failed tags of every service
  dosync retry -f docker-compose.yml web                let the next cycle try web's failed tags again
  dosync retry -f docker-compose.yml web --tag 1.4.0    only tag 1.4.0 of web
  dosync retry -f docker-compose.yml --all              clear every service's failed tags
  dosync sync -f docker-compose.yml --once              then try them`)
    .action(async (services: string[], flags: RetryFlags) => {
      process.exitCode = await (await import('./retry-run.js')).retryAction(services, flags, write);
    });
}
