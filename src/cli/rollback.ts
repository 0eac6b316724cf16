import type { Command } from 'commander';
import { addStackOptions, type StackFlags } from './common.js';

export interface RollbackFlags extends StackFlags {
  to?: string;
  dryRun?: boolean;
  stateDir?: string;
  backupDir?: string;
  keepBackups?: string;
  prune: boolean;
  healthTimeout?: string;
  healthStable?: string;
}

/** `dosync rollback [SERVICE]`: the previous image back, recreated through the update path and its health gate. */
export function registerRollbackCommand(program: Command, write: (text: string) => void = (t) => void process.stdout.write(t)): void {
  addStackOptions(program.command('rollback'))
    .description('put the image a service had before dosync\'s last update back, recreate it and health-gate it like an update')
    .argument('[service]', 'the service to roll back (default: every service the last update changed)')
    .option('--to <backup>', 'restore the image references of this compose/env backup instead (a name from `dosync backups list`, or its path)')
    .option('--dry-run', 'print what would be rolled back, change nothing')
    .option('--state-dir <dir>', 'where the state file is (default: the backup dir; env DOSYNC_STATE_DIR)')
    .option('--backup-dir <dir>', 'where compose backups are (default: backups/ next to the compose file; env DOSYNC_BACKUP_DIR)')
    .option('--keep-backups <n>', 'backups kept per file (default 10; env DOSYNC_KEEP_BACKUPS)')
    .option('--no-prune', 'keep the image the rollback replaces')
    .option('--health-timeout <duration>', 'how long the service may take to become healthy again (default 2m)')
    .option('--health-stable <duration>', 'without a HEALTHCHECK: how long it must keep running (default 10s)')
    .addHelpText('after', `
"Previous" comes from dosync's state history: the image the service ran before the update that installed
its current one (a second rollback of the same service steps further back). Without SERVICE, every service
changed by the most recent update cycle goes back, all or none. --to BACKUP takes the images from a backup
of the compose file (or of the .env file holding the tag) and changes only those image references, so other
edits made since stay. Without SERVICE, --to restores only images dosync changed since that backup.

The image is pulled first (nothing changes if it is gone), then the image reference is rewritten (after a
backup), the service is recreated and must pass the same health gate as an update; if it does not, the file
and the containers are put back as they were (exit 1).

The tag rolled back from is recorded as failed for the service, so \`dosync sync\` does not apply it again;
a newer tag is still applied when one appears. To allow that tag again, run \`dosync retry SERVICE\`
(\`dosync retry\` alone lists the failed tags with when and why).
A running dosync daemon holds the project's lock: stop it for the rollback and start it again afterwards.

Examples:
  dosync rollback -f docker-compose.yml --dry-run       what the last update changed, and where it would go back to
  dosync rollback -f docker-compose.yml                 undo the last update (every service it changed)
  dosync rollback -f docker-compose.yml web             web back to the image before its last update
  dosync backups list -f docker-compose.yml             find a backup, then:
  dosync rollback -f docker-compose.yml --to docker-compose.yml.20240102T030405678Z.bak`)
    .action(async (service: string | undefined, flags: RollbackFlags) => {
      process.exitCode = await (await import('./rollback-run.js')).rollbackAction(service, flags, write);
    });
}
