import { createRequire } from 'node:module';
import { pino, destination, type Logger, type LoggerOptions, type DestinationStream } from 'pino';

export type { Logger };

/** Keys whose values never reach a log line, at any depth pino's redact paths reach. */
const SECRET_KEYS = ['password', 'secret', 'token', 'auth', 'authorization', 'identitytoken', 'registrytoken', 'client_secret', 'aws_secret_access_key', 'apiToken'];
const redactPaths = SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);

export interface LoggerSettings {
  verbose?: boolean;
  /** Force JSON (default: pretty when stdout is a TTY). */
  json?: boolean;
  /** Where to write; default stdout. Tests pass a stream. */
  destination?: NodeJS.WritableStream;
}

export function createLogger(settings: LoggerSettings = {}): Logger {
  const options: LoggerOptions = {
    level: settings.verbose ? 'debug' : 'info',
    redact: { paths: redactPaths, censor: '[redacted]' },
    base: undefined,
  };
  const pretty = settings.json === false || (settings.json === undefined && !settings.destination && process.stdout.isTTY === true);
  if (pretty) {
    // pino-pretty as an in-process stream, not a transport: a transport is a worker thread that pino finds by
    // file at run time, which keeps pino out of the bundle (and its code cache). Loaded only for a terminal.
    const pinoPretty = createRequire(import.meta.url)('pino-pretty') as (opts: object) => DestinationStream;
    return pino(options, pinoPretty({ colorize: true, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname', sync: true }));
  }
  return pino(options, (settings.destination ?? destination({ fd: 1, sync: true })) as DestinationStream);
}

// Kept in its own module so the CLI's error path can scrub without loading pino.
export { scrubSecrets } from './scrub.js';
