/** What `dosync init` does; loaded only when that command runs (it pulls in the YAML, diff and registry modules). */
import { promises as fsp } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { createTwoFilesPatch } from 'diff';
import { ConfigError, UserError, errorMessage } from '../util/errors.js';
import { parseDuration } from '../util/duration.js';
import { readStack, type EnvFileText } from '../compose/stack.js';
import { replaceFileSafely } from '../compose/writer.js';
import { addDosyncService } from '../compose/add-service.js';
import { parseImageReference } from '../reference/index.js';
import { providerFor, type ProviderContext } from '../registry/providers/index.js';
import { credentialVariables, isLoopback, registriesUsed, renderDosyncYaml, type StackImage } from './init-config.js';
import { COMPOSE_NAMES, type InitFlags } from './init.js';

async function findComposeFile(cwd: string): Promise<string> {
  for (const name of COMPOSE_NAMES) {
    const p = join(cwd, name);
    if (await fsp.access(p).then(() => true, () => false)) return p;
  }
  throw new ConfigError(`no compose file here (looked for ${COMPOSE_NAMES.join(', ')}); pass -f docker-compose.yml`);
}

async function readOptional(path: string): Promise<string | undefined> {
  return fsp.readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw new UserError(`cannot read ${path}: ${err.message}`);
  });
}

/** `./name` for a path inside the project directory (compose resolves relative volume paths against it). */
function projectRelative(projectDir: string, path: string): string {
  const rel = relative(projectDir, path);
  return rel.startsWith('..') || rel.startsWith('/') ? path : `./${rel}`;
}

export async function initAction(flags: InitFlags, cwd: string, env: NodeJS.ProcessEnv): Promise<string> {
  const composePath = flags.file ? resolve(cwd, flags.file) : await findComposeFile(cwd);
  const text = await readOptional(composePath);
  if (text === undefined) throw new ConfigError(`compose file ${flags.file ?? composePath} does not exist; fix -f`);
  parseDuration(flags.interval, '--interval');
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(flags.service)) throw new ConfigError(`--service: "${flags.service}" is not a valid compose service name`);
  try {
    parseImageReference(flags.image);
  } catch (err) {
    throw new ConfigError(`--image: ${errorMessage(err)}`);
  }
  const projectDir = dirname(composePath);

  // The images the stack uses, as compose sees them (interpolated with the env file compose would read).
  const envPath = flags.envFile ? resolve(cwd, flags.envFile) : join(projectDir, '.env');
  const envText = await readOptional(envPath);
  if (flags.envFile && envText === undefined) throw new ConfigError(`env file ${flags.envFile} does not exist; fix -e`);
  const envFiles: EnvFileText[] = envText === undefined ? [] : [{ path: envPath, text: envText }];
  const stack = readStack([{ path: composePath, text }], env, { envFiles });
  const ctx: ProviderContext = { env: {}, config: {} };
  const images: StackImage[] = [];
  const notes: string[] = [];
  for (const svc of stack.services) {
    if (!svc.image) continue;
    try {
      const host = parseImageReference(svc.image).registry;
      images.push({ service: svc.name, host, family: providerFor(host, ctx).name });
    } catch (err) {
      notes.push(`service ${svc.name}: ${errorMessage(err)} (left out of dosync.yaml)`);
    }
  }
  const registries = registriesUsed(images);
  // 127.0.0.1 in the sidecar's own network namespace is the sidecar itself, not the host's registry.
  const loopback = [...new Set(images.filter((i) => isLoopback(i.host)).map((i) => i.host))];
  if (loopback.length > 0 && !flags.networkHost) {
    const users = images.filter((i) => loopback.includes(i.host)).map((i) => i.service);
    notes.push(`warning: ${loopback.join(', ')} (used by ${[...new Set(users)].join(', ')}) is this host's loopback, which the sidecar cannot reach from its own network; run init again with --network-host (network_mode: host), or name the registry by an address containers reach`);
  }

  const configPath = flags.config ? resolve(cwd, flags.configFile ?? join(projectDir, 'dosync.yaml')) : undefined;
  const existingConfig = configPath ? await readOptional(configPath) : undefined;
  const composeFile = projectRelative(projectDir, composePath);
  const result = addDosyncService(text, {
    serviceName: flags.service,
    image: flags.image,
    composeFile,
    backupDir: flags.backupDir,
    configFile: configPath ? projectRelative(projectDir, configPath) : undefined,
    interval: flags.interval,
    // A custom registry's REGISTRY_*_USERNAME/PASSWORD are only read through dosync.yaml's registry: block.
    credentialVariables: registries.flatMap((r) => (r.family === 'custom' && !configPath ? [] : credentialVariables(r))),
    networkHost: flags.networkHost,
  }, composePath);
  const configText = configPath && existingConfig === undefined
    ? renderDosyncYaml({ composeFile: basename(composePath), interval: flags.interval, registries, services: stack.services.map((s) => s.name) })
    : undefined;

  const out: string[] = notes.map((n) => `note: ${n}\n`);
  if (flags.dryRun) {
    out.push(createTwoFilesPatch(composePath, composePath, text, result.text, undefined, undefined, { context: 3 }));
    if (configPath && configText !== undefined) out.push(createTwoFilesPatch('/dev/null', configPath, '', configText, undefined, undefined, { context: 3 }));
    else if (configPath) out.push(`(${configPath} exists and would be kept)\n`);
    out.push('dry run: nothing written\n');
    return out.join('');
  }

  const backupDir = resolve(projectDir, flags.backupDir);
  // Create the config first: it is new, so a failure leaves the compose file untouched.
  if (configPath && configText !== undefined) {
    await fsp.mkdir(dirname(configPath), { recursive: true });
    await fsp.writeFile(configPath, configText, { flag: 'wx', mode: 0o600 }).catch((err: NodeJS.ErrnoException) => {
      throw new UserError(`cannot write ${configPath}: ${err.message}`);
    });
  }
  const written = await replaceFileSafely(composePath, result.text, { expectedOriginal: text, backupDir });
  out.push(`added service "${flags.service}" to ${composePath} (previous version: ${written.backupPath})\n`);
  if (configPath) {
    out.push(configText !== undefined
      ? `wrote ${configPath} (registries: ${registries.length > 0 ? registries.flatMap((r) => r.hosts).join(', ') : 'none'})\n`
      : `kept the existing ${configPath}\n`);
  }
  out.push(`start it with: docker compose -f ${relative(cwd, composePath) || composePath} up -d ${flags.service}\n`);
  return out.join('');
}
