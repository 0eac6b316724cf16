/** The work of `dosync config validate|print`, loaded only when one of them runs. */
import { access, readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { ConfigFile } from '../config/file.js';
import { ConfigError } from '../util/errors.js';
import { envValue } from './env-defaults.js';
import { readEnvFile } from './env-file.js';
import { CONFIG_SEARCH_PATH, loadConfigFile } from '../config/file.js';
import { parseRegistryConfig } from '../registry/config.js';
import { validateConfigText, validSummary } from '../config/validate.js';
import { effectiveConfig, renderEffective } from '../config/effective.js';
import type { ConfigFlags } from './config.js';

async function configEnv(flags: ConfigFlags): Promise<Record<string, string | undefined>> {
  const envFile = flags.envFile ?? envValue(process.env, 'DOSYNC_ENV_FILE');
  // As in sync: the -e file feeds ${VAR}, the process environment wins over it.
  return { ...(envFile ? await readEnvFile(envFile) : {}), ...process.env };
}

/** -c, DOSYNC_CONFIG, or the first file on dosync's search path; undefined when there is none. */
async function findConfig(flags: ConfigFlags): Promise<string | undefined> {
  const explicit = flags.config ?? envValue(process.env, 'DOSYNC_CONFIG');
  if (explicit) {
    await access(explicit).catch(() => {
      throw new ConfigError(`config file ${explicit} does not exist; fix -c/--config or DOSYNC_CONFIG`);
    });
    return resolve(explicit);
  }
  for (const candidate of CONFIG_SEARCH_PATH) {
    if (await access(candidate).then(() => true, () => false)) return resolve(candidate);
  }
  return undefined;
}

export async function validateAction(flags: ConfigFlags, write: (t: string) => void, writeErr: (t: string) => void): Promise<number> {
  const path = await findConfig(flags);
  if (!path) {
    write(`no dosync.yaml found (looked for ${CONFIG_SEARCH_PATH.join(', ')}); dosync runs with its defaults. Pass -c PATH to validate another file\n`);
    return 0;
  }
  const text = await readFile(path, 'utf8').catch((err: Error) => {
    throw new ConfigError(`cannot read config file ${path}: ${err.message}`);
  });
  const report = validateConfigText(text, path, await configEnv(flags));
  for (const w of report.warnings) writeErr(`warning: ${w}\n`);
  if (report.errors.length > 0) {
    for (const e of report.errors) writeErr(`${e}\n`);
    writeErr(`${path}: ${report.errors.length} error(s)\n`);
    return 2;
  }
  write(`${validSummary(path, report)}\n`);
  return 0;
}

/** The host's configuration with the project's own dosync.yaml on top, as the whole-host daemon applies it. */
async function projectView(name: string, host: ConfigFile, hostPath: string | undefined, env: Record<string, string | undefined>, writeErr: (t: string) => void) {
  const { findProject } = await import('../projects/target.js');
  const { mergeProjectConfig } = await import('../projects/config.js');
  const target = await findProject(name, { config: host, configPath: hostPath, env });
  const own = (await import('../projects/host.js')).ownConfigFile(target.files, hostPath);
  if (!own) return { config: host, own, stateDir: target.stateDir };
  const merged = mergeProjectConfig(host, (await loadConfigFile(own, env)).config, own);
  for (const w of merged.warnings) writeErr(`warning: ${w}\n`);
  return { config: merged.config, own, stateDir: target.stateDir };
}

export async function printAction(flags: ConfigFlags, write: (t: string) => void, writeErr: (t: string) => void): Promise<number> {
  const env = await configEnv(flags);
  const path = await findConfig(flags);
  let { config } = path ? await loadConfigFile(path, env) : { config: {} as ConfigFile };
  const project = flags.project ? await projectView(flags.project, config, path, env, writeErr) : undefined;
  if (project) config = project.config;
  const registry = parseRegistryConfig(config.registry ?? {}, { env, file: path });
  for (const w of registry.warnings) writeErr(`warning: ${w}\n`);
  const header = [
    path ? `dosync configuration from ${path}` : `no dosync.yaml found (looked for ${CONFIG_SEARCH_PATH.join(', ')}): defaults and environment only`,
    '${VAR}s expanded, DOSYNC_* environment variables and defaults applied; secrets shown as ***',
    'flags given to `dosync sync` override these values',
    ...(project ? [`project ${flags.project}: ${project.own ? `${project.own} applied on top` : 'no dosync.yaml of its own'}; state in ${project.stateDir}`] : []),
  ];
  // DOSYNC_* overrides come from the process environment only, as `dosync sync` reads them.
  write(renderEffective(effectiveConfig(config, registry.config, process.env, path ?? 'dosync.yaml'), header));
  return 0;
}
