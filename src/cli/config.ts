import type { Command } from 'commander';

export interface ConfigFlags {
  config?: string;
  envFile?: string;
  /** `config print --project NAME`: with that project's own dosync.yaml (next to its compose file) on top. */
  project?: string;
  stateDir?: string;
}

function withConfigOptions(cmd: Command): Command {
  return cmd
    .option('-c, --config <path>', 'dosync.yaml (default: ./dosync.yaml, ./dosync.yml, /etc/dosync/dosync.yaml; env DOSYNC_CONFIG)')
    .option('-e, --env-file <path>', '.env file the ${VAR}s in dosync.yaml expand from, besides the environment (env DOSYNC_ENV_FILE)');
}

/** `dosync config validate|print`. */
export function registerConfigCommand(program: Command, write: (text: string) => void = (t) => void process.stdout.write(t), writeErr: (text: string) => void = (t) => void process.stderr.write(t)): void {
  const config = program
    .command('config')
    .description('check dosync.yaml, or print the configuration dosync would run with')
    .addHelpText('after', `
Examples:
  dosync config validate -c /etc/dosync/dosync.yaml
  dosync config print -e /etc/dosync/dosync.env`);
  const run = async () => import('./config-run.js');

  withConfigOptions(config.command('validate'))
    .description('report every problem in dosync.yaml, one line each (file:line: field: what to do); exit 0 if valid, 2 if not')
    .addHelpText('after', `
Checks what \`dosync sync\` checks at start-up: YAML syntax, known keys and types, durations, the registry
section, image policies, time zone, maintenance windows, schedule, notification URLs and the listen address.
Warnings (unknown registry keys, unset \${VAR}s) go to stderr and do not fail the check.
Examples:
  dosync config validate                       ./dosync.yaml (or /etc/dosync/dosync.yaml)
  dosync config validate -c ops/dosync.yaml -e .env && echo ok`)
    .action(async (flags: ConfigFlags) => {
      process.exitCode = await (await run()).validateAction(flags, write, writeErr);
    });

  withConfigOptions(config.command('print'))
    .option('--project <name>', 'a project of a whole-host dosync: its own dosync.yaml (next to its compose file) applied on top, and its state dir')
    .option('--state-dir <dir>', 'with --project: the whole-host state dir (env DOSYNC_STATE_DIR)')
    .description('print the effective configuration as YAML: ${VAR}s expanded, DOSYNC_* environment and defaults applied, secrets as ***')
    .addHelpText('after', `
Each top-level key is commented with where its value comes from (dosync.yaml, an environment variable or the
default). Passwords, tokens, secret keys and notification URLs are masked; command-line flags of
\`dosync sync\` still override what is printed.
Examples:
  dosync config print
  dosync config print --project shop            what the whole-host daemon applies to project shop
  DOSYNC_INTERVAL=1m dosync config print -c /etc/dosync/dosync.yaml -e /etc/dosync/dosync.env`)
    .action(async (flags: ConfigFlags) => {
      process.exitCode = await (await run()).printAction(flags, write, writeErr);
    });
}
