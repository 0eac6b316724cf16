/**
 * What a person asks the running daemon to do (dashboard, API, `dosync approve/skip`, MQTT), checked and
 * written to the state at once; the work that touches the stack (an approved update, an update to a chosen
 * tag, a rollback) is queued and done by the daemon as its next step, between cycles, never beside one.
 *
 * `dosync approve` and `dosync skip` reach a running daemon through an inbox folder in the state dir (the
 * daemon owns the state file while it runs); without a daemon they change the state file themselves.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { writeFileAtomic } from '../util/atomic-write.js';
import { approvePending } from './approvals.js';
import type { StateStore } from './state.js';

export const ACTION_KINDS = ['check', 'approve', 'skip', 'update', 'rollback', 'retry', 'pause', 'resume'] as const;
export type ActionKind = (typeof ACTION_KINDS)[number];

const serviceName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'must be a compose service name');
const tagName = z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/, 'must be an image tag');
export const actionSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('check'), service: serviceName.optional(), project: z.string().optional() }),
  z.object({ kind: z.literal('approve'), service: serviceName, tag: tagName.optional(), project: z.string().optional() }),
  z.object({ kind: z.literal('skip'), service: serviceName, tag: tagName, project: z.string().optional() }),
  z.object({ kind: z.literal('update'), service: serviceName, tag: tagName, project: z.string().optional() }),
  z.object({ kind: z.literal('rollback'), service: serviceName, project: z.string().optional() }),
  z.object({ kind: z.literal('retry'), service: serviceName, tag: tagName.optional(), project: z.string().optional() }),
  z.object({ kind: z.literal('pause'), service: serviceName.optional(), project: z.string().optional() }),
  z.object({ kind: z.literal('resume'), service: serviceName.optional(), project: z.string().optional() }),
]);
export type Action = z.infer<typeof actionSchema>;

export type ActionResult = { ok: true; message: string; queued?: boolean } | { ok: false; status: 400 | 404 | 409; message: string };

/** Parses an action from a request body or an inbox file; the reason names the field. */
export function parseAction(input: unknown): { ok: true; action: Action } | { ok: false; reason: string } {
  const r = actionSchema.safeParse(input);
  if (r.success) return { ok: true, action: r.data };
  const issue = r.error.issues[0];
  return { ok: false, reason: `${issue.path.join('.') || 'body'}: ${issue.message}` };
}

/** Approve or skip against the state (pure but for the store's memory); what the daemon and the CLI share. */
export function applyToState(state: StateStore, key: string, action: Extract<Action, { kind: 'approve' | 'skip' }>, now: Date): ActionResult {
  const saved = state.get(key);
  if (action.kind === 'approve') {
    const r = approvePending(saved?.pending, action.service, action.tag, now);
    if (!r.ok) return { ok: false, status: 409, message: r.reason };
    state.setPending(key, r.pending);
    return { ok: true, message: `${action.service}: ${r.pending.tag} approved; it is applied now`, queued: true };
  }
  state.skipTag(key, action.tag);
  if (saved?.pending?.tag === action.tag) state.setPending(key, undefined);
  const status = state.get(key)?.status;
  if (status && status.tag === action.tag && ['update-available', 'pending-approval', 'held'].includes(status.kind)) {
    state.setStatus(key, { kind: 'up-to-date', current: status.current, reason: `${action.tag} skipped; newer tags are still offered` });
  }
  return { ok: true, message: `${action.service}: ${action.tag} will not be offered again (newer tags still are)` };
}

// ------------------------------------------------------------------------------------------------ the inbox

export const INBOX_DIR = 'inbox';
/** An inbox never grows past this many requests: a CLI loop cannot fill the disk. */
export const INBOX_LIMIT = 100;

export async function postToInbox(stateDir: string, action: Action): Promise<string> {
  const dir = join(stateDir, INBOX_DIR);
  await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
  const waiting = (await fsp.readdir(dir)).filter((n) => n.endsWith('.json'));
  if (waiting.length >= INBOX_LIMIT) throw new Error(`${dir} already holds ${waiting.length} requests; is the daemon running?`);
  const path = join(dir, `${Date.now()}-${randomBytes(4).toString('hex')}.json`);
  await writeFileAtomic(path, `${JSON.stringify(action)}\n`);
  return path;
}

/** Takes every request out of the inbox, oldest first; unreadable ones are dropped with their reason. */
export async function drainInbox(stateDir: string): Promise<Array<{ action?: Action; file: string; error?: string }>> {
  const dir = join(stateDir, INBOX_DIR);
  const names = await fsp.readdir(dir).catch(() => [] as string[]);
  const out: Array<{ action?: Action; file: string; error?: string }> = [];
  for (const name of names.filter((n) => n.endsWith('.json')).sort().slice(0, INBOX_LIMIT)) {
    const file = join(dir, name);
    const text = await fsp.readFile(file, 'utf8').catch(() => undefined);
    await fsp.rm(file, { force: true });
    if (text === undefined) continue;
    let parsed: unknown;
    try { parsed = JSON.parse(text); } catch { out.push({ file, error: 'not JSON' }); continue; }
    const r = parseAction(parsed);
    out.push(r.ok ? { file, action: r.action } : { file, error: r.reason });
  }
  return out;
}

/** Whether requests wait in the inbox (the daemon looks every second: one readdir). */
export async function inboxWaiting(stateDir: string): Promise<boolean> {
  const names = await fsp.readdir(join(stateDir, INBOX_DIR)).catch(() => [] as string[]);
  return names.some((n) => n.endsWith('.json'));
}
