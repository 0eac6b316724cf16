/**
 * A project's own dosync.yaml (next to its compose file) on top of the host's: what is about the project's
 * services and when they may change applies per project; what is about the daemon (registries, channels,
 * the API, the state dir, the schedule) stays the host's. Pure.
 */
import type { ConfigFile } from '../config/file.js';

/** Keys a project file may set for itself; any other key in it is ignored with a warning. */
export const PROJECT_KEYS = ['services', 'maintenance_window', 'timezone', 'min_age', 'update_stopped', 'health', 'keep_backups', 'prune', 'check_only', 'verify', 'watch_by_default', 'approve'] as const;

export function mergeProjectConfig(host: ConfigFile, own: ConfigFile, file: string): { config: ConfigFile; warnings: string[] } {
  const warnings: string[] = [];
  const config: ConfigFile = { ...host };
  for (const [key, value] of Object.entries(own) as Array<[keyof ConfigFile, unknown]>) {
    if (value === undefined) continue;
    if (!(PROJECT_KEYS as readonly string[]).includes(key)) {
      warnings.push(`${file}: ${key} is a host-wide setting; set it in the host's dosync.yaml (ignored here)`);
      continue;
    }
    if (key === 'services') {
      // Per service, the project's fields over the host's.
      const merged: NonNullable<ConfigFile['services']> = { ...host.services };
      for (const [name, s] of Object.entries(own.services ?? {})) merged[name] = { ...host.services?.[name], ...s };
      config.services = merged;
    } else if (key === 'health') {
      config.health = { ...host.health, ...own.health };
    } else {
      (config as Record<string, unknown>)[key] = value;
    }
  }
  return { config, warnings };
}
