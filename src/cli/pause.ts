import type { Command } from 'commander';
import { envList, envValue } from './env-defaults.js';

interface PauseFlags { stateDir?: string; backupDir?: string; file: string[]; config?: string; reason?: string; project?: string }

export interface PauseCommandDeps {
  write: (text: string) => void;
  env: NodeJS.ProcessEnv;
  now: () => Date;
}

const collect = (value: string, previous: string[]) => [...previous, value];

/** The state dir exactly as `dosync sync` finds it (src/sync/dirs.ts): flags, env, dosync.yaml, backups/ next to the compose file. */
async function stateDirOf(flags: PauseFlags, env: NodeJS.ProcessEnv): Promise<string> {
  const [{ loadConfigFile }, { explicitStateDir, resolveStateDir }] = await Promise.all([import('../config/file.js'), import('../sync/dirs.js')]);
  if (flags.project) {
    // A whole-host dosync keeps each project's pause flag in <state dir>/projects/<name>/.
    const config = explicitStateDir({ flags, env }) ? {} : (await loadConfigFile(flags.config ?? envValue(env, 'DOSYNC_CONFIG'), env)).config;
    return (await import('../projects/target.js')).projectDirs(flags.project, { flags, env, config }).stateDir;
  }
  const files = flags.file.length > 0 ? flags.file : envList(env, 'DOSYNC_FILE') ?? [];
  // The config is read only when it could decide: an explicit state dir needs no config file to exist.
  const config = explicitStateDir({ flags, env }) ? {} : (await loadConfigFile(flags.config ?? envValue(env, 'DOSYNC_CONFIG'), env)).config;
  return resolveStateDir({ flags, env, config, files });
}

function withDirOptions(cmd: Command): Command {
  return cmd
    .option('--state-dir <dir>', 'dosync state dir (env DOSYNC_STATE_DIR; default: dosync.yaml state_dir, else the backup dir)')
    .option('--backup-dir <dir>', 'the backup dir, when no --state-dir is given (env DOSYNC_BACKUP_DIR)')
    .option('-f, --file <path>', 'compose file, to find its default backups/ dir (env DOSYNC_FILE)', collect, [])
    .option('-c, --config <path>', 'dosync.yaml, for its state_dir and backup_dir (env DOSYNC_CONFIG)')
    .option('--project <name>', 'only this project of a whole-host dosync (sync --all); the others go on');
}

/** `dosync pause` / `dosync resume`: a flag file in the state dir that every dosync using that dir honours. */
export function registerPauseCommands(program: Command, deps: Partial<PauseCommandDeps> = {}): void {
  const write = deps.write ?? ((t: string) => process.stdout.write(t));
  const env = deps.env ?? process.env;
  const now = deps.now ?? (() => new Date());

  withDirOptions(program.command('pause'))
    .description('hold all updates (checks go on and report) until `dosync resume`')
    .option('--reason <text>', 'why, shown in logs and status')
    .action(async (flags: PauseFlags) => {
      const dir = await stateDirOf(flags, env);
      const { pause } = await import('../sync/schedule.js');
      const path = await pause(dir, { now: now(), reason: flags.reason });
      write(`updates paused (${path}); run \`dosync resume\` to let them through again\n`);
    });

  withDirOptions(program.command('resume'))
    .description('let updates through again after `dosync pause`')
    .action(async (flags: PauseFlags) => {
      const dir = await stateDirOf(flags, env);
      const { resume, isPaused } = await import('../sync/schedule.js');
      const removed = await resume(dir);
      write(removed ? `updates resumed (${dir})\n` : `updates were not paused in ${dir}\n`);
      const still = await isPaused(dir, env);
      if (still.paused && still.source === 'env') write(`note: ${still.variable} is set in this environment and still pauses a dosync started with it\n`);
    });
}
