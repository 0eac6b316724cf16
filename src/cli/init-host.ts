/**
 * `dosync init --host`: one sidecar for the whole host. The Docker socket, plus the projects' root mounted
 * at the same path inside the container, so the paths in the containers' compose labels (what `--all`
 * finds) are the paths dosync reads and writes, and bind-mount sources stay host paths for compose.
 */
import { promises as fsp } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { stringify } from 'yaml';
import { ConfigError, UserError } from '../util/errors.js';
import { parseDuration } from '../util/duration.js';

export interface HostSidecarOptions {
  image: string;
  projectsRoot: string;
  interval: string;
  service: string;
  /** A host dosync.yaml to mount read-only at /etc/dosync/dosync.yaml. */
  configFile?: string;
}

/** The compose file text (pure). */
export function renderHostSidecar(o: HostSidecarOptions): string {
  const volumes = ['/var/run/docker.sock:/var/run/docker.sock', `${o.projectsRoot}:${o.projectsRoot}`, 'dosync-state:/var/lib/dosync'];
  if (o.configFile) volumes.push(`${o.configFile}:/etc/dosync/dosync.yaml:ro`);
  const doc = {
    name: 'dosync-host',
    services: {
      [o.service]: {
        image: o.image,
        restart: 'unless-stopped',
        command: ['sync', '--all'],
        environment: {
          DOSYNC_PROJECTS_ROOT: o.projectsRoot,
          DOSYNC_STATE_DIR: '/var/lib/dosync',
          CHECK_INTERVAL: o.interval,
        },
        volumes,
      },
    },
    volumes: { 'dosync-state': {} },
  };
  return `# dosync for every compose project under ${o.projectsRoot} (dosync init --host).\n# Start: docker compose -f THIS_FILE up -d\n${stringify(doc, { lineWidth: 0 })}`;
}

export async function initHostAction(flags: { file?: string; image: string; interval: string; service: string; projectsRoot?: string; configFile?: string; dryRun?: boolean }, cwd: string): Promise<string> {
  if (!flags.projectsRoot) throw new ConfigError('dosync init --host: pass --projects-root DIR, the directory your compose projects live under (e.g. /srv or /opt)');
  if (!isAbsolute(flags.projectsRoot)) throw new ConfigError(`--projects-root: "${flags.projectsRoot}" must be an absolute path (it is mounted at the same path in the container)`);
  parseDuration(flags.interval, '--interval');
  const out = resolve(cwd, flags.file ?? 'dosync-host.compose.yaml');
  const text = renderHostSidecar({ image: flags.image, projectsRoot: flags.projectsRoot.replace(/\/+$/, '') || '/', interval: flags.interval, service: flags.service, configFile: flags.configFile ? resolve(cwd, flags.configFile) : undefined });
  if (flags.dryRun) return `${text}dry run: nothing written (would write ${out})\n`;
  await fsp.writeFile(out, text, { flag: 'wx', mode: 0o644 }).catch((err: NodeJS.ErrnoException) => {
    throw new UserError(err.code === 'EEXIST' ? `${out} exists; pass -f OTHER.yaml (init --host never overwrites a file)` : `cannot write ${out}: ${err.message}`);
  });
  return `wrote ${out}\nstart it with: docker compose -f ${out} up -d\n`;
}
