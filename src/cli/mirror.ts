import { LOG_FORMAT_CHOICES, LOG_FORMAT_HELP } from './common.js';
import { Command, Option } from 'commander';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { ConfigError } from '../util/errors.js';
import { envFlag, envValue } from './env-defaults.js';
import type { MirrorConfig } from '../mirror/index.js';

interface MirrorFlags {
  config?: string; source?: string; target?: string; tags?: string; exclude?: string[]; latest?: string; maxAge?: string; platform?: string[];
  once?: boolean; dryRun?: boolean; verbose?: boolean; interval?: string; schedule?: string; parallel?: string; maxErrors?: string;
  chunkSize?: string; insecureRegistry?: string[]; listen?: string; logFormat?: string;
  purge?: boolean; purgeMax?: string; referrers?: boolean; state?: string;
}

const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

export function registerMirrorCommand(program: Command): void {
  program
    .command('mirror')
    .description('keep images in sync between registries through the registry API (no Docker daemon): once, or as a daemon')
    .option('-c, --config <path>', 'mirror.yaml with tasks (env DOSYNC_MIRROR_CONFIG)')
    .option('--source <repository>', 'one-shot: source repository, e.g. docker.io/library/nginx')
    .option('--target <repository>', 'one-shot: target repository, e.g. registry.example.com/mirror/nginx')
    .option('--tags <list>', "one-shot: comma-separated tags, globs ('1.27.*'), semver:<range> or regex:<re> (default: every tag)")
    .option('--exclude <regex>', 'one-shot: drop tags matching this (repeatable)', collect)
    .option('--latest <n>', 'one-shot: keep only the newest N of the selected tags')
    .option('--max-age <duration>', 'one-shot: only tags pushed within this time, e.g. 90d')
    .option('--platform <list>', 'one-shot: copy only these platforms (linux/amd64,linux/arm64); default all, digests preserved', collect)
    .option('--interval <duration>', 'one-shot daemon: time between cycles (default 1h)')
    .option('--schedule <cron>', "one-shot daemon: cron schedule instead of an interval, e.g. '0 3 * * *'")
    .option('--parallel <n>', 'one-shot: tags copied at once (default 4)')
    .option('--max-errors <n>', 'one-shot: failures after which a cycle stops and dosync exits 1 (default 5)')
    .option('--chunk-size <size>', 'one-shot: upload blobs in PATCH chunks of this size (e.g. 8MiB) instead of one PUT')
    .option('--purge', 'one-shot: delete target tags the source no longer has or the filter no longer selects')
    .option('--purge-max <cap>', 'one-shot: refuse a purge deleting more than this share or number of tags (default 10%)')
    .option('--no-referrers', 'one-shot: do not copy signatures, SBOMs and attestations attached to the images')
    .option('--state <file>', 'where blob locations and upload sessions are kept across runs (env DOSYNC_MIRROR_STATE; default ~/.local/state/dosync/mirror-state.json)')
    .option('--once', 'run one cycle of every task and exit: 0 = all copied or up to date, 1 = something failed')
    .option('--dry-run', 'show what would be copied (reads only; implies --once)')
    .option('--insecure-registry <host>', 'reach this registry over plain http (loopback hosts always are; repeatable)', collect)
    .option('--listen <host:port>', 'daemon: serve Prometheus metrics at /metrics (env DOSYNC_MIRROR_LISTEN)')
    .option('-v, --verbose', 'debug logging (env DOSYNC_VERBOSE or VERBOSE)')
    .addOption(new Option('--log-format <format>', LOG_FORMAT_HELP).choices(LOG_FORMAT_CHOICES))
    .addHelpText('after', `
Examples:
  dosync mirror --source docker.io/library/nginx --target registry.example.com/mirror/nginx --tags '1.27.*' --once
  dosync mirror -c mirror.yaml               daemon: every task on its interval or cron schedule
  dosync mirror -c mirror.yaml --dry-run     what would be copied`)
    .action(async (flags: MirrorFlags) => {
      process.exitCode = await mirrorAction(flags);
    });
}

/** The XDG state directory (`$XDG_STATE_HOME`, else ~/.local/state), as the spec puts it for data that outlives a run. */
function defaultStatePath(env: NodeJS.ProcessEnv): string {
  const base = envValue(env, 'XDG_STATE_HOME') ?? join(homedir(), '.local', 'state');
  return join(base, 'dosync', 'mirror-state.json');
}

function count(value: string | undefined, flag: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new ConfigError(`${flag}: "${value}" is not a whole number of at least ${min}`);
  return n;
}

async function mirrorAction(flags: MirrorFlags): Promise<number> {
  // Loaded when the command runs: the mirror engine and pino stay out of every other command's startup.
  const [{ createLogger, parseLogFormat }, { mirrorCommand, oneShotTask, parseMirrorConfig }] = await Promise.all([import('../util/logger.js'), import('../mirror/index.js')]);
  const env = process.env;
  const verbose = flags.verbose ?? envFlag(env, 'DOSYNC_VERBOSE', 'VERBOSE') ?? false;
  const format = flags.logFormat !== undefined ? parseLogFormat(flags.logFormat, '--log-format') : parseLogFormat(envValue(env, 'DOSYNC_LOG_FORMAT'));
  const logger = createLogger({ verbose, format });
  const configFile = flags.config ?? (flags.source === undefined && flags.target === undefined ? envValue(env, 'DOSYNC_MIRROR_CONFIG') : undefined);
  const oneShot = flags.source !== undefined || flags.target !== undefined;
  let config: MirrorConfig;
  let configPath: string | undefined;
  if (configFile !== undefined && oneShot) throw new ConfigError('give either -c mirror.yaml or --source/--target, not both');
  if (configFile !== undefined) {
    const stray = (['tags', 'latest', 'maxAge', 'interval', 'schedule', 'parallel', 'maxErrors', 'chunkSize', 'purge', 'purgeMax'] as const).filter((k) => flags[k] !== undefined);
    if (stray.length > 0 || flags.exclude !== undefined || flags.platform !== undefined || flags.referrers === false) throw new ConfigError('--tags, --exclude, --platform and the other one-shot flags go with --source/--target; with -c set them in the file');
  }
  if (configFile !== undefined) {
    configPath = resolve(configFile);
    const text = await readFile(configPath, 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw new ConfigError(`cannot read ${configFile}: ${err.code === 'ENOENT' ? 'no such file' : err.message}; fix -c/--config`);
    });
    config = parseMirrorConfig(text, configFile, env);
  } else if (oneShot) {
    if (flags.source === undefined || flags.target === undefined) throw new ConfigError('--source and --target go together');
    config = {
      tasks: [oneShotTask({
        source: flags.source, target: flags.target, tags: flags.tags, exclude: flags.exclude, latest: count(flags.latest, '--latest', 1),
        maxAge: flags.maxAge, platforms: flags.platform, parallel: count(flags.parallel, '--parallel', 1), maxErrors: count(flags.maxErrors, '--max-errors', 1),
        chunkSize: flags.chunkSize, interval: flags.interval, schedule: flags.schedule, purge: flags.purge, purgeMax: flags.purgeMax, referrers: flags.referrers,
      })],
    };
  } else {
    throw new ConfigError('nothing to mirror: pass -c mirror.yaml, or --source and --target');
  }

  const controller = new AbortController();
  const stop = (sig: string) => {
    if (controller.signal.aborted) {
      logger.warn(`${sig} again: exiting now`);
      process.exit(130);
    }
    logger.info(`${sig} received: finishing the copies under way, then exiting`);
    controller.abort();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  const stateFlag = flags.state ?? envValue(env, 'DOSYNC_MIRROR_STATE');
  const statePath = stateFlag !== undefined
    ? resolve(stateFlag)
    : config.state !== undefined
      ? resolve(dirname(configPath ?? '.'), config.state)
      : defaultStatePath(env);
  return mirrorCommand({
    config, configPath, env, logger, statePath, once: flags.once ?? false, dryRun: flags.dryRun ?? false,
    insecureRegistries: flags.insecureRegistry, listen: flags.listen ?? envValue(env, 'DOSYNC_MIRROR_LISTEN'), signal: controller.signal,
  });
}
