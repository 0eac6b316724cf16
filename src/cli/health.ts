import type { Command } from 'commander';
import { hostname } from 'node:os';
import { UserError } from '../util/errors.js';
import { parseDuration } from '../util/duration.js';
import { assessHeartbeat, heartbeatFile, processIsAlive, readHeartbeat, HEARTBEAT_FILE_ENV } from '../sync/heartbeat.js';

interface HealthFlags {
  heartbeatFile?: string;
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
    .option('--heartbeat-file <path>', `the daemon's heartbeat file (env ${HEARTBEAT_FILE_ENV}; default ${heartbeatFile({})})`)
    .option('--max-age <duration>', 'oldest acceptable heartbeat (default: 2 x the daemon interval + 5m)')
    .option('--url <url>', "ask the HTTP API's /healthz instead (daemon started with --listen)")
    .addHelpText('after', `
Examples:
  dosync health                                         what the image's HEALTHCHECK runs
  dosync health --max-age 20m
  dosync health --heartbeat-file /var/lib/dosync/heartbeat.json
  dosync health --url http://127.0.0.1:8080/healthz`)
    .action(async (flags: HealthFlags) => {
      const maxAgeMs = flags.maxAge !== undefined ? parseDuration(flags.maxAge, '--max-age') : undefined;
      const message = flags.url ? await checkUrl(flags.url) : await checkHeartbeat(flags.heartbeatFile ?? heartbeatFile(), maxAgeMs, deps.now?.() ?? Date.now());
      write(`${message}\n`);
    });
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
