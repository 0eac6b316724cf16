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
  stack?: string;
}

export interface StackInputs {
  files: string[];
  envFile?: string;
  /** The environment dosync.yaml's ${VAR}s expand from: the -e file, overridden by the process env. */
  configEnv: Record<string, string | undefined>;
  config: ConfigFile;
  configPath?: string;
  logger: Logger;
  projectName?: string;
  /** --stack: the files are a Swarm stack of this name (the engine must be a swarm manager). */
  stack?: string;
}

export const collect = (value: string, previous: string[]) => [...previous, value];

/** Declares the StackFlags options, so every stack command spells and documents them the same way. */
export function addStackOptions(command: Command): Command {
  return command
    .option('-f, --file <path>', 'compose file (repeat for override files; env DOSYNC_FILE)', collect, [])
    .option('-e, --env-file <path>', '.env file with registry credentials and variables (env DOSYNC_ENV_FILE)')
    .option('-c, --config <path>', 'dosync.yaml (default: ./dosync.yaml, /etc/dosync/dosync.yaml; env DOSYNC_CONFIG)')
    .option('-p, --project-name <name>', 'Compose project name (default: from the running containers; env DOSYNC_PROJECT)')
    .option('--stack <name>', 'the file is a Swarm stack deployed under this name (`docker stack deploy`); services are updated through the swarm (env DOSYNC_STACK)')
    .option('-v, --verbose', 'debug logging (env DOSYNC_VERBOSE or VERBOSE)');
}

/** Resolves the shared flags (each with its DOSYNC_* variable) and loads dosync.yaml. */
export async function stackInputs(flags: StackFlags, loggerDestination?: NodeJS.WritableStream): Promise<StackInputs> {
  // Loaded here, not at the top: registering commands must not pull in pino, zod and yaml (startup time).
  const [{ createLogger }, { loadConfigFile }] = await Promise.all([import('../util/logger.js'), import('../config/file.js')]);
  const env = process.env;
  const files = flags.file.length > 0 ? flags.file : envList(env, 'DOSYNC_FILE') ?? [];
  if (files.length === 0) throw new ConfigError('no compose file given; pass -f docker-compose.yml (or set DOSYNC_FILE)');
  const verbose = flags.verbose ?? envFlag(env, 'DOSYNC_VERBOSE', 'VERBOSE') ?? false;
  const logFormat = flags.logFormat ?? envValue(env, 'DOSYNC_LOG_FORMAT');
  const logger = createLogger({ verbose, json: logFormat === 'json' ? true : logFormat === 'pretty' ? false : undefined, destination: loggerDestination });
  const envFile = flags.envFile ?? envValue(env, 'DOSYNC_ENV_FILE');
  // Credentials in the -e file feed ${VAR} in dosync.yaml too, as in DOSync.
  const fileEnv = envFile ? await import('./env-file.js').then((m) => m.readEnvFile(envFile)) : {};
  const configEnv = { ...fileEnv, ...env };
  const { path: configPath, config } = await loadConfigFile(flags.config ?? envValue(env, 'DOSYNC_CONFIG'), configEnv);
  const stack = flags.stack ?? envValue(env, 'DOSYNC_STACK');
  if (stack !== undefined && !/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(stack)) throw new ConfigError(`--stack: "${stack}" is not a stack name (letters, digits, _ . -)`);
  const projectName = flags.projectName ?? envValue(env, 'DOSYNC_PROJECT');
  if (stack && projectName && projectName !== stack) throw new ConfigError(`--stack ${stack} and --project-name ${projectName} disagree; a stack's project is its name: drop one`);
  return { files: files.map((f) => resolve(f)), envFile, configEnv, config, configPath, logger, projectName: stack ?? projectName, stack };
}
