/**
 * The daemon's heartbeat: a small JSON file the daemon rewrites when it starts and after every cycle, so
 * `dosync health` (the container HEALTHCHECK) can tell "alive and cycling" from "hung" or "gone" without
 * the HTTP API being switched on.
 *
 * Daemon side:   const hb = await startHeartbeat({ intervalMs });   ...after each cycle: await hb.cycleDone(ok)
 * Health side:   assessHeartbeat(await readHeartbeat(heartbeatFile()), { now: Date.now() })
 */
import { promises as fsp } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** Environment variable that moves the heartbeat file (the systemd unit points it into /var/lib/dosync). */
export const HEARTBEAT_FILE_ENV = 'DOSYNC_HEARTBEAT_FILE';

/** Default heartbeat file; in a container that is the container's own /tmp, shared with HEALTHCHECK's exec. */
export const DEFAULT_HEARTBEAT_FILE = join(tmpdir(), 'dosync-heartbeat.json');

/** Extra time beyond two intervals before a silent daemon counts as hung: a cycle may pull and health-gate for minutes. */
export const HEARTBEAT_GRACE_MS = 5 * 60_000;

export interface Heartbeat {
  pid: number;
  hostname: string;
  /** When the daemon started (ISO 8601). */
  startedAt: string;
  /** When this heartbeat was written (ISO 8601). */
  at: string;
  intervalMs: number;
  /** Cycles finished so far (0 in the beat written at start). */
  cycles: number;
  /** Whether the last finished cycle had no failed service; absent before the first cycle. */
  lastCycleOk?: boolean;
}

export function heartbeatFile(env: NodeJS.ProcessEnv = process.env): string {
  const v = env[HEARTBEAT_FILE_ENV];
  return v !== undefined && v !== '' ? v : DEFAULT_HEARTBEAT_FILE;
}

/** The instance's heartbeat: DOSYNC_HEARTBEAT_FILE, else `heartbeat.json` in its state dir (two daemons never share one). */
export function instanceHeartbeatFile(stateDir: string, env: NodeJS.ProcessEnv = process.env): string {
  const v = env[HEARTBEAT_FILE_ENV];
  return v !== undefined && v !== '' ? v : join(stateDir, 'heartbeat.json');
}

/** Writes the heartbeat atomically (temp file + rename), so a reader never sees half a file. */
export async function writeHeartbeat(file: string, beat: Heartbeat): Promise<void> {
  await fsp.mkdir(dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  await fsp.writeFile(temp, `${JSON.stringify(beat)}\n`, { mode: 0o644 });
  await fsp.rename(temp, file);
}

export type HeartbeatRead = { kind: 'ok'; beat: Heartbeat } | { kind: 'missing' } | { kind: 'invalid'; reason: string };

export async function readHeartbeat(file: string): Promise<HeartbeatRead> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
    return { kind: 'invalid', reason: `cannot read ${file}: ${(err as Error).message}` };
  }
  return parseHeartbeat(text);
}

/** Validates the file's JSON (pure). */
export function parseHeartbeat(text: string): HeartbeatRead {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { kind: 'invalid', reason: 'heartbeat file is not JSON' };
  }
  const v = value as Partial<Heartbeat> | null;
  if (
    v === null || typeof v !== 'object' ||
    typeof v.pid !== 'number' || typeof v.hostname !== 'string' || typeof v.intervalMs !== 'number' ||
    typeof v.cycles !== 'number' || typeof v.at !== 'string' || Number.isNaN(Date.parse(v.at)) ||
    typeof v.startedAt !== 'string' || (v.lastCycleOk !== undefined && typeof v.lastCycleOk !== 'boolean')
  ) {
    return { kind: 'invalid', reason: 'heartbeat file lacks pid/hostname/at/intervalMs/cycles' };
  }
  return { kind: 'ok', beat: v as Heartbeat };
}

export interface AssessOptions {
  now: number;
  /** Override of the allowed age; default 2 × interval + HEARTBEAT_GRACE_MS. */
  maxAgeMs?: number;
  /** This host's name; the pid is only checked when the beat was written on the same host (same pid namespace). */
  hostname?: string;
  /** Whether a pid is alive here (default: none is checked). */
  isAlive?: (pid: number) => boolean;
}

export interface Assessment {
  ok: boolean;
  /** One line for people and for `docker inspect`'s health log. */
  message: string;
}

/** Healthy = the file is there, recent enough and, when checkable, its writer still runs (pure). */
export function assessHeartbeat(read: HeartbeatRead, opts: AssessOptions): Assessment {
  if (read.kind === 'missing') return { ok: false, message: 'no heartbeat yet: the daemon has not started (or writes elsewhere; see DOSYNC_HEARTBEAT_FILE)' };
  if (read.kind === 'invalid') return { ok: false, message: read.reason };
  const beat = read.beat;
  const age = opts.now - Date.parse(beat.at);
  const maxAge = opts.maxAgeMs ?? 2 * beat.intervalMs + HEARTBEAT_GRACE_MS;
  if (opts.isAlive && opts.hostname === beat.hostname && !opts.isAlive(beat.pid)) {
    return { ok: false, message: `the daemon (pid ${beat.pid}) is not running; last heartbeat ${formatAge(age)} ago` };
  }
  if (age > maxAge) {
    return { ok: false, message: `last heartbeat ${formatAge(age)} ago, more than the allowed ${formatAge(maxAge)}: the daemon looks stuck` };
  }
  const state = beat.cycles === 0 ? 'started, first cycle running' : `${beat.cycles} cycle${beat.cycles === 1 ? '' : 's'}, last ${beat.lastCycleOk === false ? 'had a failed service' : 'ok'}`;
  return { ok: true, message: `healthy: heartbeat ${formatAge(age)} ago (${state})` };
}

function formatAge(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  return `${Math.round(s / 3600)}h`;
}

/** `process.kill(pid, 0)`: EPERM means it exists but belongs to someone else. */
export function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface HeartbeatHandle {
  readonly file: string;
  /** Call after every cycle; `ok` = no service failed. Rejects when the file cannot be written (log it, keep going). */
  cycleDone(ok: boolean): Promise<void>;
}

/** Writes the first beat (cycles 0) and returns the handle the daemon calls after each cycle. */
export async function startHeartbeat(opts: { intervalMs: number; file?: string; now?: () => Date; alsoTo?: string[] }): Promise<HeartbeatHandle> {
  const file = opts.file ?? heartbeatFile();
  const now = opts.now ?? (() => new Date());
  const startedAt = now().toISOString();
  let cycles = 0;
  const base = { pid: process.pid, hostname: hostname(), startedAt, intervalMs: opts.intervalMs };
  // A container's HEALTHCHECK without flags reads the default file in the container's own /tmp (one instance per container).
  const write = (beat: Heartbeat) => Promise.all([file, ...(opts.alsoTo ?? [])].map((f) => writeHeartbeat(f, beat))).then(() => undefined);
  await write({ ...base, at: startedAt, cycles });
  return {
    file,
    async cycleDone(ok: boolean) {
      cycles += 1;
      await write({ ...base, at: now().toISOString(), cycles, lastCycleOk: ok });
    },
  };
}
