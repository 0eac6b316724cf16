import { createRequire } from 'node:module';
import { pino, destination, type Logger, type LoggerOptions, type DestinationStream } from 'pino';
import { ConfigError } from './errors.js';

export type { Logger };

/** Keys whose values never reach a log line, at any depth pino's redact paths reach. */
const SECRET_KEYS = ['password', 'secret', 'token', 'auth', 'authorization', 'identitytoken', 'registrytoken', 'client_secret', 'aws_secret_access_key', 'apiToken'];
const redactPaths = SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);

export const LOG_FORMATS = ['json', 'pretty', 'logfmt'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface LoggerSettings {
  verbose?: boolean;
  /** json, pretty or logfmt; default: pretty when the destination is a TTY, else json. */
  format?: LogFormat;
  /** Force JSON (true) or pretty (false): the older spelling of `format`. */
  json?: boolean;
  /** Where to write; default stdout. Tests pass a stream. */
  destination?: NodeJS.WritableStream;
  /** For NO_COLOR / FORCE_COLOR (default process.env). */
  env?: NodeJS.ProcessEnv;
}

/** `--log-format` or DOSYNC_LOG_FORMAT as a LogFormat; anything else is a one-line config error. */
export function parseLogFormat(value: string | undefined, where = 'DOSYNC_LOG_FORMAT'): LogFormat | undefined {
  if (value === undefined || value === '') return undefined;
  const v = value.trim().toLowerCase();
  if ((LOG_FORMATS as readonly string[]).includes(v)) return v as LogFormat;
  throw new ConfigError(`${where}: "${value}" is not a log format; use ${LOG_FORMATS.join(', ')}`);
}

/**
 * Colour for pretty logs, as https://no-color.org and the FORCE_COLOR convention say: NO_COLOR (any
 * non-empty value) turns it off, FORCE_COLOR (other than 0/false) turns it on, else only on a terminal.
 */
export function useColor(env: NodeJS.ProcessEnv, isTTY: boolean): boolean {
  if (env.NO_COLOR) return false;
  const force = env.FORCE_COLOR;
  if (force !== undefined && force !== '') return !/^(0|false)$/i.test(force);
  return isTTY;
}

export function createLogger(settings: LoggerSettings = {}): Logger {
  const env = settings.env ?? process.env;
  const options: LoggerOptions = {
    level: settings.verbose ? 'debug' : 'info',
    redact: { paths: redactPaths, censor: '[redacted]' },
    base: undefined,
  };
  const out = (settings.destination ?? process.stdout) as NodeJS.WritableStream & { isTTY?: boolean };
  const format = settings.format ?? (settings.json === true ? 'json' : settings.json === false ? 'pretty'
    : !settings.destination && process.stdout.isTTY === true ? 'pretty' : 'json');
  if (format === 'pretty') {
    // pino-pretty as an in-process stream, not a transport: a transport is a worker thread that pino finds by
    // file at run time, which keeps pino out of the bundle (and its code cache). Loaded only for a terminal.
    // singleLine: one line per event, extra fields inline, so a log grep finds the whole event.
    const pinoPretty = createRequire(import.meta.url)('pino-pretty') as (opts: object) => DestinationStream;
    // pino tells pino-pretty its errorKey (`err`) and pino-pretty prints that key as an indented block
    // whatever singleLine says; dosync logs errors as plain `{ err: message }` fields, so that key is moved
    // to one nothing uses and `err` stays on the event's line.
    return pino({ ...options, errorKey: 'dosync_unused_error_key' }, pinoPretty({
      colorize: useColor(env, out.isTTY === true), singleLine: true, errorLikeObjectKeys: [], translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname', sync: true,
      ...(settings.destination ? { destination: settings.destination } : {}),
    }));
  }
  const sink = (settings.destination ?? destination({ fd: 1, sync: true })) as DestinationStream;
  if (format === 'logfmt') {
    return pino({ ...options, timestamp: pino.stdTimeFunctions.isoTime, formatters: { level: (label) => ({ level: label }) } }, logfmtStream(sink));
  }
  return pino(options, sink);
}

/** pino's JSON lines rewritten as logfmt (`time=… level=info msg="…" service=web`), one line per event. */
function logfmtStream(sink: DestinationStream): DestinationStream {
  return {
    write(line: string) {
      let record: Record<string, unknown>;
      try {
        record = JSON.parse(line) as Record<string, unknown>;
      } catch {
        sink.write(line);
        return;
      }
      sink.write(`${logfmtLine(record)}\n`);
    },
  };
}

/**
 * One record as logfmt: time, level and msg first, nested fields as dotted keys (`err.message=…`), a value
 * quoted (JSON string escapes: `\n`, `\"`) when it has spaces, `=`, quotes or control characters.
 * Hand-written: the npm `logfmt` package passes line breaks through unescaped, which splits an event
 * over several lines, and it has no nesting.
 */
export function logfmtLine(record: Record<string, unknown>): string {
  const { time, level, msg, ...rest } = record;
  const fields: Array<[string, string]> = [];
  const add = (prefix: string, value: unknown) => {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value)) add(`${prefix}.${k}`, v);
      return;
    }
    fields.push([prefix, value === null || value === undefined ? '' : Array.isArray(value) ? value.map(String).join(',') : String(value)]);
  };
  add('time', time);
  add('level', level);
  add('msg', msg);
  for (const [k, v] of Object.entries(rest)) add(k, v);
  // eslint-disable-next-line no-control-regex
  const quote = (v: string) => (v === '' || /[\s="\\\u0000-\u001f\u007f]/.test(v) ? JSON.stringify(v) : v);
  return fields.filter(([k, v]) => v !== '' || !['time', 'level', 'msg'].includes(k))
    .map(([k, v]) => `${k.replace(/[^\w.-]/g, '_')}=${quote(v)}`).join(' ');
}

// Kept in its own module so the CLI's error path can scrub without loading pino.
export { scrubSecrets } from './scrub.js';
