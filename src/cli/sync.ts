import { Command, Option } from 'commander';
import { dirname, resolve } from 'node:path';
import { ConfigError } from '../util/errors.js';
import { parseDuration } from '../util/duration.js';
import { envFlag, envValue } from './env-defaults.js';
import { collect, stackInputs } from './common.js';
import { createDocker } from '../engine/docker.js';
import { runCycle, loadStack, stackEnvFiles, type CycleSettings } from '../sync/cycle.js';
import { StateStore, defaultStatePath, resolveStateDir } from '../sync/state.js';
import { acquireLock } from '../sync/lock.js';
import { defaultProjectName } from '../engine/project.js';
import { runDaemon } from '../sync/daemon.js';
import { createRegistryRuntime } from './registry-runtime.js';

const DEFAULT_INTERVAL = '5m';

interface SyncFlags {
  file: string[]; envFile?: string; config?: string; interval?: string; verbose?: boolean; once?: boolean; dryRun?: boolean;
  backupDir?: string; stateDir?: string; keepBackups?: string; prune: boolean; rollingUpdate?: boolean; projectName?: string; healthTimeout?: string; healthStable?: string; logFormat?: string;
}


export function registerSyncCommand(program: Command): void {
  program
    .command('sync')
    .description('check the registries and update the stack: every --interval, or once with --once')
    .option('-f, --file <path>', 'compose file (repeat for override files; env DOSYNC_FILE)', collect, [])
    .option('-e, --env-file <path>', '.env file with registry credentials and variables (env DOSYNC_ENV_FILE)')
    .option('-c, --config <path>', 'dosync.yaml (default: ./dosync.yaml, /etc/dosync/dosync.yaml; env DOSYNC_CONFIG)')
    .option('-i, --interval <duration>', `time between checks, e.g. 30s, 5m, 1h (env DOSYNC_INTERVAL or CHECK_INTERVAL; default ${DEFAULT_INTERVAL})`)
    .option('-v, --verbose', 'debug logging (env DOSYNC_VERBOSE or VERBOSE)')
    .option('--once', 'run one cycle and exit: 0 = nothing failed, 1 = a service failed, 2 = usage/config error')
    .option('--dry-run', 'show what would change, touch nothing (env DOSYNC_DRY_RUN)')
    .option('--backup-dir <dir>', 'where compose backups go (default: backups/ next to the compose file; env DOSYNC_BACKUP_DIR)')
    .option('--keep-backups <n>', 'backups kept per file (default 10)')
    .option('--state-dir <dir>', 'state file and lock (default: the backup dir; env DOSYNC_STATE_DIR)')
    .option('--no-prune', 'keep the images an update replaced')
    .option('--rolling-update', 'replace scaled services side by side, without downtime (per service: label dosync.rollout=rolling; env DOSYNC_ROLLING_UPDATE)')
    .option('-p, --project-name <name>', 'Compose project name (default: from the running containers; env DOSYNC_PROJECT)')
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
      process.exitCode = await syncAction(flags);
    });
}

async function syncAction(flags: SyncFlags): Promise<number> {
  const env = process.env;
  const { files, envFile, configEnv, config, configPath, logger, projectName: explicitProject } = await stackInputs(flags);
  const intervalText = flags.interval ?? envValue(env, 'DOSYNC_INTERVAL', 'CHECK_INTERVAL');
  const intervalMs = intervalText ? parseDuration(intervalText, '--interval') : config.interval ?? parseDuration(DEFAULT_INTERVAL);
  const keep = flags.keepBackups ?? envValue(env, 'DOSYNC_KEEP_BACKUPS');
  const keepBackups = keep !== undefined ? Number(keep) : config.keep_backups ?? 10;
  if (!Number.isInteger(keepBackups) || keepBackups < 1) throw new ConfigError(`--keep-backups: "${keep}" is not a whole number of at least 1`);
  const backupDir = flags.backupDir ?? envValue(env, 'DOSYNC_BACKUP_DIR') ?? config.backup_dir;
  const settings: CycleSettings = {
    files,
    envFile,
    configPath,
    config,
    dryRun: flags.dryRun ?? envFlag(env, 'DOSYNC_DRY_RUN') ?? false,
    backupDir: backupDir ? resolve(backupDir) : undefined,
    keepBackups,
    health: {
      timeoutMs: flags.healthTimeout ? parseDuration(flags.healthTimeout, '--health-timeout') : config.health?.timeout ?? 120_000,
      stableMs: flags.healthStable ? parseDuration(flags.healthStable, '--health-stable') : config.health?.stable ?? 10_000,
    },
    prune: flags.prune && config.prune !== false,
    rolling: flags.rollingUpdate ?? envFlag(env, 'DOSYNC_ROLLING_UPDATE') ?? false,
    projectName: explicitProject,
  };
  // Read the stack once up front: a bad compose file is a startup error, and it names the project to lock.
  const { stack } = await loadStack(settings.files, await stackEnvFiles(settings.files, envFile));
  const projectName = settings.projectName ?? stack.projectName ?? defaultProjectName(dirname(settings.files[0]));
  const stateDir = resolveStateDir({ stateDir: flags.stateDir ?? envValue(env, 'DOSYNC_STATE_DIR') ?? config.state_dir, backupDir: settings.backupDir, files: settings.files });
  const state = await StateStore.open(defaultStatePath(stateDir));
  for (const w of state.warnings) logger.warn(w);
  if (!settings.dryRun) {
    // A dry run only reads, so it may run next to the daemon; anything that writes holds the project's lock.
    const lock = await acquireLock(stateDir, projectName);
    for (const w of lock.warnings) logger.warn(w);
  }
  const registry = await createRegistryRuntime(config, configEnv, logger, configPath);
  const docker = createDocker();
  const controller = new AbortController();
  const deps = { docker, logger, state, stopping: () => controller.signal.aborted, ...registry };

  if (flags.once) {
    const report = await runCycle(settings, deps);
    return report.failures > 0 ? 1 : 0;
  }
  const stop = (sig: string) => {
    if (controller.signal.aborted) { logger.warn(`${sig} again: exiting now`); process.exit(130); }
    logger.info(`${sig} received: finishing the current step, then exiting`);
    controller.abort();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  await runDaemon({ intervalMs, logger, signal: controller.signal, cycle: () => runCycle(settings, deps) });
  return 0;
}
