import { Option, type Command } from 'commander';
import { addStackOptions, LOG_FORMAT_CHOICES, LOG_FORMAT_HELP } from './common.js';
import type { SyncFlags } from './sync.js';

export interface UpdateFlags extends Omit<SyncFlags, 'forced' | 'notify'> { to: string }

/** `dosync update SERVICE --to TAG`: deploy exactly that tag through the update path (its unit moves together). */
export function registerUpdateCommand(program: Command): void {
  addStackOptions(program.command('update'))
    .description('deploy exactly one tag of a service (and of the services that move with it), past its policy, with the health gate and rollback')
    .argument('<service>', 'the service to update')
    .requiredOption('--to <tag>', 'the tag to deploy, e.g. 1.4.2')
    .option('--backup-dir <dir>', 'where compose backups go (default: backups/ next to the compose file; env DOSYNC_BACKUP_DIR)')
    .option('--keep-backups <n>', 'backups kept per file (default 10)')
    .option('--state-dir <dir>', 'state file and lock (default: dosync.yaml state_dir, else the backup dir; env DOSYNC_STATE_DIR)')
    .option('--no-prune', 'keep the image the update replaced')
    .option('--health-timeout <duration>', 'how long the updated services may take to become healthy (default 2m)')
    .option('--health-stable <duration>', 'without a HEALTHCHECK: how long they must keep running (default 10s)')
    .addOption(new Option('--log-format <format>', LOG_FORMAT_HELP).choices(LOG_FORMAT_CHOICES))
    .addHelpText('after', `
The service's update unit moves as one: every service whose image is written in the same place (a shared
.env variable, an anchor, extends) goes to the tag that place then gives it; each repository must have it.
The policy, pauses and held tags are passed over; the health gate and the rollback are not. A tag that fails
its health gate is put back and recorded as failed, as in a cycle. Exit code 0 = updated, 1 = not updated.

Examples:
  dosync update web --to 1.4.2 -f docker-compose.yml
  dosync update n8n --to 1.80.0 -f docker-compose.yml     n8n-runner moves with it (N8N_VERSION in .env)`)
    .action(async (service: string, flags: UpdateFlags) => {
      const { syncAction } = await import('./sync-run.js');
      process.exitCode = await syncAction({ ...flags, notify: [], once: true, forced: { service, tag: flags.to } });
    });
}
