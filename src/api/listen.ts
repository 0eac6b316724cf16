import { isIP } from 'node:net';
import { ConfigError } from '../util/errors.js';

export interface ListenAddress {
  /** undefined: every interface (":9180"). */
  host?: string;
  port: number;
}

/**
 * `--listen` values: `127.0.0.1:9180`, `[::1]:9180`, `localhost:9180`, `:9180` (every interface) or a
 * bare port (also every interface). Port 0 picks a free port.
 */
export function parseListen(value: string): ListenAddress {
  const s = value.trim();
  const bad = (why: string) => new ConfigError(`--listen "${value}": ${why}; expected HOST:PORT such as 127.0.0.1:9180, [::1]:9180 or :9180`);
  let host: string | undefined;
  let portText: string;
  const v6 = /^\[([^\]]+)\]:(\d+)$/.exec(s);
  if (v6) {
    if (isIP(v6[1]) !== 6) throw bad(`"${v6[1]}" is not an IPv6 address`);
    host = v6[1];
    portText = v6[2];
  } else if (/^\d+$/.test(s)) {
    portText = s;
  } else {
    const colon = s.lastIndexOf(':');
    if (colon === -1) throw bad('the port is missing');
    host = s.slice(0, colon) || undefined;
    portText = s.slice(colon + 1);
    if (host !== undefined && host.includes(':')) throw bad('put an IPv6 address in brackets');
    if (host !== undefined && isIP(host) === 0 && !/^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/.test(host)) {
      throw bad(`"${host}" is not a host name or IP address`);
    }
  }
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) throw bad(`"${portText}" is not a port (0-65535)`);
  return { host, port: Number(portText) };
}

/** Whether a listen host only accepts connections from this machine. */
export function isLoopback(host: string | undefined): boolean {
  if (host === undefined) return false;
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
