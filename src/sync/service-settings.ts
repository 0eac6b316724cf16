import type { StackService } from '../compose/stack.js';
import type { ConfigFile } from '../config/file.js';
import { ConfigError } from '../util/errors.js';
import { parseDuration } from '../util/duration.js';

export interface HealthSettings {
  timeoutMs: number;
  stableMs: number;
  /** HTTP probe; an empty host (`http://:8080/health`) means each container's own address. */
  url?: string;
  /** TCP probe port on each container's address. */
  tcpPort?: number;
}

export interface ServiceSettings {
  health: HealthSettings;
  rollout: 'recreate' | 'rolling';
}

export interface SettingsDefaults {
  health: { timeoutMs: number; stableMs: number };
  rolling: boolean;
}

/** Label > dosync.yaml services.<name> > command line/global defaults. */
export function serviceSettings(service: StackService, config: ConfigFile, defaults: SettingsDefaults): ServiceSettings {
  const labels = service.labels;
  const where = (key: string) => `services.${service.name}.labels.${key}`;
  const duration = (key: string) => (labels[key] !== undefined ? parseDuration(labels[key], where(key)) : undefined);
  const fromConfig = config.services?.[service.name]?.health;
  const rollout = labels['dosync.rollout'] ?? (defaults.rolling ? 'rolling' : 'recreate');
  if (rollout !== 'rolling' && rollout !== 'recreate') {
    throw new ConfigError(`${where('dosync.rollout')}: "${rollout}" is not a rollout mode; use rolling or recreate`);
  }
  const tcp = labels['dosync.health.tcp'];
  const tcpPort = tcp === undefined ? undefined : Number(tcp);
  if (tcpPort !== undefined && !(Number.isInteger(tcpPort) && tcpPort > 0 && tcpPort < 65536)) {
    throw new ConfigError(`${where('dosync.health.tcp')}: "${tcp}" is not a port number`);
  }
  const url = labels['dosync.health.url'];
  if (url !== undefined && !/^https?:\/\//.test(url)) throw new ConfigError(`${where('dosync.health.url')}: "${url}" is not an http(s) URL`);
  return {
    health: {
      timeoutMs: duration('dosync.health.timeout') ?? fromConfig?.timeout ?? defaults.health.timeoutMs,
      stableMs: duration('dosync.health.stable') ?? fromConfig?.stable ?? defaults.health.stableMs,
      url,
      tcpPort,
    },
    rollout,
  };
}

/** Why a service cannot be rolled out side by side (docker-rollout's rules), or undefined when it can. */
export function rollingBlocker(service: StackService): string | undefined {
  if (service.containerName) return `it sets container_name (${service.containerName})`;
  if (service.hasFixedHostPorts) return 'it publishes fixed host ports';
  return undefined;
}
