import type { Command } from 'commander';
import { collect } from './common.js';

export interface BackupsFlags {
  file: string[];
  envFile?: string;
  config?: string;
  backupDir?: string;
  keepBackups?: string;
  dryRun?: boolean;
  project?: string;
  stateDir?: string;
}

function withFileOptions(cmd: Command): Command {
  return cmd
    .option('-f, --file <path>', 'compose file (repeat for override files; env DOSYNC_FILE; default: compose.yaml, docker-compose.yml... here)', collect, [])
    .option('-e, --env-file <path>', 'env file whose backups count too (the .env next to the compose file always does; env DOSYNC_ENV_FILE)')
    .option('-c, --config <path>', 'dosync.yaml, for backup_dir and keep_backups (env DOSYNC_CONFIG)')
    .option('--backup-dir <dir>', 'where the backups are (default: backups/ next to each file; env DOSYNC_BACKUP_DIR)')
    .option('--project <name>', 'a project of a whole-host dosync (sync --all): its files and its backups under the state dir')
    .option('--state-dir <dir>', 'with --project: the whole-host state dir (env DOSYNC_STATE_DIR)');
}

/** `dosync backups list|show|restore`: the copies the compose writer keeps before every change. */
export function registerBackupsCommand(program: Command, write: (text: string) => void = (t) => void process.stdout.write(t)): void {
  const backups = program
    .command('backups')
    .description('list, show (as a diff) and restore the backups dosync takes before it changes a compose or .env file')
    .addHelpText('after', `
Backups are named <file>.<UTC time>.bak and live in backups/ next to the file (or --backup-dir / backup_dir).
Examples:
  dosync backups list -f docker-compose.yml
  dosync backups show docker-compose.yml.20240102T030405678Z.bak -f docker-compose.yml
  dosync backups restore docker-compose.yml.20240102T030405678Z.bak -f docker-compose.yml`);
  const run = async () => import('./backups-run.js');

  withFileOptions(backups.command('list'))
    .description('one row per backup, newest first: time, file, size, and which image references differ from the current file')
    .addHelpText('after', `
Examples:
  dosync backups list -f docker-compose.yml
  dosync backups list -f base.yml -f prod.yml --backup-dir /var/lib/dosync/backups`)
    .action(async (flags: BackupsFlags) => {
      process.exitCode = await (await run()).listAction(flags, write);
    });

  withFileOptions(backups.command('show'))
    .description('the changes since a backup, as a unified diff from the backup to the current file')
    .argument('<backup>', 'a backup name from `dosync backups list`, or its path')
    .addHelpText('after', `
Values of credential-looking variables (…PASSWORD, …TOKEN, …SECRET, …KEY) in .env files are shown as ***.
Examples:
  dosync backups show docker-compose.yml.20240102T030405678Z.bak -f docker-compose.yml
  dosync backups show backups/.env.20240102T030405678Z.bak -f docker-compose.yml | less`)
    .action(async (backup: string, flags: BackupsFlags) => {
      process.exitCode = await (await run()).showAction(backup, flags, write);
    });

  withFileOptions(backups.command('restore'))
    .description('put a whole backup back in place of its file (atomically, after backing up the current content)')
    .argument('<backup>', 'a backup name from `dosync backups list`, or its path')
    .option('--keep-backups <n>', 'backups kept per file (default 10; env DOSYNC_KEEP_BACKUPS); the restored one is always kept')
    .option('--dry-run', 'print the diff the restore would apply, write nothing')
    .addHelpText('after', `
This restores the file only; run \`docker compose up -d\` to apply it. To move services back to older images
and keep other edits (with the health gate), use \`dosync rollback --to BACKUP\` instead.
Examples:
  dosync backups restore docker-compose.yml.20240102T030405678Z.bak -f docker-compose.yml --dry-run
  dosync backups restore docker-compose.yml.20240102T030405678Z.bak -f docker-compose.yml && docker compose up -d`)
    .action(async (backup: string, flags: BackupsFlags) => {
      process.exitCode = await (await run()).restoreAction(backup, flags, write);
    });
}
