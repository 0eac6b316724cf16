/** The work of `dosync backups list|show|restore`, loaded only when one of them runs. */
import { promises as fsp } from 'node:fs';
import { basename, relative, resolve } from 'node:path';
import { ConfigError, UserError } from '../util/errors.js';
import { envList, envValue } from './env-defaults.js';
import { readEnvFile } from './env-file.js';
import { loadConfigFile } from '../config/file.js';
import { stackEnvFiles } from '../sync/cycle.js';
import { resolveBackupDir } from '../sync/dirs.js';
import { keepBackupsOf, resolveSettings } from '../settings/index.js';
import { COMPOSE_NAMES } from './init.js';
import {
  backupDiff, backupDirFor, findBackup, imageVariables, listBackups, renderBackupTable, restoreBackup, summarizeChanges,
  type Backup, type StackFile,
} from '../compose/backups.js';
import type { BackupsFlags } from './backups.js';

interface Context {
  files: StackFile[];
  backupDir?: string;
  keepBackups: number;
}

async function readOptional(path: string): Promise<string | undefined> {
  return fsp.readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw new UserError(`cannot read ${path}: ${err.message}`);
  });
}

/** The stack's files as `dosync sync` would read them, and where their backups are. */
async function context(flags: BackupsFlags): Promise<Context> {
  const env = process.env;
  let files = flags.file.length > 0 ? flags.file : envList(env, 'DOSYNC_FILE') ?? [];
  let projectBackups: string | undefined;
  if (flags.project) {
    // A project of a whole-host dosync: its files from the engine, its backups under the state dir.
    const { config } = await loadConfigFile(flags.config ?? envValue(env, 'DOSYNC_CONFIG'), env);
    const target = await (await import('../projects/target.js')).findProject(flags.project, { config, env, flags });
    files = target.files;
    projectBackups = target.backupDir;
  }
  if (files.length === 0) {
    for (const name of COMPOSE_NAMES) {
      if (await fsp.access(name).then(() => true, () => false)) { files = [name]; break; }
    }
  }
  if (files.length === 0) throw new ConfigError(`no compose file given and none here (looked for ${COMPOSE_NAMES.join(', ')}); pass -f docker-compose.yml`);
  const envFile = flags.envFile ?? envValue(env, 'DOSYNC_ENV_FILE');
  const configEnv = { ...(envFile ? await readEnvFile(envFile) : {}), ...env };
  const { config } = await loadConfigFile(flags.config ?? envValue(env, 'DOSYNC_CONFIG'), configEnv);
  const keepBackups = keepBackupsOf(resolveSettings(flags, env, config));
  const backupDir = projectBackups ?? resolveBackupDir({ flags, env, config });
  const compose = files.map((f) => resolve(f));
  const envFiles = await stackEnvFiles(compose, envFile);
  return {
    files: [...compose.map((path) => ({ path, kind: 'compose' as const })), ...envFiles.map((path) => ({ path, kind: 'env' as const }))],
    backupDir,
    keepBackups,
  };
}

const shortPath = (p: string) => {
  const rel = relative(process.cwd(), p);
  return rel && !rel.startsWith('..') ? rel : p;
};

function noBackups(ctx: Context): string {
  const dirs = [...new Set(ctx.files.map((f) => backupDirFor(f.path, ctx.backupDir)))].map(shortPath);
  return `no backups of ${ctx.files.map((f) => basename(f.path)).join(', ')} in ${dirs.join(', ')} (dosync takes one before each change it makes)`;
}

export async function listAction(flags: BackupsFlags, write: (text: string) => void): Promise<number> {
  const ctx = await context(flags);
  const backups = await listBackups(ctx.files, ctx.backupDir);
  if (backups.length === 0) {
    write(`${noBackups(ctx)}\n`);
    return 0;
  }
  const current = new Map<string, string | undefined>();
  for (const f of ctx.files) current.set(f.path, await readOptional(f.path));
  const used = imageVariables(ctx.files.filter((f) => f.kind === 'compose').map((f) => current.get(f.path) ?? ''));
  const rows = await Promise.all(backups.map(async (b) => ({
    time: b.time, file: shortPath(b.target.path), size: b.size, name: b.name,
    changes: summarizeChanges(b.target.kind, await fsp.readFile(b.path, 'utf8'), current.get(b.target.path), used),
  })));
  write(`${renderBackupTable(rows)}\n`);
  return 0;
}

async function pick(arg: string, ctx: Context): Promise<{ backup: Backup; all: Backup[] }> {
  const all = await listBackups(ctx.files, ctx.backupDir);
  return { backup: await findBackup(arg, all, ctx.files), all };
}

export async function showAction(arg: string, flags: BackupsFlags, write: (text: string) => void): Promise<number> {
  const ctx = await context(flags);
  const { backup } = await pick(arg, ctx);
  const current = await readOptional(backup.target.path);
  if (current === undefined) throw new UserError(`${backup.target.path} does not exist any more; \`dosync backups restore ${backup.name}\` cannot restore over a missing file — copy ${backup.path} there`);
  const diff = backupDiff(backup.target.kind,
    { label: shortPath(backup.path), text: await fsp.readFile(backup.path, 'utf8'), role: 'backup' },
    { label: shortPath(backup.target.path), text: current, role: 'current' });
  write(diff === '' ? `${backup.name} is identical to ${shortPath(backup.target.path)}\n` : diff);
  return 0;
}

export async function restoreAction(arg: string, flags: BackupsFlags, write: (text: string) => void): Promise<number> {
  const ctx = await context(flags);
  const { backup, all } = await pick(arg, ctx);
  const target = shortPath(backup.target.path);
  if (flags.dryRun) {
    const current = await readOptional(backup.target.path) ?? '';
    // Shown in the direction it would be applied: from the file as it is to the backup.
    const diff = backupDiff(backup.target.kind,
      { label: target, text: current, role: 'current' },
      { label: shortPath(backup.path), text: await fsp.readFile(backup.path, 'utf8'), role: 'restored from backup' });
    write(diff === '' ? `${target} already equals ${backup.name}; nothing to restore\n` : `would restore ${target} from ${backup.name}:\n${diff}`);
    return 0;
  }
  const result = await restoreBackup(backup, all, { backupDir: ctx.backupDir, keep: ctx.keepBackups });
  if (result.unchanged) {
    write(`${target} already equals ${backup.name}; nothing to restore\n`);
    return 0;
  }
  const compose = ctx.files.filter((f) => f.kind === 'compose').map((f) => `-f ${shortPath(f.path)}`).join(' ');
  write(`restored ${target} from ${backup.name} (its previous content is in ${shortPath(result.backupPath)})\n`);
  write(`run \`docker compose ${compose} up -d\` to apply it; a running dosync applies its update policy to it at its next check (to hold services on older images, use \`dosync rollback --to ${backup.name}\`)\n`);
  return 0;
}
