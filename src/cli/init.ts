import type { Command } from 'commander';

/** Compose's own lookup order when no -f is given. */
export const COMPOSE_NAMES = ['compose.yaml', 'compose.yml', 'docker-compose.yaml', 'docker-compose.yml'];
export const DEFAULT_SIDECAR_IMAGE = 'dosync:latest';

export interface InitFlags {
  file?: string;
  envFile?: string;
  image: string;
  service: string;
  interval: string;
  configFile?: string;
  config: boolean;
  backupDir: string;
  dryRun?: boolean;
  /** Give the sidecar network_mode: host (for registries on the host's loopback). */
  networkHost?: boolean;
  /** `--host`: one sidecar for every project under --projects-root instead of a service in one stack. */
  host?: boolean;
  projectsRoot?: string;
}

export interface InitDeps {
  write?: (text: string) => void;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

export function registerInitCommand(program: Command, deps: InitDeps = {}): void {
  const write = deps.write ?? ((t: string) => void process.stdout.write(t));
  program
    .command('init')
    .description('add a dosync sidecar service to an existing compose file and write a commented dosync.yaml')
    .option('-f, --file <path>', `compose file (default: the first of ${COMPOSE_NAMES.join(', ')} here)`)
    .option('-e, --env-file <path>', "env file for the compose file's ${VAR}s (default: .env next to it, as compose does)")
    .option('--image <ref>', 'image of the dosync service (env DOSYNC_IMAGE)', (deps.env ?? process.env).DOSYNC_IMAGE || DEFAULT_SIDECAR_IMAGE)
    .option('--service <name>', 'name of the new service', 'dosync')
    .option('-i, --interval <duration>', 'CHECK_INTERVAL of the sidecar', '5m')
    .option('--config-file <path>', 'where dosync.yaml goes (default: next to the compose file); an existing one is kept')
    .option('--no-config', 'write no dosync.yaml and mount none')
    .option('--backup-dir <dir>', 'host directory for compose backups, relative to the compose file', './backups')
    .option('--network-host', "give the sidecar network_mode: host, so registries on this host's 127.0.0.1 are reachable from it")
    .option('--dry-run', 'print the changes as a diff, write nothing')
    .option('--host', 'write a compose file for one dosync sidecar for the whole host (sync --all) instead: the socket plus --projects-root mounted at the same path; -f names the file to write (default ./dosync-host.compose.yaml)')
    .option('--projects-root <dir>', 'with --host: the directory the compose projects live under (absolute)')
    .addHelpText('after', `
Examples:
  dosync init -f docker-compose.yml --dry-run           show the service and dosync.yaml it would add
  dosync init -f docker-compose.yml                     add them (the compose file is backed up first)
  dosync init -f compose.yaml --image registry.example.com/ops/dosync:0.1.0 -i 1m
  dosync init --host --projects-root /srv                one sidecar for every project under /srv
Then: docker compose -f docker-compose.yml up -d dosync`)
    .action(async (flags: InitFlags) => {
      if (flags.host) {
        const { initHostAction } = await import('./init-host.js');
        write(await initHostAction({ ...flags, configFile: flags.configFile }, deps.cwd ?? process.cwd()));
        return;
      }
      const { initAction } = await import('./init-run.js');
      write(await initAction(flags, deps.cwd ?? process.cwd(), deps.env ?? process.env));
    });
}

