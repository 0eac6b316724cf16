import { Option, type Command } from 'commander';
import { addStackOptions, collect } from './common.js';

export const DEFAULT_INTERVAL = '5m';

export interface SyncFlags {
  file: string[]; envFile?: string; config?: string; interval?: string; verbose?: boolean; once?: boolean; dryRun?: boolean;
  backupDir?: string; stateDir?: string; keepBackups?: string; prune: boolean;
  /** `dosync update SERVICE --to TAG` runs one cycle for that unit only. */
  forced?: { service: string; tag: string }; rollingUpdate?: boolean; checkOnly?: boolean; schedule?: string; jitter?: string; notify: string[]; listen?: string; apiToken?: string; projectName?: string; healthTimeout?: string; healthStable?: string; logFormat?: string;
  approve?: 'auto' | 'manual';
}

export function registerSyncCommand(program: Command): void {
  addStackOptions(program.command('sync'))
    .description('check the registries and update the stack: every --interval, or once with --once')
    .option('-i, --interval <duration>', `time between checks, e.g. 30s, 5m, 1h (env DOSYNC_INTERVAL or CHECK_INTERVAL; default ${DEFAULT_INTERVAL})`)
    .option('--once', 'run one cycle and exit: 0 = nothing failed, 1 = a service failed, 2 = usage/config error')
    .option('--dry-run', 'show what would change, touch nothing (env DOSYNC_DRY_RUN)')
    .option('--backup-dir <dir>', 'where compose backups go (default: backups/ next to the compose file; env DOSYNC_BACKUP_DIR)')
    .option('--keep-backups <n>', 'backups kept per file (default 10)')
    .option('--state-dir <dir>', 'state file and lock (default: dosync.yaml state_dir, else the backup dir; env DOSYNC_STATE_DIR)')
    .option('--no-prune', 'keep the images an update replaced')
    .option('--check-only', 'monitor mode: report (and notify) updates found, change nothing (env DOSYNC_CHECK_ONLY)')
    .addOption(new Option('--approve <mode>', 'manual: a found update waits for `dosync approve` or the dashboard (env DOSYNC_APPROVE; per service: label dosync.approve)').choices(['auto', 'manual']))
    .option('--schedule <cron>', 'run cycles on a cron schedule instead of an interval, e.g. "0 3 * * *" (env DOSYNC_SCHEDULE)')
    .option('--jitter <duration>', 'random extra delay of up to this much per cycle (env DOSYNC_JITTER)')
    .option('--notify <url>', 'notification channel URL: slack://, discord://, teams, ntfy://, gotify://, telegram://, smtp://, generic+https:// (repeatable; env DOSYNC_NOTIFY, comma-separated)', collect, [])
    .option('--listen <addr>', 'serve /metrics, /healthz and the API, e.g. 127.0.0.1:9180 (env DOSYNC_LISTEN)')
    .option('--api-token <token>', 'bearer token for the API and webhooks (env DOSYNC_API_TOKEN)')
    .option('--rolling-update', 'replace scaled services side by side, without downtime (per service: label dosync.rollout=rolling; env DOSYNC_ROLLING_UPDATE)')
    .option('--health-timeout <duration>', 'how long an updated service may take to become healthy (default 2m)')
    .option('--health-stable <duration>', 'without a HEALTHCHECK: how long it must keep running (default 10s)')
    .addOption(new Option('--log-format <format>', 'log output (default: pretty on a TTY, json otherwise)').choices(['json', 'pretty']))
    .addHelpText('after', `
Examples:
  dosync sync -f docker-compose.yml                      daemon: check every 5m, update, repeat
  dosync sync -f docker-compose.yml --once               one cycle; the exit code says what happened
  dosync sync -f docker-compose.yml --dry-run --once     show what would change, touch nothing
  dosync sync -f base.yml -f prod.yml -e .env -i 1m -v`)
    .action(async (flags: SyncFlags) => {
      process.exitCode = await (await import('./sync-run.js')).syncAction(flags);
    });
}
