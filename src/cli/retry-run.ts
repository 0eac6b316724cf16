/** The work of `dosync retry`, loaded only when that command runs. */
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { ConfigError, UserError, errorMessage } from '../util/errors.js';
import { stackInputs } from './common.js';
import { envFlag } from './env-defaults.js';
import { createDocker } from '../engine/docker.js';
import { resolveProject } from '../engine/project.js';
import { loadStack, stackEnvFiles } from '../sync/cycle.js';
import { StateStore, defaultStatePath, serviceKey } from '../sync/state.js';
import { resolveStateDir } from '../sync/dirs.js';
import { acquireLock, lockPath, type ProjectLock } from '../sync/lock.js';
import { clearFailed, failedRows, type FailedRow, type RetryService } from '../sync/retry.js';
import type { RetryFlags } from './retry.js';

/** `2025-06-01T10:00:00.000Z` -> `2025-06-01 10:00:00`. */
const when = (iso: string) => new Date(iso).toISOString().slice(0, 19).replace('T', ' ');
const shortDigest = (digest: string) => digest.replace(/^sha256:/, '').slice(0, 12);

function renderRows(rows: FailedRow[]): string {
  const withDigest = rows.some((r) => r.entry.digest);
  const header = ['SERVICE', 'FAILED TAG', ...(withDigest ? ['DIGEST'] : []), 'WHEN (UTC)', 'WHY'];
  const cells = rows.map((r) => [r.service, r.entry.tag, ...(withDigest ? [r.entry.digest ? shortDigest(r.entry.digest) : 'any'] : []), when(r.entry.at), r.entry.reason]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((v, i) => (i === c.length - 1 ? v : v.padEnd(widths[i]))).join('  ');
  return [header, ...cells].map(line).join('\n');
}

/** A refusal that says what to do about a running daemon (its lock), or the lock's own error otherwise. */
async function lockRefusal(err: unknown, stateDir: string, project: string): Promise<UserError> {
  const path = lockPath(stateDir, project);
  const holder = await readFile(path, 'utf8').then((text) => {
    try {
      return JSON.parse(text) as { pid?: unknown; hostname?: unknown };
    } catch {
      return undefined;
    }
  }, () => undefined);
  if (!(err instanceof UserError) || typeof holder?.pid !== 'number') return new UserError(errorMessage(err), { cause: err });
  const elsewhere = typeof holder.hostname === 'string' && holder.hostname !== hostname() ? holder.hostname : undefined;
  return new UserError(`another dosync (PID ${holder.pid}${elsewhere ? ` on host ${elsewhere}` : ''}) is managing project ${project} and keeps its failed tags in memory; `
    + `stop it, run \`dosync retry\` again, then start it${elsewhere ? ` (if it no longer runs there, delete ${path})` : ''}`, { cause: err });
}

export async function retryAction(names: string[], flags: RetryFlags, write: (text: string) => void): Promise<number> {
  if (flags.all && names.length > 0) throw new ConfigError(`give service names or --all, not both (got ${names.join(', ')} and --all)`);
  if (flags.tag !== undefined && names.length === 0 && !flags.all) {
    throw new ConfigError('--tag needs the service it failed for (dosync retry SERVICE --tag TAG), or --all to clear it from every service');
  }
  const env = process.env;
  // stdout carries the result; logs (quiet unless -v) go to stderr.
  // retry's --all means every service, not every project of the host.
  const inputs = await stackInputs({ ...flags, all: undefined, logFormat: flags.logFormat ?? 'json' }, process.stderr);
  const { config, logger } = inputs;
  if (!(flags.verbose ?? envFlag(env, 'DOSYNC_VERBOSE', 'VERBOSE'))) logger.level = 'warn';
  const stateDir = inputs.dirs?.stateDir ?? resolveStateDir({ flags, env, config, files: inputs.files });

  // The project as sync finds it: the state is keyed by `<project>/<service>`.
  const envFiles = await stackEnvFiles(inputs.files, inputs.envFile);
  const { stack } = await loadStack(inputs.files, envFiles);
  for (const w of stack.warnings) logger.warn(w);
  const project = await resolveProject(createDocker(), {
    files: inputs.files, envFiles, explicitName: inputs.projectName ?? stack.projectName, serviceNames: stack.services.map((s) => s.name),
  });
  const prefix = serviceKey(project.name, '');

  const open = async () => {
    const state = await StateStore.open(defaultStatePath(stateDir));
    for (const w of state.warnings) logger.warn(w);
    // Services of the stack, and those the state still knows for this project (a service since removed).
    const images = new Map<string, string | undefined>(stack.services.map((s) => [s.name, s.image]));
    for (const key of state.services()) {
      if (key.startsWith(prefix) && !images.has(key.slice(prefix.length))) images.set(key.slice(prefix.length), state.get(key)?.deployed?.reference);
    }
    const services: RetryService[] = [...images].map(([name, image]) => ({ name, key: serviceKey(project.name, name), image }));
    return { state, services };
  };

  if (names.length === 0 && !flags.all) {
    const { state, services } = await open();
    const rows = failedRows(state, services);
    if (rows.length > 0) {
      write(`${renderRows(rows)}\n`);
      write(`clear with \`dosync retry SERVICE\` (all its failed tags) or \`dosync retry SERVICE --tag TAG\`; --all clears every service\n`);
    } else {
      write(`no failed tags recorded for project ${project.name} (${state.path})\n`);
      const others = state.services().filter((k) => !k.startsWith(prefix) && (state.get(k)?.failed.length ?? 0) > 0);
      if (others.length > 0) write(`note: the state has failed tags of other projects (${others.join(', ')}); pass -p NAME if one of them is this stack\n`);
    }
    return 0;
  }

  let lock: ProjectLock;
  try {
    lock = await acquireLock(stateDir, project.name);
  } catch (err) {
    throw await lockRefusal(err, stateDir, project.name);
  }
  try {
    for (const w of lock.warnings) logger.warn(w);
    // Read under the lock: no dosync can write the state between this read and our save.
    const { state, services } = await open();
    let selected = services;
    if (!flags.all) {
      const unique = [...new Set(names)];
      const unknown = unique.filter((n) => !services.some((s) => s.name === n));
      if (unknown.length > 0) {
        throw new ConfigError(`no service ${unknown.join(', ')} in ${inputs.files.join(', ')} (services: ${services.map((s) => s.name).sort().join(', ') || 'none'}); check the name and -f`);
      }
      selected = unique.map((n) => services.find((s) => s.name === n)!);
    }
    const cleared = clearFailed(state, { services: selected, tag: flags.tag, all: flags.all ?? false, at: new Date() });
    if (cleared.length === 0) {
      write(`no failed tags recorded for project ${project.name}; nothing to retry\n`);
      return 0;
    }
    await state.save();
    for (const c of cleared) {
      for (const e of c.cleared) {
        write(`${c.service}: cleared failed tag ${e.tag}${e.digest ? `@${shortDigest(e.digest)}` : ''} (failed ${when(e.at)} UTC: ${e.reason})\n`);
      }
    }
    const count = cleared.reduce((n, c) => n + new Set(c.cleared.map((e) => e.tag)).size, 0);
    write(`the next \`dosync sync\` cycle may update to ${count === 1 ? 'it' : 'them'} again\n`);
    logger.info({ project: project.name, cleared: cleared.map((c) => ({ service: c.service, tags: c.cleared.map((e) => e.tag) })) }, 'failed tags cleared');
    return 0;
  } finally {
    lock.release();
  }
}
