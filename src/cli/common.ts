import { resolve } from 'node:path';
import type { Command } from 'commander';
import { ConfigError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import { envFlag, envList, envValue } from './env-defaults.js';
import type { ConfigFile } from '../config/file.js';

/** Flags every stack command shares (sync, check, ...). */
export interface StackFlags {
  file: string[];
  envFile?: string;
  config?: string;
  verbose?: boolean;
  logFormat?: string;
  projectName?: string;
  /** Whole host: every compose project the engine runs (`--all`). */
  all?: boolean;
  excludeProject?: string[];
  projectsRoot?: string;
  /** A project of a whole-host dosync: its files from the engine (or `projects:`), its own state and backup dirs. */
  project?: string;
  stateDir?: string;
  backupDir?: string;
  stack?: string;
}

export interface StackInputs {
  files: string[];
  envFile?: string | string[];
  /** The environment dosync.yaml's ${VAR}s expand from: the -e file, overridden by the process env. */
  configEnv: Record<string, string | undefined>;
  config: ConfigFile;
  configPath?: string;
  logger: Logger;
  projectName?: string;
  /** Set with --project: the per-project dirs the whole-host dosync uses (they replace --state-dir/--backup-dir). */
  dirs?: { stateDir: string; backupDir: string };
  /** --stack: the files are a Swarm stack of this name (the engine must be a swarm manager). */
  stack?: string;
}

export const collect = (value: string, previous: string[]) => [...previous, value];

/** `--log-format`, spelled and documented once for every command that logs. */
export const LOG_FORMAT_HELP = 'log output: json, pretty (one line per event; NO_COLOR/FORCE_COLOR respected) or logfmt (default: pretty on a TTY, json otherwise; env DOSYNC_LOG_FORMAT)';
export const LOG_FORMAT_CHOICES = ['json', 'pretty', 'logfmt'];

/** Declares the StackFlags options, so every stack command spells and documents them the same way. */
export function addStackOptions(command: Command): Command {
  return command
    .option('-f, --file <path>', 'compose file (repeat for override files; env DOSYNC_FILE)', collect, [])
    .option('-e, --env-file <path>', '.env file with registry credentials and variables (env DOSYNC_ENV_FILE)')
    .option('-c, --config <path>', 'dosync.yaml (default: ./dosync.yaml, /etc/dosync/dosync.yaml; env DOSYNC_CONFIG)')
    .option('-p, --project-name <name>', 'Compose project name (default: from the running containers; env DOSYNC_PROJECT)')
    .option('--project <name>', 'a project of a whole-host dosync (sync --all): its files and its own state, found like the daemon finds them; no -f needed')
    .option('--stack <name>', 'the file is a Swarm stack deployed under this name (`docker stack deploy`); services are updated through the swarm (env DOSYNC_STACK)')
    .option('-v, --verbose', 'debug logging (env DOSYNC_VERBOSE or VERBOSE)');
}

/** The whole-host flags of `sync` and `check`. */
export function addHostOptions(command: Command): Command {
  return command
    .option('--all', 'every compose project the engine runs (found from the containers\' labels), each with its own state; no -f needed')
    .option('--exclude-project <name>', 'with --all or a projects: list: leave this project alone (repeatable; env DOSYNC_EXCLUDE_PROJECTS, comma-separated)', collect, [])
    .option('--projects-root <dir>', 'with --all: only projects whose directory is under this one (env DOSYNC_PROJECTS_ROOT; dosync.yaml projects_root)');
}

/** Whole-host mode: `--all`, or a `projects:` list in dosync.yaml with no -f given. */
export function isHostMode(flags: StackFlags, inputs: Pick<StackInputs, 'files' | 'config'>): boolean {
  return flags.all === true || (inputs.files.length === 0 && (inputs.config.projects?.length ?? 0) > 0);
}

/** Resolves the shared flags (each with its DOSYNC_* variable) and loads dosync.yaml. */
export async function stackInputs(flags: StackFlags, loggerDestination?: NodeJS.WritableStream): Promise<StackInputs> {
  // Loaded here, not at the top: registering commands must not pull in pino, zod and yaml (startup time).
  const [{ createLogger, parseLogFormat }, { loadConfigFile }] = await Promise.all([import('../util/logger.js'), import('../config/file.js')]);
  const env = process.env;
  const files = [...(flags.file.length > 0 ? flags.file : envList(env, 'DOSYNC_FILE') ?? [])];
  if (flags.all && flags.file.length > 0) throw new ConfigError('--all and -f both given; --all finds every project itself (use --exclude-project to leave some out), -f names one');
  // With --all, DOSYNC_FILE (a unit's one stack) is not this run's file list.
  if (flags.all) files.length = 0;
  const verbose = flags.verbose ?? envFlag(env, 'DOSYNC_VERBOSE', 'VERBOSE') ?? false;
  const format = flags.logFormat !== undefined ? parseLogFormat(flags.logFormat, '--log-format') : parseLogFormat(envValue(env, 'DOSYNC_LOG_FORMAT'));
  const logger = createLogger({ verbose, format, destination: loggerDestination });
  const envFile = flags.envFile ?? envValue(env, 'DOSYNC_ENV_FILE');
  // Credentials in the -e file feed ${VAR} in dosync.yaml too, as in DOSync.
  const fileEnv = envFile ? await import('./env-file.js').then((m) => m.readEnvFile(envFile)) : {};
  const configEnv = { ...fileEnv, ...env };
  const { path: configPath, config } = await loadConfigFile(flags.config ?? envValue(env, 'DOSYNC_CONFIG'), configEnv);
  if (flags.project) {
    if (flags.all) throw new ConfigError('--all and --project both given; --project NAME runs one project of the host, --all every one');
    if (files.length > 0 && flags.file.length > 0) throw new ConfigError('--project and -f both given; --project finds the project\'s files itself');
    const target = await import('../projects/target.js').then((m) => m.findProject(flags.project!, { config, configPath, env, flags }));
    return { files: target.files, envFile: envFile ?? target.envFile, configEnv, config, configPath, logger, projectName: target.name, dirs: { stateDir: target.stateDir, backupDir: target.backupDir }, ...(target.stack ? { stack: target.stack } : {}) };
  }
  if (files.length === 0 && !flags.all && !(config.projects?.length)) throw new ConfigError('no compose file given; pass -f docker-compose.yml (or set DOSYNC_FILE), --all for every project on the host, or list projects: in dosync.yaml');
  const stack = flags.stack ?? envValue(env, 'DOSYNC_STACK');
  if (stack !== undefined && !/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(stack)) throw new ConfigError(`--stack: "${stack}" is not a stack name (letters, digits, _ . -)`);
  if (stack && flags.all) throw new ConfigError('--stack and --all both given; --stack NAME updates one swarm stack from its file');
  const projectName = flags.projectName ?? envValue(env, 'DOSYNC_PROJECT');
  if (stack && projectName && projectName !== stack) throw new ConfigError(`--stack ${stack} and --project-name ${projectName} disagree; a stack's project is its name: drop one`);
  return { files: files.map((f) => resolve(f)), envFile, configEnv, config, configPath, logger, projectName: stack ?? projectName, stack };
}
