import type { Command } from 'commander';
import { hostname } from 'node:os';
import { UserError } from '../util/errors.js';
import { parseDuration } from '../util/duration.js';
import { assessHeartbeat, heartbeatFile, instanceHeartbeatFile, processIsAlive, readHeartbeat, HEARTBEAT_FILE_ENV } from '../sync/heartbeat.js';

interface HealthFlags {
  heartbeatFile?: string;
  stateDir?: string;
  file: string[];
  config?: string;
  all?: boolean;
  maxAge?: string;
  url?: string;
}

export interface HealthDeps {
  write?: (text: string) => void;
  now?: () => number;
}

/** `dosync health`: the container HEALTHCHECK. Exit 0 when the daemon's last cycle is recent, 1 otherwise. */
export function registerHealthCommand(program: Command, deps: HealthDeps = {}): void {
  const write = deps.write ?? ((t: string) => void process.stdout.write(t));
  program
    .command('health')
    .description("exit 0 when the daemon is alive and its last cycle is recent (for HEALTHCHECK), 1 otherwise")
    .option('--heartbeat-file <path>', `the daemon's heartbeat file (env ${HEARTBEAT_FILE_ENV}; default: heartbeat.json in the daemon's state dir, found from the options below as sync finds it; without any, ${heartbeatFile({})})`)
    .option('--state-dir <dir>', 'the daemon\'s state dir (env DOSYNC_STATE_DIR)')
    .option('-f, --file <path>', 'the daemon\'s compose file, whose state dir is the default (env DOSYNC_FILE)', (v: string, p: string[]) => [...p, v], [])
    .option('-c, --config <path>', 'the daemon\'s dosync.yaml, for state_dir (env DOSYNC_CONFIG)')
    .option('--all', 'the whole-host daemon (sync --all)')
    .option('--max-age <duration>', 'oldest acceptable heartbeat (default: 2 x the daemon interval + 5m)')
    .option('--url <url>', "ask the HTTP API's /healthz instead (daemon started with --listen)")
    .addHelpText('after', `
Examples:
  dosync health                                         what the image's HEALTHCHECK runs
  dosync health --max-age 20m
  dosync health --heartbeat-file /var/lib/dosync/heartbeat.json
  dosync health -f docker-compose.yml                   the daemon of that stack (heartbeat.json in its state dir)
  dosync health --all                                   the whole-host daemon
  dosync health --url http://127.0.0.1:8080/healthz`)
    .action(async (flags: HealthFlags) => {
      const maxAgeMs = flags.maxAge !== undefined ? parseDuration(flags.maxAge, '--max-age') : undefined;
      const message = flags.url ? await checkUrl(flags.url) : await checkHeartbeat(flags.heartbeatFile ?? await ownHeartbeat(flags), maxAgeMs, deps.now?.() ?? Date.now());
      write(`${message}\n`);
    });
}

/**
 * The heartbeat of the daemon these options describe: DOSYNC_HEARTBEAT_FILE, else heartbeat.json in its state
 * dir (resolved as sync resolves it), else the legacy default (a container's own /tmp, which its daemon also writes).
 */
async function ownHeartbeat(flags: HealthFlags): Promise<string> {
  const env = process.env;
  if (env[HEARTBEAT_FILE_ENV]) return heartbeatFile(env);
  const [{ loadConfigFile }, dirs, { envList, envValue }] = await Promise.all([import('../config/file.js'), import('../sync/dirs.js'), import('./env-defaults.js')]);
  const files = flags.file.length > 0 ? flags.file : envList(env, 'DOSYNC_FILE') ?? [];
  const explicit = dirs.explicitStateDir({ flags, env });
  const config = explicit ? {} : (await loadConfigFile(flags.config ?? envValue(env, 'DOSYNC_CONFIG'), env)).config;
  if (flags.all || (files.length === 0 && (explicit || config.state_dir || config.projects?.length))) return instanceHeartbeatFile(dirs.resolveHostStateDir({ flags, env, config }), env);
  if (files.length > 0) return instanceHeartbeatFile(dirs.resolveStateDir({ flags, env, config, files }), env);
  return heartbeatFile(env);
}

async function checkHeartbeat(file: string, maxAgeMs: number | undefined, now: number): Promise<string> {
  const result = assessHeartbeat(await readHeartbeat(file), { now, maxAgeMs, hostname: hostname(), isAlive: processIsAlive });
  if (!result.ok) throw new UserError(`unhealthy: ${result.message} (${file})`);
  return result.message;
}

async function checkUrl(url: string): Promise<string> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  } catch (err) {
    throw new UserError(`unhealthy: ${url} did not answer (${(err as Error).message})`);
  }
  const body = (await res.text()).trim().slice(0, 200);
  if (!res.ok) throw new UserError(`unhealthy: ${url} answered ${res.status} ${body}`);
  return `healthy: ${url} answered ${res.status} ${body}`;
}
