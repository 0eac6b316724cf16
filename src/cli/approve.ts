import type { Command } from 'commander';
import { addStackOptions, type StackFlags } from './common.js';

export interface ApproveFlags extends StackFlags {
  tag?: string;
  stateDir?: string;
  backupDir?: string;
}

const dirOptions = (cmd: Command) => cmd
  .option('--state-dir <dir>', 'where the state file is (default: dosync.yaml state_dir, else the backup dir; env DOSYNC_STATE_DIR)')
  .option('--backup-dir <dir>', 'the backup dir, when no state dir is set (env DOSYNC_BACKUP_DIR)');

/** `dosync approve SERVICE [--tag T]` and `dosync skip SERVICE TAG` (approve: manual). */
export function registerApproveCommands(program: Command, write: (text: string) => void = (t) => void process.stdout.write(t)): void {
  dirOptions(addStackOptions(program.command('approve')))
    .description('let an update that waits for approval (approve: manual) be applied now')
    .argument('<service>', 'the service whose pending update to apply')
    .option('--tag <tag>', 'approve only if this is the pending tag')
    .addHelpText('after', `
A running daemon applies it at once, through the usual health gate and rollback; without one, the next
\`dosync sync\` does. The daemon also takes approvals from its dashboard, POST /v1/approve and MQTT.

Examples:
  dosync approve -f docker-compose.yml web
  dosync approve -f docker-compose.yml web --tag 1.27.1`)
    .action(async (service: string, flags: ApproveFlags) => {
      process.exitCode = await (await import('./approve-run.js')).approveAction({ kind: 'approve', service, tag: flags.tag }, flags, write);
    });
  dirOptions(addStackOptions(program.command('skip')))
    .description('never offer this tag of a service again (newer tags still are)')
    .argument('<service>', 'the service')
    .argument('<tag>', 'the tag to pass over')
    .action(async (service: string, tag: string, flags: ApproveFlags) => {
      process.exitCode = await (await import('./approve-run.js')).approveAction({ kind: 'skip', service, tag }, flags, write);
    });
}
